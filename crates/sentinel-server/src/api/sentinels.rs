//! Sentinel accounts (哨兵): sign up with a phone number or an email and a
//! password, prove it with a code, sign in with a session cookie of their own (not
//! the staff one), join groups on request (an admin decides), and see their own
//! reports and standing. Reports filed while signed in belong to the account.

use crate::AppState;
use crate::auth::{Secret, random_secret, secret_hash};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath};
use crate::views;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sentinel_core::sentinels::normalise_phone;
use sentinel_core::{FieldError, Membership, NewSentinel, Role, Sentinel, SentinelGroup};
use sentinel_store::{ReportQuery, SentinelKey, StoreError};
use serde::Deserialize;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

/// The sentinel session cookie (staff use `sentinel_session`).
pub const ACCOUNT_COOKIE: &str = "sentinel_account";
const CODE_LIFETIME: Duration = Duration::minutes(15);

/// What sending a code returns: done, or why not.
pub type Sending<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + Send + 'a>>;

/// What a code sent to someone is for: the gateway picks its message template by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A sentinel's verification code (`sentinel_sign_up`).
    SignUp,
    /// A phoned-in report's tracking code, texted to the caller (`tracking_code`).
    TrackingCode,
}

impl Purpose {
    /// The name the gateway receives.
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::SignUp => "sentinel_sign_up",
            Purpose::TrackingCode => "tracking_code",
        }
    }
}

/// Where codes go: the city's SMS or mail gateway in production
/// ([`WebhookSender`]); the development sender writes them to the server log
/// (documented in the README); tests use a fake that keeps them.
pub trait CodeSender: Send + Sync {
    /// Sends `code` to `to` (a phone number or an email), or says why not.
    fn send<'a>(&'a self, to: &'a str, code: &'a str, purpose: Purpose) -> Sending<'a>;
}

/// Writes codes to the server log, for development only.
pub struct LogSender;

impl CodeSender for LogSender {
    fn send<'a>(&'a self, to: &'a str, code: &'a str, purpose: Purpose) -> Sending<'a> {
        tracing::warn!(to = %mask(to), code, purpose = purpose.as_str(), "development code sender: a code that would be texted or mailed (configure a real sender in production)");
        Box::pin(async { Ok(()) })
    }
}

/// Hands each code to the city's gateway: `POST {url}` with the JSON
/// `{"to": "13900001111", "code": "123456", "purpose": "sentinel_sign_up"}`
/// (`"purpose": "tracking_code"` for a phoned-in report's code); any 2xx answer
/// counts as sent. The code is never logged.
pub struct WebhookSender {
    url: String,
}

impl WebhookSender {
    /// A sender posting to `url` (http or https).
    pub fn new(url: impl Into<String>) -> Self {
        WebhookSender { url: url.into() }
    }
}

impl CodeSender for WebhookSender {
    fn send<'a>(&'a self, to: &'a str, code: &'a str, purpose: Purpose) -> Sending<'a> {
        Box::pin(async move {
            use http_body_util::Full;
            let https = crate::tls::connector()?
                .https_or_http()
                .enable_http1()
                .build();
            let client: hyper_util::client::legacy::Client<_, Full<bytes::Bytes>> =
                hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                    .build(https);
            let body = json!({ "to": to, "code": code, "purpose": purpose.as_str() }).to_string();
            let req = hyper::Request::post(self.url.as_str())
                .header(header::CONTENT_TYPE, "application/json")
                .body(Full::new(bytes::Bytes::from(body)))
                .map_err(|e| e.to_string())?;
            let res = tokio::time::timeout(std::time::Duration::from_secs(10), client.request(req))
                .await
                .map_err(|_| "the code gateway did not answer in 10 s".to_owned())?
                .map_err(|e| format!("the code gateway is unreachable: {e}"))?;
            if res.status().is_success() {
                Ok(())
            } else {
                Err(format!("the code gateway answered {}", res.status()))
            }
        })
    }
}

/// A phone number or address with most of it hidden, for logs.
pub(crate) fn mask(to: &str) -> String {
    let chars: Vec<char> = to.chars().collect();
    match to.split_once('@') {
        Some((user, domain)) => format!("{}***@{domain}", user.chars().next().unwrap_or('*')),
        None if chars.len() > 7 => format!(
            "{}****{}",
            chars[..3].iter().collect::<String>(),
            chars[chars.len() - 4..].iter().collect::<String>()
        ),
        None => "****".into(),
    }
}

