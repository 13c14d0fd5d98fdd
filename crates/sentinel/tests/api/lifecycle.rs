//! The work-order chain over HTTP, with the roles that move it.

use crate::helpers::*;
use reqwest::StatusCode;
use sentinel_core::Role;
use sentinel_store::Store;
use serde_json::{Value, json};

async fn ok(res: reqwest::Response) -> Value {
    let status = res.status();
    let body: Value = res.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

#[tokio::test]
async fn a_report_goes_from_submitted_to_closed_through_the_12345_chain() {
    let app = TestApp::spawn().await;
    let r = app.report().await; // fire_lane_blocked: requires 核查
    let id = r["id"].as_i64().unwrap();
    let d = app.token("dispatch", Role::Dispatcher, None).await;
    let police = app.token("police-1", Role::Officer, Some("police")).await;
    let fire = app.token("fire-1", Role::Officer, Some("fire")).await;

    ok(app.act(&d, id, json!({"action": "accept"})).await).await;
    // Routing chose the fire service; sending it elsewhere (改派) needs a reason.
    let staff_view: Value = app.get_json_as(&format!("/api/v1/reports/{id}"), &d).await;
    assert_eq!(staff_view["routing"]["department"], "fire");
    problem(
        app.act(&d, id, json!({"action": "assign", "department": "police"}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    // The dispatcher overrides anyway; the police send it back (退单), then it goes to fire.
    ok(app
        .act(
            &d,
            id,
            json!({"action": "assign", "department": "police", "reason": "a patrol is closer"}),
        )
        .await)
    .await;
    let back = ok(app.act(&police, id, json!({"action": "return", "reason": "消防通道归消防 / fire lanes are the fire service's"})).await).await;
    assert_eq!(back["report"]["status"], "returned");
    let reassigned = ok(app.act(&d, id, json!({"action": "assign", "department": "fire", "co_departments": ["police"], "reason": "改派"})).await).await;
    assert_eq!(reassigned["event"]["data"]["previous_department"], "police");
    ok(app
        .act(&d, id, json!({"action": "escalate", "note": "督办: 24h"}))
        .await)
    .await;
    ok(app.act(&fire, id, json!({"action": "start"})).await).await;
    // The co-handling department may comment but not resolve.
    ok(app
        .act(
            &police,
            id,
            json!({"action": "comment", "note": "patrol informed"}),
        )
        .await)
    .await;
    problem(
        app.act(&police, id, json!({"action": "resolve", "note": "done"}))
            .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    ok(app
        .act(
            &fire,
            id,
            json!({"action": "resolve", "note": "vehicles towed"}),
        )
        .await)
    .await;
    // This category needs an inspector check before closing.
    problem(
        app.act(&d, id, json!({"action": "close"})).await,
        StatusCode::CONFLICT,
    )
    .await;
    // A rating is only for a resolved report, 1 to 5, and fire officers cannot give it.
    problem(
        app.act(&fire, id, json!({"action": "rate", "score": 5}))
            .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    ok(app.act(&d, id, json!({"action": "verify"})).await).await;
    let closed = ok(app.act(&d, id, json!({"action": "close"})).await).await;
    assert_eq!(closed["report"]["status"], "closed");
    for bad in [
        json!({"action": "rate", "score": 6}),
        json!({"action": "rate"}),
    ] {
        problem(app.act(&d, id, bad).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    // The reporter's rating taken by phone (回访): the score is public, the comment is not.
    let rated = ok(app
        .act(
            &d,
            id,
            json!({"action": "rate", "score": 4, "note": "快, 但是态度一般 / quick, so-so manner"}),
        )
        .await)
    .await;
    assert_eq!(
        (
            rated["report"]["status"].as_str(),
            rated["report"]["rating"].as_i64()
        ),
        (Some("closed"), Some(4))
    );
    let public_view: Value = app.get_json(&format!("/api/v1/reports/{id}")).await;
    assert_eq!(public_view["rating"], 4);

    let staff_events = ok(app
        .client
        .get(app.url(&format!("/api/v1/reports/{id}/events")))
        .bearer_auth(&d)
        .send()
        .await
        .unwrap())
    .await;
    let actions: Vec<&str> = staff_events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "submit", "accept", "assign", "return", "assign", "escalate", "start", "comment",
            "resolve", "verify", "close", "rate"
        ]
    );
    let states: Vec<_> = staff_events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["from_status"].clone(), e["to_status"].clone()))
        .collect();
    // Replaying the log gives the current state.
    let mut state = Value::Null;
    for (from, to) in states {
        if !from.is_null() {
            assert_eq!(from, state);
        }
        if !to.is_null() {
            state = to;
        }
    }
    assert_eq!(state, "closed");
    assert_eq!(staff_events["events"][3]["actor"], "police-1");
    // The public timeline shows the resolution note but no names or internal comments.
    let public = ok(app
        .client
        .get(app.url(&format!("/api/v1/reports/{id}/events")))
        .send()
        .await
        .unwrap())
    .await;
    let text = public.to_string();
    assert!(
        text.contains("vehicles towed")
            && !text.contains("police-1")
            && !text.contains("patrol informed")
            && !text.contains("so-so manner")
    );
}

#[tokio::test]
async fn duplicates_merge_into_one_report_with_their_supporters() {
    let app = TestApp::spawn().await;
    let d = app.token("dispatch", Role::Dispatcher, None).await;
    let keep = app.report().await;
    let dup = app.report().await;
    let res = ok(app
        .act(
            &d,
            dup["id"].as_i64().unwrap(),
            json!({"action": "merge", "into": keep["tracking_code"]}),
        )
        .await)
    .await;
    assert_eq!(res["report"]["status"], "merged");
    assert_eq!(res["report"]["merged_into"], keep["id"]);
    let keep: Value = app
        .get_json(&format!("/api/v1/reports/{}", keep["id"]))
        .await;
    assert_eq!(keep["supporters"], 2);
    problem(
        app.act(
            &d,
            keep["id"].as_i64().unwrap(),
            json!({"action": "merge", "into": keep["id"].to_string()}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
}

#[tokio::test]
async fn contact_details_reach_only_staff_who_need_them_and_each_read_is_logged() {
    let app = TestApp::spawn().await;
    let r = app.report().await;
    let id = r["id"].as_i64().unwrap();
    let d = app.token("dispatch", Role::Dispatcher, None).await;
    let analyst = app.token("analyst", Role::Analyst, None).await;
    let market = app.token("market", Role::Officer, Some("market")).await;
    let get = |t: &str| {
        app.client
            .get(app.url(&format!("/api/v1/reports/{id}")))
            .bearer_auth(t.to_owned())
            .send()
    };

    let seen: Value = get(&d).await.unwrap().json().await.unwrap();
    assert_eq!(seen["reporter"]["contact"]["phone"], "13800138000");
    let hidden: Value = get(&analyst).await.unwrap().json().await.unwrap();
    assert!(!hidden.to_string().contains("13800138000"));
    assert_eq!(hidden["reporter"]["contact_hidden"], true);
    // Another department's officer sees what the public sees.
    let public: Value = get(&market).await.unwrap().json().await.unwrap();
    assert!(!public.to_string().contains("13800138000"));
    assert!(public.get("reporter").is_none() && public.get("routing").is_none());
    // Lists never carry contact details.
    let list: Value = app.get_json_as("/api/v1/reports", &d).await;
    assert!(!list.to_string().contains("13800138000"));
    let log = app
        .store
        .personal_data_access(sentinel_core::ReportId(id))
        .await
        .unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(
        (
            log[0].user.as_str(),
            log[0].role.as_str(),
            log[0].fields.as_str()
        ),
        ("dispatch", "dispatcher", "contact")
    );
}

#[tokio::test]
async fn a_resolution_can_carry_the_photo_of_the_fix() {
    let app = TestApp::spawn().await;
    let mut r = sample();
    r["category"] = json!("pothole");
    let r: Value = app.post_json(&r).await.json().await.unwrap();
    let id = r["id"].as_i64().unwrap();
    let d = app.token("dispatch", Role::Dispatcher, None).await;
    let housing = app.token("housing-1", Role::Officer, Some("housing")).await;
    ok(app.act(&d, id, json!({"action": "accept"})).await).await;
    ok(app
        .act(&d, id, json!({"action": "assign", "department": "housing"}))
        .await)
    .await;
    ok(app.act(&housing, id, json!({"action": "start"})).await).await;
    let form = reqwest::multipart::Form::new()
        .part(
            "action",
            reqwest::multipart::Part::text(
                json!({"action": "resolve", "note": "patched with asphalt"}).to_string(),
            ),
        )
        .part(
            "photo",
            reqwest::multipart::Part::bytes(sentinel_photos::testing::jpeg(320, 240, 42, None, 85))
                .file_name("fixed.jpg"),
        );
    let res = app
        .client
        .post(app.url(&format!("/api/v1/reports/{id}/actions")))
        .bearer_auth(&housing)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let body = ok(res).await;
    let url = body["event"]["attachments"][0].as_str().unwrap().to_owned();
    assert_eq!(
        crate::helpers::public_photo(&app.client, &app.url(&url))
            .await
            .status(),
        StatusCode::OK
    );
    let public: Value = app.get_json(&format!("/api/v1/reports/{id}/events")).await;
    assert_eq!(
        public["events"].as_array().unwrap().last().unwrap()["attachments"][0],
        url
    );
    // A broken attachment refuses the whole action.
    let form = reqwest::multipart::Form::new()
        .part(
            "action",
            reqwest::multipart::Part::text(
                json!({"action": "comment", "note": "see photo"}).to_string(),
            ),
        )
        .part(
            "photo",
            reqwest::multipart::Part::bytes(b"not an image at all".to_vec()),
        );
    let res = app
        .client
        .post(app.url(&format!("/api/v1/reports/{id}/actions")))
        .bearer_auth(&housing)
        .multipart(form)
        .send()
        .await
        .unwrap();
    problem(res, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
    let events = app.store.events(sentinel_core::ReportId(id)).await.unwrap();
    assert_eq!(events.last().unwrap().action, "resolve");
}

#[tokio::test]
async fn missed_deadlines_bring_one_reminder_then_one_escalation() {
    let app = TestApp::spawn().await;
    let mut r = sample();
    r["category"] = json!("pothole"); // normal priority: accept within 2 hours
    let r: Value = app.post_json(&r).await.json().await.unwrap();
    let id = r["id"].as_i64().unwrap();
    let due = time::OffsetDateTime::parse(
        r["due_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let created = time::OffsetDateTime::parse(
        r["created_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_eq!(due - created, time::Duration::hours(2));
    assert_eq!(
        (r["due_for"].as_str(), r["overdue"].as_bool()),
        (Some("accept"), Some(false))
    );
    let sweep = |minutes: i64| {
        sentinel_server::deadlines::sweep(&app.state, created + time::Duration::minutes(minutes))
    };
    assert_eq!(sweep(119).await.unwrap().reminded, 0, "not yet due");
    let first = sweep(121).await.unwrap();
    assert_eq!((first.reminded, first.escalated), (1, 0));
    assert_eq!(
        sweep(150).await.unwrap(),
        Default::default(),
        "once per deadline"
    );
    // The escalation comes 4 hours (the configured delay) after the deadline.
    let later = sweep(2 * 60 + 4 * 60 + 1).await.unwrap();
    assert_eq!((later.reminded, later.escalated), (0, 1));
    assert_eq!(sweep(24 * 60).await.unwrap(), Default::default());
    let events: Value = app.get_json(&format!("/api/v1/reports/{id}/events")).await;
    let actions: Vec<&str> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["submit", "remind", "escalate"]);
    // 受理 starts a new clock (派单 within 4 hours); the old deadline is forgotten.
    let d = app.token("d", Role::Dispatcher, None).await;
    let accepted = ok(app.act(&d, id, json!({"action": "accept"})).await).await;
    assert_eq!(accepted["report"]["due_for"], "dispatch");
    assert_eq!(accepted["report"]["overdue"], false);
    let dispatch_due = time::OffsetDateTime::parse(
        accepted["report"]["due_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let swept =
        sentinel_server::deadlines::sweep(&app.state, dispatch_due + time::Duration::minutes(1))
            .await
            .unwrap();
    assert_eq!(swept.reminded, 1);
    // Once resolved there is no deadline at all.
    let housing = app.token("h", Role::Officer, Some("housing")).await;
    ok(app.act(&d, id, json!({"action": "assign"})).await).await;
    ok(app.act(&housing, id, json!({"action": "start"})).await).await;
    let resolved = ok(app
        .act(&housing, id, json!({"action": "resolve", "note": "filled"}))
        .await)
    .await;
    assert!(resolved["report"]["due_at"].is_null());
}

#[tokio::test]
async fn the_reporter_confirms_reopens_and_rates_with_the_key_given_at_filing() {
    let app = TestApp::spawn().await;
    let mut body = sample();
    body["category"] = json!("pothole");
    let res = app.post_json(&body).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let r: Value = res.json().await.unwrap();
    let (id, code) = (
        r["id"].as_i64().unwrap(),
        r["tracking_code"].as_str().unwrap().to_owned(),
    );
    let key = r["reporter_key"]
        .as_str()
        .expect("a reporter key, once")
        .to_owned();
    // The key is never shown again.
    let again: Value = app.get_json(&format!("/api/v1/reports/{code}")).await;
    assert!(again.get("reporter_key").is_none());
    let reporter = |b: Value| {
        app.client
            .post(app.url(&format!("/api/v1/reports/{code}/reporter")))
            .json(&b)
            .send()
    };
    // Nothing to confirm yet, and a wrong key proves nothing.
    problem(
        reporter(json!({"reporter_key": key, "action": "confirm"}))
            .await
            .unwrap(),
        StatusCode::CONFLICT,
    )
    .await;
    problem(
        reporter(json!({"reporter_key": "guess", "action": "rate", "score": 1}))
            .await
            .unwrap(),
        StatusCode::FORBIDDEN,
    )
    .await;
    let d = app.token("dispatch", Role::Dispatcher, None).await;
    let housing = app.token("housing-1", Role::Officer, Some("housing")).await;
    for (who, b) in [
        (&d, json!({"action": "accept"})),
        (&d, json!({"action": "assign"})),
        (&housing, json!({"action": "start"})),
        (&housing, json!({"action": "resolve", "note": "filled"})),
    ] {
        ok(app.act(who, id, b).await).await;
    }
    let closed = ok(reporter(json!({"reporter_key": key, "action": "confirm"}))
        .await
        .unwrap())
    .await;
    assert_eq!(closed["report"]["status"], "closed");
    problem(
        reporter(json!({"reporter_key": key, "action": "rate", "score": 0}))
            .await
            .unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let rated = ok(reporter(
        json!({"reporter_key": key, "action": "rate", "score": 5, "comment": "fast"}),
    )
    .await
    .unwrap())
    .await;
    assert_eq!(rated["report"]["rating"], 5);
    problem(
        reporter(json!({"reporter_key": key, "action": "reopen"}))
            .await
            .unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let reopened = ok(reporter(
        json!({"reporter_key": key, "action": "reopen", "reason": "the hole is back"}),
    )
    .await
    .unwrap())
    .await;
    assert_eq!(reopened["report"]["status"], "reopened");
    let events = app.store.events(sentinel_core::ReportId(id)).await.unwrap();
    let tail: Vec<(&str, &str)> = events
        .iter()
        .rev()
        .take(3)
        .map(|e| (e.action.as_str(), e.actor.as_str()))
        .collect();
    assert_eq!(
        tail,
        [
            ("reopen", "reporter"),
            ("rate", "reporter"),
            ("close", "reporter")
        ]
    );
}
