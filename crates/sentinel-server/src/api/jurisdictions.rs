//! Jurisdictions: the list, and which ones a point lies in.

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiQuery, point_query};
use axum::Json;
use axum::extract::State;
use sentinel_geo::{Jurisdiction, Level};
use serde::Deserialize;
use serde_json::{Value, json};

fn view(j: &Jurisdiction) -> Value {
    json!({ "id": j.id, "name": j.name, "name_en": j.name_en, "code": j.code, "level": j.level, "parent": j.parent })
}

#[derive(Deserialize)]
pub(crate) struct ListQuery {
    level: Option<String>,
}

/// `GET /api/v1/jurisdictions?level=`
pub(crate) async fn list_jurisdictions(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Value>> {
    let level = q
        .level
        .as_deref()
        .map(str::parse::<Level>)
        .transpose()
        .map_err(ApiError::BadRequest)?;
    let index = s.jurisdictions();
    let items: Vec<Value> = index
        .all()
        .iter()
        .filter(|j| level.is_none_or(|l| j.level == l))
        .map(view)
        .collect();
    Ok(Json(json!({ "jurisdictions": items })))
}

/// `GET /api/v1/jurisdictions/outlines?level=`: the boundaries as a GeoJSON
/// FeatureCollection (public: maps draw them, as the offline base map).
pub(crate) async fn outlines(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<axum::response::Response> {
    use axum::response::IntoResponse;
    let level = q
        .level
        .as_deref()
        .map(str::parse::<Level>)
        .transpose()
        .map_err(ApiError::BadRequest)?;
    let index = s.jurisdictions();
    let features: Vec<String> = index
        .all()
        .iter()
        .filter(|j| level.is_none_or(|l| j.level == l))
        .map(|j| {
            format!(
                r#"{{"type":"Feature","properties":{},"geometry":{}}}"#,
                view(j),
                sentinel_geo::import::area_to_geojson(&j.area)
            )
        })
        .collect();
    let body = format!(
        r#"{{"type":"FeatureCollection","features":[{}]}}"#,
        features.join(",")
    );
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "application/geo+json"),
            (axum::http::header::CACHE_CONTROL, "public, max-age=300"),
        ],
        body,
    )
        .into_response())
}

#[derive(Deserialize)]
pub(crate) struct LocateQuery {
    lat: Option<f64>,
    lon: Option<f64>,
    crs: Option<String>,
}

/// `GET /api/v1/jurisdictions/locate?lat=&lon=[&crs=]`: the chain, largest first.
pub(crate) async fn locate(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<LocateQuery>,
) -> ApiResult<Json<Value>> {
    let p = point_query(q.lat, q.lon, q.crs.as_deref())?;
    let index = s.jurisdictions();
    let chain: Vec<Value> = index.locate(p).into_iter().map(view).collect();
    Ok(Json(json!({
        "lat": p.lat(),
        "lon": p.lon(),
        "inside_service_area": !chain.is_empty() || index.is_empty(),
        "jurisdictions": chain,
    })))
}
