//! Categories and departments.

use crate::AppState;
use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

/// `GET /api/v1/categories`
pub(crate) async fn list_categories(State(s): State<AppState>) -> Json<Value> {
    let catalog = s.catalog();
    Json(json!({ "categories": catalog.categories, "groups": catalog.group_list() }))
}

/// `GET /api/v1/departments`
pub(crate) async fn list_departments(State(s): State<AppState>) -> Json<Value> {
    Json(json!({ "departments": s.catalog().departments }))
}
