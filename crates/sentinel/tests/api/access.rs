//! Browser sessions.

use crate::helpers::*;
use reqwest::StatusCode;
use sentinel_core::Role;
use serde_json::{Value, json};

#[tokio::test]
async fn staff_sign_in_with_a_safe_cookie_and_sign_out() {
    let app = TestApp::spawn().await;
    app.token("chen", Role::Dispatcher, None).await;
    let login = |password: &str| {
        app.client
            .post(app.url("/api/v1/session"))
            .json(&json!({ "name": "chen", "password": password }))
            .send()
    };
    problem(
        login("wrong password!").await.unwrap(),
        StatusCode::UNAUTHORIZED,
    )
    .await;
    let res = login(PASSWORD).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attr), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "no TLS here");
    let session = cookie.split(';').next().unwrap().to_owned();
    let me: Value = app
        .client
        .get(app.url("/api/v1/session"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (me["name"].as_str(), me["role"].as_str()),
        (Some("chen"), Some("dispatcher"))
    );
    // The session acts like a token.
    let r = app.report().await;
    let res = app
        .client
        .post(app.url(&format!("/api/v1/reports/{}/actions", r["id"])))
        .header("cookie", &session)
        .json(&json!({"action": "accept"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let out = app
        .client
        .delete(app.url("/api/v1/session"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    problem(
        app.client
            .get(app.url("/api/v1/session"))
            .header("cookie", &session)
            .send()
            .await
            .unwrap(),
        StatusCode::UNAUTHORIZED,
    )
    .await;
    // Behind a TLS proxy the cookie is Secure.
    let res = app
        .client
        .post(app.url("/api/v1/session"))
        .header("x-forwarded-proto", "https")
        .json(&json!({ "name": "chen", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert!(
        res.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Secure")
    );
    // Unknown users get the same answer as wrong passwords.
    let p = problem(
        app.client
            .post(app.url("/api/v1/session"))
            .json(&json!({ "name": "ghost", "password": "whatever123" }))
            .send()
            .await
            .unwrap(),
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(p["detail"], "wrong name or password");
}
