//! Health, readiness, metrics and the API description.

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde_json::{Value, json};
use time::OffsetDateTime;

/// `GET /healthz`: the process answers.
pub(crate) async fn get_health() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// `GET /readyz`: the database answers too.
pub(crate) async fn get_ready(State(s): State<AppState>) -> ApiResult<Json<Value>> {
    // Ready means able to take a report: the database answers and takes a write,
    // and the photo store takes a file (a full disk takes the node out of the
    // balancer before it refuses citizens' reports).
    let not_ready = |what: &'static str| {
        move |e: String| {
            tracing::warn!(error = %e, what, "not ready");
            ApiError::Unavailable
        }
    };
    s.store
        .ping()
        .await
        .map_err(|e| not_ready("database")(e.to_string()))?;
    let node = format!(
        "{}-{}",
        std::process::id(),
        s.started_at.unix_timestamp_nanos() / 1_000_000
    );
    s.store
        .probe_write(&node, OffsetDateTime::now_utc())
        .await
        .map_err(|e| not_ready("database writes")(e.to_string()))?;
    s.photos
        .probe_write()
        .await
        .map_err(|e| not_ready("photo store writes")(e.to_string()))?;
    Ok(Json(json!({ "status": "ready" })))
}

/// `GET /metrics`: Prometheus text format.
pub(crate) async fn get_metrics(State(s): State<AppState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        s.metrics.render(),
    )
}

/// `GET /api/v1/openapi.json`
pub(crate) async fn get_openapi() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        crate::openapi::DOCUMENT,
    )
}
