//! The command map's server side: units and their positions (our API and the
//! OsmAnd/Traccar protocol), dispatch end to end, the live event stream with
//! resume, and vector tiles decoded with an independent MVT reader.

use crate::helpers::{TestApp, problem, sample};
use geozero::mvt::{Message, Tile};
use reqwest::StatusCode;
use sentinel_core::Role;
use serde_json::{Value, json};
use std::time::Duration;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

struct Command {
    app: TestApp,
    admin: String,
    dispatcher: String,
}

async fn command() -> Command {
    let app = TestApp::spawn().await;
    let admin = app.token("admin1", Role::Admin, None).await;
    let dispatcher = app.token("disp1", Role::Dispatcher, None).await;
    Command {
        app,
        admin,
        dispatcher,
    }
}

impl Command {
    async fn post(&self, path: &str, token: &str, body: Value) -> reqwest::Response {
        self.app
            .client
            .post(self.app.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    async fn unit(
        &self,
        callsign: &str,
        kind: &str,
        user: Option<&str>,
        lat: f64,
        lon: f64,
    ) -> Value {
        let res = self
            .post(
                "/api/v1/units",
                &self.admin,
                json!({ "callsign": callsign, "kind": kind, "tracker_id": format!("trk-{callsign}"),
                        "user": user, "lat": lat, "lon": lon }),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        res.json().await.unwrap()
    }
}

#[tokio::test]
async fn positions_arrive_by_our_api_and_by_the_osmand_protocol() {
    let c = command().await;
    let unit_token = c.app.token("car7", Role::Unit, None).await;
    // No starting position: the first fix sets it.
    let res = c
        .post(
            "/api/v1/units",
            &c.admin,
            json!({ "callsign": "交警-007", "kind": "traffic_police", "tracker_id": "trk-交警-007", "user": "car7" }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let u: Value = res.json().await.unwrap();
    assert_eq!(u["stale"], true, "no position yet");
    let id = u["id"].as_i64().unwrap();
    assert_eq!(u["status"], "available");
    assert!(
        u.get("tracker_id").is_none(),
        "the tracker id is a credential"
    );

    // Our batched API: out of order; the newest becomes the position.
    let now = OffsetDateTime::now_utc();
    let t = |s: i64| (now - time::Duration::seconds(s)).format(&Rfc3339).unwrap();
    let res = c
        .post(
            &format!("/api/v1/units/{id}/positions"),
            &unit_token,
            json!({ "positions": [
                { "lat": 36.451, "lon": 115.981, "timestamp": t(10), "speed": 8.0, "bearing": 90.0 },
                { "lat": 36.452, "lon": 115.982, "timestamp": t(5), "accuracy": 4.0 },
                { "lat": 36.450, "lon": 115.980, "timestamp": t(20) }
            ]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["accepted"], 3);
    assert_eq!(body["unit"]["lat"], 36.452);
    assert_eq!(body["unit"]["stale"], false);

    // OsmAnd: GET with the query string, Unix seconds, speed in knots.
    let ts = (now.unix_timestamp() - 1).to_string();
    let res = c
        .app
        .client
        .get(c.app.url(&format!(
            "/osmand?id=trk-交警-007&lat=36.46&lon=115.99&timestamp={ts}&speed=10&bearing=180&accuracy=5"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let u = c
        .app
        .get_json_as(&format!("/api/v1/units/{id}"), &c.dispatcher)
        .await;
    assert_eq!(u["lat"], 36.46);
    assert!(
        (u["speed_mps"].as_f64().unwrap() - 5.144).abs() < 0.01,
        "{u}"
    );
    assert_eq!(u["bearing"], 180.0);

    // OsmAnd: POST form with location=lat,lon and a millisecond timestamp.
    let ms = (now.unix_timestamp() * 1000).to_string();
    let res = c
        .app
        .client
        .post(c.app.url("/osmand"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            form_urlencoded::Serializer::new(String::new())
                .extend_pairs([
                    ("deviceid", "trk-交警-007"),
                    ("location", "36.47,116.0"),
                    ("timestamp", ms.as_str()),
                ])
                .finish(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let list = c.app.get_json_as("/api/v1/units", &c.dispatcher).await;
    let u = &list["units"][0];
    for k in [
        "id",
        "callsign",
        "kind",
        "status",
        "lat",
        "lon",
        "updated_at",
        "stale",
    ] {
        assert!(u.get(k).is_some(), "{k} in {u}");
    }
    assert_eq!(u["lat"], 36.47);

    // Bad input: unknown tracker, future time, no position, bad numbers; nothing changes.
    let bad = [
        "/osmand?id=nobody-here&lat=36.4&lon=115.9",
        "/osmand?id=trk-交警-007&lat=36.4&lon=115.9&timestamp=4102444800",
        "/osmand?id=trk-交警-007",
        "/osmand?id=trk-交警-007&lat=north&lon=115.9",
        "/osmand?lat=36.4&lon=115.9",
    ];
    for (i, path) in bad.iter().enumerate() {
        let res = c.app.client.get(c.app.url(path)).send().await.unwrap();
        let want = if i == 0 {
            StatusCode::NOT_FOUND
        } else {
            StatusCode::BAD_REQUEST
        };
        let p = problem(res, want).await;
        assert!(!p["detail"].as_str().unwrap_or_default().is_empty());
    }
    let future = (now + time::Duration::hours(2)).format(&Rfc3339).unwrap();
    let res = c
        .post(
            &format!("/api/v1/units/{id}/positions"),
            &unit_token,
            json!({ "positions": [{ "lat": 36.3, "lon": 115.9, "timestamp": future }] }),
        )
        .await;
    let p = problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(p["detail"].as_str().unwrap().contains("future"), "{p}");
    let u = c
        .app
        .get_json_as(&format!("/api/v1/units/{id}"), &c.dispatcher)
        .await;
    assert_eq!(u["lat"], 36.47, "refused positions change nothing");

    // Another unit's account may not post for this one; an analyst neither.
    let other = c.app.token("car8", Role::Unit, None).await;
    let res = c
        .post(
            &format!("/api/v1/units/{id}/positions"),
            &other,
            json!({ "positions": [{ "lat": 36.3, "lon": 115.9 }] }),
        )
        .await;
    problem(res, StatusCode::FORBIDDEN).await;
}

#[tokio::test]
async fn dispatch_runs_from_recommendation_to_clear_and_refuses_busy_units() {
    let c = command().await;
    let unit_token = c.app.token("car1", Role::Unit, None).await;
    let report = c.app.report().await;
    let code = report["tracking_code"].as_str().unwrap().to_owned();
    // sample() is at 36.4567, 115.9854.
    let near = c
        .unit("A-1", "traffic_police", Some("car1"), 36.4600, 115.9854)
        .await;
    let far = c
        .unit("A-2", "traffic_police", None, 36.5000, 115.9854)
        .await;
    let other_kind = c.unit("B-1", "office_staff", None, 36.4570, 115.9854).await;
    let off = c
        .unit("A-3", "traffic_police", None, 36.4568, 115.9854)
        .await;
    let res = c
        .post(
            &format!("/api/v1/units/{}/status", off["id"]),
            &c.dispatcher,
            json!({ "status": "off_duty" }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);

    let rec = c
        .app
        .get_json_as(
            &format!("/api/v1/reports/{code}/units?kind=traffic_police&limit=5"),
            &c.dispatcher,
        )
        .await;
    let ids: Vec<i64> = rec["units"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_i64().unwrap())
        .collect();
    assert_eq!(
        ids,
        vec![near["id"].as_i64().unwrap(), far["id"].as_i64().unwrap()],
        "{rec}"
    );
    let first = &rec["units"][0];
    assert!(
        (first["distance_m"].as_f64().unwrap() - 367.0).abs() < 5.0,
        "{first}"
    );
    assert!(first["eta_s"].as_i64().unwrap() > 0);
    let any = c
        .app
        .get_json_as(&format!("/api/v1/reports/{code}/units"), &c.dispatcher)
        .await;
    assert_eq!(
        any["units"][0]["id"], other_kind["id"],
        "without a kind, the nearest of any kind"
    );

    // Off duty: 409 that says why.
    let res = c
        .post(
            &format!("/api/v1/reports/{code}/dispatches"),
            &c.dispatcher,
            json!({ "unit": off["id"] }),
        )
        .await;
    let p = problem(res, StatusCode::CONFLICT).await;
    assert_eq!(p["detail"], "unit A-3 is off duty");

    // Assign the nearest.
    let res = c
        .post(
            &format!("/api/v1/reports/{code}/dispatches"),
            &c.dispatcher,
            json!({ "unit": near["id"] }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let d: Value = res.json().await.unwrap();
    let did = d["id"].as_i64().unwrap();
    assert_eq!(d["step"], "assigned");

    // Engaged: a second dispatch of the same unit is refused with the report named.
    let second = c.app.report().await;
    let res = c
        .post(
            &format!(
                "/api/v1/reports/{}/dispatches",
                second["tracking_code"].as_str().unwrap()
            ),
            &c.dispatcher,
            json!({ "unit": near["id"] }),
        )
        .await;
    let p = problem(res, StatusCode::CONFLICT).await;
    assert_eq!(
        p["detail"],
        format!("unit A-1 is already engaged (dispatched) on report {code}")
    );

    // The unit sees it in its feed and works it through; each step has a time.
    let feed = c
        .app
        .get_json_as(
            &format!("/api/v1/units/{}/dispatches", near["id"]),
            &unit_token,
        )
        .await;
    assert_eq!(feed["dispatches"][0]["id"], did);
    for (step, unit_status) in [
        ("acknowledged", "dispatched"),
        ("en_route", "en_route"),
        ("on_scene", "on_scene"),
        ("cleared", "available"),
    ] {
        let res = c
            .post(
                &format!("/api/v1/dispatches/{did}"),
                &unit_token,
                json!({ "step": step }),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK, "{step}");
        let u = c
            .app
            .get_json_as(&format!("/api/v1/units/{}", near["id"]), &c.dispatcher)
            .await;
        assert_eq!(u["status"], unit_status, "after {step}");
    }
    let d = c
        .app
        .get_json_as(&format!("/api/v1/dispatches/{did}"), &c.dispatcher)
        .await;
    let steps: Vec<&str> = d["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        [
            "assigned",
            "acknowledged",
            "en_route",
            "on_scene",
            "cleared"
        ]
    );
    let times: Vec<OffsetDateTime> = d["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| OffsetDateTime::parse(s["at"].as_str().unwrap(), &Rfc3339).unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]));

    // A cleared dispatch cannot move again; a unit cannot cancel; steps backwards are refused.
    let res = c
        .post(
            &format!("/api/v1/dispatches/{did}"),
            &unit_token,
            json!({ "step": "en_route" }),
        )
        .await;
    problem(res, StatusCode::CONFLICT).await;
    let res = c
        .post(
            &format!("/api/v1/reports/{code}/dispatches"),
            &c.dispatcher,
            json!({ "unit": far["id"] }),
        )
        .await;
    let d2: Value = res.json().await.unwrap();
    let other_unit = c.app.token("car2", Role::Unit, None).await;
    let res = c
        .post(
            &format!("/api/v1/dispatches/{}", d2["id"]),
            &other_unit,
            json!({ "step": "acknowledged" }),
        )
        .await;
    problem(res, StatusCode::FORBIDDEN).await;
    let res = c
        .post(
            &format!("/api/v1/dispatches/{}", d2["id"]),
            &c.dispatcher,
            json!({ "step": "cancelled" }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let u = c
        .app
        .get_json_as(&format!("/api/v1/units/{}", far["id"]), &c.dispatcher)
        .await;
    assert_eq!(u["status"], "available");
    let list = c
        .app
        .get_json_as(&format!("/api/v1/reports/{code}/dispatches"), &c.dispatcher)
        .await;
    assert_eq!(list["dispatches"].as_array().unwrap().len(), 2);

    // Bad input.
    let res = c
        .post(
            &format!("/api/v1/reports/{code}/dispatches"),
            &c.dispatcher,
            json!({ "unit": 9999 }),
        )
        .await;
    problem(res, StatusCode::NOT_FOUND).await;
    let res = c
        .post(
            &format!("/api/v1/dispatches/{did}"),
            &c.dispatcher,
            json!({ "step": "teleported" }),
        )
        .await;
    assert!(res.status().is_client_error());
    let analyst = c.app.token("ana", Role::Analyst, None).await;
    let res = c
        .post(
            &format!("/api/v1/reports/{code}/dispatches"),
            &analyst,
            json!({ "unit": far["id"] }),
        )
        .await;
    problem(res, StatusCode::FORBIDDEN).await;
}

/// Reads SSE events from a response until `want` events of `kind` arrived.
pub(crate) async fn read_events(
    res: &mut reqwest::Response,
    kind: &str,
    want: usize,
) -> Vec<(i64, Value)> {
    let mut buf = String::new();
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while out.len() < want {
        let chunk = tokio::time::timeout_at(deadline, res.chunk())
            .await
            .expect("events in time")
            .unwrap()
            .expect("stream open");
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            let (mut id, mut ev, mut data) = (None, None, None);
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("id:") {
                    id = v.trim().parse::<i64>().ok();
                }
                if let Some(v) = line.strip_prefix("event:") {
                    ev = Some(v.trim().to_owned());
                }
                if let Some(v) = line.strip_prefix("data:") {
                    data = serde_json::from_str::<Value>(v.trim()).ok();
                }
            }
            if ev.as_deref() == Some(kind)
                && let (Some(id), Some(data)) = (id, data)
            {
                out.push((id, data));
            }
        }
    }
    out
}

async fn stream_as(c: &Command, token: &str) -> reqwest::Response {
    c.app
        .client
        .get(c.app.url("/api/v1/events/stream"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

/// Nothing about a report arrives on the stream within 800 ms.
async fn no_report_event(res: &mut reqwest::Response) -> bool {
    match tokio::time::timeout(Duration::from_millis(800), res.chunk()).await {
        Err(_) => true,
        Ok(chunk) => chunk
            .unwrap()
            .is_none_or(|b| !String::from_utf8_lossy(&b).contains("event: report")),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_event_stream_carries_changes_and_resumes_without_gaps() {
    let c = command().await;
    let open = |last: Option<i64>| {
        let mut req = c
            .app
            .client
            .get(c.app.url("/api/v1/events/stream"))
            .bearer_auth(&c.dispatcher);
        if let Some(l) = last {
            req = req.header("Last-Event-ID", l.to_string());
        }
        req.send()
    };
    let mut res = open(None).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let first = c.app.report().await;
    let got = read_events(&mut res, "report", 1).await;
    assert_eq!(got[0].1["code"], first["tracking_code"]);
    assert_eq!(got[0].1["status"], "submitted");
    let last_seen = got[0].0;
    drop(res);

    // While disconnected: three more reports and a unit position.
    let mut codes = Vec::new();
    for _ in 0..3 {
        codes.push(
            c.app.report().await["tracking_code"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let u = c.unit("S-1", "special_police", None, 36.45, 115.98).await;
    // Resume: the three reports arrive, in order, none twice.
    let mut res = open(Some(last_seen)).await.unwrap();
    let got = read_events(&mut res, "report", 3).await;
    let resumed: Vec<&str> = got
        .iter()
        .map(|(_, d)| d["code"].as_str().unwrap())
        .collect();
    assert_eq!(resumed, codes);
    assert!(got.windows(2).all(|w| w[0].0 < w[1].0));
    assert!(got[0].0 > last_seen);
    // Then live: a dispatch reaches the stream too.
    let res2 = c
        .post(
            &format!("/api/v1/reports/{}/dispatches", codes[0]),
            &c.dispatcher,
            json!({ "unit": u["id"] }),
        )
        .await;
    assert_eq!(res2.status(), StatusCode::CREATED);
    let got = read_events(&mut res, "dispatch", 1).await;
    assert_eq!(got[0].1["report"], codes[0]);

    // Scope: an officer of another department sees none of this.
    let officer = c.app.token("off1", Role::Officer, Some("market")).await;
    let mut res = stream_as(&c, &officer).await;
    c.app.report().await;
    assert!(no_report_event(&mut res).await);

    // A crew follows the report it is sent to while it is out on it: not before the
    // dispatch, not after it is cancelled.
    let crew = c.app.token("crew1", Role::Unit, None).await;
    let cu = c
        .unit("S-2", "special_police", Some("crew1"), 36.45, 115.98)
        .await;
    let mut crew_stream = stream_as(&c, &crew).await;
    let r = c.app.report().await;
    let (rid, rcode) = (r["id"].as_i64().unwrap(), r["tracking_code"].clone());
    let d = c
        .post(
            &format!("/api/v1/reports/{}/dispatches", rcode.as_str().unwrap()),
            &c.dispatcher,
            json!({ "unit": cu["id"] }),
        )
        .await;
    assert_eq!(d.status(), StatusCode::CREATED);
    let did = d.json::<Value>().await.unwrap()["id"].clone();
    let res = c
        .app
        .act(&c.dispatcher, rid, json!({ "action": "accept" }))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let got = read_events(&mut crew_stream, "report", 1).await;
    assert_eq!(
        got[0].1["code"], rcode,
        "the first report the crew hears of is its own"
    );
    assert_eq!(got[0].1["status"], "accepted");
    let res = c
        .post(
            &format!("/api/v1/dispatches/{did}"),
            &c.dispatcher,
            json!({ "step": "cancelled" }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let got = read_events(&mut crew_stream, "dispatch", 1).await;
    assert_eq!(got[0].1["step"], "cancelled");
    let res = c
        .app
        .act(
            &c.dispatcher,
            rid,
            json!({ "action": "assign", "department": "fire" }),
        )
        .await;
    assert!(res.status().is_success(), "{}", res.status());
    assert!(
        no_report_event(&mut crew_stream).await,
        "a cancelled crew no longer follows the report"
    );
    drop(crew_stream);

    // No credentials: 401; a bad Last-Event-ID: 400.
    let res = c
        .app
        .client
        .get(c.app.url("/api/v1/events/stream"))
        .send()
        .await
        .unwrap();
    problem(res, StatusCode::UNAUTHORIZED).await;
    let res = c
        .app
        .client
        .get(c.app.url("/api/v1/events/stream"))
        .bearer_auth(&c.dispatcher)
        .header("Last-Event-ID", "yesterday")
        .send()
        .await
        .unwrap();
    problem(res, StatusCode::BAD_REQUEST).await;

    // Streams are counted while open and let go as soon as their client leaves.
    let open_streams = || async {
        let m = c
            .app
            .client
            .get(c.app.url("/metrics"))
            .send()
            .await
            .unwrap();
        let m = m.text().await.unwrap();
        m.lines()
            .find_map(|l| l.strip_prefix("sentinel_event_streams_open "))
            .and_then(|v| v.trim().parse::<i64>().ok())
            .expect("the open-streams gauge")
    };
    let before = open_streams().await;
    assert!(before >= 1, "the streams above are still open");
    let extra = open(None).await.unwrap();
    let mut now = open_streams().await;
    for _ in 0..50 {
        if now > before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        now = open_streams().await;
    }
    assert_eq!(now, before + 1);
    drop(extra);
    for _ in 0..50 {
        if now == before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        now = open_streams().await;
    }
    assert_eq!(
        now, before,
        "a stream whose client left is closed without waiting for a message"
    );
}

fn decode(bytes: &[u8]) -> Tile {
    Tile::decode(bytes).expect("a valid MVT")
}

fn tile_at(lat: f64, lon: f64, z: u32) -> (u32, u32) {
    let n = f64::from(1u32 << z);
    let x = ((lon + 180.0) / 360.0 * n) as u32;
    let l = lat.to_radians();
    let y = ((1.0 - (l.tan() + 1.0 / l.cos()).ln() / std::f64::consts::PI) / 2.0 * n) as u32;
    (x, y)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_tiles_decode_with_points_and_hexagons_and_honour_filters_and_etags() {
    let c = command().await;
    let mut codes = Vec::new();
    for i in 0..5 {
        let mut r = sample();
        r["lat"] = json!(36.4567 + f64::from(i) * 0.0005);
        if i == 4 {
            r["category"] = json!("pothole");
        }
        let res = c.app.post_json(&r).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        codes.push(
            res.json::<Value>().await.unwrap()["tracking_code"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let get = |path: String| {
        let req = c
            .app
            .client
            .get(c.app.url(&path))
            .bearer_auth(&c.dispatcher);
        async move { req.send().await.unwrap() }
    };
    // The tail picks the reports up within a moment.
    let (x, y) = tile_at(36.4577, 115.9854, 15);
    let mut points = 0;
    for _ in 0..40 {
        let res = get(format!("/tiles/reports/15/{x}/{y}.mvt")).await;
        assert_eq!(res.status(), StatusCode::OK);
        let t = decode(&res.bytes().await.unwrap());
        points = t
            .layers
            .iter()
            .find(|l| l.name == "reports")
            .map_or(0, |l| l.features.len());
        if points == 5 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(points, 5);
    let res = get(format!("/tiles/reports/15/{x}/{y}.mvt?category=pothole")).await;
    assert_eq!(
        res.headers()["content-type"],
        "application/vnd.mapbox-vector-tile"
    );
    let etag = res.headers()["etag"].to_str().unwrap().to_owned();
    let t = decode(&res.bytes().await.unwrap());
    let layer = &t.layers[0];
    assert_eq!(layer.features.len(), 1);
    // The feature id is the report id (the fifth report filed).
    assert_eq!(layer.features[0].id, Some(5));
    let pothole = c
        .app
        .get_json_as(&format!("/api/v1/reports/{}", codes[4]), &c.dispatcher)
        .await;
    assert_eq!(pothole["id"], 5);

    // Unchanged: 304 on the same ETag (tiles are drawn per minute, so a request
    // that straddles a minute gets a fresh tile once); a change nearby: a new ETag.
    let mut etag = etag;
    let mut status = StatusCode::OK;
    for _ in 0..2 {
        let res = c
            .app
            .client
            .get(
                c.app
                    .url(&format!("/tiles/reports/15/{x}/{y}.mvt?category=pothole")),
            )
            .bearer_auth(&c.dispatcher)
            .header("If-None-Match", &etag)
            .send()
            .await
            .unwrap();
        status = res.status();
        if status == StatusCode::NOT_MODIFIED {
            break;
        }
        etag = res.headers()["etag"].to_str().unwrap().to_owned();
    }
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    let before = get(format!("/tiles/reports/15/{x}/{y}.mvt"))
        .await
        .headers()["etag"]
        .clone();
    let res = c
        .app
        .act(&c.dispatcher, 1, json!({ "action": "accept" }))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let mut changed = false;
    for _ in 0..40 {
        if get(format!("/tiles/reports/15/{x}/{y}.mvt"))
            .await
            .headers()["etag"]
            != before
        {
            changed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(changed, "the ETag follows changes");

    // Low zoom: hexagons whose counts add up.
    let (x, y) = tile_at(36.4577, 115.9854, 9);
    let t = decode(
        &get(format!("/tiles/reports/9/{x}/{y}.mvt"))
            .await
            .bytes()
            .await
            .unwrap(),
    );
    let cells = t.layers.iter().find(|l| l.name == "report_cells").unwrap();
    let count_key = cells.keys.iter().position(|k| k == "count").unwrap() as u32;
    let total: u64 = cells
        .features
        .iter()
        .map(|f| {
            let v = f.tags.chunks(2).find(|kv| kv[0] == count_key).unwrap()[1];
            cells.values[v as usize].uint_value.unwrap()
        })
        .sum();
    assert_eq!(total, 5);
    let t = decode(
        &get(format!("/tiles/reports/9/{x}/{y}.mvt?status=accepted"))
            .await
            .bytes()
            .await
            .unwrap(),
    );
    assert_eq!(
        t.layers
            .iter()
            .find(|l| l.name == "report_cells")
            .unwrap()
            .features
            .len(),
        1
    );

    // Bad input: zoom out of range, tile outside the grid, bad filters, no credentials.
    for (path, status) in [
        (
            "/tiles/reports/21/0/0.mvt".to_string(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "/tiles/reports/3/8/0.mvt".to_string(),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("/tiles/reports/15/{x}/{y}.mvt?status=lost"),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("/tiles/reports/15/{x}/{y}.mvt?category=dragons"),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("/tiles/reports/15/{x}/{y}.mvt?since=yesterday"),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("/tiles/reports/15/{x}/{y}.mvt?colour=red"),
            StatusCode::BAD_REQUEST,
        ),
        (
            "/tiles/reports/15/1/1.png".to_string(),
            StatusCode::NOT_FOUND,
        ),
    ] {
        problem(get(path.clone()).await, status).await;
    }
    let res = c
        .app
        .client
        .get(c.app.url("/tiles/reports/1/0/0.mvt"))
        .send()
        .await
        .unwrap();
    problem(res, StatusCode::UNAUTHORIZED).await;
}

async fn patrol_layer(c: &Command, points: &[(&str, f64, f64)]) {
    use sentinel_store::Store;
    let store = &c.app.store;
    let now = OffsetDateTime::now_utc();
    let layer = store
        .begin_layer("patrol", "patrol_points", now)
        .await
        .unwrap();
    let rows = points
        .iter()
        .map(|(name, lat, lon)| sentinel_store::NewLayerFeature {
            geometry: json!({ "type": "Point", "coordinates": [lon, lat] }).to_string(),
            properties: json!({ "name": name, "radius_m": 50, "visits_per_day": 4 }).to_string(),
            bbox: [*lon, *lat, *lon, *lat],
        })
        .collect();
    store.add_layer_features(layer, rows).await.unwrap();
    store.finish_layer(layer).await.unwrap();
}

#[tokio::test]
async fn patrol_visits_come_from_geofences_check_ins_and_qr_codes() {
    use sentinel_store::Store;
    let c = command().await;
    patrol_layer(
        &c,
        &[("东关桥", 36.4500, 115.9800), ("古楼", 36.4600, 115.9900)],
    )
    .await;
    let unit_token = c.app.token("car3", Role::Unit, None).await;
    let u = c
        .unit("巡-03", "special_police", Some("car3"), 36.40, 115.90)
        .await;
    let id = u["id"].as_i64().unwrap();
    let list = c
        .app
        .get_json_as("/api/v1/patrol/points", &c.dispatcher)
        .await;
    let points = list["points"].as_array().unwrap();
    assert_eq!(points.len(), 2);
    let bridge = points.iter().find(|p| p["name"] == "东关桥").unwrap()["id"]
        .as_i64()
        .unwrap();
    assert_eq!(
        list["counts"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_u64().unwrap())
            .sum::<u64>(),
        2
    );

    // Geofence: 30 m from the bridge counts; lingering does not count twice; 200 m away nothing.
    let now = OffsetDateTime::now_utc();
    let t = |s: i64| (now - time::Duration::seconds(s)).format(&Rfc3339).unwrap();
    let res = c
        .post(
            &format!("/api/v1/units/{id}/positions"),
            &unit_token,
            json!({ "positions": [
                { "lat": 36.45027, "lon": 115.9800, "timestamp": t(60) },
                { "lat": 36.45020, "lon": 115.9801, "timestamp": t(30) },
                { "lat": 36.4600 + 0.0018, "lon": 115.9900, "timestamp": t(10) }
            ]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let visits = c
        .app
        .get_json_as(
            &format!("/api/v1/patrol/points/{bridge}/visits"),
            &c.dispatcher,
        )
        .await;
    let v = visits["visits"].as_array().unwrap();
    assert_eq!(v.len(), 1, "{visits}");
    assert_eq!(v[0]["method"], "geofence");
    assert_eq!(v[0]["unit"], id);

    // Manual check-in: refused far away, with the distance said; accepted near.
    let res = c
        .post(
            &format!("/api/v1/patrol/points/{bridge}/visits"),
            &unit_token,
            json!({ "lat": 36.46, "lon": 115.98 }),
        )
        .await;
    let p = problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(p["detail"].as_str().unwrap().contains("东关桥"), "{p}");
    let res = c
        .post(
            &format!("/api/v1/patrol/points/{bridge}/visits"),
            &unit_token,
            json!({ "lat": 36.4501, "lon": 115.9800 }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let analyst = c.app.token("ana2", Role::Analyst, None).await;
    let res = c
        .post(
            &format!("/api/v1/patrol/points/{bridge}/visits"),
            &analyst,
            json!({}),
        )
        .await;
    problem(res, StatusCode::FORBIDDEN).await;
    let res = c
        .post("/api/v1/patrol/points/999/visits", &unit_token, json!({}))
        .await;
    problem(res, StatusCode::NOT_FOUND).await;
    // A unit's check-in without a position is no proof of a visit.
    let res = c
        .post(
            &format!("/api/v1/patrol/points/{bridge}/visits"),
            &unit_token,
            json!({}),
        )
        .await;
    problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    // The command centre records a visit reported by radio, but only for a unit it
    // names; the visit names both.
    let res = c
        .post(
            &format!("/api/v1/patrol/points/{bridge}/visits"),
            &c.dispatcher,
            json!({}),
        )
        .await;
    let p = problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(p["detail"].as_str().unwrap().contains("unit"), "{p}");
    let res = c
        .post(
            &format!("/api/v1/patrol/points/{bridge}/visits"),
            &c.dispatcher,
            json!({ "unit": id }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let v: Value = res.json().await.unwrap();
    assert_eq!(
        (v["unit"].as_i64(), v["method"].as_str()),
        (Some(id), Some("checkin"))
    );
    assert!(v["user"].is_string(), "{v}");
    // An account of the unit role that works no unit records no visit at all.
    let nobody = c.app.token("spare", Role::Unit, None).await;
    let res = c
        .post(
            &format!("/api/v1/patrol/points/{bridge}/visits"),
            &nobody,
            json!({ "lat": 36.4501, "lon": 115.9800 }),
        )
        .await;
    problem(res, StatusCode::FORBIDDEN).await;

    // The QR code: an SVG for the command centre that opens /p/{token}; a scan records a visit.
    let res = c
        .app
        .client
        .get(c.app.url(&format!("/api/v1/patrol/points/{bridge}/qr.svg")))
        .bearer_auth(&c.dispatcher)
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["content-type"], "image/svg+xml");
    assert!(res.text().await.unwrap().contains("<svg"));
    let res = c
        .app
        .client
        .get(c.app.url(&format!("/api/v1/patrol/points/{bridge}/qr.svg")))
        .bearer_auth(&unit_token)
        .send()
        .await
        .unwrap();
    problem(res, StatusCode::FORBIDDEN).await;
    let token = c
        .app
        .store
        .patrol_points(now)
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.id == bridge)
        .unwrap()
        .qr_token;
    let res = c
        .post(
            &format!("/api/v1/patrol/qr/{token}"),
            &unit_token,
            json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["method"], "qr");
    let res = c
        .post("/api/v1/patrol/qr/not-a-token", &unit_token, json!({}))
        .await;
    problem(res, StatusCode::NOT_FOUND).await;
    let page = c
        .app
        .client
        .get(c.app.url(&format!("/p/{token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);

    // Coverage: four visits today for the bridge; re-importing the layer keeps the
    // point, its visits and its QR code.
    let list = c
        .app
        .get_json_as("/api/v1/patrol/points", &c.dispatcher)
        .await;
    let b = list["points"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == bridge)
        .unwrap()
        .clone();
    assert_eq!(b["visits_today"], 4);
    assert!(["done", "on_time", "due", "overdue"].contains(&b["state"].as_str().unwrap()));
    patrol_layer(&c, &[("东关桥", 36.4500, 115.9800)]).await;
    let again = c
        .app
        .store
        .patrol_points(now - time::Duration::days(1))
        .await
        .unwrap();
    assert_eq!(
        again.len(),
        1,
        "the point that left the layer stops counting"
    );
    assert_eq!(again[0].id, bridge);
    assert_eq!(again[0].qr_token, token);
    assert_eq!(again[0].visits, 4);
}
