//! `TestApp`: a real server with its own data folder, and helpers to talk to it.

use reqwest::multipart::{Form, Part};
use reqwest::{Client, Response, StatusCode};
use sentinel_core::{Catalog, Role};
use sentinel_server::auth::{Secret, create_staff_user, new_token, secret_hash};
use sentinel_server::{AppState, Config};
use sentinel_store::sql::SqlStore;
use sentinel_store::{PhotoFolder, Store};
use serde_json::{Value, json};
use std::sync::Arc;
use time::OffsetDateTime;

pub struct TestApp {
    pub base: String,
    pub client: Client,
    pub store: Arc<SqlStore>,
    pub dir: tempfile::TempDir,
    pub state: AppState,
    _shutdown: tokio::sync::oneshot::Sender<()>,
    /// Dropped last: the server's connections go with the database.
    _db: Option<sentinel_store::pg::ScratchDatabase>,
}

/// The store a test server runs on: SQLite in `dir`, or a fresh PostgreSQL
/// database when `SENTINEL_TEST_BACKEND=postgres` (with `SENTINEL_TEST_POSTGRES`
/// naming the cluster), as the second pass of `scripts/test` sets.
pub fn test_store(
    dir: &std::path::Path,
) -> (Arc<SqlStore>, Option<sentinel_store::pg::ScratchDatabase>) {
    if std::env::var("SENTINEL_TEST_BACKEND").as_deref() == Ok("postgres") {
        let admin = std::env::var("SENTINEL_TEST_POSTGRES")
            .expect("SENTINEL_TEST_BACKEND=postgres needs SENTINEL_TEST_POSTGRES");
        let db = sentinel_store::pg::ScratchDatabase::create(&admin).expect("a scratch database");
        let store = SqlStore::connect_postgres(&db.url).expect("PostgreSQL store");
        (Arc::new(store), Some(db))
    } else {
        (Arc::new(SqlStore::open(dir).expect("store")), None)
    }
}