/// Who signs in: a phone number or an email, normalised.
fn key_of(phone: Option<&str>, email: Option<&str>) -> ApiResult<(SentinelKey, String)> {
    let bad = |f: &str, m: &str| ApiError::Validation(vec![FieldError::new(f, m)]);
    match (
        phone.map(str::trim).filter(|p| !p.is_empty()),
        email.map(str::trim).filter(|e| !e.is_empty()),
    ) {
        (Some(p), None) => {
            let p = normalise_phone(p).map_err(|m| bad("phone", &m))?;
            Ok((SentinelKey::Phone(p.clone()), p))
        }
        (None, Some(e)) => {
            let ok = e.len() <= 254
                && e.split_once('@')
                    .is_some_and(|(u, d)| !u.is_empty() && d.contains('.') && !d.starts_with('.'))
                && !e.contains(char::is_whitespace);
            if !ok {
                return Err(bad("email", "is not an email address"));
            }
            Ok((SentinelKey::Email(e.to_lowercase()), e.to_lowercase()))
        }
        (Some(_), Some(_)) => Err(bad("phone", "give a phone number or an email, not both")),
        (None, None) => Err(bad("phone", "give a phone number or an email")),
    }
}

fn me_json(s: &Sentinel) -> Value {
    json!({ "handle": s.handle, "display_name": s.display_name, "phone": s.phone, "email": s.email,
            "verified": s.verified_at.is_some() })
}

fn membership_json(m: &Membership) -> Value {
    json!({ "group": m.group, "name": m.group.name_zh(), "name_en": m.group.name_en(), "status": m.status })
}

fn secure(s: &AppState, headers: &HeaderMap) -> &'static str {
    if crate::api::session::behind_tls(s, headers) {
        "; Secure"
    } else {
        ""
    }
}

fn account_cookie(headers: &HeaderMap) -> Option<&str> {
    crate::auth::cookie_value(headers, ACCOUNT_COOKIE)
}

async fn start_session(s: &AppState, headers: &HeaderMap, who: &Sentinel) -> ApiResult<Response> {
    let session = random_secret();
    let now = OffsetDateTime::now_utc();
    // Sentinels stay signed in on their phone for a month.
    let ttl = Duration::days(30);
    s.store
        .create_sentinel_session(&secret_hash(&session), who.id, now, now + ttl)
        .await?;
    let cookie = format!(
        "{ACCOUNT_COOKIE}={session}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{}",
        ttl.whole_seconds(),
        secure(s, headers)
    );
    let mut res = Json(me_json(who)).into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(|e| ApiError::Internal(e.to_string()))?,
    );
    Ok(res)
}

/// The signed-in sentinel, if the request carries a live session.
pub(crate) async fn signed_in(s: &AppState, headers: &HeaderMap) -> ApiResult<Option<Sentinel>> {
    let Some(id) = account_cookie(headers) else {
        return Ok(None);
    };
    Ok(s.store
        .sentinel_for_session(&secret_hash(id), OffsetDateTime::now_utc())
        .await?)
}

async fn require(s: &AppState, headers: &HeaderMap) -> ApiResult<Sentinel> {
    signed_in(s, headers)
        .await?
        .ok_or_else(|| ApiError::Unauthorized("sign in as a sentinel first".into()))
}

#[derive(Deserialize)]
pub(crate) struct SignUp {
    phone: Option<String>,
    email: Option<String>,
    password: String,
    display_name: Option<String>,
}

/// `POST /api/v1/sentinels`: sign up; a code goes to the phone or email.
pub(crate) async fn sign_up(
    State(s): State<AppState>,
    crate::client::ClientIp(peer): crate::client::ClientIp,
    ApiJson(b): ApiJson<SignUp>,
) -> ApiResult<Response> {
    s.login_limit.check(peer)?;
    let (_, to) = key_of(b.phone.as_deref(), b.email.as_deref())?;
    let password = Secret::new(b.password);
    crate::auth::check_password_strength(&password, &[&to])
        .map_err(|m| ApiError::Validation(vec![FieldError::new("password", m)]))?;
    let display_name = b
        .display_name
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| mask(&to));
    if display_name.chars().count() > 40 {
        return Err(ApiError::Validation(vec![FieldError::new(
            "display_name",
            "is longer than 40 characters",
        )]));
    }
    let hash = crate::auth::hash_password_async(password).await?;
    let code = six_digit_code();
    let now = OffsetDateTime::now_utc();
    let new = NewSentinel {
        handle: format!("s-{}", &secret_hash(&random_secret())[..10]),
        display_name,
        phone: to
            .starts_with('1')
            .then(|| to.clone())
            .filter(|_| !to.contains('@')),
        email: to.contains('@').then(|| to.clone()),
        password_hash: hash,
        verified_at: None,
    };
    let created = match s
        .store
        .create_sentinel(new, &secret_hash(&code), now + CODE_LIFETIME, now)
        .await
    {
        Ok(created) => Some(created),
        // The phone or e-mail is a verified account's: the answer is the same as for
        // a new one, so sign-up does not tell who is registered. No code is sent
        // (there is nothing to verify); its owner signs in as ever.
        Err(StoreError::AlreadyExists(_)) => None,
        Err(other) => return Err(other.into()),
    };
    if let Some(created) = &created {
        if let Err(e) = s.code_sender.send(&to, &code, Purpose::SignUp).await {
            tracing::error!(error = %e, "a sign-up code could not be sent");
            return Err(ApiError::Unavailable);
        }
        tracing::info!(handle = %created.handle, "sentinel signed up");
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "code_sent_to": mask(&to) })),
    )
        .into_response())
}

