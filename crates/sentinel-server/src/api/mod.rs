//! Routes, one module per area, all wired here.

mod admin;
mod analysis;
mod catalog;
mod duplicates;
pub mod export;
mod jurisdictions;
mod layers;
mod ops;
pub(crate) mod patrol;
mod photos;
pub(crate) mod reports;
mod search;
pub mod sentinels;
pub(crate) mod session;
mod stream;
mod tiles;
pub(crate) mod units;

use crate::AppState;
use crate::error::ApiError;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};

/// The body limit of endpoints that take a few short fields (sign-in, "me too",
/// check-in): an anonymous caller must not make the server read and hold megabytes.
pub(crate) const SMALL_BODY: usize = 16 * 1024;

fn small(route: MethodRouter<AppState>) -> MethodRouter<AppState> {
    route.layer(DefaultBodyLimit::max(SMALL_BODY))
}

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(ops::get_health))
        .route("/readyz", get(ops::get_ready))
        .route("/metrics", get(ops::get_metrics))
        .route("/api/v1/openapi.json", get(ops::get_openapi))
        .route(
            "/api/v1/reports",
            post(reports::create_report).get(reports::list_reports),
        )
        .route("/api/v1/reports/nearby", get(duplicates::get_nearby))
        .route("/api/v1/queue", get(reports::queue_counts))
        .route("/api/v1/search", get(search::search))
        .route("/api/v1/reports/{key}", get(reports::get_report))
        .route(
            "/api/v1/reports/{key}/support",
            small(post(duplicates::post_support)),
        )
        .route("/api/v1/reports/{key}/events", get(reports::get_events))
        .route("/api/v1/reports/{key}/actions", post(reports::post_action))
        .route("/api/v1/categories", get(catalog::list_categories))
        .route("/api/v1/departments", get(catalog::list_departments))
        .route(
            "/api/v1/jurisdictions",
            get(jurisdictions::list_jurisdictions),
        )
        .route("/api/v1/jurisdictions/locate", get(jurisdictions::locate))
        .route(
            "/api/v1/map",
            get(
                |axum::extract::State(s): axum::extract::State<AppState>| async move {
                    axum::Json(serde_json::json!({ "base_map": s.config.base_map }))
                },
            ),
        )
        .route("/api/v1/sentinels", small(post(sentinels::sign_up)))
        .route("/api/v1/sentinels/verify", small(post(sentinels::verify)))
        .route(
            "/api/v1/sentinels/session",
            small(post(sentinels::sign_in).delete(sentinels::sign_out)),
        )
        .route("/api/v1/sentinels/me", get(sentinels::me))
        .route("/api/v1/sentinels/me/groups", small(post(sentinels::join)))
        .route("/api/v1/admin/sentinel-groups", get(sentinels::pending))
        .route(
            "/api/v1/admin/sentinel-groups/{handle}/{group}",
            small(post(sentinels::decide)),
        )
        .route(
            "/api/v1/reports/{key}/reporter",
            post(reports::post_reporter_action),
        )
        .route(
            "/api/v1/jurisdictions/outlines",
            get(jurisdictions::outlines),
        )
        .route("/api/v1/photos/{id}", get(photos::get_photo))
        .route("/api/v1/photos/{id}/thumb", get(photos::get_thumbnail))
        .route(
            "/api/v1/reports/{key}/photos/{id}/original",
            get(photos::get_original),
        )
        .route(
            "/api/v1/reports/{key}/photos/{id}/redaction",
            get(photos::get_redaction).post(photos::post_redaction),
        )
        .route(
            "/api/v1/reports/{key}/duplicates",
            get(duplicates::get_duplicates),
        )
        .route("/api/v1/layers", get(layers::list_layers))
        .route("/api/v1/layers/{id}/features", get(layers::get_features))
        .route(
            "/api/v1/admin/config",
            get(admin::get_config).put(admin::put_config),
        )
        .route(
            "/api/v1/units",
            get(units::list_units).post(units::create_unit),
        )
        .route("/api/v1/units/{id}", get(units::get_unit))
        .route("/api/v1/units/{id}/positions", post(units::post_positions))
        .route("/api/v1/units/{id}/status", small(post(units::post_status)))
        .route("/api/v1/units/{id}/dispatches", get(units::unit_dispatches))
        .route("/osmand", get(units::osmand).post(units::osmand))
        .route("/api/v1/events/stream", get(stream::stream))
        .route("/api/v1/patrol/points", get(patrol::list_points))
        .route(
            "/api/v1/patrol/points/{id}/visits",
            small(get(patrol::list_visits).post(patrol::check_in)),
        )
        .route("/api/v1/patrol/points/{id}/qr.svg", get(patrol::qr))
        .route("/api/v1/patrol/qr/{token}", small(post(patrol::scan)))
        .route("/api/v1/analysis/trends", get(analysis::trends))
        .route("/api/v1/analysis/departments", get(analysis::departments))
        .route("/api/v1/analysis/hotspots", get(analysis::hotspots))
        .route("/api/v1/analysis/patterns", get(analysis::patterns))
        .route("/api/v1/analysis/export", get(export::export))
        .route("/tiles/reports/{z}/{x}/{y}", get(tiles::reports_tile))
        .route("/tiles/layers/{layer}/{z}/{x}/{y}", get(tiles::layer_tile))
        .route("/api/v1/reports/{key}/units", get(units::recommend))
        .route("/api/v1/reports/{key}/cameras", get(units::nearest_cameras))
        .route(
            "/api/v1/reports/{key}/dispatches",
            get(units::report_dispatches).post(units::create_dispatch),
        )
        .route(
            "/api/v1/dispatches/{id}",
            get(units::get_dispatch).post(units::post_step),
        )
        .route(
            "/api/v1/session",
            small(
                post(session::sign_in)
                    .get(session::whoami)
                    .delete(session::sign_out),
            ),
        )
}

pub(crate) async fn not_found() -> ApiError {
    ApiError::NotFound("there is nothing at this address".into())
}

pub(crate) async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// The answer to a request whose handler panicked: a 500 problem document, counted
/// and logged with the panic's message, so no panic closes a connection silently.
pub(crate) fn panic_response(
    metrics: &crate::Metrics,
    panic: &(dyn std::any::Any + Send + 'static),
) -> Response {
    metrics.panics.inc();
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    tracing::error!(panic = message, "a request handler panicked");
    ApiError::Internal("a request handler panicked".into()).into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_panic_is_a_counted_500_problem() {
        let metrics = crate::Metrics::default();
        let res = super::panic_response(&metrics, &"index out of bounds");
        assert_eq!(res.status(), axum::http::StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(res.headers()["content-type"], "application/problem+json");
        assert!(metrics.render().contains("sentinel_panics_total 1"));
    }
}