/// GETs a public photo link, waiting while its redacted copy is being made
/// (503 "photo-processing"), for up to two minutes.
pub async fn public_photo(http: &Client, url: &str) -> Response {
    let started = std::time::Instant::now();
    loop {
        let res = http.get(url).send().await.expect("GET photo");
        if res.status() != StatusCode::SERVICE_UNAVAILABLE
            || started.elapsed() > std::time::Duration::from_secs(120)
        {
            return res;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

pub const PASSWORD: &str = "correct horse battery";

/// Creates a user with `role` in `store` and returns a bearer token for them.
pub async fn staff_token(
    store: &dyn Store,
    name: &str,
    role: Role,
    department: Option<&str>,
) -> String {
    create_staff_user(
        store,
        &Catalog::builtin(),
        name,
        &Secret::new(PASSWORD),
        role,
        department,
        sentinel_server::auth::PasswordPolicy::Strong,
    )
    .await
    .expect("user");
    let token = new_token();
    store
        .create_token(
            name,
            "test",
            &secret_hash(token.expose()),
            OffsetDateTime::now_utc(),
            None,
        )
        .await
        .expect("token");
    token.expose().to_owned()
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(Config {
            intake_per_minute: 0,
            ..Config::default()
        })
        .await
    }

    pub async fn spawn_with(config: Config) -> TestApp {
        Self::spawn_with_sender(config, Arc::new(sentinel_server::api::sentinels::LogSender)).await
    }

    /// A server whose verification codes go to `sender` (a fake SMS gateway).
    pub async fn spawn_with_sender(
        config: Config,
        sender: Arc<dyn sentinel_server::api::sentinels::CodeSender>,
    ) -> TestApp {
        Self::spawn_full(config, sender, None).await
    }

    /// A server keeping its photos in `blobs`.
    pub async fn spawn_with_blobs(
        config: Config,
        blobs: Arc<dyn sentinel_store::Blobs>,
    ) -> TestApp {
        Self::spawn_full(
            config,
            Arc::new(sentinel_server::api::sentinels::LogSender),
            Some(blobs),
        )
        .await
    }

    async fn spawn_full(
        config: Config,
        sender: Arc<dyn sentinel_server::api::sentinels::CodeSender>,
        blobs: Option<Arc<dyn sentinel_store::Blobs>>,
    ) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let (store, db) = test_store(dir.path());
        let photos: Arc<dyn sentinel_store::Blobs> = match blobs {
            Some(b) => b,
            None => Arc::new(PhotoFolder::open(dir.path().join("photos")).expect("photos")),
        };
        let mut state = AppState::new(store.clone(), photos, config);
        state.code_sender = sender;
        let served = state.clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            sentinel_server::serve(listener, served, async {
                let _ = rx.await;
            })
            .await
            .expect("server runs");
        });
        TestApp {
            base,
            client: Client::new(),
            store,
            dir,
            state,
            _shutdown: tx,
            _db: db,
        }
    }

    /// `--database URL` when this server runs on PostgreSQL: what a command run
    /// against its data folder needs to find the same database.
    pub fn database_args(&self) -> Vec<String> {
        match &self._db {
            Some(db) => vec!["--database".into(), db.url.clone()],
            None => vec![],
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Creates a user with `role` and returns a bearer token for them.
    pub async fn token(&self, name: &str, role: Role, department: Option<&str>) -> String {
        staff_token(&*self.store, name, role, department).await
    }

    pub async fn post_json(&self, body: &Value) -> Response {
        self.client
            .post(self.url("/api/v1/reports"))
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn post_multipart(&self, report: &Value, photos: Vec<Vec<u8>>) -> Response {
        let mut form = Form::new().part(
            "report",
            Part::text(report.to_string())
                .mime_str("application/json")
                .unwrap(),
        );
        for (i, p) in photos.into_iter().enumerate() {
            form = form.part(
                "photo",
                Part::bytes(p)
                    .file_name(format!("photo{i}.jpg"))
                    .mime_str("image/jpeg")
                    .unwrap(),
            );
        }
        self.client
            .post(self.url("/api/v1/reports"))
            .multipart(form)
            .send()
            .await
            .expect("request")
    }

    pub async fn act(&self, token: &str, report: i64, body: Value) -> Response {
        self.client
            .post(self.url(&format!("/api/v1/reports/{report}/actions")))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .expect("request")
    }

    /// GET `path` as the public and parse the JSON answer.
    pub async fn get_json(&self, path: &str) -> Value {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("json")
    }

    /// GET `path` with a bearer token and parse the JSON answer.
    pub async fn get_json_as(&self, path: &str, token: &str) -> Value {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("json")
    }

    /// The `/metrics` text.
    pub async fn metrics(&self) -> String {
        let res = self.client.get(self.url("/metrics")).send().await;
        res.expect("GET /metrics")
            .text()
            .await
            .expect("metrics text")
    }

    /// The department a report is in (as a dispatcher sees it) and another one.
    pub async fn lead_and_another_department(
        &self,
        report: i64,
        dispatcher: &str,
    ) -> (String, String) {
        let view = self
            .get_json_as(&format!("/api/v1/reports/{report}"), dispatcher)
            .await;
        let lead = view["department"].as_str().expect("routed").to_owned();
        let departments = self.get_json("/api/v1/departments").await;
        let another = departments["departments"]
            .as_array()
            .expect("departments")
            .iter()
            .filter_map(|d| d["code"].as_str())
            .find(|c| *c != lead)
            .expect("a second department")
            .to_owned();
        (lead, another)
    }

    pub async fn count(&self) -> u64 {
        self.store.count_reports().await.expect("count")
    }

    /// Submits a valid report and returns its JSON.
    pub async fn report(&self) -> Value {
        let res = self.post_json(&sample()).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        res.json().await.expect("json")
    }
}

/// A valid report with contact details.
pub fn sample() -> Value {
    json!({
        "category": "fire_lane_blocked",
        "description": "三轮车堵住了消防通道 / tricycles blocking the fire lane",
        "lat": 36.4567,
        "lon": 115.9854,
        "accuracy_m": 6.5,
        "contact": { "name": "王芳", "phone": "13800138000", "email": "wang@example.cn" }
    })
}

/// Asserts a problem document with `status`, returning it.
pub async fn problem(res: Response, status: StatusCode) -> Value {
    assert_eq!(res.status(), status, "status");
    let ct = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(ct.as_deref(), Some("application/problem+json"));
    let body: Value = res.json().await.expect("problem json");
    assert_eq!(body["status"], status.as_u16());
    assert!(
        body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "detail: {body}"
    );
    body
}

/// A report filed at `created` (for histories written straight into the store),
/// with an accept deadline two hours later.
pub fn filed_at(
    category: &str,
    lat: f64,
    lon: f64,
    created: OffsetDateTime,
    channel: sentinel_core::Channel,
) -> sentinel_store::Submission {
    sentinel_store::Submission {
        report: sentinel_core::NewReport {
            category: category.into(),
            description: format!("{category} filed at {created}"),
            location: sentinel_geo::Point::new(lat, lon).unwrap(),
            accuracy_m: None,
            address: None,
            attributes: Default::default(),
            reporter: sentinel_core::Reporter::Contact(sentinel_core::Contact {
                phone: Some("13800138000".into()),
                ..Default::default()
            }),
            channel,
            priority: sentinel_core::Priority::Normal,
            observed_at: None,
            jurisdiction: None,
            routing: None,
            due: Some((
                created + time::Duration::hours(2),
                sentinel_core::calendar::DueKind::Accept,
            )),
            media_urls: vec![],
            reporter_key_hash: None,
        },
        photos: vec![],
        actor: "public".into(),
        idempotency: None,
        now: created,
    }
}

/// The steps of a report worked to the end by `department`, starting an hour
/// after `created`: accepted, assigned, started, resolved a day later, closed.
pub fn worked(department: &str, created: OffsetDateTime) -> Vec<sentinel_store::ActionRequest> {
    use sentinel_core::calendar::{DueChange, DueKind};
    use sentinel_core::{Action, Actor};
    let dispatcher = Actor::Staff {
        user: "duty".into(),
        role: Role::Dispatcher,
        department: None,
    };
    let officer = Actor::Staff {
        user: format!("{department}-officer"),
        role: Role::Officer,
        department: Some(department.into()),
    };
    let h = |n: i64| created + time::Duration::hours(n);
    let step = |actor: &Actor, action: Action, due: DueChange, at: OffsetDateTime| {
        sentinel_store::ActionRequest {
            report: sentinel_core::ReportId(0),
            actor: actor.clone(),
            action,
            photos: vec![],
            due,
            requires_verification: false,
            policy: sentinel_core::LifecyclePolicy::default(),
            now: at,
        }
    };
    vec![
        step(
            &dispatcher,
            Action::Accept,
            DueChange::Set(h(5), DueKind::Dispatch),
            h(1),
        ),
        step(
            &dispatcher,
            Action::Assign {
                department: department.into(),
                co_departments: vec![],
                assignee: None,
                reason: None,
            },
            DueChange::Set(h(120), DueKind::Resolve),
            h(2),
        ),
        step(&officer, Action::Start, DueChange::Keep, h(3)),
        step(
            &officer,
            Action::Resolve {
                note: "fixed".into(),
            },
            DueChange::Clear,
            h(26),
        ),
        step(&dispatcher, Action::Close, DueChange::Keep, h(27)),
    ]
}

/// A write as one of our pages makes it with a session cookie (`name=value`): the
/// cookie, our own Origin and the CSRF token derived from the session.
pub fn from_our_page(
    rb: reqwest::RequestBuilder,
    base: &str,
    cookie: &str,
) -> reqwest::RequestBuilder {
    let session = cookie.split_once('=').map_or("", |(_, v)| v);
    rb.header("cookie", cookie)
        .header("origin", base)
        .header("x-csrf-token", sentinel_server::csrf::token_for(session))
}
