//! The statements of both SQL backends, one function per query. Written in the
//! SQL that SQLite and PostgreSQL share; where they differ, `conn.dialect()` says.

use super::{Conn, Dialect, Param, Row, SqlError, ToParam, args};
use crate::{
    AccessLogEntry, IdempotentResponse, JurisdictionRecord, NewJurisdiction, Open311Client,
    PhotoRecord, ReportKey, ReportQuery, Result, SentinelKey, Standing, StoreError, Supporter,
    TokenInfo, User,
};
use sentinel_core::throttle::Throttle;
use sentinel_core::{
    Channel, Contact, Event, Membership, MembershipStatus, NewReport, NewSentinel, Priority,
    Report, ReportId, Reporter, Role, Sentinel, SentinelGroup, Status, TrackingCode,
};
use sentinel_geo::Point;
use time::OffsetDateTime;

pub(crate) fn ms(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

pub(crate) fn from_ms(v: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(v) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

pub(crate) fn parse<T: std::str::FromStr>(idx: usize, s: String) -> Result<T> {
    s.parse::<T>()
        .map_err(|_| StoreError::Database(format!("column {idx}: unexpected value {s:?}")))
}

fn json<T: serde::de::DeserializeOwned>(idx: usize, s: String) -> Result<T> {
    serde_json::from_str(&s).map_err(|e| StoreError::Database(format!("column {idx}: {e}")))
}

const REPORT_COLUMNS: &str = "id, tracking_code, category, description, lat, lon, accuracy_m, address, attributes, photos, \
     reporter_kind, contact_name, contact_phone, contact_email, account, channel, status, priority, department, \
     co_departments, assignee, merged_into, supporters, observed_at, created_at, updated_at, closed_at, \
     jurisdiction, routing, due_at, due_kind, rating, rated_at, media_urls, reporter_key_hash";

fn report_from_row(r: &Row<'_>) -> Result<Report> {
    let reporter = match r.get::<String>(10)?.as_str() {
        "contact" => Reporter::Contact(Contact {
            name: r.get(11)?,
            phone: r.get(12)?,
            email: r.get(13)?,
        }),
        "account" => Reporter::Account(r.get::<Option<String>>(14)?.unwrap_or_default()),
        _ => Reporter::Anonymous,
    };
    let lat: f64 = r.get(4)?;
    let lon: f64 = r.get(5)?;
    Ok(Report {
        id: ReportId(r.get(0)?),
        tracking_code: parse::<TrackingCode>(1, r.get(1)?)?,
        category: r.get(2)?,
        description: r.get(3)?,
        location: Point::new(lat, lon)
            .map_err(|_| StoreError::Database(format!("report at {lat}, {lon}")))?,
        accuracy_m: r.get(6)?,
        address: r.get(7)?,
        attributes: json(8, r.get(8)?)?,
        photos: json(9, r.get(9)?)?,
        reporter,
        channel: parse::<Channel>(15, r.get(15)?)?,
        status: parse::<Status>(16, r.get(16)?)?,
        priority: parse::<Priority>(17, r.get(17)?)?,
        department: r.get(18)?,
        co_departments: json(19, r.get(19)?)?,
        assignee: r.get(20)?,
        merged_into: r.get::<Option<i64>>(21)?.map(ReportId),
        supporters: r.get(22)?,
        observed_at: r.get::<Option<i64>>(23)?.map(from_ms),
        created_at: from_ms(r.get(24)?),
        updated_at: from_ms(r.get(25)?),
        closed_at: r.get::<Option<i64>>(26)?.map(from_ms),
        jurisdiction: r.get(27)?,
        routing: r
            .get::<Option<String>>(28)?
            .map(|s| json(28, s))
            .transpose()?,
        due: match (r.get::<Option<i64>>(29)?, r.get::<Option<String>>(30)?) {
            (Some(at), Some(kind)) => Some((from_ms(at), parse(30, kind)?)),
            _ => None,
        },
        rating: match (r.get::<Option<u8>>(31)?, r.get::<Option<i64>>(32)?) {
            (Some(score), Some(at)) => Some((score, from_ms(at))),
            _ => None,
        },
        media_urls: json(33, r.get(33)?)?,
        reporter_key_hash: r.get(34)?,
    })
}

fn random_u64() -> u64 {
    let mut b = [0u8; 8];
    // The OS RNG failing is not something a report submission can recover from.
    getrandom::fill(&mut b).expect("the operating system's random source");
    u64::from_le_bytes(b)
}

/// Inserts a new report and its `submit` event (by `actor`, with `data`).
pub(crate) fn insert_submitted(
    conn: &dyn Conn,
    new: &NewReport,
    photos: &[PhotoRecord],
    actor: &str,
    data: serde_json::Value,
    now: OffsetDateTime,
) -> Result<(Report, Event)> {
    let (report, event_id) = insert_report(conn, new, photos, now, Some((actor, &data)))?;
    let Some(id) = event_id else {
        let event = insert_event(
            conn,
            report.id,
            now,
            actor,
            None,
            "submit",
            None,
            Some(report.status),
            None,
            data,
        )?;
        return Ok((report, event));
    };
    if !FEED_PAUSED.with(std::cell::Cell::get) {
        feed("report", report.id.0, now);
    }
    let event = Event {
        id,
        report_id: report.id,
        at: from_ms(ms(now)),
        actor: actor.to_owned(),
        actor_role: None,
        action: "submit".into(),
        from_status: None,
        to_status: Some(report.status),
        note: None,
        data,
    };
    Ok((report, event))
}

/// The columns of a new report, in the order of [`ReportRow::params`].
const NEW_REPORT_COLUMNS: &str = "tracking_code, category, description, lat, lon, accuracy_m, address, attributes, photos, \
     reporter_kind, contact_name, contact_phone, contact_email, account, channel, priority, observed_at, created_at, \
     updated_at, jurisdiction, routing, due_at, due_kind, media_urls, reporter_key_hash, status, co_departments, supporters";

/// A new report's values as the database stores them.
pub(crate) struct ReportRow<'a> {
    new: &'a NewReport,
    code: TrackingCode,
    photo_ids: Vec<String>,
    kind: &'static str,
    contact: Contact,
    account: Option<String>,
    attributes: String,
    photos_json: String,
    routing: Option<String>,
    media_json: String,
    now: i64,
}

impl<'a> ReportRow<'a> {
    /// Parameters per row: the placeholders of [`NEW_REPORT_COLUMNS`] that take
    /// one (the last three are constants).
    pub(crate) const PARAMS: usize = 25;

    pub(crate) fn new(
        new: &'a NewReport,
        photos: &[PhotoRecord],
        now: OffsetDateTime,
    ) -> Result<Self> {
        let (kind, contact, account) = match &new.reporter {
            Reporter::Anonymous => ("anonymous", Contact::default(), None),
            Reporter::Contact(c) => ("contact", c.clone(), None),
            Reporter::Account(a) => ("account", Contact::default(), Some(a.clone())),
        };
        let photo_ids: Vec<String> = photos.iter().map(|p| p.id.clone()).collect();
        let json = |v: &dyn erased::Json| v.text();
        Ok(ReportRow {
            new,
            code: TrackingCode::from_random(random_u64()),
            kind,
            contact,
            account,
            attributes: json(&new.attributes)?,
            photos_json: json(&photo_ids)?,
            routing: new.routing.as_ref().map(|r| json(r)).transpose()?,
            media_json: json(&new.media_urls)?,
            photo_ids,
            now: ms(now),
        })
    }

    /// A fresh tracking code (after a collision).
    fn new_code(&mut self) {
        self.code = TrackingCode::from_random(random_u64());
    }

    pub(crate) fn code(&self) -> &str {
        self.code.as_str()
    }

    /// The values of the last three columns, the same for every new report.
    pub(crate) const CONSTANTS: &'static str = "'submitted', '[]', 1";

    pub(crate) fn params(&self) -> [Param<'_>; 25] {
        let new = self.new;
        [
            Param::Text(self.code.as_str()),
            Param::Text(&new.category),
            Param::Text(&new.description),
            Param::Real(new.location.lat()),
            Param::Real(new.location.lon()),
            new.accuracy_m.param(),
            new.address.param(),
            Param::Text(&self.attributes),
            Param::Text(&self.photos_json),
            Param::Text(self.kind),
            self.contact.name.param(),
            self.contact.phone.param(),
            self.contact.email.param(),
            self.account.param(),
            Param::Text(new.channel.as_str()),
            Param::Text(new.priority.as_str()),
            new.observed_at.map(ms).map_or(Param::Null, Param::Int),
            Param::Int(self.now),
            Param::Int(self.now),
            new.jurisdiction.param(),
            self.routing.param(),
            new.due.map_or(Param::Null, |d| Param::Int(ms(d.0))),
            new.due.map_or(Param::Null, |d| Param::Text(d.1.as_str())),
            Param::Text(&self.media_json),
            new.reporter_key_hash.param(),
        ]
    }

    /// The report as stored under `id`.
    pub(crate) fn report(self, id: i64) -> Report {
        let new = self.new;
        Report {
            id: ReportId(id),
            tracking_code: self.code,
            category: new.category.clone(),
            description: new.description.clone(),
            location: new.location,
            accuracy_m: new.accuracy_m,
            address: new.address.clone(),
            attributes: new.attributes.clone(),
            photos: self.photo_ids,
            reporter: new.reporter.clone(),
            channel: new.channel,
            status: Status::Submitted,
            priority: new.priority,
            department: None,
            co_departments: vec![],
            assignee: None,
            merged_into: None,
            supporters: 1,
            observed_at: new.observed_at,
            created_at: from_ms(self.now),
            updated_at: from_ms(self.now),
            closed_at: None,
            jurisdiction: new.jurisdiction.clone(),
            routing: new.routing.clone(),
            due: new.due.map(|(at, kind)| (from_ms(ms(at)), kind)),
            rating: None,
            media_urls: new.media_urls.clone(),
            reporter_key_hash: new.reporter_key_hash.clone(),
        }
    }
}

/// JSON text of the values a report row keeps as JSON.
mod erased {
    use crate::{Result, StoreError};

    pub(crate) trait Json {
        fn text(&self) -> Result<String>;
    }

    impl<T: serde::Serialize> Json for T {
        fn text(&self) -> Result<String> {
            serde_json::to_string(self).map_err(|e| StoreError::Database(e.to_string()))
        }
    }
}

/// Inserts a report; in PostgreSQL, given `submit`, its first event too in the
/// same statement (one round trip instead of two), answering that event's id.
fn insert_report(
    conn: &dyn Conn,
    new: &NewReport,
    photos: &[PhotoRecord],
    now: OffsetDateTime,
    submit: Option<(&str, &serde_json::Value)>,
) -> Result<(Report, Option<i64>)> {
    let sql = format!(
        "INSERT INTO reports ({NEW_REPORT_COLUMNS}) VALUES {} \
         ON CONFLICT (tracking_code) DO NOTHING RETURNING id",
        value_rows(1, ReportRow::PARAMS, ReportRow::CONSTANTS)
    );
    let n = ReportRow::PARAMS;
    let (sql, extra) = match submit {
        Some((actor, data)) if conn.dialect() == Dialect::Postgres => (
            format!(
                "WITH r AS ({sql}, created_at) INSERT INTO events (report_id, at, actor, action, to_status, data) \
                 SELECT id, created_at, ?{}, 'submit', 'submitted', ?{} FROM r RETURNING report_id, id",
                n + 1,
                n + 2
            ),
            Some((actor, data.to_string())),
        ),
        _ => (sql, None),
    };
    let mut row = ReportRow::new(new, photos, now)?;
    // A fresh tracking code collides with odds of about n / 2.7e10; retry then.
    for _ in 0..8 {
        let mut params = row.params().to_vec();
        if let Some((actor, data)) = &extra {
            params.extend([Param::Text(actor), Param::Text(data)]);
        }
        let inserted = conn.opt(&sql, &params, |r| {
            Ok((
                r.get::<i64>(0)?,
                if extra.is_some() {
                    Some(r.get::<i64>(1)?)
                } else {
                    None
                },
            ))
        })?;
        drop(params);
        // No row: the code is taken (the conflict clause skipped the insert).
        if let Some((id, event)) = inserted {
            return Ok((row.report(id), event));
        }
        row.new_code();
    }
    Err(StoreError::Database(
        "could not find a free tracking code".into(),
    ))
}

pub(crate) fn insert_photo(conn: &dyn Conn, p: &PhotoRecord, now: OffsetDateTime) -> Result<()> {
    conn.execute(
        "INSERT INTO photos (id, mime, width, height, bytes, created_at, phash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
         ON CONFLICT (id) DO NOTHING",
        args![p.id, p.mime, p.width, p.height, p.bytes as i64, ms(now), p.phash.map(|h| h as i64)],
    )?;
    Ok(())
}

pub(crate) fn photo(conn: &dyn Conn, id: &str) -> Result<Option<PhotoRecord>> {
    conn.opt(
        "SELECT id, mime, width, height, bytes, phash FROM photos WHERE id = ?1",
        args![id],
        |r| {
            Ok(PhotoRecord {
                id: r.get(0)?,
                mime: r.get(1)?,
                width: r.get(2)?,
                height: r.get(3)?,
                bytes: r.get::<i64>(4)? as u64,
                phash: r.get::<Option<i64>>(5)?.map(|h| h as u64),
            })
        },
    )
}

thread_local! {
    /// Set on the writer thread while a report's whole history is imported.
    pub(crate) static FEED_PAUSED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn insert_event(
    conn: &dyn Conn,
    report: ReportId,
    at: OffsetDateTime,
    actor: &str,
    actor_role: Option<&str>,
    action: &str,
    from: Option<Status>,
    to: Option<Status>,
    note: Option<&str>,
    data: serde_json::Value,
) -> Result<Event> {
    let id = conn.insert(
        "INSERT INTO events (report_id, at, actor, actor_role, action, from_status, to_status, note, data) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) RETURNING id",
        args![
            report.0,
            ms(at),
            actor,
            actor_role,
            action,
            from.map(|s| s.as_str()),
            to.map(|s| s.as_str()),
            note,
            data.to_string()
        ],
    )?;
    // Every event is a change to its report for the live feed (every event is
    // written here), unless a bulk history import writes one row at its end.
    if !FEED_PAUSED.with(std::cell::Cell::get) {
        feed("report", report.0, at);
    }
    Ok(Event {
        id,
        report_id: report,
        at: from_ms(ms(at)),
        actor: actor.to_owned(),
        actor_role: actor_role.map(str::to_owned),
        action: action.to_owned(),
        from_status: from,
        to_status: to,
        note: note.map(str::to_owned),
        data,
    })
}

const EVENT_COLUMNS: &str = "e.id, e.report_id, e.at, e.actor, e.actor_role, e.action, e.from_status, e.to_status, e.note, e.data";

pub(crate) fn events(conn: &dyn Conn, report: ReportId) -> Result<Vec<Event>> {
    conn.all(
        &format!("SELECT {EVENT_COLUMNS} FROM events e WHERE e.report_id = ?1 ORDER BY e.id"),
        args![report.0],
        event_from_row,
    )
}

/// Status changes (not submissions) in `[since, until)`, oldest first, with the
/// report's tracking code.
pub(crate) fn status_changes(
    conn: &dyn Conn,
    since: OffsetDateTime,
    until: OffsetDateTime,
    limit: u32,
) -> Result<Vec<(Event, TrackingCode)>> {
    conn.all(
        &format!(
            "SELECT {EVENT_COLUMNS}, r.tracking_code FROM events e JOIN reports r ON r.id = e.report_id \
             WHERE e.at >= ?1 AND e.at < ?2 AND e.to_status IS NOT NULL AND e.action <> 'submit' \
             ORDER BY e.at, e.id LIMIT ?3"
        ),
        args![ms(since), ms(until), limit],
        |r| Ok((event_from_row(r)?, parse::<TrackingCode>(10, r.get(10)?)?)),
    )
}

/// The latest note of the given actions for each report that has one.
pub(crate) fn latest_notes(
    conn: &dyn Conn,
    reports: &[ReportId],
    actions: &[&str],
) -> Result<Vec<(ReportId, String)>> {
    if reports.is_empty() || actions.is_empty() {
        return Ok(vec![]);
    }
    let ids = vec!["?"; reports.len()].join(",");
    let acts = vec!["?"; actions.len()].join(",");
    let sql = format!(
        "SELECT report_id, note FROM events WHERE id IN (SELECT max(id) FROM events \
         WHERE report_id IN ({ids}) AND action IN ({acts}) AND note IS NOT NULL GROUP BY report_id)"
    );
    let values: Vec<Param<'_>> = reports
        .iter()
        .map(|r| Param::Int(r.0))
        .chain(actions.iter().map(|a| Param::Text(a)))
        .collect();
    conn.all(&sql, &values, |r| {
        Ok((ReportId(r.get(0)?), r.get::<String>(1)?))
    })
}

fn event_from_row(r: &Row<'_>) -> Result<Event> {
    Ok(Event {
        id: r.get(0)?,
        report_id: ReportId(r.get(1)?),
        at: from_ms(r.get(2)?),
        actor: r.get(3)?,
        actor_role: r.get(4)?,
        action: r.get(5)?,
        from_status: r
            .get::<Option<String>>(6)?
            .map(|s| parse(6, s))
            .transpose()?,
        to_status: r
            .get::<Option<String>>(7)?
            .map(|s| parse(7, s))
            .transpose()?,
        note: r.get(8)?,
        data: json(9, r.get(9)?)?,
    })
}

pub(crate) fn report(conn: &dyn Conn, key: &ReportKey) -> Result<Option<Report>> {
    let lock = super::for_update(conn, "");
    match key {
        ReportKey::Id(id) => conn.opt(
            &format!("SELECT {REPORT_COLUMNS} FROM reports WHERE id = ?1{lock}"),
            args![id.0],
            report_from_row,
        ),
        ReportKey::Code(c) => conn.opt(
            &format!("SELECT {REPORT_COLUMNS} FROM reports WHERE tracking_code = ?1{lock}"),
            args![c.as_str()],
            report_from_row,
        ),
    }
}

/// A WHERE clause under construction, with numbered parameters.
#[derive(Default)]
struct Filter<'a> {
    clauses: Vec<String>,
    values: Vec<Param<'a>>,
}

impl<'a> Filter<'a> {
    /// Adds `clause`, whose `?`s take `vs` in order.
    fn with(&mut self, clause: &str, vs: &[Param<'a>]) {
        let mut out = String::with_capacity(clause.len() + 8);
        let mut next = vs.iter();
        for c in clause.chars() {
            if c == '?'
                && let Some(v) = next.next()
            {
                self.values.push(*v);
                out.push_str(&format!("?{}", self.values.len()));
            } else {
                out.push(c);
            }
        }
        self.clauses.push(out);
    }

    /// Adds `column IN (...)` unless `vs` is empty.
    fn any_of(&mut self, column: &str, vs: impl IntoIterator<Item = Param<'a>>) {
        let start = self.values.len();
        self.values.extend(vs);
        if self.values.len() > start {
            let marks: Vec<String> = (start + 1..=self.values.len())
                .map(|i| format!("?{i}"))
                .collect();
            self.clauses
                .push(format!("{column} IN ({})", marks.join(",")));
        }
    }

    fn sql(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", self.clauses.join(" AND "))
        }
    }
}

pub(crate) fn reports(conn: &dyn Conn, q: &ReportQuery) -> Result<Vec<Report>> {
    let mut f = Filter::default();
    let pg = conn.dialect() == Dialect::Postgres;
    if let Some(b) = &q.bbox {
        let corners = [
            Param::Real(b.min_lon),
            Param::Real(b.min_lat),
            Param::Real(b.max_lon),
            Param::Real(b.max_lat),
        ];
        if pg {
            // PostGIS: the GiST index on the point answers the box.
            f.with("geom && ST_MakeEnvelope(?, ?, ?, ?, 4326)", &corners);
        } else {
            f.with("lon >= ? AND lat >= ? AND lon <= ? AND lat <= ?", &corners);
        }
    }
    // Listing a time window newest first walks the created_at index; in SQLite a
    // unary `+` keeps the planner off the status, category and department indexes,
    // which without statistics it would take for selective and then sort a whole
    // table. PostgreSQL keeps statistics and has no such operator on text.
    let plain = if q.order == crate::ReportOrder::Created && !pg {
        "+"
    } else {
        ""
    };
    f.any_of(
        &format!("{plain}status"),
        q.statuses.iter().map(|s| Param::Text(s.as_str())),
    );
    f.any_of(
        &format!("{plain}category"),
        q.categories.iter().map(|c| Param::Text(c)),
    );
    if let Some(d) = &q.department {
        f.with(&format!("{plain}department = ?"), &[Param::Text(d)]);
    }
    if let Some(a) = &q.account {
        f.with("account = ?", &[Param::Text(a)]);
    }
    f.any_of(
        "contact_phone",
        q.contact_phones.iter().map(|p| Param::Text(p)),
    );
    if let Some(t) = q.since {
        f.with("created_at >= ?", &[Param::Int(ms(t))]);
    }
    if let Some(t) = q.until {
        f.with("created_at < ?", &[Param::Int(ms(t))]);
    }
    if let Some(t) = q.overdue_at {
        f.with("due_at < ?", &[Param::Int(ms(t))]);
    }
    if q.escalated {
        f.clauses
            .push("escalated_for = due_at AND due_at IS NOT NULL".into());
    }
    if let Some(id) = q.before_id {
        f.with("id < ?", &[Param::Int(id.0)]);
    }
    let filter = f.sql();
    let mut values = f.values;
    values.push(Param::Int(i64::from(q.limit)));
    let order = match q.order {
        crate::ReportOrder::Id => "id DESC",
        crate::ReportOrder::Created => "created_at DESC, id DESC",
    };
    let sql = format!(
        "SELECT {REPORT_COLUMNS} FROM reports {filter} ORDER BY {order} LIMIT ?{}",
        values.len()
    );
    conn.all(&sql, &values, report_from_row)
}

pub(crate) fn count_reports(conn: &dyn Conn) -> Result<u64> {
    Ok(conn.one("SELECT count(*) FROM reports", args![], |r| r.get::<i64>(0))? as u64)
}

/// Writes the mutable fields of a report after an action.
pub(crate) fn update_report(conn: &dyn Conn, r: &Report) -> Result<()> {
    let co = serde_json::to_string(&r.co_departments)
        .map_err(|e| StoreError::Database(e.to_string()))?;
    let photos =
        serde_json::to_string(&r.photos).map_err(|e| StoreError::Database(e.to_string()))?;
    conn.execute(
        "UPDATE reports SET status = ?2, priority = ?3, department = ?4, co_departments = ?5, assignee = ?6, \
         merged_into = ?7, supporters = ?8, updated_at = ?9, closed_at = ?10, photos = ?11, \
         due_at = ?12, due_kind = ?13, rating = ?14, rated_at = ?15 WHERE id = ?1",
        args![
            r.id.0,
            r.status.as_str(),
            r.priority.as_str(),
            r.department,
            co,
            r.assignee,
            r.merged_into.map(|m| m.0),
            r.supporters,
            ms(r.updated_at),
            r.closed_at.map(ms),
            photos,
            r.due.map(|d| ms(d.0)),
            r.due.map(|d| d.1.as_str()),
            r.rating.map(|r| r.0),
            r.rating.map(|r| ms(r.1)),
        ],
    )?;
    Ok(())
}

pub(crate) fn idempotent_response(
    conn: &dyn Conn,
    key: &str,
) -> Result<Option<IdempotentResponse>> {
    conn.opt(
        "SELECT request_hash, response FROM idempotency_keys WHERE key = ?1",
        args![key],
        |r| {
            Ok(IdempotentResponse {
                request_hash: r.get(0)?,
                response: r.get(1)?,
            })
        },
    )
}

pub(crate) fn insert_idempotency(
    conn: &dyn Conn,
    key: &str,
    hash: &str,
    report: ReportId,
    response: &str,
    now: OffsetDateTime,
) -> Result<()> {
    // Two nodes (or two PostgreSQL writers) may take the same key at once: the
    // second waits for the first to commit, inserts nothing, and is told so.
    let n = conn.execute(
        "INSERT INTO idempotency_keys (key, request_hash, report_id, response, created_at) VALUES (?1, ?2, ?3, ?4, ?5) \
         ON CONFLICT (key) DO NOTHING",
        args![key, hash, report.0, response, ms(now)],
    )?;
    if n == 0 {
        return Err(StoreError::AlreadyExists(format!(
            "the Idempotency-Key {key}"
        )));
    }
    Ok(())
}

const USER_COLUMNS: &str = "id, name, role, department, disabled, password_hash, created_at";
/// The same columns, qualified for joins on `users u`.
const USER_COLUMNS_U: &str =
    "u.id, u.name, u.role, u.department, u.disabled, u.password_hash, u.created_at";

fn user_from_row(r: &Row<'_>) -> Result<User> {
    Ok(User {
        id: r.get(0)?,
        name: r.get(1)?,
        role: parse::<Role>(2, r.get(2)?)?,
        department: r.get(3)?,
        disabled: r.get(4)?,
        password_hash: r.get(5)?,
        created_at: from_ms(r.get(6)?),
    })
}

pub(crate) fn insert_user(
    conn: &dyn Conn,
    name: &str,
    hash: &str,
    role: Role,
    department: Option<&str>,
    now: OffsetDateTime,
) -> Result<User> {
    match conn.execute(
        "INSERT INTO users (name, password_hash, role, department, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        args![name, hash, role.as_str(), department, ms(now)],
    ) {
        Err(SqlError::Constraint(_)) => {
            return Err(StoreError::AlreadyExists(format!("user {name}")));
        }
        other => {
            other?;
        }
    }
    user(conn, name)?.ok_or(StoreError::NotFound)
}

pub(crate) fn user(conn: &dyn Conn, name: &str) -> Result<Option<User>> {
    conn.opt(
        &format!("SELECT {USER_COLUMNS} FROM users WHERE name = ?1"),
        args![name],
        user_from_row,
    )
}

pub(crate) fn users(conn: &dyn Conn) -> Result<Vec<User>> {
    conn.all(
        &format!("SELECT {USER_COLUMNS} FROM users ORDER BY name"),
        args![],
        user_from_row,
    )
}

pub(crate) fn set_password(conn: &dyn Conn, name: &str, hash: &str) -> Result<()> {
    let n = conn.execute(
        "UPDATE users SET password_hash = ?2 WHERE name = ?1",
        args![name, hash],
    )?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    conn.execute(
        "DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE name = ?1)",
        args![name],
    )?;
    Ok(())
}

pub(crate) fn disable_user(conn: &dyn Conn, name: &str) -> Result<()> {
    let n = conn.execute("UPDATE users SET disabled = 1 WHERE name = ?1", args![name])?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    conn.execute(
        "DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE name = ?1)",
        args![name],
    )?;
    Ok(())
}

const TOKEN_COLUMNS: &str = "t.id, u.name, t.label, t.created_at, t.expires_at, t.revoked_at";

fn token_from_row(r: &Row<'_>) -> Result<TokenInfo> {
    Ok(TokenInfo {
        id: r.get(0)?,
        user: r.get(1)?,
        label: r.get(2)?,
        created_at: from_ms(r.get(3)?),
        expires_at: r.get::<Option<i64>>(4)?.map(from_ms),
        revoked_at: r.get::<Option<i64>>(5)?.map(from_ms),
    })
}

pub(crate) fn insert_token(
    conn: &dyn Conn,
    user: &str,
    label: &str,
    hash: &str,
    now: OffsetDateTime,
    expires: Option<OffsetDateTime>,
) -> Result<TokenInfo> {
    let owner = self::user(conn, user)?.ok_or(StoreError::NotFound)?;
    let id = conn.insert(
        "INSERT INTO api_tokens (user_id, label, token_hash, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
        args![owner.id, label, hash, ms(now), expires.map(ms)],
    )?;
    conn.one(
        &format!("SELECT {TOKEN_COLUMNS} FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.id = ?1"),
        args![id],
        token_from_row,
    )
}

pub(crate) fn tokens(conn: &dyn Conn, user: Option<&str>) -> Result<Vec<TokenInfo>> {
    conn.all(
        &format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens t JOIN users u ON u.id = t.user_id \
             WHERE CAST(?1 AS TEXT) IS NULL OR u.name = ?1 ORDER BY t.id"
        ),
        args![user],
        token_from_row,
    )
}