/// Six digits, uniformly drawn from the operating system's random source (no
/// modulo bias: draws at or above the largest multiple of a million are redrawn).
fn six_digit_code() -> String {
    const LIMIT: u32 = u32::MAX - u32::MAX % 1_000_000;
    loop {
        let mut b = [0u8; 4];
        getrandom::fill(&mut b).expect("the operating system's random source");
        let n = u32::from_le_bytes(b);
        if n < LIMIT {
            return format!("{:06}", n % 1_000_000);
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct Verify {
    phone: Option<String>,
    email: Option<String>,
    code: String,
    /// The password, chosen by whoever holds the code. Without it the account keeps
    /// the password of its first sign-up.
    password: Option<String>,
}

/// `POST /api/v1/sentinels/verify`: the code proves the phone or email and signs in.
pub(crate) async fn verify(
    State(s): State<AppState>,
    crate::client::ClientIp(peer): crate::client::ClientIp,
    headers: HeaderMap,
    ApiJson(b): ApiJson<Verify>,
) -> ApiResult<Response> {
    s.login_limit.check(peer)?;
    let (key, to) = key_of(b.phone.as_deref(), b.email.as_deref())?;
    let password_hash = match b.password {
        Some(p) => {
            let password = Secret::new(p);
            crate::auth::check_password_strength(&password, &[&to])
                .map_err(|m| ApiError::Validation(vec![FieldError::new("password", m)]))?;
            Some(crate::auth::hash_password_async(password).await?)
        }
        None => None,
    };
    let who = s
        .store
        .verify_sentinel(
            &key,
            &secret_hash(b.code.trim()),
            password_hash.as_deref(),
            OffsetDateTime::now_utc(),
        )
        .await?
        .ok_or_else(|| {
            ApiError::Validation(vec![FieldError::new(
                "code",
                "the code is wrong or has expired; after five wrong tries, sign up again for a new one",
            )])
        })?;
    start_session(&s, &headers, &who).await
}

#[derive(Deserialize)]
pub(crate) struct SignIn {
    phone: Option<String>,
    email: Option<String>,
    password: String,
}

/// `POST /api/v1/sentinels/session`
pub(crate) async fn sign_in(
    State(s): State<AppState>,
    crate::client::ClientIp(peer): crate::client::ClientIp,
    headers: HeaderMap,
    ApiJson(b): ApiJson<SignIn>,
) -> ApiResult<Response> {
    s.login_limit.check(peer)?;
    let (key, to) = key_of(b.phone.as_deref(), b.email.as_deref())?;
    let gate = crate::signin::before(&s, format!("sentinel:{to}"), mask(&to)).await?;
    let found = s.store.sentinel_password_hash(&key).await?;
    let hash = found
        .as_ref()
        .map_or_else(|| crate::auth::dummy_hash().to_owned(), |(_, h)| h.clone());
    let password = Secret::new(b.password);
    let ok = crate::auth::verify_password_async(password, hash).await?;
    let found = found.filter(|_| ok);
    crate::signin::after(&s, gate, found.is_some()).await?;
    let (who, _) =
        found.ok_or_else(|| ApiError::Unauthorized("wrong phone, email or password".into()))?;
    if who.verified_at.is_none() {
        return Err(ApiError::Forbidden(
            "the account is not verified yet: enter the code that was sent".into(),
        ));
    }
    start_session(&s, &headers, &who).await
}

/// `DELETE /api/v1/sentinels/session`
pub(crate) async fn sign_out(State(s): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    if let Some(id) = account_cookie(&headers) {
        s.store.end_sentinel_session(&secret_hash(id)).await?;
    }
    let mut res = StatusCode::NO_CONTENT.into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("sentinel_account=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"),
    );
    Ok(res)
}

/// `GET /api/v1/sentinels/me`: the account, its groups, its standing and its reports.
pub(crate) async fn me(State(s): State<AppState>, headers: HeaderMap) -> ApiResult<Json<Value>> {
    let who = require(&s, &headers).await?;
    let groups = s.store.memberships(&who.handle).await?;
    let st = s.store.standing(&who.handle).await?;
    let reports = s
        .store
        .reports(&ReportQuery {
            account: Some(who.handle.clone()),
            limit: 50,
            ..Default::default()
        })
        .await?;
    let mut v = me_json(&who);
    v["groups"] = json!(groups.iter().map(membership_json).collect::<Vec<_>>());
    v["standing"] = json!({
        "reports_filed": st.filed,
        "reports_valid": st.valid,
        // Of the reports a dispatcher has looked at, the share taken up.
        "share_valid": if st.judged == 0 { Value::Null } else { json!((st.valid as f64 / st.judged as f64 * 1000.0).round() / 1000.0) },
        "supporters_gathered": st.supporters,
    });
    v["reports"] = json!(
        reports
            .iter()
            .map(|r| views::public_report(r, &s.config))
            .collect::<Vec<_>>()
    );
    Ok(Json(v))
}

#[derive(Deserialize)]
pub(crate) struct Join {
    group: String,
}

fn group(code: &str) -> ApiResult<SentinelGroup> {
    code.parse::<SentinelGroup>().map_err(|_| {
        ApiError::Validation(vec![FieldError::new(
            "group",
            "use delivery_rider, courier, ride_hailing_driver, retiree or grid_worker",
        )])
    })
}

/// `POST /api/v1/sentinels/me/groups`: ask to join a group.
pub(crate) async fn join(
    State(s): State<AppState>,
    headers: HeaderMap,
    ApiJson(b): ApiJson<Join>,
) -> ApiResult<Response> {
    let who = require(&s, &headers).await?;
    let g = group(&b.group)?;
    let m = s
        .store
        .request_group(&who.handle, g, OffsetDateTime::now_utc())
        .await
        .map_err(|e| match e {
            StoreError::AlreadyExists(_) => ApiError::Conflict(format!(
                "already a member of {} or waiting for a decision",
                g.as_str()
            )),
            other => other.into(),
        })?;
    Ok((StatusCode::CREATED, Json(membership_json(&m))).into_response())
}

/// `GET /api/v1/admin/sentinel-groups`: requests waiting for a decision (admins).
pub(crate) async fn pending(
    State(s): State<AppState>,
    staff: crate::auth::Staff,
) -> ApiResult<Json<Value>> {
    staff.require(&[Role::Admin])?;
    let items: Vec<Value> = s
        .store
        .group_requests()
        .await?
        .into_iter()
        .map(|(handle, name, m)| {
            let mut v = membership_json(&m);
            v["handle"] = json!(handle);
            v["display_name"] = json!(name);
            v["requested_at"] = json!(crate::views::ts(m.requested_at));
            v
        })
        .collect();
    Ok(Json(json!({ "requests": items })))
}

#[derive(Deserialize)]
pub(crate) struct Decision {
    approve: bool,
}

/// `POST /api/v1/admin/sentinel-groups/{handle}/{group}`: approve or decline (admins).
pub(crate) async fn decide(
    State(s): State<AppState>,
    staff: crate::auth::Staff,
    ApiPath((handle, g)): ApiPath<(String, String)>,
    ApiJson(b): ApiJson<Decision>,
) -> ApiResult<Json<Value>> {
    staff.require(&[Role::Admin])?;
    let g = group(&g)?;
    let m = s
        .store
        .decide_group(
            &handle,
            g,
            b.approve,
            &staff.user.name,
            OffsetDateTime::now_utc(),
        )
        .await
        .map_err(|e| match e {
            StoreError::NotFound => ApiError::NotFound(format!(
                "{handle} has no pending request to join {}",
                g.as_str()
            )),
            other => other.into(),
        })?;
    tracing::info!(%handle, group = %g, approve = b.approve, admin = %staff.user.name, "group request decided");
    Ok(Json(membership_json(&m)))
}

#[cfg(test)]
mod tests {
    #[test]
    fn codes_are_six_digits_over_the_whole_range() {
        let codes: Vec<String> = (0..2000).map(|_| super::six_digit_code()).collect();
        assert!(
            codes
                .iter()
                .all(|c| c.len() == 6 && c.bytes().all(|b| b.is_ascii_digit()))
        );
        // Four hex characters gave at most 65,536 values, all below 065536 once
        // taken modulo a million; a uniform draw lands in the upper half often.
        assert!(codes.iter().filter(|c| c.as_str() >= "500000").count() > 800);
    }
}
