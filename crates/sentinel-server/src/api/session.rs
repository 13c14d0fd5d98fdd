//! Staff sign-in for browsers: a session cookie (HttpOnly, SameSite=Lax, Secure
//! behind TLS). Programs use bearer tokens from `sentinel token create` instead.

use crate::AppState;
use crate::auth::{SESSION_COOKIE, Secret, Staff, random_secret, secret_hash, session_cookie};
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use time::OffsetDateTime;

#[derive(Deserialize)]
pub(crate) struct SignIn {
    name: String,
    password: String,
}

fn user_json(staff: &Staff) -> serde_json::Value {
    json!({ "name": staff.user.name, "role": staff.user.role, "department": staff.user.department })
}

/// Whether cookies should be `Secure`: configured so, or the proxy says https.
pub(crate) fn behind_tls(s: &AppState, headers: &HeaderMap) -> bool {
    s.config.secure_cookies
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|p| p.eq_ignore_ascii_case("https"))
}

/// `POST /api/v1/session`
pub(crate) async fn sign_in(
    State(s): State<AppState>,
    crate::client::ClientIp(peer): crate::client::ClientIp,
    headers: HeaderMap,
    ApiJson(body): ApiJson<SignIn>,
) -> ApiResult<Response> {
    s.login_limit.check(peer)?;
    let refused = || ApiError::Unauthorized("wrong name or password".into());
    let gate = crate::signin::before(
        &s,
        format!("staff:{}", body.name),
        body.name.chars().take(64).collect(),
    )
    .await?;
    let password = Secret::new(body.password);
    let user = s.store.user(&body.name).await?;
    // Verify even for unknown users so timing does not reveal which names exist.
    let hash = user.as_ref().map_or_else(
        || crate::auth::dummy_hash().to_owned(),
        |u| u.password_hash.clone(),
    );
    let ok = crate::auth::verify_password_async(password, hash).await?;
    let user = user.filter(|u| ok && !u.disabled);
    crate::signin::after(&s, gate, user.is_some()).await?;
    let user = user.ok_or_else(refused)?;
    let session = random_secret();
    let now = OffsetDateTime::now_utc();
    let ttl = s.config.session_ttl;
    s.store
        .create_session(&secret_hash(&session), user.id, now, now + ttl)
        .await?;
    tracing::info!(user = %user.name, "signed in");
    let secure = if behind_tls(&s, &headers) {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{SESSION_COOKIE}={session}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
        ttl.as_secs()
    );
    let staff = Staff::of(user, s.store.as_ref()).await?;
    let mut res = Json(user_json(&staff)).into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(|e| ApiError::Internal(e.to_string()))?,
    );
    Ok(res)
}

/// `GET /api/v1/session`
pub(crate) async fn whoami(staff: Staff) -> Json<serde_json::Value> {
    Json(user_json(&staff))
}

/// `DELETE /api/v1/session`
pub(crate) async fn sign_out(State(s): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    if let Some(id) = session_cookie(&headers) {
        s.store.delete_session(&secret_hash(id)).await?;
    }
    let mut res = StatusCode::NO_CONTENT.into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("sentinel_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"),
    );
    Ok(res)
}