pub(crate) fn revoke_token(conn: &dyn Conn, id: i64, now: OffsetDateTime) -> Result<()> {
    let n = conn.execute(
        "UPDATE api_tokens SET revoked_at = coalesce(revoked_at, ?2) WHERE id = ?1",
        args![id, ms(now)],
    )?;
    if n == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

pub(crate) fn user_for_token(
    conn: &dyn Conn,
    hash: &str,
    now: OffsetDateTime,
) -> Result<Option<User>> {
    conn.opt(
        &format!(
            "SELECT {USER_COLUMNS_U} FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = ?1 \
             AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > ?2) AND u.disabled = 0"
        ),
        args![hash, ms(now)],
        user_from_row,
    )
}

pub(crate) fn insert_session(
    conn: &dyn Conn,
    hash: &str,
    user_id: i64,
    now: OffsetDateTime,
    expires: OffsetDateTime,
) -> Result<()> {
    conn.execute(
        "DELETE FROM sessions WHERE expires_at <= ?1",
        args![ms(now)],
    )?;
    conn.execute(
        "INSERT INTO sessions (id_hash, user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
        args![hash, user_id, ms(now), ms(expires)],
    )?;
    Ok(())
}

pub(crate) fn user_for_session(
    conn: &dyn Conn,
    hash: &str,
    now: OffsetDateTime,
) -> Result<Option<User>> {
    conn.opt(
        &format!(
            "SELECT {USER_COLUMNS_U} FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.id_hash = ?1 AND s.expires_at > ?2 AND u.disabled = 0"
        ),
        args![hash, ms(now)],
        user_from_row,
    )
}

pub(crate) fn delete_session(conn: &dyn Conn, hash: &str) -> Result<()> {
    conn.execute("DELETE FROM sessions WHERE id_hash = ?1", args![hash])?;
    Ok(())
}

pub(crate) fn sign_in_throttle(
    conn: &dyn Conn,
    account: &str,
    for_update: bool,
) -> Result<Option<Throttle>> {
    let lock = if for_update {
        super::for_update(conn, "")
    } else {
        String::new()
    };
    conn.opt(
        &format!(
            "SELECT failures, first_at, last_at, locked_until FROM sign_in_throttle WHERE account = ?1{lock}"
        ),
        args![account],
        |r| {
            Ok(Throttle {
                failures: u32::try_from(r.get::<i64>(0)?).unwrap_or(u32::MAX),
                first_at: from_ms(r.get(1)?),
                last_at: from_ms(r.get(2)?),
                locked_until: r.get::<Option<i64>>(3)?.map(from_ms),
            })
        },
    )
}

/// Stores an account's throttle, and forgets other accounts' failures that have
/// aged out (guesses at random names must not grow the table without end).
pub(crate) fn save_sign_in_throttle(
    conn: &dyn Conn,
    account: &str,
    t: &Throttle,
    now: OffsetDateTime,
) -> Result<()> {
    conn.execute(
        "INSERT INTO sign_in_throttle (account, failures, first_at, last_at, locked_until) VALUES (?1, ?2, ?3, ?4, ?5) \
         ON CONFLICT (account) DO UPDATE SET failures = ?2, first_at = ?3, last_at = ?4, locked_until = ?5",
        args![
            account,
            i64::from(t.failures),
            ms(t.first_at),
            ms(t.last_at),
            t.locked_until.map(ms)
        ],
    )?;
    let old = ms(now - sentinel_core::throttle::WINDOW);
    conn.execute(
        "DELETE FROM sign_in_throttle WHERE first_at < ?1 AND (locked_until IS NULL OR locked_until < ?1) AND account <> ?2",
        args![old, account],
    )?;
    Ok(())
}

pub(crate) fn clear_sign_in_throttle(conn: &dyn Conn, account: &str) -> Result<bool> {
    Ok(conn.execute(
        "DELETE FROM sign_in_throttle WHERE account = ?1",
        args![account],
    )? > 0)
}

pub(crate) fn insert_access(conn: &dyn Conn, e: &AccessLogEntry) -> Result<()> {
    conn.execute(
        "INSERT INTO personal_data_access (at, user_name, role, report_id, fields, purpose) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        args![ms(e.at), e.user, e.role, e.report_id.0, e.fields, e.purpose],
    )?;
    Ok(())
}

pub(crate) fn access_log(conn: &dyn Conn, report: ReportId) -> Result<Vec<AccessLogEntry>> {
    conn.all(
        "SELECT at, user_name, role, report_id, fields, purpose FROM personal_data_access WHERE report_id = ?1 ORDER BY id",
        args![report.0],
        |r| {
            Ok(AccessLogEntry {
                at: from_ms(r.get(0)?),
                user: r.get(1)?,
                role: r.get(2)?,
                report_id: ReportId(r.get(3)?),
                fields: r.get(4)?,
                purpose: r.get(5)?,
            })
        },
    )
}

pub(crate) fn import_jurisdictions(
    conn: &dyn Conn,
    items: &[NewJurisdiction],
    now: OffsetDateTime,
) -> Result<usize> {
    for (i, j) in items.iter().enumerate() {
        let parent: Option<i64> = match &j.parent_code {
            None => None,
            Some(code) => Some(
                conn.opt(
                    "SELECT id FROM jurisdictions WHERE code = ?1",
                    args![code],
                    |r| r.get(0),
                )?
                .ok_or_else(|| {
                    StoreError::InvalidTarget(format!(
                        "feature {i}: parent code {code:?} is not a known jurisdiction"
                    ))
                })?,
            ),
        };
        conn.execute(
            "INSERT INTO jurisdictions (code, name, name_en, level, parent_id, area, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
             ON CONFLICT(code) DO UPDATE SET name = excluded.name, name_en = excluded.name_en, level = excluded.level, \
             parent_id = excluded.parent_id, area = excluded.area, updated_at = excluded.updated_at",
            args![
                j.code,
                j.name,
                j.name_en,
                j.level.as_str(),
                parent,
                j.area_geojson,
                ms(now)
            ],
        )?;
    }
    Ok(items.len())
}

pub(crate) fn jurisdictions(conn: &dyn Conn) -> Result<Vec<JurisdictionRecord>> {
    conn.all(
        "SELECT id, code, name, name_en, level, parent_id, area FROM jurisdictions ORDER BY id",
        args![],
        |r| {
            Ok(JurisdictionRecord {
                id: r.get(0)?,
                code: r.get(1)?,
                name: r.get(2)?,
                name_en: r.get(3)?,
                level: parse::<sentinel_geo::Level>(4, r.get(4)?)?,
                parent_id: r.get(5)?,
                area_geojson: r.get(6)?,
            })
        },
    )
}

/// Records a supporter; false when this person already supports the report.
pub(crate) fn insert_supporter(
    conn: &dyn Conn,
    report: ReportId,
    s: &Supporter,
    now: OffsetDateTime,
) -> Result<bool> {
    let n = conn.execute(
        "INSERT INTO supporters (report_id, supporter_key, contact_name, contact_phone, contact_email, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (report_id, supporter_key) DO NOTHING",
        args![report.0, s.key, s.contact.name, s.contact.phone, s.contact.email, ms(now)],
    )?;
    Ok(n == 1)
}

/// Moves supporters to the report a duplicate was merged into (each person once).
pub(crate) fn move_supporters(conn: &dyn Conn, from: ReportId, to: ReportId) -> Result<()> {
    conn.execute(
        "UPDATE supporters SET report_id = ?2 WHERE report_id = ?1 \
         AND supporter_key NOT IN (SELECT supporter_key FROM supporters WHERE report_id = ?2)",
        args![from.0, to.0],
    )?;
    conn.execute("DELETE FROM supporters WHERE report_id = ?1", args![from.0])?;
    Ok(())
}

pub(crate) fn insert_config(
    conn: &dyn Conn,
    document: &str,
    by: &str,
    now: OffsetDateTime,
) -> Result<i64> {
    Ok(conn.insert(
        "INSERT INTO config_versions (document, created_by, created_at) VALUES (?1, ?2, ?3) RETURNING id",
        args![document, by, ms(now)],
    )?)
}

pub(crate) fn latest_config(conn: &dyn Conn) -> Result<Option<String>> {
    conn.opt(
        "SELECT document FROM config_versions ORDER BY id DESC LIMIT 1",
        args![],
        |r| r.get(0),
    )
}

pub(crate) fn overdue(
    conn: &dyn Conn,
    now: OffsetDateTime,
    escalate_after: time::Duration,
    limit: u32,
) -> Result<Vec<crate::Overdue>> {
    conn.all(
        "SELECT id, due_at, due_kind, reminded_for IS NOT DISTINCT FROM due_at, \
                escalated_for IS NOT DISTINCT FROM due_at FROM reports \
         WHERE due_at IS NOT NULL AND due_at <= ?1 \
           AND (reminded_for IS DISTINCT FROM due_at \
                OR (escalated_for IS DISTINCT FROM due_at AND due_at <= ?2)) \
         ORDER BY due_at LIMIT ?3",
        args![ms(now), ms(now - escalate_after), limit],
        |r| {
            let due_at = from_ms(r.get(1)?);
            let reminded: bool = r.get(3)?;
            let escalated: bool = r.get(4)?;
            Ok(crate::Overdue {
                report: ReportId(r.get(0)?),
                due_at,
                due_kind: parse(2, r.get(2)?)?,
                remind: !reminded,
                escalate: !escalated && due_at <= now - escalate_after,
            })
        },
    )
}

/// Marks a reminder or escalation as written for the deadline `due_at`; false if
/// the deadline moved or it was already marked.
pub(crate) fn mark_overdue(
    conn: &dyn Conn,
    report: ReportId,
    due_at: OffsetDateTime,
    escalate: bool,
) -> Result<bool> {
    let sql = if escalate {
        "UPDATE reports SET escalated_for = due_at WHERE id = ?1 AND due_at = ?2 AND escalated_for IS DISTINCT FROM due_at"
    } else {
        "UPDATE reports SET reminded_for = due_at WHERE id = ?1 AND due_at = ?2 AND reminded_for IS DISTINCT FROM due_at"
    };
    Ok(conn.execute(sql, args![report.0, ms(due_at)])? == 1)
}

pub(crate) fn insert_layer(
    conn: &dyn Conn,
    name: &str,
    kind: &str,
    now: OffsetDateTime,
) -> Result<i64> {
    // An import killed mid-way (a crash, kill -9) left its half layer behind: one
    // still 'importing' after a day is dropped when the next import begins.
    let stale: Vec<i64> = conn.all(
        "SELECT id FROM layers WHERE status = 'importing' AND created_at < ?1",
        args![ms(now - time::Duration::days(1))],
        |r| r.get(0),
    )?;
    for id in stale {
        drop_layer(conn, id)?;
    }
    Ok(conn.insert(
        "INSERT INTO layers (name, kind, status, created_at) VALUES (?1, ?2, 'importing', ?3) RETURNING id",
        args![name, kind, ms(now)],
    )?)
}

pub(crate) fn insert_layer_features(
    conn: &dyn Conn,
    layer: i64,
    features: &[crate::NewLayerFeature],
) -> Result<()> {
    for f in features {
        conn.execute(
            "INSERT INTO layer_features (layer_id, geometry, properties, min_lon, min_lat, max_lon, max_lat) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            args![
                layer,
                f.geometry,
                f.properties,
                f.bbox[0],
                f.bbox[1],
                f.bbox[2],
                f.bbox[3]
            ],
        )?;
    }
    Ok(())
}

