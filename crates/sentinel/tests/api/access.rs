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
    // The CSRF token comes as a cookie the page can read, bound to the session.
    let set: Vec<&str> = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    let token = sentinel_server::csrf::token_for(session.split_once('=').unwrap().1);
    assert!(
        set.iter()
            .any(|c| c.starts_with(&format!("sentinel_csrf={token};")) && !c.contains("HttpOnly")),
        "{set:?}"
    );
    // A write with the session cookie from anywhere but our own pages is refused,
    // and changes nothing.
    let r = app.report().await;
    let action_url = app.url(&format!("/api/v1/reports/{}/actions", r["id"]));
    let form = || reqwest::multipart::Form::new().text("action", r#"{"action":"accept"}"#);
    for (why, req) in [
        (
            "no Origin, no token",
            app.client
                .post(&action_url)
                .header("cookie", &session)
                .json(&json!({"action": "accept"})),
        ),
        (
            "a foreign Origin with the right token",
            app.client
                .post(&action_url)
                .header("cookie", &session)
                .header("origin", "http://evil.example")
                .header("x-csrf-token", &token)
                .json(&json!({"action": "accept"})),
        ),
        (
            "a plain HTML form from another site",
            app.client
                .post(&action_url)
                .header("cookie", &session)
                .header("origin", "http://evil.example")
                .multipart(form()),
        ),
        (
            "our Origin without the token",
            app.client
                .post(&action_url)
                .header("cookie", &session)
                .header("origin", &app.base)
                .multipart(form()),
        ),
        (
            "our Origin with another session's token",
            app.client
                .post(&action_url)
                .header("cookie", &session)
                .header("origin", &app.base)
                .header("x-csrf-token", sentinel_server::csrf::token_for("another"))
                .json(&json!({"action": "accept"})),
        ),
    ] {
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{why}");
        let p: Value = res.json().await.unwrap();
        assert_eq!(p["type"], "/problems/cross-site", "{why}");
    }
    let unchanged: Value = app
        .client
        .get(app.url(&format!("/api/v1/reports/{}", r["id"])))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(unchanged["status"], "submitted");
    // From our page (Origin, or Sec-Fetch-Site alone) with the token, the session
    // acts like a token; a bearer token needs neither.
    let res = from_our_page(app.client.post(&action_url), &app.base, &session)
        .json(&json!({"action": "accept"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = app
        .client
        .post(&action_url)
        .header("cookie", &session)
        .header("sec-fetch-site", "same-origin")
        .header("x-csrf-token", &token)
        .json(&json!({"action": "comment", "note": "checked"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let out = from_our_page(
        app.client.delete(app.url("/api/v1/session")),
        &app.base,
        &session,
    )
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
