//! The storage conformance suite: every backend must pass it unchanged, SQLite
//! and PostgreSQL alike (see `backends()`).

#![allow(clippy::unwrap_used, missing_docs)]

use sentinel_core::lifecycle::LifecyclePolicy;
use sentinel_core::{
    Action, Actor, Channel, LifecycleError, NewReport, Priority, ReportId, Reporter, Role, Status,
};
use sentinel_geo::Point;
use sentinel_store::sqlite::SqliteStore;
use sentinel_store::*;
use std::sync::Arc;
use time::OffsetDateTime;

struct Backend {
    store: Arc<dyn Store>,
    name: &'static str,
    _dir: Option<tempfile::TempDir>,
    _db: Option<sentinel_store::pg::ScratchDatabase>,
}

/// SQLite always; PostgreSQL too when `SENTINEL_TEST_POSTGRES` names a cluster
/// (a superuser's URL), as `scripts/test` does.
fn backends() -> Vec<Backend> {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let mut out = vec![Backend {
        store: Arc::new(store),
        name: "sqlite",
        _dir: Some(dir),
        _db: None,
    }];
    match std::env::var("SENTINEL_TEST_POSTGRES") {
        Ok(admin) => {
            let db = sentinel_store::pg::ScratchDatabase::create(&admin).unwrap();
            let store = sentinel_store::sql::SqlStore::connect_postgres(&db.url).unwrap();
            out.push(Backend {
                store: Arc::new(store),
                name: "postgres",
                _dir: None,
                _db: Some(db),
            });
        }
        Err(_) => {
            eprintln!("SENTINEL_TEST_POSTGRES is not set: the PostgreSQL backend is not tested")
        }
    }
    out
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn new_report(category: &str, lat: f64) -> NewReport {
    NewReport {
        category: category.into(),
        description: "Bikes chained across the fire exit".into(),
        location: Point::new(lat, 115.98).unwrap(),
        accuracy_m: Some(8.0),
        address: None,
        attributes: Default::default(),
        reporter: Reporter::Contact(sentinel_core::Contact {
            phone: Some("13800138000".into()),
            ..Default::default()
        }),
        channel: Channel::Api,
        priority: Priority::High,
        observed_at: None,
        jurisdiction: Some("371502".into()),
        routing: Some(sentinel_core::routing::Routing {
            department: "housing".into(),
            co_departments: vec![],
            rule: None,
            reason: "the default department of pothole".into(),
            basis: None,
        }),
        due: None,
        media_urls: vec![],
        reporter_key_hash: None,
    }
}

fn submission(category: &str) -> Submission {
    Submission {
        report: new_report(category, 36.45),
        photos: vec![],
        actor: "public".into(),
        idempotency: None,
        now: now(),
    }
}

async fn created(store: &dyn Store, s: Submission) -> sentinel_core::Report {
    match store.submit(s).await.unwrap() {
        Submitted::Created(r, _) => *r,
        other => panic!("expected a new report, got {other:?}"),
    }
}

fn staff(role: Role, department: Option<&str>) -> Actor {
    Actor::Staff {
        user: format!("{role}-1"),
        role,
        department: department.map(Into::into),
    }
}

fn act(report: ReportId, actor: Actor, action: Action) -> ActionRequest {
    ActionRequest {
        report,
        actor,
        action,
        photos: vec![],
        due: sentinel_core::calendar::DueChange::Keep,
        requires_verification: false,
        policy: LifecyclePolicy::default(),
        now: now(),
    }
}

#[tokio::test]
async fn a_submitted_report_reads_back_whole_with_its_first_event() {
    for b in backends() {
        eprintln!("backend {}", b.name);
        let r = created(&*b.store, submission("fire_lane_blocked")).await;
        assert_eq!(r.status, Status::Submitted);
        let by_id = b.store.report(&ReportKey::Id(r.id)).await.unwrap().unwrap();
        let by_code = b
            .store
            .report(&ReportKey::Code(r.tracking_code.clone()))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(by_id, r);
        assert_eq!(by_code, r);
        let events = b.store.events(r.id).await.unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(
            (events[0].action.as_str(), events[0].to_status),
            ("submit", Some(Status::Submitted))
        );
        assert_eq!(b.store.count_reports().await.unwrap(), 1);
    }
}

#[tokio::test]
async fn an_idempotency_key_replays_the_same_request_and_refuses_a_different_one() {
    for b in backends() {
        eprintln!("backend {}", b.name);
        let with_key = |hash: &str| Submission {
            idempotency: Some(Idempotency {
                key: "k-1".into(),
                request_hash: hash.into(),
                render: Box::new(|r| format!("{{\"id\":{}}}", r.id)),
            }),
            ..submission("pothole")
        };
        let Submitted::Created(first, Some(body)) = b.store.submit(with_key("h1")).await.unwrap()
        else {
            panic!()
        };
        assert_eq!(body, format!("{{\"id\":{}}}", first.id));
        match b.store.submit(with_key("h1")).await.unwrap() {
            Submitted::Replayed(again) => assert_eq!(again, body),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            b.store.submit(with_key("h2")).await,
            Err(StoreError::IdempotencyMismatch)
        ));
        assert_eq!(b.store.count_reports().await.unwrap(), 1);
    }
}