pub(crate) fn drop_layer(conn: &dyn Conn, layer: i64) -> Result<()> {
    conn.execute(
        "DELETE FROM layer_features WHERE layer_id = ?1",
        args![layer],
    )?;
    conn.execute("DELETE FROM layers WHERE id = ?1", args![layer])?;
    Ok(())
}

pub(crate) fn finish_layer(conn: &dyn Conn, layer: i64) -> Result<()> {
    let name: String = conn
        .opt(
            "SELECT name FROM layers WHERE id = ?1 AND status = 'importing'",
            args![layer],
            |r| r.get(0),
        )?
        .ok_or(StoreError::NotFound)?;
    let old: Vec<i64> = conn.all(
        "SELECT id FROM layers WHERE name = ?1 AND status = 'ready'",
        args![name],
        |r| r.get(0),
    )?;
    for id in old {
        drop_layer(conn, id)?;
    }
    conn.execute(
        "UPDATE layers SET status = 'ready' WHERE id = ?1",
        args![layer],
    )?;
    let kind: String = conn.one("SELECT kind FROM layers WHERE id = ?1", args![layer], |r| {
        r.get(0)
    })?;
    if kind == "patrol_points" {
        super::patrol::sync_points(conn, layer, &name, OffsetDateTime::now_utc())?;
    }
    Ok(())
}

