//! Health, metrics, the catalogue and the API description.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::Value;

#[tokio::test]
async fn health_readiness_and_metrics_answer() {
    let app = TestApp::spawn().await;
    assert_eq!(
        app.client
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        app.client
            .get(app.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    app.report().await;
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("sentinel_reports_created_total 1"),
        "{metrics}"
    );
    assert!(metrics.contains("route=\"/api/v1/reports\""));
    assert!(metrics.contains("sentinel_http_request_duration_seconds_bucket"));
}

#[tokio::test]
async fn categories_and_departments_are_listed_in_both_languages() {
    let app = TestApp::spawn().await;
    let cats: Value = app.get_json("/api/v1/categories").await;
    let first = &cats["categories"][0];
    assert!(
        first["name"]
            .as_str()
            .unwrap()
            .chars()
            .any(|c| c > '\u{4e00}')
    );
    assert!(first["name_en"].as_str().is_some());
    let depts: Value = app.get_json("/api/v1/departments").await;
    assert!(
        depts["departments"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["code"] == "fire")
    );
}

#[tokio::test]
async fn the_openapi_document_describes_every_route() {
    let app = TestApp::spawn().await;
    let doc: Value = app.get_json("/api/v1/openapi.json").await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/api/v1/reports",
        "/api/v1/reports/{key}",
        "/api/v1/reports/nearby",
        "/api/v1/reports/{key}/support",
        "/api/v1/reports/{key}/duplicates",
        "/api/v1/reports/{key}/events",
        "/api/v1/reports/{key}/actions",
        "/api/v1/categories",
        "/api/v1/departments",
        "/api/v1/jurisdictions",
        "/api/v1/jurisdictions/locate",
        "/api/v1/photos/{id}",
        "/api/v1/photos/{id}/thumb",
        "/api/v1/reports/{key}/photos/{id}/original",
        "/api/v1/reports/{key}/photos/{id}/redaction",
        "/api/v1/session",
        "/api/v1/admin/config",
        "/api/v1/layers",
        "/api/v1/layers/{id}/features",
        "/api/v1/units",
        "/api/v1/units/{id}/positions",
        "/api/v1/reports/{key}/units",
        "/api/v1/reports/{key}/dispatches",
        "/api/v1/dispatches/{id}",
        "/api/v1/events/stream",
        "/tiles/reports/{z}/{x}/{y}.mvt",
        "/tiles/layers/{layer}/{z}/{x}/{y}.mvt",
        "/osmand",
        "/api/v1/queue",
        "/api/v1/patrol/points",
        "/api/v1/patrol/points/{id}/visits",
        "/api/v1/patrol/points/{id}/qr.svg",
        "/api/v1/patrol/qr/{token}",
        "/healthz",
        "/readyz",
        "/metrics",
    ] {
        assert!(paths.contains_key(p), "{p} undocumented");
    }
    for name in [
        "category",
        "description",
        "lat",
        "lon",
        "crs",
        "accuracy_m",
        "address",
        "attributes",
        "contact",
        "anonymous",
    ] {
        assert!(
            doc["components"]["schemas"]["ReportInput"]["properties"]
                .get(name)
                .is_some(),
            "{name}"
        );
    }
}
