//! Vector tiles for the command map: reports from the in-memory index, and
//! imported layers from the store. Staff only: the map shows every report, not
//! just the public ones, and camera streams are not public.

use crate::AppState;
use crate::api::reports::{list, time_param};
use crate::auth::Staff;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiPath, ApiQuery};
use crate::web::not_modified;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use sentinel_core::{Role, Status};
use sentinel_tiles::{Filter, TileId, render_layer};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::time::Duration;
use time::OffsetDateTime;

const MVT: &str = "application/vnd.mapbox-vector-tile";
/// Most features of a layer read for one tile.
const LAYER_TILE_LIMIT: u32 = 50_000;

fn tile_id(z: u32, x: u32, file: &str) -> ApiResult<TileId> {
    let y = file
        .strip_suffix(".mvt")
        .and_then(|y| y.parse::<u32>().ok())
        .ok_or_else(|| ApiError::NotFound("tiles are addressed as {z}/{x}/{y}.mvt".into()))?;
    TileId::new(z, x, y).map_err(|e| ApiError::BadRequest(e.to_string()))
}

fn tile_response(etag: String, cache: &'static str, body: Option<Bytes>) -> Response {
    let mut res = match body {
        Some(b) => (StatusCode::OK, b).into_response(),
        None => StatusCode::NOT_MODIFIED.into_response(),
    };
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(MVT));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    res
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TileQuery {
    status: Option<String>,
    category: Option<String>,
    department: Option<String>,
    since: Option<String>,
    until: Option<String>,
    /// A client's cache-buster (the console passes the last change it saw); ignored.
    #[allow(dead_code)]
    v: Option<String>,
}

/// `GET /tiles/reports/{z}/{x}/{y}.mvt?status=&category=&department=&since=&until=`
pub(crate) async fn reports_tile(
    State(s): State<AppState>,
    staff: Staff,
    ApiPath((z, x, file)): ApiPath<(u32, u32, String)>,
    ApiQuery(q): ApiQuery<TileQuery>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let tile = tile_id(z, x, &file)?;
    let statuses = list(&q.status)
        .iter()
        .map(|v| v.parse::<Status>().map_err(ApiError::BadRequest))
        .collect::<ApiResult<Vec<_>>>()?;
    let categories = list(&q.category);
    if let Some(unknown) = categories
        .iter()
        .find(|c| s.catalog().category(c).is_none())
    {
        return Err(ApiError::BadRequest(format!(
            "unknown category {unknown:?}"
        )));
    }
    let mut department = q.department.clone().filter(|d| !d.is_empty());
    // Officers see their own department's reports only.
    if staff.user.role == Role::Officer {
        match (&department, &staff.user.department) {
            (Some(d), Some(mine)) if d != mine => {
                return Err(ApiError::Forbidden(
                    "officers see their own department's reports".into(),
                ));
            }
            (_, mine) => department = Some(mine.clone().unwrap_or_default()),
        }
    }
    let filter = Filter {
        statuses,
        categories,
        department,
        since: time_param("since", &q.since)?,
        until: time_param("until", &q.until)?,
    };
    if !s.live.wait_ready(Duration::from_secs(30)).await {
        return Err(ApiError::Unavailable);
    }
    let version = s
        .live
        .index
        .read()
        .map_err(|_| ApiError::Unavailable)?
        .version(tile);
    // Overdue flags change with the clock, not only with writes: a tile is good
    // for the minute it was drawn in.
    let now = OffsetDateTime::now_utc();
    let minute = now.unix_timestamp().div_euclid(60);
    let filter_key = format!("{filter:?}");
    let digest = Sha256::digest(filter_key.as_bytes());
    let etag = format!(
        "\"r{version:x}-{minute:x}-{}\"",
        sentinel_photos::hex(&digest[..6])
    );
    if not_modified(&headers, &etag) {
        return Ok(tile_response(etag, "private, no-cache", None));
    }
    let key = (tile, filter_key);
    if let Some(bytes) = s.live.cached_tile(&key, &etag) {
        return Ok(tile_response(etag, "private, no-cache", Some(bytes)));
    }
    let live = s.live.clone();
    let bytes = tokio::task::spawn_blocking(move || {
        live.index
            .read()
            .map(|idx| idx.render(tile, &filter, now))
            .map_err(|_| ApiError::Unavailable)
    })
    .await
    .map_err(|_| ApiError::Unavailable)??;
    let bytes = Bytes::from(bytes);
    s.live.cache_tile(key, etag.clone(), bytes.clone());
    Ok(tile_response(etag, "private, no-cache", Some(bytes)))
}

/// `GET /tiles/layers/{layer}/{z}/{x}/{y}.mvt`: an imported layer (by name or id).
/// A layer is replaced whole under a new id, so its tiles are cached for minutes.
pub(crate) async fn layer_tile(
    State(s): State<AppState>,
    _staff: Staff,
    ApiPath((layer, z, x, file)): ApiPath<(String, u32, u32, String)>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let tile = tile_id(z, x, &file)?;
    let info = s
        .store
        .layers()
        .await?
        .into_iter()
        .find(|l| l.name == layer || l.id.to_string() == layer)
        .ok_or_else(|| ApiError::NotFound(format!("no layer {layer:?}")))?;
    let etag = format!("\"l{}-{}-{}-{}\"", info.id, tile.z, tile.x, tile.y);
    if not_modified(&headers, &etag) {
        return Ok(tile_response(etag, "private, max-age=300", None));
    }
    let (w, south, e, n) = tile.lonlat_box(64.0);
    let bbox = sentinel_geo::BBox {
        min_lon: w,
        min_lat: south,
        max_lon: e,
        max_lat: n,
    };
    let rows = s
        .store
        .layer_features(info.id, Some(bbox), LAYER_TILE_LIMIT)
        .await?;
    let name = info.name.clone();
    let bytes = tokio::task::spawn_blocking(move || render_layer(tile, &name, &rows))
        .await
        .map_err(|_| ApiError::Unavailable)?;
    Ok(tile_response(
        etag,
        "private, max-age=300",
        Some(Bytes::from(bytes)),
    ))
}