pub(crate) fn layers(conn: &dyn Conn) -> Result<Vec<crate::LayerInfo>> {
    conn.all(
        "SELECT l.id, l.name, l.kind, (SELECT count(*) FROM layer_features f WHERE f.layer_id = l.id), l.created_at \
         FROM layers l WHERE l.status = 'ready' ORDER BY l.name",
        args![],
        |r| {
            Ok(crate::LayerInfo {
                id: r.get(0)?,
                name: r.get(1)?,
                kind: r.get(2)?,
                feature_count: r.get::<i64>(3)? as u64,
                created_at: from_ms(r.get(4)?),
            })
        },
    )
}

pub(crate) fn layer_features(
    conn: &dyn Conn,
    layer: i64,
    bbox: Option<sentinel_geo::BBox>,
    limit: u32,
) -> Result<Vec<(String, String)>> {
    let b = bbox.unwrap_or(sentinel_geo::BBox {
        min_lon: -180.0,
        min_lat: -90.0,
        max_lon: 180.0,
        max_lat: 90.0,
    });
    let overlaps = match conn.dialect() {
        // PostGIS: the GiST index on the feature's box.
        Dialect::Postgres => "f.bbox && ST_MakeEnvelope(?2, ?3, ?4, ?5, 4326)",
        Dialect::Sqlite => {
            "f.max_lon >= ?2 AND f.min_lon <= ?4 AND f.max_lat >= ?3 AND f.min_lat <= ?5"
        }
    };
    conn.all(
        &format!(
            "SELECT f.geometry, f.properties FROM layer_features f JOIN layers l ON l.id = f.layer_id \
             WHERE f.layer_id = ?1 AND l.status = 'ready' AND {overlaps} ORDER BY f.id LIMIT ?6"
        ),
        args![layer, b.min_lon, b.min_lat, b.max_lon, b.max_lat, limit],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
}

/// Features of ready layers whose properties contain `text`, any case (`%` and `_`
/// in it are literal).
pub(crate) fn find_layer_features(
    conn: &dyn Conn,
    text: &str,
    limit: u32,
) -> Result<Vec<crate::FoundFeature>> {
    let escaped: String = text
        .to_lowercase()
        .chars()
        .flat_map(|c| match c {
            '%' | '_' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect();
    conn.all(
        "SELECT l.name, l.kind, (f.min_lon + f.max_lon) / 2, (f.min_lat + f.max_lat) / 2, f.properties \
         FROM layer_features f JOIN layers l ON l.id = f.layer_id \
         WHERE l.status = 'ready' AND lower(f.properties) LIKE ?1 ESCAPE '\\' ORDER BY f.id LIMIT ?2",
        args![format!("%{escaped}%"), limit],
        |r| {
            Ok(crate::FoundFeature {
                layer: r.get(0)?,
                kind: r.get(1)?,
                lon: r.get(2)?,
                lat: r.get(3)?,
                properties: r.get(4)?,
            })
        },
    )
}

const SENTINEL_COLUMNS: &str =
    "id, handle, display_name, phone, email, verified_at, created_at, password_hash";

fn sentinel_from_row(r: &Row<'_>) -> Result<(Sentinel, String)> {
    Ok((
        Sentinel {
            id: r.get(0)?,
            handle: r.get(1)?,
            display_name: r.get(2)?,
            phone: r.get(3)?,
            email: r.get(4)?,
            verified_at: r.get::<Option<i64>>(5)?.map(from_ms),
            created_at: from_ms(r.get(6)?),
        },
        r.get(7)?,
    ))
}

pub(crate) fn insert_sentinel(
    conn: &dyn Conn,
    new: &NewSentinel,
    now: OffsetDateTime,
) -> Result<Sentinel> {
    let inserted = conn.insert(
        "INSERT INTO sentinels (handle, display_name, phone, email, password_hash, verified_at, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id",
        args![
            new.handle,
            new.display_name,
            new.phone,
            new.email,
            new.password_hash,
            new.verified_at.map(ms),
            ms(now)
        ],
    );
    let id = match inserted {
        Err(SqlError::Constraint(msg)) => {
            let what = if msg.contains("phone") {
                "an account with this phone number"
            } else if msg.contains("email") {
                "an account with this email"
            } else if msg.contains("handle") {
                "an account with this name"
            } else {
                return Err(StoreError::InvalidTarget(
                    "an account needs a phone number or an email".into(),
                ));
            };
            return Err(StoreError::AlreadyExists(what.into()));
        }
        other => other?,
    };
    Ok(Sentinel {
        id,
        handle: new.handle.clone(),
        display_name: new.display_name.clone(),
        phone: new.phone.clone(),
        email: new.email.clone(),
        verified_at: new.verified_at.map(|t| from_ms(ms(t))),
        created_at: from_ms(ms(now)),
    })
}

pub(crate) fn sentinel(conn: &dyn Conn, key: &SentinelKey) -> Result<Option<(Sentinel, String)>> {
    let (column, value) = match key {
        SentinelKey::Handle(h) => ("handle", h.clone()),
        SentinelKey::Phone(p) => ("phone", p.clone()),
        // Emails compare without case (ASCII): SQLite's column collates NOCASE,
        // PostgreSQL's unique index is on lower(email).
        SentinelKey::Email(e) => match conn.dialect() {
            Dialect::Sqlite => ("email", e.clone()),
            Dialect::Postgres => ("lower(email)", e.to_ascii_lowercase()),
        },
    };
    conn.opt(
        &format!("SELECT {SENTINEL_COLUMNS} FROM sentinels WHERE {column} = ?1"),
        args![value],
        sentinel_from_row,
    )
}

fn membership_from_row(r: &Row<'_>) -> Result<Membership> {
    Ok(Membership {
        group: parse(0, r.get(0)?)?,
        status: parse(1, r.get(1)?)?,
        requested_at: from_ms(r.get(2)?),
        decided: match (r.get::<Option<i64>>(3)?, r.get::<Option<String>>(4)?) {
            (Some(at), Some(by)) => Some((from_ms(at), by)),
            _ => None,
        },
    })
}

fn membership(conn: &dyn Conn, id: i64, group: SentinelGroup) -> Result<Option<Membership>> {
    conn.opt(
        "SELECT group_code, status, requested_at, decided_at, decided_by FROM sentinel_groups \
         WHERE sentinel_id = ?1 AND group_code = ?2",
        args![id, group.as_str()],
        membership_from_row,
    )
}

pub(crate) fn request_group(
    conn: &dyn Conn,
    id: i64,
    group: SentinelGroup,
    now: OffsetDateTime,
) -> Result<Membership> {
    match membership(conn, id, group)? {
        Some(m) if m.status != MembershipStatus::Declined => {
            return Err(StoreError::AlreadyExists(format!(
                "a {} membership or request",
                group.as_str()
            )));
        }
        _ => {}
    }
    conn.execute(
        "INSERT INTO sentinel_groups (sentinel_id, group_code, status, requested_at) VALUES (?1, ?2, 'requested', ?3) \
         ON CONFLICT (sentinel_id, group_code) DO UPDATE SET status = 'requested', requested_at = ?3, \
         decided_at = NULL, decided_by = NULL",
        args![id, group.as_str(), ms(now)],
    )?;
    membership(conn, id, group)?.ok_or(StoreError::NotFound)
}

pub(crate) fn decide_group(
    conn: &dyn Conn,
    id: i64,
    group: SentinelGroup,
    approve: bool,
    by: &str,
    now: OffsetDateTime,
) -> Result<Membership> {
    let status = if approve {
        MembershipStatus::Approved
    } else {
        MembershipStatus::Declined
    };
    let changed = conn.execute(
        "UPDATE sentinel_groups SET status = ?3, decided_at = ?4, decided_by = ?5 \
         WHERE sentinel_id = ?1 AND group_code = ?2 AND status = 'requested'",
        args![id, group.as_str(), status.as_str(), ms(now), by],
    )?;
    if changed == 0 {
        return Err(StoreError::NotFound);
    }
    membership(conn, id, group)?.ok_or(StoreError::NotFound)
}

pub(crate) fn memberships(conn: &dyn Conn, handle: &str) -> Result<Vec<Membership>> {
    conn.all(
        "SELECT g.group_code, g.status, g.requested_at, g.decided_at, g.decided_by \
         FROM sentinel_groups g JOIN sentinels s ON s.id = g.sentinel_id WHERE s.handle = ?1 \
         ORDER BY g.requested_at, g.group_code",
        args![handle],
        membership_from_row,
    )
}

pub(crate) fn group_counts(conn: &dyn Conn) -> Result<Vec<(SentinelGroup, MembershipStatus, u64)>> {
    conn.all(
        "SELECT group_code, status, count(*) FROM sentinel_groups GROUP BY group_code, status ORDER BY group_code, status",
        args![],
        |r| {
            Ok((
                parse::<SentinelGroup>(0, r.get(0)?)?,
                parse::<MembershipStatus>(1, r.get(1)?)?,
                r.get::<i64>(2)? as u64,
            ))
        },
    )
}

fn open311_client_from_row(r: &Row<'_>) -> Result<Open311Client> {
    Ok(Open311Client {
        id: r.get(0)?,
        name: r.get(1)?,
        created_at: from_ms(r.get(2)?),
        revoked_at: r.get::<Option<i64>>(3)?.map(from_ms),
    })
}

pub(crate) fn insert_open311_client(
    conn: &dyn Conn,
    name: &str,
    hash: &str,
    now: OffsetDateTime,
) -> Result<Open311Client> {
    let id = match conn.insert(
        "INSERT INTO open311_clients (name, key_hash, created_at) VALUES (?1, ?2, ?3) RETURNING id",
        args![name, hash, ms(now)],
    ) {
        Err(SqlError::Constraint(_)) => {
            return Err(StoreError::AlreadyExists(format!("Open311 client {name}")));
        }
        other => other?,
    };
    Ok(Open311Client {
        id,
        name: name.to_owned(),
        created_at: from_ms(ms(now)),
        revoked_at: None,
    })
}

pub(crate) fn open311_clients(conn: &dyn Conn) -> Result<Vec<Open311Client>> {
    conn.all(
        "SELECT id, name, created_at, revoked_at FROM open311_clients ORDER BY id",
        args![],
        open311_client_from_row,
    )
}

pub(crate) fn revoke_open311_client(
    conn: &dyn Conn,
    name: &str,
    now: OffsetDateTime,
) -> Result<()> {
    let n = conn.execute(
        "UPDATE open311_clients SET revoked_at = coalesce(revoked_at, ?2) WHERE name = ?1",
        args![name, ms(now)],
    )?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

pub(crate) fn open311_client_for_key(conn: &dyn Conn, hash: &str) -> Result<Option<Open311Client>> {
    conn.opt(
        "SELECT id, name, created_at, revoked_at FROM open311_clients WHERE key_hash = ?1 AND revoked_at IS NULL",
        args![hash],
        open311_client_from_row,
    )
}

pub(crate) fn insert_open311_token(
    conn: &dyn Conn,
    token: &str,
    report: ReportId,
    client: i64,
    now: OffsetDateTime,
) -> Result<()> {
    conn.execute(
        "INSERT INTO open311_tokens (token, report_id, client_id, created_at) VALUES (?1, ?2, ?3, ?4)",
        args![token, report.0, client, ms(now)],
    )?;
    Ok(())
}

pub(crate) fn open311_token(conn: &dyn Conn, token: &str) -> Result<Option<ReportId>> {
    Ok(conn
        .opt(
            "SELECT report_id FROM open311_tokens WHERE token = ?1",
            args![token],
            |r| r.get::<i64>(0),
        )?
        .map(ReportId))
}

pub(crate) fn set_code(
    conn: &dyn Conn,
    id: i64,
    hash: &str,
    expires: OffsetDateTime,
) -> Result<()> {
    conn.execute(
        "INSERT INTO sentinel_codes (sentinel_id, code_hash, expires_at, attempts) VALUES (?1, ?2, ?3, 0) \
         ON CONFLICT (sentinel_id) DO UPDATE SET code_hash = ?2, expires_at = ?3, attempts = 0",
        args![id, hash, ms(expires)],
    )?;
    Ok(())
}

/// Most wrong codes before a new one must be asked for.
const MAX_CODE_ATTEMPTS: i64 = 5;

pub(crate) fn verify_sentinel(
    conn: &dyn Conn,
    key: &SentinelKey,
    hash: &str,
    password_hash: Option<&str>,
    now: OffsetDateTime,
) -> Result<Option<Sentinel>> {
    let Some((s, _)) = sentinel(conn, key)? else {
        return Ok(None);
    };
    let row: Option<(String, i64, i64)> = conn.opt(
        &format!(
            "SELECT code_hash, expires_at, attempts FROM sentinel_codes WHERE sentinel_id = ?1{}",
            super::for_update(conn, "")
        ),
        args![s.id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let Some((stored, expires, attempts)) = row else {
        return Ok(None);
    };
    if attempts >= MAX_CODE_ATTEMPTS || expires < ms(now) {
        return Ok(None);
    }
    if stored != hash {
        conn.execute(
            "UPDATE sentinel_codes SET attempts = attempts + 1 WHERE sentinel_id = ?1",
            args![s.id],
        )?;
        return Ok(None);
    }
    conn.execute(
        "DELETE FROM sentinel_codes WHERE sentinel_id = ?1",
        args![s.id],
    )?;
    conn.execute(
        "UPDATE sentinels SET verified_at = coalesce(verified_at, ?2) WHERE id = ?1",
        args![s.id, ms(now)],
    )?;
    if let Some(h) = password_hash {
        conn.execute(
            "UPDATE sentinels SET password_hash = ?2 WHERE id = ?1",
            args![s.id, h],
        )?;
    }
    Ok(sentinel(conn, &SentinelKey::Handle(s.handle))?.map(|x| x.0))
}

pub(crate) fn insert_sentinel_session(
    conn: &dyn Conn,
    id_hash: &str,
    sentinel: i64,
    now: OffsetDateTime,
    expires: OffsetDateTime,
) -> Result<()> {
    conn.execute(
        "INSERT INTO sentinel_sessions (id_hash, sentinel_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
        args![id_hash, sentinel, ms(now), ms(expires)],
    )?;
    Ok(())
}

pub(crate) fn sentinel_for_session(
    conn: &dyn Conn,
    id_hash: &str,
    now: OffsetDateTime,
) -> Result<Option<Sentinel>> {
    let columns = SENTINEL_COLUMNS
        .split(", ")
        .map(|c| format!("s.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    Ok(conn
        .opt(
            &format!(
                "SELECT {columns} FROM sentinels s JOIN sentinel_sessions x ON x.sentinel_id = s.id \
                 WHERE x.id_hash = ?1 AND x.expires_at > ?2 AND s.verified_at IS NOT NULL"
            ),
            args![id_hash, ms(now)],
            sentinel_from_row,
        )?
        .map(|x| x.0))
}

pub(crate) fn end_sentinel_session(conn: &dyn Conn, id_hash: &str) -> Result<()> {
    conn.execute(
        "DELETE FROM sentinel_sessions WHERE id_hash = ?1",
        args![id_hash],
    )?;
    Ok(())
}

pub(crate) fn standing(conn: &dyn Conn, handle: &str) -> Result<Standing> {
    conn.one(
        "SELECT count(*), \
                coalesce(sum(CASE WHEN status <> 'submitted' THEN 1 ELSE 0 END), 0), \
                coalesce(sum(CASE WHEN status NOT IN ('submitted', 'rejected') THEN 1 ELSE 0 END), 0), \
                CAST(coalesce(sum(supporters - 1), 0) AS BIGINT) \
         FROM reports WHERE account = ?1",
        args![handle],
        |r| {
            Ok(Standing {
                filed: r.get::<i64>(0)? as u64,
                judged: r.get::<i64>(1)? as u64,
                valid: r.get::<i64>(2)? as u64,
                supporters: r.get::<i64>(3)?.max(0) as u64,
            })
        },
    )
}

pub(crate) fn group_requests(conn: &dyn Conn) -> Result<Vec<(String, String, Membership)>> {
    conn.all(
        "SELECT g.group_code, g.status, g.requested_at, g.decided_at, g.decided_by, s.handle, s.display_name \
         FROM sentinel_groups g JOIN sentinels s ON s.id = g.sentinel_id \
         WHERE g.status = 'requested' ORDER BY g.requested_at, s.handle LIMIT 500",
        args![],
        |r| Ok((r.get(5)?, r.get(6)?, membership_from_row(r)?)),
    )
}

pub(crate) fn queue_counts(conn: &dyn Conn, now: OffsetDateTime) -> Result<crate::QueueCounts> {
    let count = |sql: &str, p: &[Param<'_>]| -> Result<u64> {
        Ok(conn.one(sql, p, |r| r.get::<i64>(0))? as u64)
    };
    Ok(crate::QueueCounts {
        new: count(
            "SELECT count(*) FROM reports WHERE status = 'submitted'",
            args![],
        )?,
        overdue: count(
            "SELECT count(*) FROM reports WHERE due_at IS NOT NULL AND due_at < ?1",
            args![ms(now)],
        )?,
        returned: count(
            "SELECT count(*) FROM reports WHERE status = 'returned'",
            args![],
        )?,
        escalated: count(
            "SELECT count(*) FROM reports WHERE due_at IS NOT NULL AND escalated_for = due_at",
            args![],
        )?,
    })
}

thread_local! {
    /// The feed rows of the batch being written on this writer thread: added
    /// together just before its COMMIT (see [`flush_feed`]).
    static PENDING_FEED: std::cell::RefCell<Vec<(&'static str, i64, i64)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// `(?1, ?2), (?3, ?4), ...`: `rows` groups of `cols` numbered placeholders, each
/// followed by `constants` (SQL literals, or empty), for a multi-row VALUES list.
pub(crate) fn value_rows(rows: usize, cols: usize, constants: &str) -> String {
    (0..rows)
        .map(|r| {
            let marks: Vec<String> = (1..=cols).map(|c| format!("?{}", r * cols + c)).collect();
            if constants.is_empty() {
                format!("({})", marks.join(", "))
            } else {
                format!("({}, {constants})", marks.join(", "))
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Notes a change for the feed; the writer adds it with the rest of its batch.
pub(crate) fn feed(kind: &'static str, reference: i64, at: OffsetDateTime) {
    PENDING_FEED.with(|f| f.borrow_mut().push((kind, reference, ms(at))));
}

/// How many feed rows are pending: a job's own rows are those after this mark.
pub(crate) fn feed_mark() -> usize {
    PENDING_FEED.with(|f| f.borrow().len())
}

/// Forgets the feed rows after `mark` (their job was rolled back).
pub(crate) fn feed_truncate(mark: usize) {
    PENDING_FEED.with(|f| f.borrow_mut().truncate(mark));
}

/// Adds the batch's feed rows, in order, last thing before COMMIT. In
/// PostgreSQL several writers on several nodes commit at once: the
/// transaction-scoped advisory lock taken here (held to COMMIT) makes sequence
/// numbers follow commit order, so a reader tailing the feed never passes a
/// number whose row is still to commit; it is held only for this insert and the
/// COMMIT. The notification (sent at COMMIT) wakes every node's tail.
pub(crate) fn flush_feed(conn: &dyn Conn) -> Result<()> {
    let rows = PENDING_FEED.with(|f| std::mem::take(&mut *f.borrow_mut()));
    if rows.is_empty() {
        return Ok(());
    }
    if conn.dialect() == Dialect::Postgres {
        conn.one(
            "SELECT 1 FROM (SELECT pg_advisory_xact_lock(?1), pg_notify('sentinel_feed', '')) l",
            args![FEED_LOCK],
            |_| Ok(()),
        )?;
    }
    for chunk in rows.chunks(500) {
        let sql = format!(
            "INSERT INTO feed (kind, ref, at) VALUES {}",
            value_rows(chunk.len(), 3, "")
        );
        let params: Vec<Param<'_>> = chunk
            .iter()
            .flat_map(|(kind, reference, at)| {
                [Param::Text(kind), Param::Int(*reference), Param::Int(*at)]
            })
            .collect();
        conn.execute(&sql, &params)?;
    }
    Ok(())
}

/// The advisory lock key that orders feed writers in PostgreSQL.
pub(crate) const FEED_LOCK: i64 = 0x5345_4e54_4645_4544; // "SENTFEED"

/// Inserts several plain submissions (no Idempotency-Key) at once: their photos,
/// reports and first events each in one multi-row statement, instead of a
/// statement per row. Any failure (a tracking code taken, a constraint) fails
/// the whole group; the caller then files each on its own.
pub(crate) fn insert_group(conn: &dyn Conn, subs: &[crate::Submission]) -> Result<Vec<Report>> {
    let mut seen = std::collections::HashSet::new();
    let photos: Vec<(&PhotoRecord, OffsetDateTime)> = subs
        .iter()
        .flat_map(|s| s.photos.iter().map(move |p| (p, s.now)))
        .filter(|(p, _)| seen.insert(p.id.as_str()))
        .collect();
    for chunk in photos.chunks(1_000) {
        let sql = format!(
            "INSERT INTO photos (id, mime, width, height, bytes, created_at, phash) VALUES {} \
             ON CONFLICT (id) DO NOTHING",
            value_rows(chunk.len(), 7, "")
        );
        let mut params = Vec::with_capacity(chunk.len() * 7);
        for (p, now) in chunk {
            params.extend([
                Param::Text(&p.id),
                Param::Text(&p.mime),
                Param::Int(i64::from(p.width)),
                Param::Int(i64::from(p.height)),
                Param::Int(p.bytes as i64),
                Param::Int(ms(*now)),
                p.phash.map_or(Param::Null, |h| Param::Int(h as i64)),
            ]);
        }
        conn.execute(&sql, &params)?;
    }
    let rows = subs
        .iter()
        .map(|s| ReportRow::new(&s.report, &s.photos, s.now))
        .collect::<Result<Vec<_>>>()?;
    let sql = format!(
        "INSERT INTO reports ({NEW_REPORT_COLUMNS}) VALUES {} \
         ON CONFLICT (tracking_code) DO NOTHING RETURNING id, tracking_code",
        value_rows(rows.len(), ReportRow::PARAMS, ReportRow::CONSTANTS)
    );
    let params: Vec<Param<'_>> = rows.iter().flat_map(ReportRow::params).collect();
    let ids: std::collections::HashMap<String, i64> = conn
        .all(&sql, &params, |r| {
            Ok((r.get::<String>(1)?, r.get::<i64>(0)?))
        })?
        .into_iter()
        .collect();
    drop(params);
    if ids.len() != rows.len() {
        return Err(StoreError::AlreadyExists("a tracking code".into()));
    }
    let reports: Vec<Report> = rows
        .into_iter()
        .map(|row| {
            let id = ids.get(row.code()).copied().unwrap_or_default();
            row.report(id)
        })
        .collect();
    let data: Vec<String> = subs
        .iter()
        .map(|s| {
            serde_json::json!({ "channel": s.report.channel.as_str(), "photos": s.photos.len() })
                .to_string()
        })
        .collect();
    let sql = format!(
        "INSERT INTO events (report_id, at, actor, data, action, to_status) VALUES {}",
        value_rows(reports.len(), 4, "'submit', 'submitted'")
    );
    let params: Vec<Param<'_>> = reports
        .iter()
        .zip(subs)
        .zip(&data)
        .flat_map(|((r, s), d)| {
            [
                Param::Int(r.id.0),
                Param::Int(ms(s.now)),
                Param::Text(&s.actor),
                Param::Text(d),
            ]
        })
        .collect();
    conn.execute(&sql, &params)?;
    for (r, s) in reports.iter().zip(subs) {
        feed("report", r.id.0, s.now);
    }
    Ok(reports)
}
