//! Browser security headers, set in one place for every answer:
//!
//! - every answer: `X-Content-Type-Options: nosniff`, `Referrer-Policy: same-origin`,
//!   and `Strict-Transport-Security` when served over TLS (directly or, as the
//!   proxy says, behind it);
//! - pages (HTML): a Content-Security-Policy with no inline script (the map's
//!   workers run from `blob:`; a configured base map's hosts are allowed to be
//!   fetched), `frame-ancestors 'none'` (no page of ours may be framed), and a
//!   `Permissions-Policy` that offers the camera and geolocation to the reporter
//!   app only;
//! - every API answer to a caller with credentials (a bearer token, a staff or
//!   sentinel session) is `Cache-Control: no-store`: such answers may carry
//!   contact details, originals or exports, which no cache may keep.

use crate::AppState;
use crate::api::sentinels::ACCOUNT_COOKIE;
use crate::auth::{SESSION_COOKIE, cookie_value};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

/// The origins a base map is fetched from, for the policy's `connect-src` and
/// `img-src` (the style document, its tiles, glyphs and sprites, or raster tiles).
fn base_map_origins(s: &AppState) -> String {
    let b = &s.config.base_map;
    let mut out: Vec<String> = [b.style_url.as_deref(), b.tiles.as_deref()]
        .into_iter()
        .flatten()
        .filter_map(|u| url::Url::parse(&u.replace(['{', '}'], "")).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .map(|u| u.origin().ascii_serialization())
        .collect();
    out.sort();
    out.dedup();
    out.iter().map(|o| format!(" {o}")).collect()
}

/// The Content-Security-Policy of our pages.
pub fn content_security_policy(s: &AppState) -> String {
    let extra = base_map_origins(s);
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data: blob:{extra}; connect-src 'self'{extra}; \
         worker-src 'self' blob:; child-src blob:; font-src 'self' data:; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; \
         manifest-src 'self'"
    )
}

/// Whether a page path belongs to the reporter app (camera and location offered).
fn reporter_page(path: &str) -> bool {
    path == "/" || path == "/me" || path == "/map" || path.starts_with("/r/")
}

/// The middleware.
pub(crate) async fn secure(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    let tls = crate::api::session::behind_tls(&s, req.headers());
    let credentials = req.headers().contains_key(header::AUTHORIZATION)
        || cookie_value(req.headers(), SESSION_COOKIE).is_some()
        || cookie_value(req.headers(), ACCOUNT_COOKIE).is_some();
    let mut res = next.run(req).await;
    let html = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/html"));
    let h = res.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if tls {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    if html {
        if let Ok(v) = HeaderValue::from_str(&content_security_policy(&s)) {
            h.insert(header::CONTENT_SECURITY_POLICY, v);
        }
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        h.insert(
            "permissions-policy",
            HeaderValue::from_static(if reporter_page(&path) {
                "camera=(self), geolocation=(self), microphone=(), payment=(), usb=()"
            } else {
                "camera=(), geolocation=(), microphone=(), payment=(), usb=()"
            }),
        );
    }
    let stored = h
        .get(header::CACHE_CONTROL)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("no-store"));
    if credentials && path.starts_with("/api/") && !stored {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_reporter_app_is_offered_camera_and_location() {
        for p in ["/", "/me", "/map", "/r/SB-1234-5678"] {
            assert!(reporter_page(p), "{p}");
        }
        for p in ["/console", "/console/analysis", "/p/token", "/rx"] {
            assert!(!reporter_page(p), "{p}");
        }
    }
}
