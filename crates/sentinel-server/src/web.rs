//! The web pages, served from assets embedded in the binary (`web/` in the
//! repository: our own plain ES modules, no build step, and the vendored
//! third-party libraries). The reporter app is `/` (and `/r/{code}`, its tracking
//! page); its service worker sits at `/sw.js` so that it controls the whole site.
//! The staff command console is `/console` (its modules under `/console/`); a
//! patrol point's QR code opens `/p/{token}`, where a unit checks in.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "$CARGO_MANIFEST_DIR/../../web/"]
#[include = "reporter/*"]
#[include = "console/*"]
#[include = "vendor/*"]
struct Assets;

/// The page routes.
pub(crate) fn routes() -> Router<crate::AppState> {
    Router::new()
        .route("/", get(reporter))
        .route("/r/{code}", get(reporter))
        .route("/me", get(reporter))
        .route(
            "/map",
            get(|h: HeaderMap| async move { asset("reporter/map.html", &h) }),
        )
        .route(
            "/sw.js",
            get(|h: HeaderMap| async move { asset("reporter/sw.js", &h) }),
        )
        .route(
            "/manifest.webmanifest",
            get(|h: HeaderMap| async move { asset("reporter/manifest.webmanifest", &h) }),
        )
        .route(
            "/console",
            get(|h: HeaderMap| async move { asset("console/index.html", &h) }),
        )
        .route(
            "/console/analysis",
            get(|h: HeaderMap| async move { asset("console/analysis.html", &h) }),
        )
        .route(
            "/console/{*path}",
            get(|Path(path): Path<String>, h: HeaderMap| async move {
                asset(&format!("console/{path}"), &h)
            }),
        )
        .route(
            "/p/{token}",
            get(|h: HeaderMap| async move { asset("console/checkin.html", &h) }),
        )
        .route("/assets/{*path}", get(own))
        .route("/vendor/{*path}", get(vendor))
}

async fn reporter(headers: HeaderMap) -> Response {
    asset("reporter/index.html", &headers)
}

async fn own(Path(path): Path<String>, headers: HeaderMap) -> Response {
    asset(&format!("reporter/{path}"), &headers)
}

async fn vendor(Path(path): Path<String>, headers: HeaderMap) -> Response {
    asset(&format!("vendor/{path}"), &headers)
}

/// Whether the client already holds this ETag (`If-None-Match`, a list or `*`).
pub(crate) fn not_modified(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
}

/// One embedded file with its type and an ETag; pages and the service worker are
/// revalidated every time, the rest for an hour (a new binary changes the ETag).
fn asset(path: &str, headers: &HeaderMap) -> Response {
    if path.contains("..") {
        return StatusCode::NOT_FOUND.into_response();
    }
    let Some(file) = Assets::get(path) else {
        return (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "not found",
        )
            .into_response();
    };
    let etag = format!(
        "\"{}\"",
        file.metadata
            .sha256_hash()
            .iter()
            .take(12)
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    let revalidate =
        path.ends_with(".html") || path.ends_with("sw.js") || path.ends_with(".webmanifest");
    let cache = if revalidate {
        "no-cache"
    } else {
        "public, max-age=3600"
    };
    if not_modified(headers, &etag) {
        return (
            StatusCode::NOT_MODIFIED,
            [
                (header::ETAG, etag),
                (header::CACHE_CONTROL, cache.to_owned()),
            ],
        )
            .into_response();
    }
    let mime = if path.ends_with(".mjs") || path.ends_with(".js") {
        "text/javascript; charset=utf-8".to_owned()
    } else if path.ends_with(".webmanifest") {
        "application/manifest+json".to_owned()
    } else {
        let m = file.metadata.mimetype();
        if m.starts_with("text/") {
            format!("{m}; charset=utf-8")
        } else {
            m.to_owned()
        }
    };
    let mut res = (StatusCode::OK, file.data.into_owned()).into_response();
    let h = res.headers_mut();
    for (k, v) in [
        (header::CONTENT_TYPE, mime),
        (header::ETAG, etag),
        (header::CACHE_CONTROL, cache.to_owned()),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
    ] {
        if let Ok(v) = HeaderValue::from_str(&v) {
            h.insert(k, v);
        }
    }
    if path == "reporter/sw.js" {
        h.insert("service-worker-allowed", HeaderValue::from_static("/"));
    }
    res
}
