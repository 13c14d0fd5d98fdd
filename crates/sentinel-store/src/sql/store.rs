//! The [`Store`] for both SQL backends: the rules of every write (what an action
//! does to a report, its events, the feed) live here once; a backend supplies
//! connections. Writes go through the group-commit writers; reads run on a
//! pooled connection off the async threads.

use super::writer::{self, Job, Outcome, WriterStats};
use super::{Conn, Dialect, analysis, args, patrol, queries, redaction, units};
use crate::{
    AccessLogEntry, ActionRequest, DispatchRequest, DispatchesOf, FeedPage, IdempotentResponse,
    JurisdictionRecord, NewJurisdiction, Open311Client, PhotoRecord, ReportKey, ReportPoint,
    ReportQuery, Result, SentinelKey, Standing, Store, StoreError, Submission, Submitted,
    Supporter, TokenInfo, User,
};
use async_trait::async_trait;
use sentinel_core::lifecycle::{ReportState, decide};
use sentinel_core::throttle::Throttle;
use sentinel_core::{
    Action, Dispatch, DispatchStep, Event, Fix, Membership, MembershipStatus, NewSentinel, NewUnit,
    Report, ReportId, Role, Sentinel, SentinelGroup, Unit, UnitStatus,
};
use serde_json::json;
use std::sync::Arc;
use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot};

/// Where read connections come from.
pub trait Engine: Send + Sync + 'static {
    /// Runs `f` on a read connection (on the calling, blocking thread).
    fn read(&self, f: &mut dyn FnMut(&dyn Conn) -> Result<()>) -> Result<()>;
    /// The backend's own consistency check, as one line ("ok" when sound).
    fn integrity_check(&self, conn: &dyn Conn) -> Result<String>;
}

/// A SQL store: SQLite (`crate::sqlite`) or PostgreSQL (`crate::pg`).
pub struct SqlStore {
    jobs: mpsc::Sender<Job>,
    engine: Arc<dyn Engine>,
    stats: Arc<WriterStats>,
    dialect: Dialect,
    /// Woken when another node adds to the feed (PostgreSQL only).
    changes: Option<Arc<tokio::sync::Notify>>,
    /// Plain submissions waiting to be filed together (started on first use).
    intake: std::sync::OnceLock<mpsc::Sender<Pending>>,
}

/// A plain submission and where its answer goes.
type Pending = (Submission, oneshot::Sender<Result<Submitted>>);

/// Most plain submissions filed by one group of statements.
const GROUP: usize = 60;

/// Files plain submissions (no Idempotency-Key) in groups: while a group is in
/// the writer, the next gathers. Each group is one write job with a multi-row
/// insert per table; if it fails, each submission is filed on its own, so one
/// bad submission never fails another.
async fn run_intake(jobs: mpsc::Sender<Job>, mut rx: mpsc::Receiver<Pending>) {
    // Two groups in flight at most: while they are in the writer, the next one
    // gathers what arrives (as group commit gathers jobs).
    let in_flight = Arc::new(tokio::sync::Semaphore::new(2));
    loop {
        let Ok(permit) = in_flight.clone().acquire_owned().await else {
            return;
        };
        let Some(first) = rx.recv().await else {
            return;
        };
        let mut group = vec![first];
        while group.len() < GROUP {
            match rx.try_recv() {
                Ok(p) => group.push(p),
                Err(_) => break,
            }
        }
        let jobs = jobs.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let (subs, answers): (Vec<Submission>, Vec<_>) = group.into_iter().unzip();
            if subs.len() == 1 {
                let (s, a) = (subs.into_iter().next(), answers.into_iter().next());
                if let (Some(s), Some(a)) = (s, a) {
                    let _ = a.send(write_on(&jobs, move |c| submit_in_tx(c, s)).await);
                }
                return;
            }
            let back = Arc::new(std::sync::Mutex::new(None));
            let keep = back.clone();
            let filed = write_on(&jobs, move |c| match queries::insert_group(c, &subs) {
                Ok(reports) => Ok(reports),
                Err(e) => {
                    if let Ok(mut k) = keep.lock() {
                        *k = Some(subs);
                    }
                    Err(e)
                }
            })
            .await;
            match filed {
                Ok(reports) => {
                    for (r, a) in reports.into_iter().zip(answers) {
                        let _ = a.send(Ok(Submitted::Created(Box::new(r), None)));
                    }
                }
                Err(e) => {
                    let subs = back.lock().ok().and_then(|mut b| b.take());
                    let Some(subs) = subs else {
                        // The job never ran, or its COMMIT failed: nothing was filed.
                        for a in answers {
                            let _ = a.send(Err(match &e {
                                StoreError::Unavailable => StoreError::Unavailable,
                                other => StoreError::Database(other.to_string()),
                            }));
                        }
                        return;
                    };
                    for (s, a) in subs.into_iter().zip(answers) {
                        let jobs = jobs.clone();
                        tokio::spawn(async move {
                            let _ = a.send(write_on(&jobs, move |c| submit_in_tx(c, s)).await);
                        });
                    }
                }
            }
        });
    }
}