#[tokio::test]
async fn concurrent_submissions_share_commits_and_all_land() {
    for b in backends() {
        eprintln!("backend {}", b.name);
        let mut tasks = Vec::new();
        for i in 0..200 {
            let store = b.store.clone();
            tasks.push(tokio::spawn(async move {
                let mut s = submission("pothole");
                s.report.location = Point::new(36.0 + f64::from(i) / 1000.0, 116.0).unwrap();
                store.submit(s).await.unwrap()
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(b.store.count_reports().await.unwrap(), 200);
        assert_eq!(b.store.integrity_check().await.unwrap(), "ok");
    }
}

#[tokio::test]
async fn the_full_lifecycle_is_recorded_and_replays_to_the_current_state() {
    for b in backends() {
        eprintln!("backend {}", b.name);
        let s = &*b.store;
        let r = created(s, submission("pothole")).await;
        let d = staff(Role::Dispatcher, None);
        let o = staff(Role::Officer, Some("housing"));
        s.apply(act(r.id, d.clone(), Action::Accept)).await.unwrap();
        let assign = Action::Assign {
            department: "housing".into(),
            co_departments: vec!["traffic".into()],
            assignee: None,
            reason: None,
        };
        let (after, _) = s.apply(act(r.id, d.clone(), assign)).await.unwrap();
        assert_eq!(
            (after.status, after.department.as_deref()),
            (Status::Assigned, Some("housing"))
        );
        s.apply(act(r.id, o.clone(), Action::Start)).await.unwrap();
        s.apply(act(
            r.id,
            d.clone(),
            Action::Escalate {
                note: Some("hurry".into()),
            },
        ))
        .await
        .unwrap();
        s.apply(act(
            r.id,
            o.clone(),
            Action::Resolve {
                note: "filled".into(),
            },
        ))
        .await
        .unwrap();
        let (closed, _) = s.apply(act(r.id, d.clone(), Action::Close)).await.unwrap();
        assert_eq!(closed.status, Status::Closed);
        assert!(closed.closed_at.is_some());
        let events = s.events(r.id).await.unwrap();
        let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(
            actions,
            [
                "submit", "accept", "assign", "start", "escalate", "resolve", "close"
            ]
        );
        let replayed =
            sentinel_core::lifecycle::replay(events.iter().map(|e| (e.from_status, e.to_status)))
                .unwrap();
        assert_eq!(replayed, Status::Closed);
    }
}

#[tokio::test]
async fn a_refused_action_changes_nothing() {
    for b in backends() {
        eprintln!("backend {}", b.name);
        let s = &*b.store;
        let r = created(s, submission("pothole")).await;
        let err = s
            .apply(act(
                r.id,
                staff(Role::Officer, Some("housing")),
                Action::Start,
            ))
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::Lifecycle(
                    LifecycleError::RoleNotAllowed { .. }
                        | LifecycleError::IllegalTransition { .. }
                )
            ),
            "{err:?}"
        );
        assert_eq!(s.report(&ReportKey::Id(r.id)).await.unwrap().unwrap(), r);
        assert_eq!(s.events(r.id).await.unwrap().len(), 1);
    }
}

#[tokio::test]
async fn merging_moves_supporters_and_refuses_bad_targets() {
    for b in backends() {
        eprintln!("backend {}", b.name);
        let s = &*b.store;
        let keep = created(s, submission("pothole")).await;
        let dup = created(s, submission("pothole")).await;
        let d = staff(Role::Dispatcher, None);
        assert!(matches!(
            s.apply(act(dup.id, d.clone(), Action::Merge { into: dup.id }))
                .await,
            Err(StoreError::InvalidTarget(_))
        ));
        assert!(matches!(
            s.apply(act(
                dup.id,
                d.clone(),
                Action::Merge {
                    into: ReportId(999_999)
                }
            ))
            .await,
            Err(StoreError::InvalidTarget(_))
        ));
        let (merged, _) = s
            .apply(act(dup.id, d.clone(), Action::Merge { into: keep.id }))
            .await
            .unwrap();
        assert_eq!(
            (merged.status, merged.merged_into),
            (Status::Merged, Some(keep.id))
        );
        let keep = s.report(&ReportKey::Id(keep.id)).await.unwrap().unwrap();
        assert_eq!(keep.supporters, 2);
        assert_eq!(
            s.events(keep.id).await.unwrap().last().unwrap().action,
            "merged_in"
        );
    }
}

#[tokio::test]
async fn listing_is_newest_first_filtered_and_pages_by_keyset() {
    for b in backends() {
        eprintln!("backend {}", b.name);
        let s = &*b.store;
        for i in 0..25 {
            let mut sub = submission(if i % 5 == 0 { "gas_leak" } else { "pothole" });
            sub.report.location = Point::new(36.0 + f64::from(i) * 0.01, 116.0).unwrap();
            created(s, sub).await;
        }
        let mut q = ReportQuery {
            limit: 10,
            ..Default::default()
        };
        let mut seen = Vec::new();
        loop {
            let page = s.reports(&q).await.unwrap();
            if page.is_empty() {
                break;
            }
            q.before_id = Some(page.last().unwrap().id);
            seen.extend(page.into_iter().map(|r| r.id));
        }
        assert_eq!(seen.len(), 25);
        assert!(seen.windows(2).all(|w| w[0] > w[1]));
        let gas = s
            .reports(&ReportQuery {
                categories: vec!["gas_leak".into()],
                limit: 100,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(gas.len(), 5);
        let bbox = "115.9,36.0,116.1,36.045".parse().unwrap();
        let boxed = s
            .reports(&ReportQuery {
                bbox: Some(bbox),
                limit: 100,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(boxed.len(), 5);
    }
}

#[tokio::test]
async fn users_tokens_and_sessions_respect_revocation_expiry_and_disabling() {
    for b in backends() {
        eprintln!("backend {}", b.name);
        let s = &*b.store;
        let u = s
            .create_user("li", "$argon2id$fake", Role::Officer, Some("fire"), now())
            .await
            .unwrap();
        assert!(matches!(
            s.create_user("li", "x", Role::Admin, None, now()).await,
            Err(StoreError::AlreadyExists(_))
        ));
        let t = s
            .create_token("li", "cli", "hash-1", now(), None)
            .await
            .unwrap();
        assert_eq!(
            s.user_for_token("hash-1", now())
                .await
                .unwrap()
                .unwrap()
                .name,
            "li"
        );
        s.revoke_token(t.id, now()).await.unwrap();
        assert!(s.user_for_token("hash-1", now()).await.unwrap().is_none());
        s.create_token(
            "li",
            "short",
            "hash-2",
            now(),
            Some(now() - time::Duration::seconds(1)),
        )
        .await
        .unwrap();
        assert!(
            s.user_for_token("hash-2", now()).await.unwrap().is_none(),
            "expired"
        );
        s.create_token("li", "ok", "hash-3", now(), None)
            .await
            .unwrap();
        s.create_session("sess", u.id, now(), now() + time::Duration::hours(1))
            .await
            .unwrap();
        assert!(s.user_for_session("sess", now()).await.unwrap().is_some());
        s.disable_user("li").await.unwrap();
        assert!(
            s.user_for_token("hash-3", now()).await.unwrap().is_none(),
            "disabled"
        );
        assert!(s.user_for_session("sess", now()).await.unwrap().is_none());
        assert_eq!(s.tokens(Some("li")).await.unwrap().len(), 3);
    }
}

#[tokio::test]
async fn jurisdictions_import_all_or_nothing_and_update_by_code() {
    for b in backends() {
        eprintln!("backend {}", b.name);
        let s = &*b.store;
        let j = |code: &str, level: sentinel_geo::Level, parent: Option<&str>| NewJurisdiction {
            code: code.into(),
            name: format!("J{code}"),
            name_en: None,
            level,
            parent_code: parent.map(Into::into),
            area_geojson: r#"{"type":"MultiPolygon","coordinates":[]}"#.into(),
        };
        use sentinel_geo::Level::*;
        let bad = vec![
            j("1", City, None),
            j("11", District, Some("1")),
            j("12", District, Some("9")),
        ];
        let err = s.import_jurisdictions(bad, now()).await.unwrap_err();
        assert!(err.to_string().contains("feature 2"), "{err}");
        assert!(
            s.jurisdictions().await.unwrap().is_empty(),
            "nothing imported"
        );
        s.import_jurisdictions(
            vec![j("1", City, None), j("11", District, Some("1"))],
            now(),
        )
        .await
        .unwrap();
        let mut renamed = j("11", District, Some("1"));
        renamed.name = "Renamed".into();
        s.import_jurisdictions(vec![renamed], now()).await.unwrap();
        let all = s.jurisdictions().await.unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(
            (all[1].name.as_str(), all[1].parent_id),
            ("Renamed", Some(all[0].id))
        );
    }
}

#[tokio::test]
async fn a_report_with_its_history_lands_whole_or_not_at_all() {
    for b in backends() {
        eprintln!("backend {}", b.name);
        let s = &*b.store;
        let d = staff(Role::Dispatcher, None);
        let o = staff(Role::Officer, Some("housing"));
        let assign = Action::Assign {
            department: "housing".into(),
            co_departments: vec![],
            assignee: None,
            reason: None,
        };
        let history = vec![
            act(ReportId(0), d.clone(), Action::Accept),
            act(ReportId(0), d.clone(), assign),
            act(ReportId(0), o.clone(), Action::Start),
        ];
        let r = s
            .submit_with_history(submission("pothole"), history)
            .await
            .unwrap();
        assert_eq!(r.status, Status::InProgress);
        assert_eq!(s.events(r.id).await.unwrap().len(), 4);
        // An illegal step rolls back the report too.
        let bad = vec![
            act(ReportId(0), d.clone(), Action::Accept),
            act(ReportId(0), d.clone(), Action::Close),
        ];
        assert!(
            s.submit_with_history(submission("pothole"), bad)
                .await
                .is_err()
        );
        assert_eq!(s.count_reports().await.unwrap(), 1);
    }
}

fn rider(handle: &str, phone: Option<&str>, email: Option<&str>) -> sentinel_core::NewSentinel {
    sentinel_core::NewSentinel {
        handle: handle.into(),
        display_name: format!("骑手 {handle}"),
        phone: phone.map(Into::into),
        email: email.map(Into::into),
        password_hash: "$argon2id$fake".into(),
        verified_at: Some(now()),
    }
}

#[tokio::test]
async fn sentinels_sign_in_by_phone_or_email_and_join_groups_through_an_admin() {
    use sentinel_core::{MembershipStatus, SentinelGroup};
    for b in backends() {
        eprintln!("backend {}", b.name);
        let s = &*b.store;
        s.create_sentinels(
            vec![
                (
                    rider("rider-1", Some("13900000001"), None),
                    vec![SentinelGroup::DeliveryRider],
                ),
                (rider("wang", None, Some("Wang@Example.cn")), vec![]),
            ],
            "demo",
            now(),
        )
        .await
        .unwrap();
        // Unique phone, email (any case) and name; a batch with one clash adds nothing.
        for clash in [
            rider("rider-2", Some("13900000001"), None),
            rider("other", None, Some("wang@example.cn")),
            rider("wang", Some("13900000009"), None),
        ] {
            let e = s
                .create_sentinels(
                    vec![
                        (rider("fine", Some("13900000005"), None), vec![]),
                        (clash, vec![]),
                    ],
                    "demo",
                    now(),
                )
                .await
                .unwrap_err();
            assert!(matches!(e, StoreError::AlreadyExists(_)), "{e}");
        }
        assert!(
            s.sentinel(&SentinelKey::Handle("fine".into()))
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            s.create_sentinels(vec![(rider("nobody", None, None), vec![])], "demo", now())
                .await
                .is_err()
        );
        let (w, hash) = s
            .sentinel_password_hash(&SentinelKey::Email("WANG@example.cn".into()))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (w.handle.as_str(), hash.as_str()),
            ("wang", "$argon2id$fake")
        );
        assert_eq!(
            s.sentinel(&SentinelKey::Phone("13900000001".into()))
                .await
                .unwrap()
                .unwrap()
                .handle,
            "rider-1"
        );

        // Join on request, approved or declined by an admin; ask again after a refusal.
        let m = s
            .request_group("wang", SentinelGroup::Retiree, now())
            .await
            .unwrap();
        assert_eq!(m.status, MembershipStatus::Requested);
        assert!(matches!(
            s.request_group("wang", SentinelGroup::Retiree, now()).await,
            Err(StoreError::AlreadyExists(_))
        ));
        let m = s
            .decide_group("wang", SentinelGroup::Retiree, false, "admin", now())
            .await
            .unwrap();
        assert_eq!(m.status, MembershipStatus::Declined);
        assert!(matches!(
            s.decide_group("wang", SentinelGroup::Retiree, true, "admin", now())
                .await,
            Err(StoreError::NotFound)
        ));
        s.request_group("wang", SentinelGroup::Retiree, now())
            .await
            .unwrap();
        let m = s
            .decide_group("wang", SentinelGroup::Retiree, true, "admin", now())
            .await
            .unwrap();
        assert_eq!(m.status, MembershipStatus::Approved);
        assert_eq!(m.decided.unwrap().1, "admin");
        assert!(matches!(
            s.request_group("rider-1", SentinelGroup::DeliveryRider, now())
                .await,
            Err(StoreError::AlreadyExists(_))
        ));
        assert!(matches!(
            s.request_group("ghost", SentinelGroup::Courier, now())
                .await,
            Err(StoreError::NotFound)
        ));
        assert_eq!(s.memberships("wang").await.unwrap().len(), 1);
        let counts = s.group_counts().await.unwrap();
        assert!(counts.contains(&(SentinelGroup::DeliveryRider, MembershipStatus::Approved, 1)));
        assert!(counts.contains(&(SentinelGroup::Retiree, MembershipStatus::Approved, 1)));
    }
}

#[tokio::test]
async fn open311_clients_are_found_by_key_until_revoked_and_tokens_name_reports() {
    for b in backends() {
        eprintln!("backend {}", b.name);
        let s = &*b.store;
        let c = s
            .create_open311_client("fixmystreet", "hash-k1", now())
            .await
            .unwrap();
        assert!(matches!(
            s.create_open311_client("fixmystreet", "hash-k2", now())
                .await,
            Err(StoreError::AlreadyExists(_))
        ));
        assert_eq!(
            s.open311_client_for_key("hash-k1")
                .await
                .unwrap()
                .unwrap()
                .name,
            "fixmystreet"
        );
        let mut sub = submission("pothole");
        sub.report.media_urls = vec!["https://photos.example.org/1.jpg".into()];
        let r = created(s, sub).await;
        assert_eq!(r.media_urls, ["https://photos.example.org/1.jpg"]);
        s.save_open311_token("tok-1", r.id, c.id, now())
            .await
            .unwrap();
        assert_eq!(s.open311_token("tok-1").await.unwrap(), Some(r.id));
        assert_eq!(s.open311_token("tok-2").await.unwrap(), None);
        s.revoke_open311_client("fixmystreet", now()).await.unwrap();
        assert!(s.open311_client_for_key("hash-k1").await.unwrap().is_none());
        assert!(s.open311_clients().await.unwrap()[0].revoked_at.is_some());
        assert!(matches!(
            s.revoke_open311_client("nobody", now()).await,
            Err(StoreError::NotFound)
        ));
    }
}

#[tokio::test]
async fn status_changes_feed_by_time_and_latest_notes_by_report() {
    for b in backends() {
        eprintln!("backend {}", b.name);
        let s = &*b.store;
        let start = now() - time::Duration::seconds(1);
        let r = created(s, submission("pothole")).await;
        let other = created(s, submission("pothole")).await;
        let d = staff(Role::Dispatcher, None);
        s.apply(act(r.id, d.clone(), Action::Accept)).await.unwrap();
        s.apply(act(
            r.id,
            d.clone(),
            Action::Comment {
                note: "called".into(),
            },
        ))
        .await
        .unwrap();
        s.apply(act(
            other.id,
            d.clone(),
            Action::Reject {
                reason: "not a hazard".into(),
            },
        ))
        .await
        .unwrap();
        let feed = s
            .status_changes(start, now() + time::Duration::seconds(1), 100)
            .await
            .unwrap();
        let seen: Vec<(&str, &str)> = feed
            .iter()
            .map(|(e, code)| {
                assert!(*code == r.tracking_code || *code == other.tracking_code);
                (e.action.as_str(), code.as_str())
            })
            .collect();
        // Submissions and comments are not status changes.
        assert_eq!(
            seen,
            [
                ("accept", r.tracking_code.as_str()),
                ("reject", other.tracking_code.as_str())
            ]
        );
        assert!(
            s.status_changes(start, start, 100)
                .await
                .unwrap()
                .is_empty()
        );
        let notes = s
            .latest_notes(&[r.id, other.id], &["reject", "resolve"])
            .await
            .unwrap();
        assert_eq!(notes, [(other.id, "not a hazard".to_owned())]);
    }
}

#[tokio::test]
async fn a_lease_is_held_by_one_holder_until_it_lapses() {
    for b in backends() {
        eprintln!("backend {}", b.name);
        let t0 = now();
        let ttl = time::Duration::seconds(30);
        assert!(b.store.take_lease("periodic", "a", t0, ttl).await.unwrap());
        // The holder renews; another node is refused while it runs.
        assert!(
            b.store
                .take_lease("periodic", "a", t0 + time::Duration::seconds(10), ttl)
                .await
                .unwrap()
        );
        assert!(
            !b.store
                .take_lease("periodic", "b", t0 + time::Duration::seconds(20), ttl)
                .await
                .unwrap()
        );
        // Other leases are independent.
        assert!(b.store.take_lease("other", "b", t0, ttl).await.unwrap());
        // Once it lapses, another node takes it over, and the first is refused.
        let later = t0 + time::Duration::seconds(41);
        assert!(
            b.store
                .take_lease("periodic", "b", later, ttl)
                .await
                .unwrap()
        );
        assert!(
            !b.store
                .take_lease("periodic", "a", later, ttl)
                .await
                .unwrap()
        );
        // Two nodes asking at the same moment: exactly one gets it.
        let free = t0 + time::Duration::seconds(200);
        let (x, y) = tokio::join!(
            b.store.take_lease("race", "a", free, ttl),
            b.store.take_lease("race", "b", free, ttl)
        );
        assert_eq!(u8::from(x.unwrap()) + u8::from(y.unwrap()), 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_changes_to_one_report_are_never_lost() {
    for b in backends() {
        eprintln!("backend {}", b.name);
        let r = created(&*b.store, submission("pothole")).await;
        // Forty people join the same report at once: on a database with several
        // writers, each read-modify-write must see the one before it.
        let joins: Vec<_> = (0..40)
            .map(|i| {
                let store = b.store.clone();
                tokio::spawn(async move {
                    store
                        .support(
                            r.id,
                            Supporter {
                                key: format!("device:{i}"),
                                contact: Default::default(),
                            },
                            now(),
                        )
                        .await
                        .unwrap()
                        .1
                })
            })
            .collect();
        for j in joins {
            assert!(j.await.unwrap());
        }
        let after = b.store.report(&ReportKey::Id(r.id)).await.unwrap().unwrap();
        assert_eq!(after.supporters, 41);
        let events = b.store.events(r.id).await.unwrap();
        assert_eq!(events.iter().filter(|e| e.action == "support").count(), 40);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_unit_sent_to_two_reports_at_once_goes_to_one() {
    for b in backends() {
        eprintln!("backend {}", b.name);
        let units = b
            .store
            .create_units(
                vec![sentinel_core::NewUnit {
                    callsign: "A-1".into(),
                    kind: "traffic_police".into(),
                    tracker_id: None,
                    user: None,
                    department: None,
                    status: sentinel_core::UnitStatus::Available,
                    position: None,
                }],
                now(),
            )
            .await
            .unwrap();
        let unit = units[0].id;
        let (r1, r2) = (
            created(&*b.store, submission("pothole")).await,
            created(&*b.store, submission("pothole")).await,
        );
        let send = |report: ReportId| {
            let store = b.store.clone();
            tokio::spawn(async move {
                store
                    .dispatch(DispatchRequest {
                        report,
                        unit,
                        by: "dispatcher".into(),
                        distance_m: None,
                        eta_s: None,
                        now: now(),
                    })
                    .await
            })
        };
        let (x, y) = (send(r1.id), send(r2.id));
        let (x, y) = (x.await.unwrap(), y.await.unwrap());
        assert_eq!(
            u8::from(x.is_ok()) + u8::from(y.is_ok()),
            1,
            "exactly one dispatch: {x:?} {y:?}"
        );
        let refused = if x.is_err() { x } else { y };
        assert!(
            matches!(refused, Err(StoreError::Dispatch(_))),
            "{refused:?}"
        );
    }
}

/// Makes the database itself refuse reports described as `poison` (a trigger), to
/// provoke a failure inside a group of submissions.
fn poison(b: &Backend) {
    if let Some(dir) = &b._dir {
        let c = rusqlite::Connection::open(dir.path().join("sentinel.db")).unwrap();
        c.execute_batch(
            "CREATE TRIGGER poison BEFORE INSERT ON reports WHEN NEW.description = 'poison' \
             BEGIN SELECT RAISE(ABORT, 'poisoned'); END;",
        )
        .unwrap();
    }
    if let Some(db) = &b._db {
        let url = db.url.clone();
        std::thread::spawn(move || {
            let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
            c.batch_execute(
                "CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
                   IF NEW.description = 'poison' THEN RAISE EXCEPTION 'poisoned'; END IF; \
                   RETURN NEW; END $$; \
                 CREATE TRIGGER poison BEFORE INSERT ON reports FOR EACH ROW EXECUTE FUNCTION poison();",
            )
            .unwrap();
        })
        .join()
        .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_submission_that_fails_in_a_crowd_fails_alone() {
    for b in backends() {
        eprintln!("backend {}", b.name);
        poison(&b);
        let before = b.store.count_reports().await.unwrap();
        // Sixty submissions at once (they are filed in groups), one of them refused
        // by the database.
        let tasks: Vec<_> = (0..60)
            .map(|i| {
                let store = b.store.clone();
                tokio::spawn(async move {
                    let mut s = submission("pothole");
                    if i == 30 {
                        s.report.description = "poison".into();
                    }
                    store.submit(s).await
                })
            })
            .collect();
        let mut ok = 0;
        let mut refused = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(Submitted::Created(..)) => ok += 1,
                Ok(other) => panic!("unexpected {other:?}"),
                Err(_) => refused += 1,
            }
        }
        assert_eq!((ok, refused), (59, 1));
        assert_eq!(b.store.count_reports().await.unwrap(), before + 59);
    }
}

fn photo(id: &str) -> PhotoRecord {
    PhotoRecord {
        id: id.into(),
        mime: "image/jpeg".into(),
        width: 640,
        height: 480,
        bytes: 1234,
        phash: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_photo_is_a_redaction_job_claimed_once_and_finished_by_version() {
    for b in backends() {
        eprintln!("backend {}", b.name);
        let s = &b.store;
        // A report's photos are pending from the moment the report commits.
        let mut sub = submission("pothole");
        sub.photos = vec![photo(&"a".repeat(64)), photo(&"b".repeat(64))];
        let report = created(s.as_ref(), sub).await;
        let r = s.redaction(&"a".repeat(64)).await.unwrap().unwrap();
        assert_eq!(
            (r.state, r.version, r.hidden),
            (RedactionState::Pending, 1, false)
        );
        assert_eq!(s.redaction_counts().await.unwrap().pending, 2);

        // Two workers claiming at once share the jobs; none is claimed twice.
        let t0 = now();
        let lease = time::Duration::seconds(60);
        let (x, y) = tokio::join!(
            s.claim_redactions(1, t0, lease),
            s.claim_redactions(5, t0, lease)
        );
        let (x, y) = (x.unwrap(), y.unwrap());
        assert_eq!(x.len() + y.len(), 2, "{x:?} {y:?}");
        assert!(x.iter().all(|j| !y.contains(j)));
        assert!(s.claim_redactions(5, t0, lease).await.unwrap().is_empty());
        // A lapsed claim (its worker died) is claimed again.
        let later = t0 + time::Duration::seconds(61);
        let again = s.claim_redactions(5, later, lease).await.unwrap();
        assert_eq!(again.len(), 2);

        let job = again
            .iter()
            .find(|j| j.photo_id == "a".repeat(64))
            .unwrap()
            .clone();
        let done = RedactionOutcome::Done {
            redacted_id: "c".repeat(64),
            mime: "image/jpeg".into(),
            regions: r#"{"blurred":[]}"#.into(),
        };
        assert!(
            s.finish_redaction(job.clone(), done.clone(), later)
                .await
                .unwrap()
        );
        let r = s.redaction(&job.photo_id).await.unwrap().unwrap();
        assert_eq!(r.state, RedactionState::Done);
        assert_eq!(r.redacted_id.as_deref(), Some("c".repeat(64).as_str()));

        // A staff correction queues it again with a new version and an event; a
        // worker finishing the old version is ignored.
        let event = s
            .edit_redaction(RedactionEdit {
                report: report.id,
                photo_id: job.photo_id.clone(),
                edits: Some(
                    r#"{"added":[{"kind":"manual","x":1,"y":2,"w":30,"h":40,"score":1.0}]}"#.into(),
                ),
                hidden: None,
                actor: "dispatcher-1".into(),
                role: "dispatcher".into(),
                note: None,
                data: serde_json::json!({"photo": job.photo_id}),
                now: later,
            })
            .await
            .unwrap();
        assert_eq!(event.action, "redact_photo");
        let r = s.redaction(&job.photo_id).await.unwrap().unwrap();
        assert_eq!((r.state, r.version), (RedactionState::Pending, 2));
        assert!(r.edits.contains("manual"));
        assert!(
            !s.finish_redaction(job.clone(), done.clone(), later)
                .await
                .unwrap()
        );
        let events = s.events(report.id).await.unwrap();
        assert_eq!(events.last().unwrap().action, "redact_photo");

        // Hiding is recorded and listed; failures are retried, then given up.
        s.edit_redaction(RedactionEdit {
            report: report.id,
            photo_id: "b".repeat(64),
            edits: None,
            hidden: Some(true),
            actor: "dispatcher-1".into(),
            role: "dispatcher".into(),
            note: Some("a child's face".into()),
            data: serde_json::json!({}),
            now: later,
        })
        .await
        .unwrap();
        assert_eq!(s.hidden_photos().await.unwrap(), vec!["b".repeat(64)]);
        let b_job = again
            .iter()
            .find(|j| j.photo_id == "b".repeat(64))
            .unwrap()
            .clone();
        let fail = RedactionOutcome::Failed {
            error: "boom".into(),
        };
        let mut at = later;
        for _ in 0..3 {
            assert!(
                s.finish_redaction(b_job.clone(), fail.clone(), at)
                    .await
                    .unwrap()
            );
            at += time::Duration::minutes(2);
        }
        let r = s.redaction(&b_job.photo_id).await.unwrap().unwrap();
        assert_eq!(
            (r.state, r.attempts, r.error.as_deref()),
            (RedactionState::Failed, 3, Some("boom"))
        );
        let c = s.redaction_counts().await.unwrap();
        assert_eq!((c.pending, c.failed, c.hidden), (1, 1, 1));
        // Re-queue the failed only, then everything (a model update).
        assert_eq!(s.requeue_redactions(false).await.unwrap(), 1);
        assert_eq!(s.requeue_redactions(true).await.unwrap(), 2);
        assert_eq!(s.release_redaction_claims().await.unwrap(), 0);
        let c = s.redaction_counts().await.unwrap();
        assert_eq!((c.pending, c.done, c.failed), (2, 0, 0));
    }
}
