//! What the console and the reporter app read to show only what a person may do
//! and only words, never codes: `allowed_actions` on the staff view, the category
//! groups' names, the routing basis, places in words; the search box; a report
//! taken by phone.

use crate::helpers::*;
use reqwest::StatusCode;
use sentinel_core::Role;
use sentinel_store::Store;
use serde_json::{Value, json};

fn actions(v: &Value) -> Vec<&str> {
    let mut a: Vec<&str> = v["allowed_actions"]
        .as_array()
        .expect("allowed_actions")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    a.sort_unstable();
    a
}

#[tokio::test]
async fn the_staff_view_says_what_this_person_may_do_now() {
    let app = TestApp::spawn().await;
    let dispatcher = app.token("dee", Role::Dispatcher, None).await;
    let analyst = app.token("ana", Role::Analyst, None).await;
    let r = app.report().await;
    let id = r["id"].as_i64().unwrap();
    let path = format!("/api/v1/reports/{id}");
    assert_eq!(
        actions(&app.get_json_as(&path, &dispatcher).await),
        [
            "accept",
            "comment",
            "escalate",
            "merge",
            "reject",
            "set_priority"
        ]
    );
    assert!(actions(&app.get_json_as(&path, &analyst).await).is_empty());
    // The public never gets the list.
    assert!(app.get_json(&path).await.get("allowed_actions").is_none());
    // After assignment, no accepting or rejecting; the lead officer may start.
    let res = app.act(&dispatcher, id, json!({"action": "accept"})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let after: Value = res.json().await.unwrap();
    assert_eq!(
        actions(&after["report"]),
        ["assign", "comment", "escalate", "set_priority"]
    );
    let (lead, other) = app.lead_and_another_department(id, &dispatcher).await;
    let res = app
        .act(
            &dispatcher,
            id,
            json!({"action": "assign", "department": lead}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        actions(&app.get_json_as(&path, &dispatcher).await),
        ["comment", "escalate", "set_priority"]
    );
    let officer = app.token("ollie", Role::Officer, Some(&lead)).await;
    assert_eq!(
        actions(&app.get_json_as(&path, &officer).await),
        ["comment", "return", "start"]
    );
    // Another department's officer sees what the public sees: no actions.
    let outsider = app.token("pat", Role::Officer, Some(&other)).await;
    assert!(
        app.get_json_as(&path, &outsider)
            .await
            .get("allowed_actions")
            .is_none()
    );
    // The lists carry it too, so a queue can say what is actionable.
    let list = app
        .get_json_as("/api/v1/reports?queue=new&limit=5", &dispatcher)
        .await;
    for item in list["reports"].as_array().unwrap() {
        assert!(item["allowed_actions"].is_array(), "{item}");
    }
}

#[tokio::test]
async fn categories_come_with_named_groups_and_the_everyday_ones() {
    let app = TestApp::spawn().await;
    let c = app.get_json("/api/v1/categories").await;
    let groups = c["groups"].as_array().unwrap();
    for cat in c["categories"].as_array().unwrap() {
        let g = groups
            .iter()
            .find(|g| g["code"] == cat["group"])
            .unwrap_or_else(|| panic!("{} has a named group", cat["code"]));
        assert!(g["name"].as_str().is_some_and(|n| !n.is_empty()));
        assert!(g["name_en"].as_str().is_some_and(|n| !n.is_empty()));
    }
    for code in ["rubbish", "streetlight", "tree_hazard", "water_leak"] {
        assert!(
            c["categories"]
                .as_array()
                .unwrap()
                .iter()
                .any(|x| x["code"] == code),
            "{code}"
        );
    }
}

#[tokio::test]
async fn a_report_says_where_it_is_and_why_it_went_where_it_went_in_fields_a_screen_can_word() {
    let app = TestApp::spawn().await;
    let dispatcher = app.token("dee", Role::Dispatcher, None).await;
    let r = app.report().await;
    let v = app
        .get_json_as(&format!("/api/v1/reports/{}", r["id"]), &dispatcher)
        .await;
    assert_eq!(v["routing"]["basis"], "category_default", "{v}");
    assert!(v["place"].is_array());
    let public = app
        .get_json(&format!(
            "/api/v1/reports/{}",
            r["tracking_code"].as_str().unwrap()
        ))
        .await;
    assert!(public["place"].is_array());
    assert!(public.get("routing").is_none());
}

#[tokio::test]
async fn search_finds_a_code_first_a_callers_reports_for_those_allowed_and_units() {
    let app = TestApp::spawn().await;
    let dispatcher = app.token("dee", Role::Dispatcher, None).await;
    let unit = app.token("car", Role::Unit, None).await;
    let mut body = sample();
    body["contact"]["phone"] = json!("139 1234-5678");
    let res = app.post_json(&body).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let filed: Value = res.json().await.unwrap();
    let code = filed["tracking_code"].as_str().unwrap();
    let id = filed["id"].as_i64().unwrap();

    // The code, typed any way, finds its report first.
    let q = code.to_lowercase().replace('-', " ");
    let found = app
        .get_json_as(&format!("/api/v1/search?q={q}"), &dispatcher)
        .await;
    assert_eq!(found["results"][0]["kind"], "report");
    assert_eq!(found["results"][0]["code"], code);
    assert!(found["results"][0]["lat"].is_number());

    // The caller's number, as kept (digits) and with the country code; logged.
    for q in ["13912345678", "%2B86%20139%201234%205678"] {
        let found = app
            .get_json_as(&format!("/api/v1/search?q={q}"), &dispatcher)
            .await;
        assert_eq!(found["results"][0]["id"], id, "{q}: {found}");
        assert_eq!(found["results"][0]["matched"], "phone");
        assert!(
            !found.to_string().contains("1234"),
            "no number in the answer"
        );
    }
    let staff_view = app
        .get_json_as(&format!("/api/v1/reports/{id}"), &dispatcher)
        .await;
    assert_eq!(staff_view["reporter"]["contact"]["phone"], "13912345678");
    let log = app
        .store
        .personal_data_access(sentinel_core::ReportId(id))
        .await
        .unwrap();
    assert!(
        log.iter()
            .any(|e| e.purpose == "search by phone" && e.user == "dee"),
        "{log:?}"
    );
    // A unit may not look a caller up.
    let found = app.get_json_as("/api/v1/search?q=13912345678", &unit).await;
    assert!(
        found["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|x| x["kind"] != "report"),
        "{found}"
    );

    // Bad input: a sentence, and nobody without a sign-in.
    let res = app
        .client
        .get(app.url("/api/v1/search?q=%20"))
        .bearer_auth(&dispatcher)
        .send()
        .await
        .unwrap();
    problem(res, StatusCode::BAD_REQUEST).await;
    let long = "路".repeat(101);
    let res = app
        .client
        .get(app.url(&format!("/api/v1/search?q={long}")))
        .bearer_auth(&dispatcher)
        .send()
        .await
        .unwrap();
    problem(res, StatusCode::BAD_REQUEST).await;
    let res = app
        .client
        .get(app.url("/api/v1/search?q=13912345678"))
        .send()
        .await
        .unwrap();
    problem(res, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn a_call_taker_files_a_phone_report_with_the_caller_kept_private() {
    let app = TestApp::spawn().await;
    let dispatcher = app.token("dee", Role::Dispatcher, None).await;
    let mut body = sample();
    body["channel"] = json!("phone");
    body["contact"] = json!({"name": "李先生", "phone": "138-0000-1111"});
    let res = app
        .client
        .post(app.url("/api/v1/reports"))
        .bearer_auth(&dispatcher)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let filed: Value = res.json().await.unwrap();
    assert!(!filed.to_string().contains("13800001111"));
    let v = app
        .get_json_as(&format!("/api/v1/reports/{}", filed["id"]), &dispatcher)
        .await;
    assert_eq!(v["channel"], "phone");
    assert_eq!(v["reporter"]["contact"]["phone"], "13800001111");
    // The public may not claim the phone channel.
    let res = app.post_json(&body).await;
    let p = problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(p["errors"][0]["field"], "channel");
}