/// Queues `f` for the next write batch and answers after its COMMIT.
async fn write_on<T, F>(jobs: &mpsc::Sender<Job>, f: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce(&dyn Conn) -> Result<T> + Send + 'static,
{
    let (tx, rx) = oneshot::channel::<Result<T>>();
    let job: Job = Box::new(move |conn| {
        let conn = match conn {
            Ok(c) => c,
            Err(e) => {
                let _ = tx.send(Err(e));
                return Outcome::Failed;
            }
        };
        match f(conn) {
            Ok(v) => Outcome::Done(Box::new(move |committed| {
                // A failed COMMIT (the server gone, the disk full) is logged by
                // the writer; the caller learns that nothing was stored.
                let _ = tx.send(committed.map(|()| v).map_err(|_| StoreError::Unavailable));
            })),
            Err(e) => {
                let _ = tx.send(Err(e));
                Outcome::Failed
            }
        }
    });
    jobs.send(job).await.map_err(|_| StoreError::Unavailable)?;
    rx.await.map_err(|_| StoreError::Unavailable)?
}

impl SqlStore {
    pub(crate) fn new<W: writer::WriteConn>(
        writers: Vec<W>,
        engine: Arc<dyn Engine>,
        dialect: Dialect,
    ) -> Self {
        let stats = Arc::new(WriterStats::default());
        let jobs = writer::spawn(writers, stats.clone());
        SqlStore {
            jobs,
            engine,
            stats,
            dialect,
            changes: None,
            intake: std::sync::OnceLock::new(),
        }
    }

    /// Wakes [`Store::feed_changed`] through `changes`.
    pub(crate) fn with_changes(mut self, changes: Arc<tokio::sync::Notify>) -> Self {
        self.changes = Some(changes);
        self
    }

    /// Which SQL the database speaks.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Group-commit counters.
    pub fn stats(&self) -> Arc<WriterStats> {
        self.stats.clone()
    }

    /// Runs `f` in the next write batch and answers after its COMMIT.
    async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Conn) -> Result<T> + Send + 'static,
    {
        write_on(&self.jobs, f).await
    }

    /// Runs `f` on a read connection off the async threads.
    async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Conn) -> Result<T> + Send + 'static,
    {
        let engine = self.engine.clone();
        tokio::task::spawn_blocking(move || {
            let mut f = Some(f);
            let mut out = None;
            engine.read(&mut |c| {
                if let Some(f) = f.take() {
                    out = Some(f(c)?);
                }
                Ok(())
            })?;
            out.ok_or(StoreError::Unavailable)
        })
        .await
        .map_err(|_| StoreError::Unavailable)?
    }
}

fn submit_in_tx(conn: &dyn Conn, s: Submission) -> Result<Submitted> {
    if let Some(idem) = &s.idempotency
        && let Some(prev) = queries::idempotent_response(conn, &idem.key)?
    {
        return if prev.request_hash == idem.request_hash {
            Ok(Submitted::Replayed(prev.response))
        } else {
            Err(StoreError::IdempotencyMismatch)
        };
    }
    for p in &s.photos {
        queries::insert_photo(conn, p, s.now)?;
    }
    let data = json!({ "channel": s.report.channel.as_str(), "photos": s.photos.len() });
    let (report, _) = queries::insert_submitted(conn, &s.report, &s.photos, &s.actor, data, s.now)?;
    let body = match s.idempotency {
        Some(idem) => {
            let body = (idem.render)(&report);
            queries::insert_idempotency(
                conn,
                &idem.key,
                &idem.request_hash,
                report.id,
                &body,
                s.now,
            )?;
            Some(body)
        }
        None => None,
    };
    Ok(Submitted::Created(Box::new(report), body))
}

fn support_in_tx(
    conn: &dyn Conn,
    id: ReportId,
    supporter: &Supporter,
    now: OffsetDateTime,
) -> Result<(Report, bool)> {
    let mut r = queries::report(conn, &ReportKey::Id(id))?.ok_or(StoreError::NotFound)?;
    // Support for a merged report goes to the report it was merged into.
    if let Some(into) = r.merged_into {
        r = queries::report(conn, &ReportKey::Id(into))?.ok_or(StoreError::NotFound)?;
    }
    if !r.status.is_open() {
        return Err(StoreError::InvalidTarget(format!(
            "report {} is {} and takes no more supporters",
            r.id, r.status
        )));
    }
    if !queries::insert_supporter(conn, r.id, supporter, now)? {
        return Ok((r, false));
    }
    r.supporters += 1;
    r.updated_at = now;
    queries::update_report(conn, &r)?;
    queries::insert_event(
        conn,
        r.id,
        now,
        "public",
        None,
        "support",
        None,
        None,
        None,
        json!({ "supporters": r.supporters }),
    )?;
    Ok((r, true))
}

fn apply_in_tx(conn: &dyn Conn, req: ActionRequest) -> Result<(Report, Event)> {
    let r = queries::report(conn, &ReportKey::Id(req.report))?.ok_or(StoreError::NotFound)?;
    let (r, event) = apply_to(conn, r, req)?;
    queries::update_report(conn, &r)?;
    Ok((r, event))
}

