//! Open311 GeoReport v2 conformance, written from the spec: every method in both
//! formats (XML read with a real parser, element names and nesting checked), the
//! error cases, the FixMyStreet extensions, and a round trip through the lifecycle.

use crate::helpers::*;
use reqwest::StatusCode;
use sentinel_core::Role;
use sentinel_server::Config;
use sentinel_store::Store;
use serde_json::{Value, json};

/// An XML element: name, own text, children.
#[derive(Debug)]
struct El {
    name: String,
    text: String,
    kids: Vec<El>,
}

impl El {
    fn parse(text: &str) -> El {
        assert!(
            text.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?>"),
            "an XML declaration comes first: {text}"
        );
        let doc = roxmltree::Document::parse(text).expect("well-formed XML");
        fn walk(n: roxmltree::Node<'_, '_>) -> El {
            El {
                name: n.tag_name().name().to_owned(),
                text: n
                    .children()
                    .filter(|c| c.is_text())
                    .filter_map(|c| c.text())
                    .collect::<String>(),
                kids: n.children().filter(|c| c.is_element()).map(walk).collect(),
            }
        }
        let root = doc.root_element();
        assert!(
            root.tag_name().namespace().is_none(),
            "no namespace, as the spec recommends"
        );
        walk(root)
    }

    fn child(&self, name: &str) -> &El {
        self.kids
            .iter()
            .find(|k| k.name == name)
            .unwrap_or_else(|| panic!("<{}> has no <{name}>: {self:?}", self.name))
    }

    fn has(&self, name: &str) -> bool {
        self.kids.iter().any(|k| k.name == name)
    }

    fn names(&self) -> Vec<&str> {
        self.kids.iter().map(|k| k.name.as_str()).collect()
    }

    fn text_of(&self, name: &str) -> &str {
        &self.child(name).text
    }
}

struct Reply {
    status: StatusCode,
    content_type: String,
    body: String,
}

impl Reply {
    fn xml(&self) -> El {
        assert_eq!(
            self.content_type, "text/xml; charset=utf-8",
            "{}",
            self.body
        );
        El::parse(&self.body)
    }

    fn json(&self) -> Value {
        assert_eq!(
            self.content_type, "application/json; charset=utf-8",
            "{}",
            self.body
        );
        serde_json::from_str(&self.body).expect("JSON")
    }

    /// A spec-shaped error in XML: `<errors><error><code/><description/>`.
    fn xml_error(&self, status: StatusCode) -> String {
        assert_eq!(self.status, status, "{}", self.body);
        let e = self.xml();
        assert_eq!(e.name, "errors");
        assert!(!e.kids.is_empty());
        let first = &e.kids[0];
        assert_eq!(first.name, "error");
        assert_eq!(first.names(), ["code", "description"]);
        assert_eq!(first.text_of("code"), status.as_str());
        e.kids
            .iter()
            .map(|k| k.text_of("description").to_owned())
            .collect::<Vec<_>>()
            .join(" | ")
    }
}

/// Form arguments, in order.
type Form = Vec<(&'static str, &'static str)>;

async fn get(app: &TestApp, path: &str) -> Reply {
    let res = app.client.get(app.url(path)).send().await.unwrap();
    reply(res).await
}

async fn reply(res: reqwest::Response) -> Reply {
    let status = res.status();
    let content_type = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    Reply {
        status,
        content_type,
        body: res.text().await.unwrap(),
    }
}

async fn post(app: &TestApp, path: &str, pairs: &[(&str, &str)]) -> Reply {
    let mut body = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        body.append_pair(k, v);
    }
    let res = app
        .client
        .post(app.url(path))
        .header(
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8",
        )
        .body(body.finish())
        .send()
        .await
        .unwrap();
    reply(res).await
}

/// Files a plain request at Dongchangfu with `key`.
async fn file(app: &TestApp, fmt: &str, key: &str, service: &str, description: &str) -> Reply {
    post(
        app,
        &format!("/open311/v2/requests.{fmt}"),
        &[
            ("api_key", key),
            ("service_code", service),
            ("lat", DONGCHANGFU.0),
            ("long", DONGCHANGFU.1),
            ("description", description),
        ],
    )
    .await
}

/// Registers a client application and returns its API key.
async fn api_key(app: &TestApp, name: &str) -> String {
    let key = sentinel_server::auth::new_token();
    app.store
        .create_open311_client(
            name,
            &sentinel_server::auth::secret_hash(key.expose()),
            time::OffsetDateTime::now_utc(),
        )
        .await
        .unwrap();
    key.expose().to_owned()
}

