//! Map layers for staff: the list, and a layer's features as GeoJSON. Staff only:
//! camera streams and unit stations are not for the public.

use crate::AppState;
use crate::auth::Staff;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiPath, ApiQuery};
use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};

/// `GET /api/v1/layers`
pub(crate) async fn list_layers(
    State(s): State<AppState>,
    _staff: Staff,
) -> ApiResult<Json<Value>> {
    let items: Vec<Value> = s
        .store
        .layers()
        .await?
        .into_iter()
        .map(|l| json!({ "id": l.id, "name": l.name, "kind": l.kind, "feature_count": l.feature_count }))
        .collect();
    Ok(Json(json!({ "layers": items })))
}

#[derive(Deserialize)]
pub(crate) struct FeaturesQuery {
    bbox: Option<String>,
    limit: Option<u32>,
}

/// `GET /api/v1/layers/{id}/features?bbox=&limit=`: a GeoJSON FeatureCollection.
pub(crate) async fn get_features(
    State(s): State<AppState>,
    _staff: Staff,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<FeaturesQuery>,
) -> ApiResult<Json<Value>> {
    if !s.store.layers().await?.iter().any(|l| l.id == id) {
        return Err(ApiError::NotFound(format!("no layer {id}")));
    }
    let bbox = q
        .bbox
        .as_deref()
        .map(str::parse)
        .transpose()
        .map_err(ApiError::BadRequest)?;
    let limit = q.limit.unwrap_or(10_000);
    if !(1..=50_000).contains(&limit) {
        return Err(ApiError::BadRequest(
            "limit must be between 1 and 50000".into(),
        ));
    }
    let rows = s.store.layer_features(id, bbox, limit + 1).await?;
    let truncated = rows.len() > limit as usize;
    let features: Vec<Value> = rows
        .into_iter()
        .take(limit as usize)
        .map(|(g, p)| {
            json!({
                "type": "Feature",
                "geometry": serde_json::from_str::<Value>(&g).unwrap_or(Value::Null),
                "properties": serde_json::from_str::<Value>(&p).unwrap_or(Value::Null),
            })
        })
        .collect();
    Ok(Json(
        json!({ "type": "FeatureCollection", "features": features, "truncated": truncated }),
    ))
}