/// Decides and records one action on `r` (its event, and any merge target), and
/// returns the report as changed; writing the report row is the caller's.
fn apply_to(conn: &dyn Conn, mut r: Report, req: ActionRequest) -> Result<(Report, Event)> {
    let state = ReportState {
        status: r.status,
        department: r.department.as_deref(),
        co_departments: &r.co_departments,
        assignee: r.assignee.as_deref(),
        requires_verification: req.requires_verification,
        closed_at: r.closed_at,
    };
    let to = decide(&state, &req.actor, &req.action, req.now, &req.policy)?;
    let from = r.status;
    let mut data = json!({});
    match &req.action {
        Action::Assign {
            department,
            co_departments,
            assignee,
            ..
        } => {
            data = json!({ "department": department, "co_departments": co_departments, "assignee": assignee,
                           "previous_department": r.department });
            r.department = Some(department.clone());
            r.co_departments = co_departments.clone();
            r.assignee = assignee.clone();
        }
        Action::Merge { into } => {
            if *into == r.id {
                return Err(StoreError::InvalidTarget(
                    "a report cannot be merged into itself".into(),
                ));
            }
            let mut target = queries::report(conn, &ReportKey::Id(*into))?.ok_or_else(|| {
                StoreError::InvalidTarget(format!("there is no report {into} to merge into"))
            })?;
            if !target.status.is_open() {
                return Err(StoreError::InvalidTarget(format!(
                    "report {into} is {} and cannot take merges",
                    target.status
                )));
            }
            // The surviving report keeps everyone and every photo.
            target.supporters += r.supporters;
            for p in &r.photos {
                if !target.photos.contains(p) {
                    target.photos.push(p.clone());
                }
            }
            queries::move_supporters(conn, r.id, target.id)?;
            target.updated_at = req.now;
            queries::update_report(conn, &target)?;
            queries::insert_event(
                conn,
                target.id,
                req.now,
                req.actor.name(),
                Some(req.actor.role_name()),
                "merged_in",
                None,
                None,
                None,
                json!({ "from": r.id, "supporters": target.supporters }),
            )?;
            r.merged_into = Some(*into);
            data = json!({ "into": into });
        }
        Action::SetPriority { priority } => {
            data = json!({ "from": r.priority, "to": priority });
            r.priority = *priority;
        }
        Action::Close => r.closed_at = Some(req.now),
        Action::Rate { score, .. } => {
            data = json!({ "score": score });
            r.rating = Some((*score, req.now));
        }
        _ => {}
    }
    if !req.photos.is_empty() {
        for p in &req.photos {
            queries::insert_photo(conn, p, req.now)?;
        }
        data["photos"] = json!(req.photos.iter().map(|p| &p.id).collect::<Vec<_>>());
    }
    // The deadline this action ends, and whether it was met: what analysis reads
    // for response and on-time rates, fixed as it stood at the time.
    if !matches!(req.due, sentinel_core::calendar::DueChange::Keep)
        && let Some((at, kind)) = r.due
    {
        data["due"] = json!({ "kind": kind.as_str(), "at": queries::ms(at), "late": req.now > at });
    }
    match req.due {
        sentinel_core::calendar::DueChange::Keep => {}
        sentinel_core::calendar::DueChange::Clear => r.due = None,
        sentinel_core::calendar::DueChange::Set(at, kind) => r.due = Some((at, kind)),
    }
    let changed = to != from;
    r.status = to;
    r.updated_at = req.now;
    let event = queries::insert_event(
        conn,
        r.id,
        req.now,
        req.actor.name(),
        Some(req.actor.role_name()),
        req.action.kind().as_str(),
        changed.then_some(from),
        changed.then_some(to),
        req.action.note(),
        data,
    )?;
    Ok((r, event))
}

#[async_trait]
impl Store for SqlStore {
    async fn submit(&self, submission: Submission) -> Result<Submitted> {
        if submission.idempotency.is_none() {
            let intake = self.intake.get_or_init(|| {
                let (tx, rx) = mpsc::channel(4_096);
                tokio::spawn(run_intake(self.jobs.clone(), rx));
                tx
            });
            let (tx, rx) = oneshot::channel();
            intake
                .send((submission, tx))
                .await
                .map_err(|_| StoreError::Unavailable)?;
            return rx.await.map_err(|_| StoreError::Unavailable)?;
        }
        let key = submission
            .idempotency
            .as_ref()
            .map(|i| (i.key.clone(), i.request_hash.clone()));
        match self.write(move |c| submit_in_tx(c, submission)).await {
            // Another writer stored this key first (its report is the one): this
            // job was rolled back; answer as a replay of the stored response.
            Err(StoreError::AlreadyExists(_)) if key.is_some() => {
                let Some((key, hash)) = key else {
                    return Err(StoreError::Unavailable);
                };
                match self.idempotent_response(&key).await? {
                    Some(prev) if prev.request_hash == hash => {
                        Ok(Submitted::Replayed(prev.response))
                    }
                    Some(_) => Err(StoreError::IdempotencyMismatch),
                    None => Err(StoreError::Unavailable),
                }
            }
            other => other,
        }
    }

