//! Photo files. Content-addressed, so they never change: long cache lifetimes and
//! the id as ETag. Thumbnails are made on first request and cached.

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiPath;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

const THUMB_SIDE: u32 = 320;

fn cached(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag))
}

fn file_response(bytes: Vec<u8>, mime: &str, etag: &str) -> ApiResult<Response> {
    let mut res = bytes.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(mime).map_err(|e| ApiError::Internal(e.to_string()))?,
    );
    h.insert(
        header::ETAG,
        HeaderValue::from_str(etag).map_err(|e| ApiError::Internal(e.to_string()))?,
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(res)
}

async fn record(s: &AppState, id: &str) -> ApiResult<sentinel_store::PhotoRecord> {
    s.store
        .photo(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no photo {id}")))
}

/// `GET /api/v1/photos/{id}`: the stored photo, EXIF removed.
pub(crate) async fn get_photo(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let rec = record(&s, &id).await?;
    let etag = format!("\"{}\"", rec.id);
    if cached(&headers, &etag) {
        return Ok(StatusCode::NOT_MODIFIED.into_response());
    }
    let bytes = s
        .photos
        .get(&rec.id)
        .await
        .map_err(|e| ApiError::Internal(format!("reading photo {id}: {e}")))?;
    file_response(bytes, &rec.mime, &etag)
}

/// `GET /api/v1/photos/{id}/thumb`: a JPEG about 320 px on its longer side.
pub(crate) async fn get_thumbnail(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let rec = record(&s, &id).await?;
    let etag = format!("\"{}-t{THUMB_SIDE}\"", rec.id);
    if cached(&headers, &etag) {
        return Ok(StatusCode::NOT_MODIFIED.into_response());
    }
    let io = |e: std::io::Error| ApiError::Internal(format!("photo {}: {e}", rec.id));
    let bytes = match s.photos.get_thumb(&rec.id).await.map_err(io)? {
        Some(t) => t,
        None => {
            let original = s.photos.get(&rec.id).await.map_err(io)?;
            let thumb = tokio::task::spawn_blocking(move || {
                sentinel_photos::thumbnail(&original, THUMB_SIDE)
            })
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?
            .map_err(|e| ApiError::Internal(e.to_string()))?;
            if let Err(e) = s.photos.put_thumb(&rec.id, thumb.clone()).await {
                tracing::warn!(error = %e, "could not cache a thumbnail");
            }
            thumb
        }
    };
    file_response(bytes, "image/jpeg", &etag)
}
