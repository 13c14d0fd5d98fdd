//! Cross-site request forgery policy. A write (any method but GET, HEAD and
//! OPTIONS) that carries a browser session cookie (staff `sentinel_session` or
//! sentinel `sentinel_account`) and no `Authorization` header must
//!
//! 1. come from our own pages: an `Origin` equal to this server's (the `Host` it
//!    was asked for, or `--public-url`), or, with no `Origin`, `Sec-Fetch-Site:
//!    same-origin`; and
//! 2. carry `X-CSRF-Token` equal to the token derived from that session (a hash
//!    of the session secret, which a foreign page can neither read nor compute).
//!
//! Otherwise it is refused with a 403 problem document, logged and counted as a
//! security event, before any handler runs. Bearer-token and cookie-less requests
//! (an anonymous report, a sign-in) carry no ambient authority and pass.
//!
//! The pages read the token from the `sentinel_csrf` cookie (readable by script,
//! `SameSite=Strict`), which this layer sets whenever a response starts a session
//! or a request arrives with a session but without the matching cookie.

use crate::AppState;
use crate::api::sentinels::ACCOUNT_COOKIE;
use crate::auth::{SESSION_COOKIE, cookie_value, secret_hash};
use crate::error::ApiError;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The cookie the pages read the token from.
pub const CSRF_COOKIE: &str = "sentinel_csrf";
/// The header the pages send it in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The token bound to one session secret.
pub fn token_for(session: &str) -> String {
    secret_hash(&format!("csrf:{session}"))
}

fn sessions(headers: &HeaderMap) -> Vec<&str> {
    [SESSION_COOKIE, ACCOUNT_COOKIE]
        .into_iter()
        .filter_map(|name| cookie_value(headers, name))
        .filter(|v| !v.is_empty())
        .collect()
}

/// Whether the request says it comes from this server's own pages.
fn same_origin(s: &AppState, headers: &HeaderMap) -> bool {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    match header("origin") {
        Some(origin) => {
            let Ok(url) = url::Url::parse(origin) else {
                return false; // "null" (a sandboxed frame, a file) and garbage
            };
            let authority = match (url.host_str(), url.port()) {
                (Some(h), Some(p)) => format!("{h}:{p}"),
                (Some(h), None) => h.to_owned(),
                (None, _) => return false,
            };
            let host_matches = header("host").is_some_and(|h| h.eq_ignore_ascii_case(&authority));
            let public_matches = !s.config.public_url.is_empty()
                && url::Url::parse(&s.config.public_url).is_ok_and(|p| p.origin() == url.origin());
            host_matches || public_matches
        }
        None => header("sec-fetch-site") == Some("same-origin"),
    }
}

fn equal(a: &str, b: &str) -> bool {
    // Constant time for equal lengths: the token's length is public anyway.
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The policy above, as a middleware over the whole application.
pub(crate) async fn protect(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let headers = req.headers();
    let current = sessions(headers);
    let bearer = headers.contains_key(header::AUTHORIZATION);
    if !safe && !bearer && !current.is_empty() {
        let why = if !same_origin(&s, headers) {
            Some("this write came from another site (its Origin is not this server's)")
        } else {
            let sent = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
            match sent {
                Some(t) if current.iter().any(|sess| equal(&token_for(sess), t.trim())) => None,
                Some(_) => Some("the CSRF token does not match this session; reload the page"),
                None => Some("send the CSRF token (the sentinel_csrf cookie) in X-CSRF-Token"),
            }
        };
        if let Some(why) = why {
            s.metrics.security_event("csrf_refused");
            tracing::warn!(
                method = %req.method(),
                path = %req.uri().path(),
                origin = ?headers.get("origin"),
                "security: cross-site write refused"
            );
            return ApiError::CrossSite(why.into()).into_response();
        }
    }
    let had = cookie_value(headers, CSRF_COOKIE).map(str::to_owned);
    let secure = crate::api::session::behind_tls(&s, headers);
    let first = current.first().map(|sess| token_for(sess));
    let mut res = next.run(req).await;
    // A session started by this response (a sign-in) gets its token now; one
    // that arrived without its cookie (signed in before tokens existed) too.
    let started = res
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| {
            let (name, rest) = c.split_once('=')?;
            let value = rest.split(';').next()?.trim();
            ([SESSION_COOKIE, ACCOUNT_COOKIE].contains(&name.trim()) && !value.is_empty())
                .then(|| token_for(value))
        });
    let wanted = started.or_else(|| first.filter(|t| had.as_deref() != Some(t.as_str())));
    if let Some(token) = wanted {
        let cookie = format!(
            "{CSRF_COOKIE}={token}; Path=/; SameSite=Strict{}",
            if secure { "; Secure" } else { "" }
        );
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            res.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_bound_to_their_session_and_compared_whole() {
        let a = token_for("session-a");
        assert_eq!(a, token_for("session-a"));
        assert_ne!(a, token_for("session-b"));
        assert_ne!(a, secret_hash("session-a"), "not the stored session hash");
        assert!(equal(&a, &a.clone()));
        assert!(!equal(&a, &a[..a.len() - 1]));
        assert!(!equal(&a, &token_for("session-b")));
    }
}