    async fn submit_with_history(
        &self,
        submission: Submission,
        steps: Vec<ActionRequest>,
    ) -> Result<Report> {
        self.write(move |c| {
            // One feed row for the whole history, not one per event.
            queries::FEED_PAUSED.with(|p| p.set(true));
            let result = (|| {
                let Submitted::Created(report, _) = submit_in_tx(c, submission)? else {
                    return Err(StoreError::InvalidTarget(
                        "an import cannot replay an idempotency key".into(),
                    ));
                };
                // The report stays in memory between steps; its row is written once.
                let mut last = *report;
                for mut step in steps {
                    step.report = last.id;
                    last = apply_to(c, last, step)?.0;
                }
                queries::update_report(c, &last)?;
                Ok(last)
            })();
            queries::FEED_PAUSED.with(|p| p.set(false));
            let last = result?;
            queries::feed("report", last.id.0, last.updated_at);
            Ok(last)
        })
        .await
    }

    async fn idempotent_response(&self, key: &str) -> Result<Option<IdempotentResponse>> {
        let key = key.to_owned();
        self.read(move |c| queries::idempotent_response(c, &key))
            .await
    }

    async fn report(&self, key: &ReportKey) -> Result<Option<Report>> {
        let key = key.clone();
        self.read(move |c| queries::report(c, &key)).await
    }

    async fn reports(&self, query: &ReportQuery) -> Result<Vec<Report>> {
        let q = query.clone();
        self.read(move |c| queries::reports(c, &q)).await
    }

    async fn events(&self, report: ReportId) -> Result<Vec<Event>> {
        self.read(move |c| queries::events(c, report)).await
    }

    async fn apply(&self, request: ActionRequest) -> Result<(Report, Event)> {
        self.write(move |c| apply_in_tx(c, request)).await
    }

    async fn photo(&self, id: &str) -> Result<Option<PhotoRecord>> {
        let id = id.to_owned();
        self.read(move |c| queries::photo(c, &id)).await
    }

    async fn photo_ids(&self, after: &str, limit: u32) -> Result<Vec<String>> {
        let after = after.to_owned();
        self.read(move |c| {
            c.all(
                "SELECT id FROM photos WHERE id > ?1 ORDER BY id LIMIT ?2",
                args![after, limit],
                |r| r.get(0),
            )
        })
        .await
    }

    async fn count_photos(&self) -> Result<u64> {
        self.read(|c| {
            Ok(c.one("SELECT count(*) FROM photos", args![], |r| r.get::<i64>(0))? as u64)
        })
        .await
    }

    async fn count_reports(&self) -> Result<u64> {
        self.read(queries::count_reports).await
    }

