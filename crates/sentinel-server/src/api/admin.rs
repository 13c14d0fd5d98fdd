//! Administration: the city's configuration (categories, departments, routing rules).

use crate::AppState;
use crate::auth::Staff;
use crate::error::{ApiError, ApiResult};
use axum::Json;
use axum::extract::State;
use sentinel_core::Role;
use serde_json::{Value, json};

/// `GET /api/v1/admin/config`
pub(crate) async fn get_config(State(s): State<AppState>, staff: Staff) -> ApiResult<Json<Value>> {
    staff.require(&[Role::Admin])?;
    Ok(Json(
        serde_json::to_value(&*s.catalog()).map_err(|e| ApiError::Internal(e.to_string()))?,
    ))
}

/// `PUT /api/v1/admin/config`: a whole configuration, TOML or JSON; checked, stored
/// as a new version and put in force at once.
pub(crate) async fn put_config(
    State(s): State<AppState>,
    staff: Staff,
    crate::extract::ApiBytes(body): crate::extract::ApiBytes,
) -> ApiResult<Json<Value>> {
    staff.require(&[Role::Admin])?;
    let text = std::str::from_utf8(&body)
        .map_err(|_| ApiError::BadRequest("the configuration is not valid UTF-8".into()))?;
    let (version, catalog) =
        crate::geography::save_config(&*s.store, text, &staff.user.name).await?;
    let summary = json!({
        "version": version,
        "categories": catalog.categories.len(),
        "departments": catalog.departments.len(),
        "rules": catalog.rules.len(),
    });
    s.set_catalog(catalog);
    tracing::info!(version, user = %staff.user.name, "configuration changed");
    Ok(Json(summary))
}