async fn spawn() -> TestApp {
    crate::geography::liaocheng_with(Config {
        intake_per_minute: 0,
        open311_jurisdiction: Some("liaocheng.gov.cn".into()),
        public_url: String::new(),
        ..Config::default()
    })
    .await
}

#[tokio::test]
async fn discovery_lists_the_endpoint_in_both_formats() {
    let app = spawn().await;
    let x = get(&app, "/open311/discovery.xml").await.xml();
    assert_eq!(x.name, "discovery");
    assert_eq!(
        x.names(),
        ["changeset", "contact", "key_service", "endpoints"]
    );
    let ep = x.child("endpoints").child("endpoint");
    assert_eq!(
        ep.text_of("specification"),
        "http://wiki.open311.org/GeoReport_v2"
    );
    assert!(ep.text_of("url").ends_with("/open311/v2"));
    let formats: Vec<&str> = ep
        .child("formats")
        .kids
        .iter()
        .map(|f| {
            assert_eq!(f.name, "format");
            f.text.as_str()
        })
        .collect();
    assert_eq!(formats, ["text/xml", "application/json"]);
    let j = get(&app, "/open311/discovery.json").await.json();
    assert_eq!(j["endpoints"][0]["formats"][1], "application/json");
    // A resource without a format, or an unknown one: a spec-shaped 404.
    get(&app, "/open311/v2/services")
        .await
        .xml_error(StatusCode::NOT_FOUND);
    get(&app, "/open311/v2/services.csv")
        .await
        .xml_error(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn services_and_their_definitions_follow_the_spec() {
    let app = spawn().await;
    let x = get(&app, "/open311/v2/services.xml").await.xml();
    assert_eq!(x.name, "services");
    assert!(x.kids.len() >= 10);
    for s in &x.kids {
        assert_eq!(s.name, "service");
        assert_eq!(
            s.names(),
            [
                "service_code",
                "service_name",
                "description",
                "metadata",
                "type",
                "keywords",
                "group",
                "groups"
            ]
        );
        assert!(["true", "false"].contains(&s.text_of("metadata")));
        assert!(["realtime", "batch"].contains(&s.text_of("type")));
        assert_eq!(s.child("groups").child("group").text, s.text_of("group"));
    }
    let elevator = x
        .kids
        .iter()
        .find(|s| s.text_of("service_code") == "elevator_fault")
        .unwrap();
    assert_eq!(elevator.text_of("metadata"), "true");
    let j = get(&app, "/open311/v2/services.json").await.json();
    assert_eq!(j.as_array().unwrap().len(), x.kids.len());
    // English on request.
    let en: Value = app
        .client
        .get(app.url("/open311/v2/services.json"))
        .header("accept-language", "en-GB,en;q=0.8")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        en.as_array()
            .unwrap()
            .iter()
            .any(|s| s["service_name"] == "Elevator fault")
    );

    let d = get(&app, "/open311/v2/services/elevator_fault.xml")
        .await
        .xml();
    assert_eq!(d.name, "service_definition");
    assert_eq!(d.names(), ["service_code", "attributes"]);
    let attrs = &d.child("attributes").kids;
    assert_eq!(attrs.len(), 2);
    let trapped = &attrs[0];
    assert_eq!(trapped.name, "attribute");
    assert_eq!(
        trapped.names(),
        [
            "variable",
            "code",
            "datatype",
            "required",
            "datatype_description",
            "order",
            "description",
            "values"
        ]
    );
    assert_eq!(
        (
            trapped.text_of("code"),
            trapped.text_of("datatype"),
            trapped.text_of("required"),
            trapped.text_of("order")
        ),
        ("people_trapped", "singlevaluelist", "true", "1")
    );
    let v = &trapped.child("values").kids[0];
    assert_eq!((v.name.as_str(), v.names()), ("value", vec!["key", "name"]));
    assert_eq!(v.text_of("key"), "yes");
    let dj = get(&app, "/open311/v2/services/elevator_fault.json")
        .await
        .json();
    assert_eq!(dj["attributes"][1]["datatype"], "number");
    assert_eq!(dj["attributes"][1]["order"], 2);
    let e = get(&app, "/open311/v2/services/no_such_thing.xml")
        .await
        .xml_error(StatusCode::NOT_FOUND);
    assert!(e.contains("no_such_thing"));
    let e = get(
        &app,
        "/open311/v2/services.xml?jurisdiction_id=springfield.gov",
    )
    .await
    .xml_error(StatusCode::NOT_FOUND);
    assert!(e.contains("springfield.gov"));
    assert_eq!(
        get(
            &app,
            "/open311/v2/services.xml?jurisdiction_id=liaocheng.gov.cn"
        )
        .await
        .status,
        StatusCode::OK
    );
}

const DONGCHANGFU: (&str, &str) = ("36.4567", "115.9854");

#[tokio::test]
async fn a_request_is_filed_with_attributes_and_read_back_without_personal_data() {
    let app = spawn().await;
    let key = api_key(&app, "fixmystreet").await;
    let r = post(
        &app,
        "/open311/v2/requests.xml",
        &[
            ("api_key", key.as_str()),
            ("jurisdiction_id", "liaocheng.gov.cn"),
            ("service_code", "food_safety"),
            ("lat", DONGCHANGFU.0),
            ("long", DONGCHANGFU.1),
            ("description", "后厨很脏\r\nkitchen is filthy"),
            ("attribute[venue]", "老街饭馆"),
            ("attribute[problems][]", "dirty_kitchen"),
            ("attribute[problems][]", "pests"),
            ("email", "li.lei@example.cn"),
            ("first_name", "Lei"),
            ("last_name", "Li"),
            ("phone", "13800138000"),
            ("device_id", "tt222111"),
            ("media_url", "https://photos.example.org/kitchen.jpg"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let x = r.xml();
    assert_eq!(x.name, "service_requests");
    let req = x.child("request");
    assert_eq!(
        req.names(),
        ["service_request_id", "service_notice", "account_id"]
    );
    let id = req.text_of("service_request_id").to_owned();
    assert!(id.starts_with("SB-"));

    let one = get(&app, &format!("/open311/v2/requests/{id}.xml")).await;
    let one = one.xml();
    let got = one.child("request");
    for field in [
        "service_request_id",
        "status",
        "status_notes",
        "service_name",
        "service_code",
        "description",
        "agency_responsible",
        "service_notice",
        "requested_datetime",
        "updated_datetime",
        "expected_datetime",
        "address",
        "address_id",
        "zipcode",
        "lat",
        "long",
        "media_url",
    ] {
        assert!(got.has(field), "{field} missing: {:?}", got.names());
    }
    assert_eq!(got.text_of("status"), "open");
    assert_eq!(got.text_of("service_code"), "food_safety");
    assert_eq!(got.text_of("description"), "后厨很脏\nkitchen is filthy");
    assert_eq!(got.text_of("agency_responsible"), "市场监督管理局");
    assert_eq!(
        got.text_of("media_url"),
        "https://photos.example.org/kitchen.jpg"
    );
    assert!(got.text_of("requested_datetime").ends_with('Z'));
    let j = get(&app, &format!("/open311/v2/requests/{id}.json"))
        .await
        .json();
    assert_eq!(j[0]["lat"].as_f64().unwrap(), 36.4567);
    // Contact details went to the personal-data store, never out again.
    for body in [
        get(&app, &format!("/open311/v2/requests/{id}.json"))
            .await
            .body,
        get(&app, "/open311/v2/requests.xml").await.body,
    ] {
        for secret in ["li.lei@example.cn", "13800138000", "Lei", "tt222111"] {
            assert!(!body.contains(secret), "{secret} leaked: {body}");
        }
    }
    let stored = app
        .store
        .report(&sentinel_store::ReportKey::Code(id.parse().unwrap()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.channel, sentinel_core::Channel::Open311);
    assert_eq!(
        stored.attributes["problems"],
        json!(["dirty_kitchen", "pests"])
    );
    match &stored.reporter {
        sentinel_core::Reporter::Contact(c) => {
            assert_eq!(c.email.as_deref(), Some("li.lei@example.cn"));
            assert_eq!(c.name.as_deref(), Some("Lei Li"));
        }
        other => panic!("{other:?}"),
    }

    // An address alone is placed by the jurisdictions it names.
    let r = post(
        &app,
        "/open311/v2/requests.json",
        &[
            ("api_key", key.as_str()),
            ("service_code", "pothole"),
            ("address_string", "山东省聊城市临清市 大众路"),
            ("description", "a hole"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let id2 = r.json()[0]["service_request_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let placed = get(&app, &format!("/open311/v2/requests/{id2}.json"))
        .await
        .json();
    let (lat, lon) = (
        placed[0]["lat"].as_f64().unwrap(),
        placed[0]["long"].as_f64().unwrap(),
    );
    assert!(
        (36.6..37.1).contains(&lat) && (115.4..116.0).contains(&lon),
        "inside Linqing: {lat}, {lon}"
    );
    assert_eq!(placed[0]["address"], "山东省聊城市临清市 大众路");
}

#[tokio::test]
async fn bad_requests_get_spec_errors_and_store_nothing() {
    let app = spawn().await;
    let key = api_key(&app, "fixmystreet").await;
    let long = "很".repeat(4001);
    let base = |extra: &[(&'static str, &'static str)]| {
        let mut v: Vec<(&str, &str)> = vec![
            ("service_code", "elevator_fault"),
            ("lat", DONGCHANGFU.0),
            ("long", DONGCHANGFU.1),
            ("description", "stuck"),
            ("attribute[people_trapped]", "no"),
        ];
        for (k, val) in extra {
            v.retain(|(kk, _)| kk != k);
            v.push((k, val));
        }
        v
    };
    let with_key = |mut v: Vec<(&'static str, &'static str)>, key: &'static str| {
        v.push(("api_key", key));
        v
    };
    let key: &'static str = Box::leak(key.into_boxed_str());
    let long: &'static str = Box::leak(long.into_boxed_str());
    let cases: Vec<(Form, StatusCode, &str)> = vec![
        (base(&[]), StatusCode::FORBIDDEN, "api_key"),
        (
            with_key(base(&[]), "not-the-key"),
            StatusCode::FORBIDDEN,
            "Invalid api_key",
        ),
        (
            with_key(base(&[("service_code", "teleport")]), key),
            StatusCode::NOT_FOUND,
            "teleport",
        ),
        (
            with_key(base(&[("lat", ""), ("long", "")]), key),
            StatusCode::BAD_REQUEST,
            "location is required",
        ),
        (
            with_key(base(&[("lat", "136.4")]), key),
            StatusCode::BAD_REQUEST,
            "lat",
        ),
        (
            with_key(
                vec![
                    ("service_code", "elevator_fault"),
                    ("lat", DONGCHANGFU.0),
                    ("long", DONGCHANGFU.1),
                    ("description", "stuck"),
                ],
                key,
            ),
            StatusCode::BAD_REQUEST,
            "attribute[people_trapped]",
        ),
        (
            with_key(base(&[("attribute[people_trapped]", "maybe")]), key),
            StatusCode::BAD_REQUEST,
            "attribute[people_trapped]",
        ),
        (
            with_key(base(&[("description", long)]), key),
            StatusCode::BAD_REQUEST,
            "4,000",
        ),
        (
            with_key(base(&[("jurisdiction_id", "springfield.gov")]), key),
            StatusCode::NOT_FOUND,
            "springfield.gov",
        ),
        (
            with_key(base(&[("media_url", "http://127.0.0.1/x.jpg")]), key),
            StatusCode::BAD_REQUEST,
            "private",
        ),
        (
            with_key(base(&[("media_url", "http://10.0.0.1/x.jpg")]), key),
            StatusCode::BAD_REQUEST,
            "private",
        ),
    ];
    for (pairs, status, says) in cases {
        for fmt in ["xml", "json"] {
            let r = post(&app, &format!("/open311/v2/requests.{fmt}"), &pairs).await;
            if fmt == "xml" {
                let text = r.xml_error(status);
                assert!(text.contains(says), "{says:?} not in {text:?}");
            } else {
                assert_eq!(r.status, status);
                let j = r.json();
                assert_eq!(j[0]["code"], status.as_u16());
                assert!(j[0]["description"].as_str().unwrap().contains(says));
            }
        }
    }
    assert_eq!(
        app.store.count_reports().await.unwrap(),
        0,
        "nothing stored"
    );
    // The key may also come in the query string; a revoked key stops working.
    let mut pairs = base(&[]);
    pairs.retain(|(k, _)| *k != "api_key");
    let r = post(
        &app,
        &format!("/open311/v2/requests.json?api_key={key}"),
        &pairs,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    app.store
        .revoke_open311_client("fixmystreet", time::OffsetDateTime::now_utc())
        .await
        .unwrap();
    post(&app, "/open311/v2/requests.xml", &with_key(base(&[]), key))
        .await
        .xml_error(StatusCode::FORBIDDEN);
    assert_eq!(app.store.count_reports().await.unwrap(), 1);
}

#[tokio::test]
async fn get_requests_filters_and_refuses_bad_arguments() {
    let app = spawn().await;
    let key = api_key(&app, "app").await;
    let mut ids = Vec::new();
    for code in ["pothole", "pothole", "illegal_parking"] {
        let r = post(
            &app,
            "/open311/v2/requests.json",
            &[
                ("api_key", key.as_str()),
                ("service_code", code),
                ("lat", DONGCHANGFU.0),
                ("long", DONGCHANGFU.1),
                ("description", "x"),
            ],
        )
        .await;
        ids.push(
            r.json()[0]["service_request_id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let count = |v: &Value| v.as_array().unwrap().len();
    assert_eq!(
        count(&get(&app, "/open311/v2/requests.json").await.json()),
        3
    );
    assert_eq!(
        count(
            &get(&app, "/open311/v2/requests.json?service_code=pothole")
                .await
                .json()
        ),
        2
    );
    assert_eq!(
        count(
            &get(
                &app,
                "/open311/v2/requests.json?service_code=pothole,illegal_parking&status=open"
            )
            .await
            .json()
        ),
        3
    );
    assert_eq!(
        count(
            &get(&app, "/open311/v2/requests.json?status=closed")
                .await
                .json()
        ),
        0
    );
    // service_request_id overrides the rest.
    let some = get(
        &app,
        &format!(
            "/open311/v2/requests.xml?service_request_id={},{}&service_code=illegal_parking&status=closed",
            ids[0], ids[1]
        ),
    )
    .await
    .xml();
    assert_eq!(some.kids.len(), 2);
    assert_eq!(some.kids[0].name, "request");
    // A window in the past holds none; a window over 90 days, a bad date, an unknown
    // status or service are refused.
    assert_eq!(
        count(
            &get(
                &app,
                "/open311/v2/requests.json?start_date=2020-01-01T00:00:00Z&end_date=2020-02-01T00:00:00Z"
            )
            .await
            .json()
        ),
        0
    );
    for (q, status, says) in [
        (
            "start_date=2020-01-01T00:00:00Z&end_date=2020-06-01T00:00:00Z",
            StatusCode::BAD_REQUEST,
            "90 days",
        ),
        (
            "start_date=last%20tuesday",
            StatusCode::BAD_REQUEST,
            "start_date",
        ),
        (
            "end_date=2026-11-01T00:00:00",
            StatusCode::BAD_REQUEST,
            "time zone",
        ),
        ("status=pending", StatusCode::BAD_REQUEST, "pending"),
        ("service_code=teleport", StatusCode::NOT_FOUND, "teleport"),
        (
            "jurisdiction_id=springfield.gov",
            StatusCode::NOT_FOUND,
            "springfield",
        ),
    ] {
        let text = get(&app, &format!("/open311/v2/requests.xml?{q}"))
            .await
            .xml_error(status);
        assert!(text.contains(says), "{q}: {text}");
    }
    get(&app, "/open311/v2/requests/SB-0000-0000.xml")
        .await
        .xml_error(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_batch_service_answers_with_a_token_that_names_the_request() {
    let app = spawn().await;
    let mut catalog = sentinel_core::Catalog::builtin();
    catalog
        .categories
        .iter_mut()
        .find(|c| c.code == "pothole")
        .unwrap()
        .realtime = false;
    app.state.set_catalog(catalog);
    let key = api_key(&app, "app").await;
    let services = get(&app, "/open311/v2/services.json").await.json();
    let pothole = services
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["service_code"] == "pothole")
        .unwrap();
    assert_eq!(pothole["type"], "batch");
    let r = file(&app, "xml", &key, "pothole", "deep").await.xml();
    let req = r.child("request");
    assert!(!req.has("service_request_id"), "a token instead of an id");
    let token = req.text_of("token").to_owned();
    let t = get(&app, &format!("/open311/v2/tokens/{token}.xml"))
        .await
        .xml();
    assert_eq!(t.name, "service_requests");
    let tr = t.child("request");
    assert_eq!(tr.names(), ["service_request_id", "token"]);
    assert_eq!(tr.text_of("token"), token);
    assert!(tr.text_of("service_request_id").starts_with("SB-"));
    get(&app, "/open311/v2/tokens/nope.xml")
        .await
        .xml_error(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_round_trip_through_the_lifecycle_shows_in_statuses_and_updates() {
    let app = spawn().await;
    let key = api_key(&app, "fixmystreet").await;
    let r = file(&app, "json", &key, "pothole", "deep hole").await;
    let code = r.json()[0]["service_request_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let report = app
        .store
        .report(&sentinel_store::ReportKey::Code(code.parse().unwrap()))
        .await
        .unwrap()
        .unwrap();
    let id = report.id.0;
    let d = app.token("dispatch", Role::Dispatcher, None).await;
    let housing = app.token("housing-1", Role::Officer, Some("housing")).await;
    for (who, body) in [
        (&d, json!({"action": "accept"})),
        (&d, json!({"action": "assign"})),
        (&housing, json!({"action": "start"})),
        (
            &housing,
            json!({"action": "resolve", "note": "filled with asphalt"}),
        ),
    ] {
        let res = app.act(who, id, body).await;
        assert_eq!(res.status(), StatusCode::OK);
    }
    let now_closed = get(&app, &format!("/open311/v2/requests/{code}.json"))
        .await
        .json();
    assert_eq!(now_closed[0]["status"], "closed");
    assert_eq!(now_closed[0]["status_notes"], "filled with asphalt");
    assert_eq!(now_closed[0]["extended_status"], "FIXED");
    assert_eq!(now_closed[0]["agency_responsible"], "住房和城乡建设局");

    let u = get(&app, "/open311/v2/servicerequestupdates.xml")
        .await
        .xml();
    assert_eq!(u.name, "service_request_updates");
    let statuses: Vec<&str> = u
        .kids
        .iter()
        .map(|k| {
            assert_eq!(k.name, "request_update");
            assert_eq!(
                k.names(),
                [
                    "update_id",
                    "service_request_id",
                    "status",
                    "updated_datetime",
                    "description",
                    "media_url",
                    "external_status_code"
                ]
            );
            assert_eq!(k.text_of("service_request_id"), code);
            k.text_of("status")
        })
        .collect();
    assert_eq!(
        statuses,
        ["INVESTIGATING", "ACTION_SCHEDULED", "IN_PROGRESS", "FIXED"]
    );
    assert_eq!(u.kids[3].text_of("description"), "filled with asphalt");

    // Another client's key cannot reopen what FixMyStreet filed: its word is a note.
    let other = api_key(&app, "other-app").await;
    let foreign = post(
        &app,
        "/open311/v2/servicerequestupdates.json",
        &[
            ("api_key", other.as_str()),
            ("service_request_id", code.as_str()),
            ("status", "OPEN"),
            ("description", "not fixed, says a stranger"),
        ],
    )
    .await;
    assert_eq!(foreign.status, StatusCode::OK, "{}", foreign.body);
    let still = app
        .store
        .report(&sentinel_store::ReportKey::Id(report.id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(still.status, sentinel_core::Status::Resolved);
    let last = app.store.events(report.id).await.unwrap().pop().unwrap();
    assert_eq!(last.action, "comment");
    assert!(last.note.as_deref().unwrap().contains("[other-app]"));

    // The reporter, through FixMyStreet, says it is not fixed: the order reopens.
    let up = post(
        &app,
        "/open311/v2/servicerequestupdates.xml",
        &[
            ("api_key", key.as_str()),
            ("service_request_id", code.as_str()),
            ("status", "OPEN"),
            ("description", "still a hole on the left side"),
            ("updated_datetime", "2026-11-26T10:00:00+08:00"),
            ("email", "li.lei@example.cn"),
        ],
    )
    .await;
    assert_eq!(up.status, StatusCode::OK, "{}", up.body);
    let up = up.xml();
    assert_eq!(up.name, "service_request_updates");
    assert_eq!(up.child("request_update").names(), ["update_id"]);
    let again = get(&app, &format!("/open311/v2/requests/{code}.json"))
        .await
        .json();
    assert_eq!(again[0]["status"], "open");
    assert_eq!(again[0]["extended_status"], "REOPEN");
    assert_eq!(again[0]["status_notes"], "still a hole on the left side");
    // The timeline names the client, not an anonymous "reporter".
    let reopened = app.store.events(report.id).await.unwrap().pop().unwrap();
    assert_eq!(reopened.action, "reopen");
    assert_eq!(reopened.actor, "open311:fixmystreet");
    // A client's own workflow word is a note; it never moves the order.
    let note = post(
        &app,
        "/open311/v2/servicerequestupdates.json",
        &[
            ("api_key", key.as_str()),
            ("service_request_id", code.as_str()),
            ("status", "IN_PROGRESS"),
            ("description", "council contractor on site"),
        ],
    )
    .await;
    assert_eq!(note.status, StatusCode::OK, "{}", note.body);
    assert!(note.json()[0]["update_id"].is_string());
    let after = app
        .store
        .report(&sentinel_store::ReportKey::Id(report.id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.status, sentinel_core::Status::Reopened);
    let events = app.store.events(report.id).await.unwrap();
    assert_eq!(events.last().unwrap().action, "comment");
    assert!(
        events
            .last()
            .unwrap()
            .note
            .as_deref()
            .unwrap()
            .contains("[fixmystreet] council contractor on site")
    );
    // Bad updates: unknown request, unknown status, no key.
    for (pairs, status) in [
        (
            vec![
                ("api_key", key.as_str()),
                ("service_request_id", "SB-0000-0000"),
                ("status", "OPEN"),
                ("description", "x"),
            ],
            StatusCode::NOT_FOUND,
        ),
        (
            vec![
                ("api_key", key.as_str()),
                ("service_request_id", code.as_str()),
                ("status", "MAYBE"),
                ("description", "x"),
            ],
            StatusCode::BAD_REQUEST,
        ),
        (
            vec![
                ("service_request_id", code.as_str()),
                ("status", "OPEN"),
                ("description", "x"),
            ],
            StatusCode::FORBIDDEN,
        ),
    ] {
        post(&app, "/open311/v2/servicerequestupdates.xml", &pairs)
            .await
            .xml_error(status);
    }
    let updates_json = get(
        &app,
        "/open311/v2/servicerequestupdates.json?start_date=2020-01-01T00:00:00Z&end_date=2020-01-02T00:00:00Z",
    )
    .await
    .json();
    assert_eq!(updates_json, json!([]));
}

#[tokio::test]
async fn each_key_has_its_own_rate_limit() {
    let app = crate::geography::liaocheng_with(Config {
        intake_per_minute: 0,
        open311_per_minute: 2,
        ..Config::default()
    })
    .await;
    let (a, b) = (api_key(&app, "a").await, api_key(&app, "b").await);
    let file = |key: String| {
        let app = &app;
        async move {
            post(
                app,
                "/open311/v2/requests.xml",
                &[
                    ("api_key", key.as_str()),
                    ("service_code", "pothole"),
                    ("lat", DONGCHANGFU.0),
                    ("long", DONGCHANGFU.1),
                    ("description", "x"),
                ],
            )
            .await
        }
    };
    let mut limited = None;
    for _ in 0..5 {
        let r = file(a.clone()).await;
        if r.status == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(r);
            break;
        }
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    let r = limited.expect("the key was limited");
    assert!(
        r.xml_error(StatusCode::TOO_MANY_REQUESTS)
            .contains("try again")
    );
    // Another application is not slowed by the first.
    assert_eq!(file(b).await.status, StatusCode::OK);
}

/// A media server outside Sentinel, faked on loopback: `/p.jpg` a photo, `/t.txt`
/// text, `/r` a redirect to the photo. Counts the requests it answers.
async fn media_server() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let hits = std::sync::Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    let photo = sentinel_photos::testing::jpeg(640, 480, 7, None, 90);
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            counted.fetch_add(1, Ordering::SeqCst);
            let photo = photo.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let n = sock.read(&mut buf).await.unwrap_or(0);
                let head = String::from_utf8_lossy(&buf[..n]).to_string();
                let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
                let (status, kind, body): (&str, &str, Vec<u8>) = match path.as_str() {
                    "/p.jpg" => ("200 OK", "image/jpeg", photo),
                    "/t.txt" => ("200 OK", "text/plain", b"not a photo".to_vec()),
                    "/r" => ("302 Found", "text/plain", Vec::new()),
                    _ => ("404 Not Found", "text/plain", Vec::new()),
                };
                let reply = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nLocation: /p.jpg\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = sock.write_all(reply.as_bytes()).await;
                let _ = sock.write_all(&body).await;
            });
        }
    });
    (base, hits)
}

#[tokio::test]
async fn media_links_are_fetched_only_from_allowed_hosts_and_checked_like_uploads() {
    use std::sync::atomic::Ordering;
    let (media, hits) = media_server().await;
    let app = crate::geography::liaocheng_with(Config {
        intake_per_minute: 0,
        media_fetch_hosts: vec!["127.0.0.1".into()],
        media_fetch_allow_private: true,
        ..Config::default()
    })
    .await;
    let key = api_key(&app, "fixmystreet").await;
    let (photo, text, redirect) = (
        format!("{media}/p.jpg"),
        format!("{media}/t.txt"),
        format!("{media}/r"),
    );
    let r = post(
        &app,
        "/open311/v2/requests.json",
        &[
            ("api_key", key.as_str()),
            ("service_code", "pothole"),
            ("lat", DONGCHANGFU.0),
            ("long", DONGCHANGFU.1),
            ("media_url", photo.as_str()),
            ("media_url", text.as_str()),
            ("media_url", redirect.as_str()),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let code: sentinel_core::TrackingCode = r.json()[0]["service_request_id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let key_of = sentinel_store::ReportKey::Code(code.clone());
    let mut report = app.store.report(&key_of).await.unwrap().unwrap();
    for _ in 0..100 {
        if hits.load(Ordering::SeqCst) >= 3 && !report.photos.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        report = app.store.report(&key_of).await.unwrap().unwrap();
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let report = app.store.report(&key_of).await.unwrap().unwrap();
    // The photo joined the report; the text and the redirect did not.
    assert_eq!(report.photos.len(), 1, "{report:?}");
    assert_eq!(report.media_urls.len(), 3, "the links stay as they came");
    let added: Vec<_> = app
        .store
        .events(report.id)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "photo_added")
        .collect();
    assert_eq!(added.len(), 1);
    assert_eq!(added[0].data["source"], photo);
    let shown = get(&app, &format!("/open311/v2/requests/{code}.json"))
        .await
        .json();
    let url = shown[0]["media_url"].as_str().unwrap().to_owned();
    assert!(url.starts_with("/api/v1/photos/"), "{url}");
    assert_eq!(
        crate::helpers::public_photo(&app.client, &app.url(&url))
            .await
            .status(),
        StatusCode::OK
    );

    // A host off the allow-list is never contacted.
    let other = crate::geography::liaocheng_with(Config {
        intake_per_minute: 0,
        media_fetch_hosts: vec!["photos.example.org".into()],
        media_fetch_allow_private: true,
        ..Config::default()
    })
    .await;
    let key2 = api_key(&other, "app").await;
    let before = hits.load(Ordering::SeqCst);
    let r = post(
        &other,
        "/open311/v2/requests.json",
        &[
            ("api_key", key2.as_str()),
            ("service_code", "pothole"),
            ("lat", DONGCHANGFU.0),
            ("long", DONGCHANGFU.1),
            ("media_url", photo.as_str()),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(hits.load(Ordering::SeqCst), before);
}

#[tokio::test]
async fn dates_at_the_end_of_the_calendar_are_a_400_not_a_panic() {
    let app = spawn().await;
    for q in [
        "start_date=9999-12-31T23:59:59Z",
        "end_date=-9999-01-01T00:00:00Z",
        "start_date=2020-01-01T12:a%C3%A9",
    ] {
        get(&app, &format!("/open311/v2/requests.xml?{q}"))
            .await
            .xml_error(StatusCode::BAD_REQUEST);
    }
}

#[tokio::test]
async fn characters_xml_cannot_carry_are_refused_and_never_break_the_list() {
    let app = spawn().await;
    let key = api_key(&app, "fixmystreet").await;
    let res = post(
        &app,
        "/open311/v2/requests.xml",
        &[
            ("api_key", key.as_str()),
            ("service_code", "pothole"),
            ("description", "hole \u{FFFE} here"),
            ("lat", "36.45"),
            ("long", "115.98"),
        ],
    )
    .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.body);
    // Nor through the native API.
    let mut body = sample();
    body["description"] = json!("hole \u{FFFF} here");
    assert_eq!(
        app.post_json(&body).await.status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    // The list still parses as XML for every client.
    file(&app, "xml", &key, "pothole", "a plain one").await;
    let list = get(&app, "/open311/v2/requests.xml").await;
    assert_eq!(list.status, StatusCode::OK);
    list.xml();
}