    async fn create_user(
        &self,
        name: &str,
        hash: &str,
        role: Role,
        department: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<User> {
        let (name, hash, department) = (
            name.to_owned(),
            hash.to_owned(),
            department.map(str::to_owned),
        );
        self.write(move |c| queries::insert_user(c, &name, &hash, role, department.as_deref(), now))
            .await
    }

    async fn create_sentinels(
        &self,
        accounts: Vec<(NewSentinel, Vec<SentinelGroup>)>,
        approved_by: &str,
        now: OffsetDateTime,
    ) -> Result<usize> {
        let by = approved_by.to_owned();
        self.write(move |c| {
            let n = accounts.len();
            for (new, groups) in accounts {
                let s = queries::insert_sentinel(c, &new, now)?;
                for g in groups {
                    queries::request_group(c, s.id, g, now)?;
                    queries::decide_group(c, s.id, g, true, &by, now)?;
                }
            }
            Ok(n)
        })
        .await
    }

    async fn create_sentinel(
        &self,
        new: NewSentinel,
        code_hash: &str,
        code_expires: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<Sentinel> {
        let code_hash = code_hash.to_owned();
        self.write(move |c| {
            // Signing up again before verifying (a lost or expired code) sends a
            // new code and changes nothing else; a verified account is taken.
            let existing = match (&new.phone, &new.email) {
                (Some(p), _) => queries::sentinel(c, &SentinelKey::Phone(p.clone()))?,
                (None, Some(e)) => queries::sentinel(c, &SentinelKey::Email(e.clone()))?,
                (None, None) => None,
            };
            let s = match existing {
                Some((s, _)) if s.verified_at.is_none() => s,
                _ => queries::insert_sentinel(c, &new, now)?,
            };
            queries::set_code(c, s.id, &code_hash, code_expires)?;
            Ok(s)
        })
        .await
    }

    async fn verify_sentinel(
        &self,
        key: &SentinelKey,
        code_hash: &str,
        password_hash: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<Option<Sentinel>> {
        let (key, code_hash) = (key.clone(), code_hash.to_owned());
        let password_hash = password_hash.map(str::to_owned);
        self.write(move |c| {
            queries::verify_sentinel(c, &key, &code_hash, password_hash.as_deref(), now)
        })
        .await
    }

    async fn create_sentinel_session(
        &self,
        id_hash: &str,
        sentinel: i64,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<()> {
        let id_hash = id_hash.to_owned();
        self.write(move |c| {
            queries::insert_sentinel_session(c, &id_hash, sentinel, now, expires_at)
        })
        .await
    }

    async fn sentinel_for_session(
        &self,
        id_hash: &str,
        now: OffsetDateTime,
    ) -> Result<Option<Sentinel>> {
        let id_hash = id_hash.to_owned();
        self.read(move |c| queries::sentinel_for_session(c, &id_hash, now))
            .await
    }

    async fn end_sentinel_session(&self, id_hash: &str) -> Result<()> {
        let id_hash = id_hash.to_owned();
        self.write(move |c| queries::end_sentinel_session(c, &id_hash))
            .await
    }

    async fn standing(&self, handle: &str) -> Result<Standing> {
        let handle = handle.to_owned();
        self.read(move |c| queries::standing(c, &handle)).await
    }

    async fn group_requests(&self) -> Result<Vec<(String, String, Membership)>> {
        self.read(queries::group_requests).await
    }

    async fn sentinel(&self, key: &SentinelKey) -> Result<Option<Sentinel>> {
        let key = key.clone();
        self.read(move |c| queries::sentinel(c, &key).map(|o| o.map(|x| x.0)))
            .await
    }

    async fn sentinel_password_hash(
        &self,
        key: &SentinelKey,
    ) -> Result<Option<(Sentinel, String)>> {
        let key = key.clone();
        self.read(move |c| queries::sentinel(c, &key)).await
    }

    async fn request_group(
        &self,
        handle: &str,
        group: SentinelGroup,
        now: OffsetDateTime,
    ) -> Result<Membership> {
        let key = SentinelKey::Handle(handle.to_owned());
        self.write(move |c| {
            let (s, _) = queries::sentinel(c, &key)?.ok_or(StoreError::NotFound)?;
            queries::request_group(c, s.id, group, now)
        })
        .await
    }

    async fn decide_group(
        &self,
        handle: &str,
        group: SentinelGroup,
        approve: bool,
        by: &str,
        now: OffsetDateTime,
    ) -> Result<Membership> {
        let key = SentinelKey::Handle(handle.to_owned());
        let by = by.to_owned();
        self.write(move |c| {
            let (s, _) = queries::sentinel(c, &key)?.ok_or(StoreError::NotFound)?;
            queries::decide_group(c, s.id, group, approve, &by, now)
        })
        .await
    }

    async fn memberships(&self, handle: &str) -> Result<Vec<Membership>> {
        let handle = handle.to_owned();
        self.read(move |c| queries::memberships(c, &handle)).await
    }

    async fn group_counts(&self) -> Result<Vec<(SentinelGroup, MembershipStatus, u64)>> {
        self.read(queries::group_counts).await
    }

    async fn create_open311_client(
        &self,
        name: &str,
        key_hash: &str,
        now: OffsetDateTime,
    ) -> Result<Open311Client> {
        let (name, hash) = (name.to_owned(), key_hash.to_owned());
        self.write(move |c| queries::insert_open311_client(c, &name, &hash, now))
            .await
    }

    async fn open311_clients(&self) -> Result<Vec<Open311Client>> {
        self.read(queries::open311_clients).await
    }

    async fn revoke_open311_client(&self, name: &str, now: OffsetDateTime) -> Result<()> {
        let name = name.to_owned();
        self.write(move |c| queries::revoke_open311_client(c, &name, now))
            .await
    }

    async fn open311_client_for_key(&self, key_hash: &str) -> Result<Option<Open311Client>> {
        let hash = key_hash.to_owned();
        self.read(move |c| queries::open311_client_for_key(c, &hash))
            .await
    }

    async fn save_open311_token(
        &self,
        token: &str,
        report: ReportId,
        client: i64,
        now: OffsetDateTime,
    ) -> Result<()> {
        let token = token.to_owned();
        self.write(move |c| queries::insert_open311_token(c, &token, report, client, now))
            .await
    }

    async fn status_changes(
        &self,
        since: OffsetDateTime,
        until: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<(Event, sentinel_core::TrackingCode)>> {
        self.read(move |c| queries::status_changes(c, since, until, limit))
            .await
    }

    async fn latest_notes(
        &self,
        reports: &[ReportId],
        actions: &[&str],
    ) -> Result<Vec<(ReportId, String)>> {
        let reports = reports.to_vec();
        let actions: Vec<String> = actions.iter().map(|a| (*a).to_owned()).collect();
        self.read(move |c| {
            let acts: Vec<&str> = actions.iter().map(String::as_str).collect();
            queries::latest_notes(c, &reports, &acts)
        })
        .await
    }

    async fn add_photos(
        &self,
        report: ReportId,
        photos: Vec<PhotoRecord>,
        actor: &str,
        source: &str,
        now: OffsetDateTime,
    ) -> Result<Event> {
        let (actor, source) = (actor.to_owned(), source.to_owned());
        self.write(move |c| {
            let mut r = queries::report(c, &ReportKey::Id(report))?.ok_or(StoreError::NotFound)?;
            for p in &photos {
                queries::insert_photo(c, p, now)?;
                if !r.photos.contains(&p.id) {
                    r.photos.push(p.id.clone());
                }
            }
            r.updated_at = now;
            queries::update_report(c, &r)?;
            queries::insert_event(
                c,
                r.id,
                now,
                &actor,
                Some("system"),
                "photo_added",
                None,
                None,
                None,
                json!({ "photos": photos.iter().map(|p| &p.id).collect::<Vec<_>>(), "source": source }),
            )
        })
        .await
    }

    async fn open311_token(&self, token: &str) -> Result<Option<ReportId>> {
        let token = token.to_owned();
        self.read(move |c| queries::open311_token(c, &token)).await
    }

    async fn user(&self, name: &str) -> Result<Option<User>> {
        let name = name.to_owned();
        self.read(move |c| queries::user(c, &name)).await
    }

    async fn users(&self) -> Result<Vec<User>> {
        self.read(queries::users).await
    }

    async fn set_password(&self, name: &str, hash: &str) -> Result<()> {
        let (name, hash) = (name.to_owned(), hash.to_owned());
        self.write(move |c| queries::set_password(c, &name, &hash))
            .await
    }

    async fn disable_user(&self, name: &str) -> Result<()> {
        let name = name.to_owned();
        self.write(move |c| queries::disable_user(c, &name)).await
    }

    async fn create_token(
        &self,
        user: &str,
        label: &str,
        hash: &str,
        now: OffsetDateTime,
        expires: Option<OffsetDateTime>,
    ) -> Result<TokenInfo> {
        let (user, label, hash) = (user.to_owned(), label.to_owned(), hash.to_owned());
        self.write(move |c| queries::insert_token(c, &user, &label, &hash, now, expires))
            .await
    }

    async fn tokens(&self, user: Option<&str>) -> Result<Vec<TokenInfo>> {
        let user = user.map(str::to_owned);
        self.read(move |c| queries::tokens(c, user.as_deref()))
            .await
    }

    async fn revoke_token(&self, id: i64, now: OffsetDateTime) -> Result<()> {
        self.write(move |c| queries::revoke_token(c, id, now)).await
    }

    async fn user_for_token(&self, hash: &str, now: OffsetDateTime) -> Result<Option<User>> {
        let hash = hash.to_owned();
        self.read(move |c| queries::user_for_token(c, &hash, now))
            .await
    }

    async fn create_session(
        &self,
        hash: &str,
        user_id: i64,
        now: OffsetDateTime,
        expires: OffsetDateTime,
    ) -> Result<()> {
        let hash = hash.to_owned();
        self.write(move |c| queries::insert_session(c, &hash, user_id, now, expires))
            .await
    }

    async fn user_for_session(&self, hash: &str, now: OffsetDateTime) -> Result<Option<User>> {
        let hash = hash.to_owned();
        self.read(move |c| queries::user_for_session(c, &hash, now))
            .await
    }

    async fn delete_session(&self, hash: &str) -> Result<()> {
        let hash = hash.to_owned();
        self.write(move |c| queries::delete_session(c, &hash)).await
    }

    async fn sign_in_throttle(&self, account: &str) -> Result<Option<Throttle>> {
        let account = account.to_owned();
        self.read(move |c| queries::sign_in_throttle(c, &account, false))
            .await
    }

    async fn sign_in_failed(&self, account: &str, now: OffsetDateTime) -> Result<Throttle> {
        let account = account.to_owned();
        self.write(move |c| {
            let before = queries::sign_in_throttle(c, &account, true)?;
            let after = Throttle::after_failure(before, now);
            queries::save_sign_in_throttle(c, &account, &after, now)?;
            Ok(after)
        })
        .await
    }

    async fn clear_sign_in_failures(&self, account: &str) -> Result<bool> {
        let account = account.to_owned();
        self.write(move |c| queries::clear_sign_in_throttle(c, &account))
            .await
    }

    async fn log_personal_data_access(&self, entry: AccessLogEntry) -> Result<()> {
        self.write(move |c| queries::insert_access(c, &entry)).await
    }

    async fn log_personal_data_access_many(&self, entries: Vec<AccessLogEntry>) -> Result<()> {
        self.write(move |c| {
            for e in &entries {
                queries::insert_access(c, e)?;
            }
            Ok(())
        })
        .await
    }

    async fn personal_data_access(&self, report: ReportId) -> Result<Vec<AccessLogEntry>> {
        self.read(move |c| queries::access_log(c, report)).await
    }

    async fn support(
        &self,
        report: ReportId,
        supporter: Supporter,
        now: OffsetDateTime,
    ) -> Result<(Report, bool)> {
        self.write(move |c| support_in_tx(c, report, &supporter, now))
            .await
    }

    async fn overdue(
        &self,
        now: OffsetDateTime,
        escalate_after: time::Duration,
        limit: u32,
    ) -> Result<Vec<crate::Overdue>> {
        self.read(move |c| queries::overdue(c, now, escalate_after, limit))
            .await
    }

    async fn redaction(&self, photo: &str) -> Result<Option<crate::Redaction>> {
        let photo = photo.to_owned();
        self.read(move |c| redaction::get(c, &photo)).await
    }

    async fn claim_redactions(
        &self,
        limit: u32,
        now: OffsetDateTime,
        lease: time::Duration,
    ) -> Result<Vec<crate::RedactionJob>> {
        self.write(move |c| redaction::claim(c, limit, now, lease))
            .await
    }

    async fn finish_redaction(
        &self,
        job: crate::RedactionJob,
        outcome: crate::RedactionOutcome,
        now: OffsetDateTime,
    ) -> Result<bool> {
        self.write(move |c| redaction::finish(c, &job, &outcome, now))
            .await
    }

    async fn edit_redaction(&self, edit: crate::RedactionEdit) -> Result<Event> {
        self.write(move |c| redaction::edit(c, &edit)).await
    }

    async fn requeue_redactions(&self, all: bool) -> Result<u64> {
        self.write(move |c| redaction::requeue(c, all)).await
    }

    async fn release_redaction_claims(&self) -> Result<u64> {
        self.write(redaction::release).await
    }

    async fn redaction_counts(&self) -> Result<crate::RedactionCounts> {
        self.read(redaction::counts).await
    }

    async fn hidden_photos(&self) -> Result<Vec<String>> {
        self.read(redaction::hidden).await
    }

    async fn record_overdue(
        &self,
        item: &crate::Overdue,
        escalate: bool,
        now: OffsetDateTime,
    ) -> Result<bool> {
        let item = item.clone();
        self.write(move |c| {
            if !queries::mark_overdue(c, item.report, item.due_at, escalate)? {
                return Ok(false);
            }
            let (action, what) = if escalate { ("escalate", "督办") } else { ("remind", "催办") };
            let note = format!("{what}: the {} deadline passed", item.due_kind.as_str());
            let data = json!({ "due_at": queries::ms(item.due_at), "due_kind": item.due_kind, "automatic": true });
            queries::insert_event(c, item.report, now, "system", Some("system"), action, None, None, Some(&note), data)?;
            Ok(true)
        })
        .await
    }

    async fn photo_hashes(
        &self,
        ids: Vec<String>,
    ) -> Result<std::collections::HashMap<String, u64>> {
        self.read(move |c| {
            let mut out = std::collections::HashMap::new();
            for id in ids {
                if let Some(h) = c.opt(
                    "SELECT phash FROM photos WHERE id = ?1 AND phash IS NOT NULL",
                    args![id],
                    |r| r.get::<i64>(0),
                )? {
                    out.insert(id, h as u64);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn begin_layer(&self, name: &str, kind: &str, now: OffsetDateTime) -> Result<i64> {
        let (name, kind) = (name.to_owned(), kind.to_owned());
        self.write(move |c| queries::insert_layer(c, &name, &kind, now))
            .await
    }

    async fn add_layer_features(
        &self,
        layer: i64,
        features: Vec<crate::NewLayerFeature>,
    ) -> Result<()> {
        self.write(move |c| queries::insert_layer_features(c, layer, &features))
            .await
    }

    async fn finish_layer(&self, layer: i64) -> Result<()> {
        self.write(move |c| queries::finish_layer(c, layer)).await
    }

    async fn abort_layer(&self, layer: i64) -> Result<()> {
        self.write(move |c| queries::drop_layer(c, layer)).await
    }

    async fn layers(&self) -> Result<Vec<crate::LayerInfo>> {
        self.read(queries::layers).await
    }

    async fn find_layer_features(
        &self,
        text: &str,
        limit: u32,
    ) -> Result<Vec<crate::FoundFeature>> {
        let text = text.to_owned();
        self.read(move |c| queries::find_layer_features(c, &text, limit))
            .await
    }

    async fn layer_features(
        &self,
        layer: i64,
        bbox: Option<sentinel_geo::BBox>,
        limit: u32,
    ) -> Result<Vec<(String, String)>> {
        self.read(move |c| queries::layer_features(c, layer, bbox, limit))
            .await
    }

    async fn save_calendar_year(
        &self,
        year: i32,
        document: String,
        now: OffsetDateTime,
    ) -> Result<()> {
        self.write(move |c| {
            c.execute(
                "INSERT INTO calendar_years (year, document, updated_at) VALUES (?1, ?2, ?3) \
                 ON CONFLICT(year) DO UPDATE SET document = excluded.document, updated_at = excluded.updated_at",
                args![year, document, queries::ms(now)],
            )?;
            Ok(())
        })
        .await
    }

    async fn calendar_years(&self) -> Result<Vec<String>> {
        self.read(|c| {
            c.all(
                "SELECT document FROM calendar_years ORDER BY year",
                args![],
                |r| r.get::<String>(0),
            )
        })
        .await
    }

    async fn save_config(&self, document: String, by: &str, now: OffsetDateTime) -> Result<i64> {
        let by = by.to_owned();
        self.write(move |c| queries::insert_config(c, &document, &by, now))
            .await
    }

    async fn config(&self) -> Result<Option<String>> {
        self.read(queries::latest_config).await
    }

    async fn import_jurisdictions(
        &self,
        items: Vec<NewJurisdiction>,
        now: OffsetDateTime,
    ) -> Result<usize> {
        self.write(move |c| queries::import_jurisdictions(c, &items, now))
            .await
    }

    async fn jurisdictions(&self) -> Result<Vec<JurisdictionRecord>> {
        self.read(queries::jurisdictions).await
    }

    async fn patrol_points(&self, since: OffsetDateTime) -> Result<Vec<crate::PatrolPoint>> {
        self.read(move |c| patrol::points(c, since)).await
    }

    async fn patrol_point_by_token(&self, token: &str) -> Result<Option<i64>> {
        let t = token.to_owned();
        self.read(move |c| patrol::point_by_token(c, &t)).await
    }

    async fn record_visit(
        &self,
        point: i64,
        unit: Option<i64>,
        user: Option<&str>,
        method: &str,
        now: OffsetDateTime,
    ) -> Result<crate::PatrolVisit> {
        let (user, method) = (user.map(str::to_owned), method.to_owned());
        self.write(move |c| patrol::insert_visit(c, point, unit, user.as_deref(), &method, now))
            .await
    }

    async fn patrol_visits(&self, point: i64, limit: u32) -> Result<Vec<crate::PatrolVisit>> {
        self.read(move |c| patrol::visits(c, point, limit)).await
    }

    async fn queue_counts(&self, now: OffsetDateTime) -> Result<crate::QueueCounts> {
        self.read(move |c| queries::queue_counts(c, now)).await
    }

    async fn create_units(&self, units: Vec<NewUnit>, now: OffsetDateTime) -> Result<Vec<Unit>> {
        self.write(move |c| units::insert_units(c, &units, now))
            .await
    }

    async fn units(&self) -> Result<Vec<Unit>> {
        self.read(units::units).await
    }

    async fn unit(&self, id: i64) -> Result<Option<Unit>> {
        self.read(move |c| units::unit(c, id)).await
    }

    async fn unit_by_tracker(&self, tracker_id: &str) -> Result<Option<Unit>> {
        let t = tracker_id.to_owned();
        self.read(move |c| units::unit_where(c, "tracker_id", &t))
            .await
    }

    async fn unit_for_user(&self, user: &str) -> Result<Option<Unit>> {
        let u = user.to_owned();
        self.read(move |c| units::unit_where(c, "user_name", &u))
            .await
    }

    async fn record_positions(
        &self,
        unit: i64,
        fixes: Vec<Fix>,
        now: OffsetDateTime,
    ) -> Result<Unit> {
        self.write(move |c| units::record_positions(c, unit, &fixes, now))
            .await
    }

    async fn set_unit_duty(&self, unit: i64, to: UnitStatus, now: OffsetDateTime) -> Result<Unit> {
        self.write(move |c| units::set_duty(c, unit, to, now)).await
    }

    async fn dispatch(&self, request: DispatchRequest) -> Result<Dispatch> {
        self.write(move |c| units::dispatch(c, &request)).await
    }

    async fn dispatch_step(
        &self,
        dispatch: i64,
        step: DispatchStep,
        user: &str,
        role: Role,
        now: OffsetDateTime,
    ) -> Result<Dispatch> {
        let user = user.to_owned();
        self.write(move |c| units::dispatch_step(c, dispatch, step, &user, role, now))
            .await
    }

    async fn dispatch_by_id(&self, id: i64) -> Result<Option<Dispatch>> {
        self.read(move |c| units::dispatch_by_id(c, id)).await
    }

    async fn dispatches(&self, of: DispatchesOf, limit: u32) -> Result<Vec<Dispatch>> {
        self.read(move |c| units::dispatches(c, of, limit)).await
    }

    async fn feed(&self, after: i64, limit: u32) -> Result<FeedPage> {
        self.read(move |c| units::feed_since(c, after, limit)).await
    }

    async fn feed_head(&self) -> Result<i64> {
        self.read(units::feed_head).await
    }

    async fn prune_feed(&self, before: OffsetDateTime) -> Result<u64> {
        self.write(move |c| units::prune_feed(c, before)).await
    }

    async fn report_points(&self, after: i64, limit: u32) -> Result<Vec<ReportPoint>> {
        self.read(move |c| units::report_points(c, after, limit))
            .await
    }

    async fn report_facts(
        &self,
        after: i64,
        limit: u32,
    ) -> Result<Vec<sentinel_analysis::ReportFacts>> {
        self.read(move |c| analysis::report_facts(c, after, limit))
            .await
    }

    async fn report_facts_for(&self, ids: Vec<i64>) -> Result<Vec<sentinel_analysis::ReportFacts>> {
        self.read(move |c| analysis::report_facts_for(c, &ids))
            .await
    }

    async fn integrity_check(&self) -> Result<String> {
        let engine = self.engine.clone();
        self.read(move |c| engine.integrity_check(c)).await
    }

    async fn take_lease(
        &self,
        name: &str,
        holder: &str,
        now: OffsetDateTime,
        ttl: time::Duration,
    ) -> Result<bool> {
        let (name, holder) = (name.to_owned(), holder.to_owned());
        self.write(move |c| {
            let n = c.execute(
                "INSERT INTO leases (name, holder, until) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until \
                 WHERE leases.until < ?4 OR leases.holder = ?2",
                args![name, holder, queries::ms(now + ttl), queries::ms(now)],
            )?;
            Ok(n == 1)
        })
        .await
    }

    async fn feed_changed(&self) {
        match &self.changes {
            Some(n) => n.notified().await,
            None => std::future::pending::<()>().await,
        }
    }

    async fn ping(&self) -> Result<()> {
        self.read(|c| c.one("SELECT 1", args![], |_| Ok(()))).await
    }

    async fn probe_write(&self, node: &str, now: OffsetDateTime) -> Result<()> {
        let node = node.to_owned();
        self.write(move |c| {
            c.execute(
                "INSERT INTO write_probes (node, at) VALUES (?1, ?2) ON CONFLICT (node) DO UPDATE SET at = ?2",
                args![node, queries::ms(now)],
            )?;
            // Nodes come and go: forget those not heard of for a day.
            c.execute(
                "DELETE FROM write_probes WHERE at < ?1",
                args![queries::ms(now - time::Duration::days(1))],
            )?;
            Ok(())
        })
        .await
    }
}
