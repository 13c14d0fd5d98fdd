//! Sentinel accounts over HTTP: sign up, the code, sign in, groups decided by an
//! admin, reports filed under the account and the standing they add up to. The
//! code sender is a fake that keeps the codes: the real one is an SMS gateway or a
//! mail server, outside Sentinel.

use crate::helpers::*;
use reqwest::StatusCode;
use sentinel_core::Role;
use sentinel_server::api::sentinels::CodeSender;
use sentinel_store::Store;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct KeptCodes(Mutex<Vec<(String, String)>>);

impl CodeSender for KeptCodes {
    fn send<'a>(
        &'a self,
        to: &'a str,
        code: &'a str,
        _purpose: sentinel_server::api::sentinels::Purpose,
    ) -> sentinel_server::api::sentinels::Sending<'a> {
        self.0
            .lock()
            .unwrap()
            .push((to.to_owned(), code.to_owned()));
        Box::pin(async { Ok(()) })
    }
}

impl KeptCodes {
    fn count(&self) -> usize {
        self.0.lock().unwrap().len()
    }

    fn last_for(&self, to: &str) -> String {
        self.0
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find(|(t, _)| t == to)
            .map(|(_, c)| c.clone())
            .expect("a code was sent")
    }
}

fn cookie_of(res: &reqwest::Response) -> String {
    res.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

/// A server without rate limits whose codes are kept for the test to read.
async fn app_keeping_codes() -> (TestApp, Arc<KeptCodes>) {
    let codes = Arc::new(KeptCodes::default());
    let app = TestApp::spawn_with_sender(
        sentinel_server::Config {
            intake_per_minute: 0,
            login_per_minute: 0,
            ..Default::default()
        },
        codes.clone(),
    )
    .await;
    (app, codes)
}

#[tokio::test]
async fn signing_up_again_with_someone_elses_phone_never_sets_their_password() {
    let (app, codes) = app_keeping_codes().await;
    let post = |path: &str, body: Value| app.client.post(app.url(path)).json(&body).send();
    let status = |path: &'static str, body: Value| {
        let r = post(path, body);
        async move { r.await.unwrap().status() }
    };
    let owner = json!({"phone": "13900002222", "password": "owner's own phrase 7"});
    let attacker = json!({"phone": "13900002222", "password": "attacker phrase 99"});
    assert_eq!(
        status("/api/v1/sentinels", owner.clone()).await,
        StatusCode::ACCEPTED
    );
    // The attacker signs up again with the owner's phone before it is verified.
    assert_eq!(
        status("/api/v1/sentinels", attacker.clone()).await,
        StatusCode::ACCEPTED
    );
    // The owner proves the phone with the latest code (sent to the owner's phone).
    let code = codes.last_for("13900002222");
    assert_eq!(
        status(
            "/api/v1/sentinels/verify",
            json!({"phone": "13900002222", "code": code})
        )
        .await,
        StatusCode::OK
    );
    assert_eq!(
        status("/api/v1/sentinels/session", attacker).await,
        StatusCode::UNAUTHORIZED,
        "the attacker's password must not work"
    );
    assert_eq!(
        status("/api/v1/sentinels/session", owner).await,
        StatusCode::OK
    );

    // A password given with the code is the one that counts.
    let first = json!({"email": "w@example.cn", "password": "someone else's 42!"});
    assert_eq!(
        status("/api/v1/sentinels", first.clone()).await,
        StatusCode::ACCEPTED
    );
    let code = codes.last_for("w@example.cn");
    assert_eq!(
        status(
            "/api/v1/sentinels/verify",
            json!({"email": "w@example.cn", "code": code, "password": "the holder's phrase 8"})
        )
        .await,
        StatusCode::OK
    );
    assert_eq!(
        status("/api/v1/sentinels/session", first).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        status(
            "/api/v1/sentinels/session",
            json!({"email": "w@example.cn", "password": "the holder's phrase 8"})
        )
        .await,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_sentinel_signs_up_proves_the_phone_joins_a_group_and_sees_their_standing() {
    let (app, codes) = app_keeping_codes().await;
    let post = |path: &str, body: Value, cookie: Option<&str>| {
        let mut r = app.client.post(app.url(path)).json(&body);
        if let Some(c) = cookie {
            r = from_our_page(r, &app.base, c);
        }
        r.send()
    };
    // Bad input gets sentences and makes nothing.
    for (body, status) in [
        (
            json!({"phone": "12345", "password": "long enough pass"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"phone": "13900001111", "password": "short"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"password": "long enough pass"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"phone": "13900001111", "email": "a@b.cn", "password": "long enough pass"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        problem(post("/api/v1/sentinels", body, None).await.unwrap(), status).await;
    }
    let res = post(
        "/api/v1/sentinels",
        json!({"phone": "+86 139-0000-1111", "password": "rider password 1", "display_name": "李骑手"}),
        None,
    )
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let signed: Value = res.json().await.unwrap();
    assert_eq!(signed["code_sent_to"], "139****1111");
    // Not verified yet: no sign-in; a wrong code is refused.
    problem(
        post(
            "/api/v1/sentinels/session",
            json!({"phone": "13900001111", "password": "rider password 1"}),
            None,
        )
        .await
        .unwrap(),
        StatusCode::FORBIDDEN,
    )
    .await;
    let code = codes.last_for("13900001111");
    let wrong = if code == "000000" { "111111" } else { "000000" };
    problem(
        post(
            "/api/v1/sentinels/verify",
            json!({"phone": "13900001111", "code": wrong}),
            None,
        )
        .await
        .unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let res = post(
        "/api/v1/sentinels/verify",
        json!({"phone": "13900001111", "code": code}),
        None,
    )
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let cookie = cookie_of(&res);
    assert!(cookie.starts_with("sentinel_account="));
    let signed: Value = res.json().await.unwrap();
    // Verified, the phone is taken, but sign-up does not say so (no enumeration):
    // the same answer, no code sent, the password unchanged.
    let sent_before = codes.count();
    let res = post(
        "/api/v1/sentinels",
        json!({"phone": "13900001111", "password": "another password"}),
        None,
    )
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({"code_sent_to": "139****1111"})
    );
    assert_eq!(codes.count(), sent_before);
    // A used code does not work twice; the password now signs in.
    problem(
        post(
            "/api/v1/sentinels/verify",
            json!({"phone": "13900001111", "code": code}),
            None,
        )
        .await
        .unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    problem(
        post(
            "/api/v1/sentinels/session",
            json!({"phone": "13900001111", "password": "wrong password!"}),
            None,
        )
        .await
        .unwrap(),
        StatusCode::UNAUTHORIZED,
    )
    .await;
    let res = post(
        "/api/v1/sentinels/session",
        json!({"phone": "13900001111", "password": "rider password 1"}),
        None,
    )
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let cookie = cookie_of(&res);

    // A report filed while signed in belongs to the account (and shows no account publicly).
    let mut body = sample();
    body.as_object_mut().unwrap().remove("contact");
    let filed: Value = from_our_page(
        app.client.post(app.url("/api/v1/reports")),
        &app.base,
        &cookie,
    )
    .json(&body)
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let id = filed["id"].as_i64().unwrap();
    let stored = app
        .store
        .report(&sentinel_store::ReportKey::Id(sentinel_core::ReportId(id)))
        .await
        .unwrap()
        .unwrap();
    let handle = signed["handle"].as_str().unwrap();
    assert_eq!(
        stored.reporter,
        sentinel_core::Reporter::Account(handle.into())
    );
    assert!(!filed.to_string().contains(handle));

    // Groups: asked, then decided by an admin only.
    let res = post(
        "/api/v1/sentinels/me/groups",
        json!({"group": "delivery_rider"}),
        Some(&cookie),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    problem(
        post(
            "/api/v1/sentinels/me/groups",
            json!({"group": "delivery_rider"}),
            Some(&cookie),
        )
        .await
        .unwrap(),
        StatusCode::CONFLICT,
    )
    .await;
    problem(
        post(
            "/api/v1/sentinels/me/groups",
            json!({"group": "astronaut"}),
            Some(&cookie),
        )
        .await
        .unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let dispatcher = app.token("dispatch", Role::Dispatcher, None).await;
    let admin = app.token("boss", Role::Admin, None).await;
    let pending = |t: String| {
        app.client
            .get(app.url("/api/v1/admin/sentinel-groups"))
            .bearer_auth(t)
            .send()
    };
    assert_eq!(
        pending(dispatcher.clone()).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    let list: Value = pending(admin.clone()).await.unwrap().json().await.unwrap();
    assert_eq!(list["requests"][0]["handle"], handle);
    assert_eq!(list["requests"][0]["display_name"], "李骑手");
    let decided: Value = app
        .client
        .post(app.url(&format!(
            "/api/v1/admin/sentinel-groups/{handle}/delivery_rider"
        )))
        .bearer_auth(&admin)
        .json(&json!({"approve": true}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(decided["status"], "approved");

    // Standing: one report, taken up once a dispatcher accepts it.
    ok_status(app.act(&dispatcher, id, json!({"action": "accept"})).await).await;
    let me: Value = app
        .client
        .get(app.url("/api/v1/sentinels/me"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["groups"][0]["status"], "approved");
    assert_eq!(me["groups"][0]["name"], "外卖骑手");
    assert_eq!(me["standing"]["reports_filed"], 1);
    assert_eq!(me["standing"]["share_valid"], 1.0);
    assert_eq!(me["reports"][0]["id"], id);
    // Signed out, the cookie is worth nothing.
    let res = from_our_page(
        app.client.delete(app.url("/api/v1/sentinels/session")),
        &app.base,
        &cookie,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app
        .client
        .get(app.url("/api/v1/sentinels/me"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

async fn ok_status(res: reqwest::Response) {
    assert_eq!(res.status(), StatusCode::OK);
}

/// A fake SMS gateway on loopback (the real one is outside Sentinel): answers 200
/// and keeps each request body.
async fn gateway() -> (String, Arc<Mutex<Vec<String>>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/sms", listener.local_addr().unwrap());
    let kept = Arc::new(Mutex::new(Vec::new()));
    let k = kept.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let k = k.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 2048];
                // Read until the JSON body has arrived.
                while let Ok(n) = sock.read(&mut chunk).await {
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf);
                    if text.contains("\r\n\r\n") && text.trim_end().ends_with('}') {
                        break;
                    }
                }
                let text = String::from_utf8_lossy(&buf).to_string();
                let body = text.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned();
                k.lock().unwrap().push(body);
                let _ = sock
                    .write_all(
                        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                    )
                    .await;
            });
        }
    });
    (url, kept)
}

#[tokio::test]
async fn codes_go_to_the_configured_gateway_and_a_lost_code_can_be_sent_again() {
    let (url, kept) = gateway().await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (ok, _, err) = crate::cli::sentinel(
        &["user", "add", "calltaker", "--role", "dispatcher"],
        &data,
        Some("a long enough password\n"),
    );
    assert!(ok, "{err}");
    let (ok, out, err) =
        crate::cli::sentinel(&["token", "create", "--user", "calltaker"], &data, None);
    assert!(ok, "{err}");
    let staff = out.lines().last().unwrap().trim().to_owned();
    let server = crate::cli::Server::start_with(&data, &["--code-webhook", &url]);
    let http = reqwest::Client::new();
    let post = |path: &str, body: Value| {
        let req = http.post(format!("{}{path}", server.base)).json(&body);
        async move { req.send().await.unwrap() }
    };
    let res = post(
        "/api/v1/sentinels",
        json!({"email": "Courier@Example.cn", "password": "courier password"}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let sent: Value = serde_json::from_str(&kept.lock().unwrap()[0]).unwrap();
    assert_eq!(sent["to"], "courier@example.cn");
    assert_eq!(sent["purpose"], "sentinel_sign_up");
    assert_eq!(sent["code"].as_str().unwrap().len(), 6);
    // The code is lost: signing up again, before verifying, sends a new one.
    let res = post(
        "/api/v1/sentinels",
        json!({"email": "courier@example.cn", "password": "a better password"}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let sent: Value = serde_json::from_str(&kept.lock().unwrap()[1]).unwrap();
    let code = sent["code"].as_str().unwrap().to_owned();
    // The code's holder sets the password with it (the app sends the one typed).
    let res = post(
        "/api/v1/sentinels/verify",
        json!({"email": "courier@example.cn", "code": code, "password": "a better password"}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = post(
        "/api/v1/sentinels/session",
        json!({"email": "courier@example.cn", "password": "a better password"}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    // Now the address is taken, though sign-up does not say so and sends nothing.
    let res = post(
        "/api/v1/sentinels",
        json!({"email": "courier@example.cn", "password": "someone else's pick"}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    assert_eq!(kept.lock().unwrap().len(), 2);

    // A call taken by phone: the caller gets the code by text as well.
    let phoned = |channel: &str| {
        http.post(format!("{}/api/v1/reports", server.base))
            .bearer_auth(&staff)
            .json(&json!({"category": "pothole", "description": "a caller: a deep hole", "lat": 36.45, "lon": 115.98,
                          "channel": channel, "contact": {"name": "王先生", "phone": "13900005555"}}))
            .send()
    };
    let res = phoned("phone").await.unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let code = res.json::<Value>().await.unwrap()["tracking_code"].clone();
    for _ in 0..100 {
        if kept.lock().unwrap().len() > 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let sent: Value = serde_json::from_str(&kept.lock().unwrap()[2]).unwrap();
    assert_eq!(sent["to"], "13900005555");
    assert_eq!(sent["code"], code);
    assert_eq!(sent["purpose"], "tracking_code");
    // A report that did not come by phone texts nothing.
    let res = phoned("web").await.unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(kept.lock().unwrap().len(), 3);
}
