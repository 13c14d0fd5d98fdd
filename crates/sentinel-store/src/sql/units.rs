//! Statements for units, dispatches, the change feed and the map's report points.

use super::queries::{feed, from_ms, ms, parse};
use super::{Conn, Row, SqlError, args};
use crate::{
    DispatchRequest, DispatchesOf, FeedEntry, FeedItem, FeedPage, ReportPoint, Result, StoreError,
};
use sentinel_core::dispatch::{check_assignable, check_duty_change, check_step};
use sentinel_core::{
    Dispatch, DispatchStep, Fix, NewUnit, Priority, ReportId, Role, Status, StepRecord, Unit,
    UnitStatus,
};
use sentinel_geo::Point;
use std::collections::HashMap;
use time::OffsetDateTime;

const UNIT_COLUMNS: &str = "id, callsign, kind, tracker_id, user_name, department, status, \
     lat, lon, accuracy_m, speed_mps, bearing, position_at, dispatch_id, updated_at";

fn unit_from_row(r: &Row<'_>) -> Result<Unit> {
    let lat: Option<f64> = r.get(7)?;
    let lon: Option<f64> = r.get(8)?;
    let at: Option<i64> = r.get(12)?;
    let position = match (lat, lon, at) {
        (Some(lat), Some(lon), Some(at)) => Point::new(lat, lon).ok().map(|point| Fix {
            point,
            at: from_ms(at),
            accuracy_m: r.get(9).ok().flatten(),
            speed_mps: r.get(10).ok().flatten(),
            bearing: r.get(11).ok().flatten(),
        }),
        _ => None,
    };
    Ok(Unit {
        id: r.get(0)?,
        callsign: r.get(1)?,
        kind: r.get(2)?,
        tracker_id: r.get(3)?,
        user: r.get(4)?,
        department: r.get(5)?,
        status: parse(6, r.get(6)?)?,
        position,
        dispatch: r.get(13)?,
        updated_at: from_ms(r.get(14)?),
    })
}

pub(crate) fn insert_units(
    conn: &dyn Conn,
    units: &[NewUnit],
    now: OffsetDateTime,
) -> Result<Vec<Unit>> {
    let mut out = Vec::with_capacity(units.len());
    for u in units {
        let p = u.position.as_ref();
        let done = conn.insert(
            "INSERT INTO units (callsign, kind, tracker_id, user_name, department, status, \
             lat, lon, accuracy_m, speed_mps, bearing, position_at, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13) RETURNING id",
            args![
                u.callsign,
                u.kind,
                u.tracker_id,
                u.user,
                u.department,
                u.status.as_str(),
                p.map(|f| f.point.lat()),
                p.map(|f| f.point.lon()),
                p.and_then(|f| f.accuracy_m),
                p.and_then(|f| f.speed_mps),
                p.and_then(|f| f.bearing),
                p.map(|f| ms(f.at)),
                ms(now),
            ],
        );
        let id = match done {
            Err(SqlError::Constraint(_)) => {
                return Err(StoreError::AlreadyExists(format!(
                    "a unit with callsign {} or its tracker id",
                    u.callsign
                )));
            }
            other => other?,
        };
        feed("unit", id, now);
        out.push(unit(conn, id)?.ok_or(StoreError::NotFound)?);
    }
    Ok(out)
}

pub(crate) fn unit(conn: &dyn Conn, id: i64) -> Result<Option<Unit>> {
    conn.opt(
        &format!(
            "SELECT {UNIT_COLUMNS} FROM units WHERE id = ?1{}",
            super::for_update(conn, "")
        ),
        args![id],
        unit_from_row,
    )
}

pub(crate) fn unit_where(conn: &dyn Conn, column: &str, value: &str) -> Result<Option<Unit>> {
    debug_assert!(matches!(column, "tracker_id" | "user_name"));
    conn.opt(
        &format!("SELECT {UNIT_COLUMNS} FROM units WHERE {column} = ?1 ORDER BY id LIMIT 1"),
        args![value],
        unit_from_row,
    )
}

pub(crate) fn units(conn: &dyn Conn) -> Result<Vec<Unit>> {
    conn.all(
        &format!("SELECT {UNIT_COLUMNS} FROM units ORDER BY callsign"),
        args![],
        unit_from_row,
    )
}

pub(crate) fn record_positions(
    conn: &dyn Conn,
    id: i64,
    fixes: &[Fix],
    now: OffsetDateTime,
) -> Result<Unit> {
    let current = unit(conn, id)?.ok_or(StoreError::NotFound)?;
    for f in fixes {
        conn.execute(
            "INSERT INTO unit_positions (unit_id, at, lat, lon, accuracy_m, speed_mps, bearing, received_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            args![
                id,
                ms(f.at),
                f.point.lat(),
                f.point.lon(),
                f.accuracy_m,
                f.speed_mps,
                f.bearing,
                ms(now)
            ],
        )?;
    }
    let mut in_order: Vec<&Fix> = fixes.iter().collect();
    in_order.sort_by_key(|f| f.at);
    for f in in_order {
        super::patrol::geofence(conn, id, f)?;
    }
    let newest = fixes.iter().max_by_key(|f| f.at);
    if let Some(f) = newest
        && current.position.is_none_or(|p| f.at > p.at)
    {
        conn.execute(
            "UPDATE units SET lat = ?2, lon = ?3, accuracy_m = ?4, speed_mps = ?5, bearing = ?6, \
             position_at = ?7, updated_at = ?8 WHERE id = ?1",
            args![
                id,
                f.point.lat(),
                f.point.lon(),
                f.accuracy_m,
                f.speed_mps,
                f.bearing,
                ms(f.at),
                ms(now)
            ],
        )?;
        feed("unit", id, now);
    }
    unit(conn, id)?.ok_or(StoreError::NotFound)
}

pub(crate) fn set_duty(
    conn: &dyn Conn,
    id: i64,
    to: UnitStatus,
    now: OffsetDateTime,
) -> Result<Unit> {
    let u = unit(conn, id)?.ok_or(StoreError::NotFound)?;
    check_duty_change(&u.callsign, u.status, to)?;
    if u.status != to {
        conn.execute(
            "UPDATE units SET status = ?2, updated_at = ?3 WHERE id = ?1",
            args![id, to.as_str(), ms(now)],
        )?;
        feed("unit", id, now);
    }
    unit(conn, id)?.ok_or(StoreError::NotFound)
}

fn report_code_and_status(conn: &dyn Conn, id: ReportId) -> Result<(String, Status)> {
    conn.opt(
        &format!(
            "SELECT tracking_code, status FROM reports WHERE id = ?1{}",
            super::for_update(conn, "")
        ),
        args![id.0],
        |r| Ok((r.get::<String>(0)?, parse::<Status>(1, r.get(1)?)?)),
    )?
    .ok_or(StoreError::NotFound)
}

pub(crate) fn dispatch(conn: &dyn Conn, req: &DispatchRequest) -> Result<Dispatch> {
    let (_code, status) = report_code_and_status(conn, req.report)?;
    if !status.is_open() {
        return Err(StoreError::InvalidTarget(format!(
            "the report is {status}; only open reports take a dispatch"
        )));
    }
    let u = unit(conn, req.unit)?.ok_or(StoreError::NotFound)?;
    let engaged_on = match u.dispatch {
        Some(d) => dispatch_by_id(conn, d)?.map(|d| d.report),
        None => None,
    };
    check_assignable(&u.callsign, u.status, engaged_on.as_deref())?;
    let id = conn.insert(
        "INSERT INTO dispatches (report_id, unit_id, step, distance_m, eta_s, created_at, updated_at) \
         VALUES (?1, ?2, 'assigned', ?3, ?4, ?5, ?5) RETURNING id",
        args![req.report.0, req.unit, req.distance_m, req.eta_s, ms(req.now)],
    )?;
    insert_step(conn, id, DispatchStep::Assigned, &req.by, req.now)?;
    conn.execute(
        "UPDATE units SET status = ?2, dispatch_id = ?3, updated_at = ?4 WHERE id = ?1",
        args![req.unit, UnitStatus::Dispatched.as_str(), id, ms(req.now)],
    )?;
    feed("dispatch", id, req.now);
    feed("unit", req.unit, req.now);
    dispatch_by_id(conn, id)?.ok_or(StoreError::NotFound)
}

fn insert_step(
    conn: &dyn Conn,
    dispatch: i64,
    step: DispatchStep,
    actor: &str,
    now: OffsetDateTime,
) -> Result<()> {
    conn.execute(
        "INSERT INTO dispatch_steps (dispatch_id, step, at, actor) VALUES (?1, ?2, ?3, ?4)",
        args![dispatch, step.as_str(), ms(now), actor],
    )?;
    Ok(())
}

pub(crate) fn dispatch_step(
    conn: &dyn Conn,
    id: i64,
    step: DispatchStep,
    user: &str,
    role: Role,
    now: OffsetDateTime,
) -> Result<Dispatch> {
    let d = dispatch_by_id(conn, id)?.ok_or(StoreError::NotFound)?;
    let u = unit(conn, d.unit)?.ok_or(StoreError::NotFound)?;
    let own = u.user.as_deref() == Some(user);
    check_step(d.step, step, role, own)?;
    conn.execute(
        "UPDATE dispatches SET step = ?2, updated_at = ?3 WHERE id = ?1",
        args![id, step.as_str(), ms(now)],
    )?;
    insert_step(conn, id, step, user, now)?;
    // The unit follows its current dispatch; a stale dispatch (the unit moved on)
    // changes nothing on the unit.
    if u.dispatch == Some(id) {
        let current = if step.is_final() { None } else { Some(id) };
        conn.execute(
            "UPDATE units SET status = ?2, dispatch_id = ?3, updated_at = ?4 WHERE id = ?1",
            args![u.id, step.unit_status().as_str(), current, ms(now)],
        )?;
        feed("unit", u.id, now);
    }
    feed("dispatch", id, now);
    dispatch_by_id(conn, id)?.ok_or(StoreError::NotFound)
}

const DISPATCH_SELECT: &str = "SELECT d.id, r.tracking_code, d.unit_id, u.callsign, d.step, d.distance_m, d.eta_s \
     FROM dispatches d JOIN reports r ON r.id = d.report_id JOIN units u ON u.id = d.unit_id";

fn dispatch_from_row(r: &Row<'_>) -> Result<Dispatch> {
    Ok(Dispatch {
        id: r.get(0)?,
        report: r.get(1)?,
        unit: r.get(2)?,
        callsign: r.get(3)?,
        step: parse(4, r.get(4)?)?,
        distance_m: r.get(5)?,
        eta_s: r.get(6)?,
        steps: Vec::new(),
    })
}

fn with_steps(conn: &dyn Conn, mut d: Dispatch) -> Result<Dispatch> {
    d.steps = conn.all(
        "SELECT step, at, actor FROM dispatch_steps WHERE dispatch_id = ?1 ORDER BY id",
        args![d.id],
        |r| {
            Ok(StepRecord {
                step: parse(0, r.get(0)?)?,
                at: from_ms(r.get(1)?),
                by: r.get(2)?,
            })
        },
    )?;
    Ok(d)
}

pub(crate) fn dispatch_by_id(conn: &dyn Conn, id: i64) -> Result<Option<Dispatch>> {
    let d = conn.opt(
        &format!(
            "{DISPATCH_SELECT} WHERE d.id = ?1{}",
            super::for_update(conn, "d")
        ),
        args![id],
        dispatch_from_row,
    )?;
    d.map(|d| with_steps(conn, d)).transpose()
}

pub(crate) fn dispatches(conn: &dyn Conn, of: DispatchesOf, limit: u32) -> Result<Vec<Dispatch>> {
    let sql =
        |clause: &str| format!("{DISPATCH_SELECT} WHERE {clause} ORDER BY d.id DESC LIMIT ?2");
    let rows: Vec<Dispatch> = match of {
        DispatchesOf::Report(r) => conn.all(
            &sql("d.report_id = ?1"),
            args![r.0, limit],
            dispatch_from_row,
        )?,
        DispatchesOf::Unit(u) => {
            conn.all(&sql("d.unit_id = ?1"), args![u, limit], dispatch_from_row)?
        }
        DispatchesOf::OpenFor(user) => conn.all(
            &sql("u.user_name = ?1 AND d.step NOT IN ('cleared', 'cancelled')"),
            args![user, limit],
            dispatch_from_row,
        )?,
    };
    rows.into_iter().map(|d| with_steps(conn, d)).collect()
}

const POINT_COLUMNS: &str = "id, tracking_code, lat, lon, status, category, department, priority, \
     created_at, due_at, assignee";

fn point_from_row(r: &Row<'_>) -> Result<ReportPoint> {
    Ok(ReportPoint {
        id: r.get(0)?,
        code: r.get(1)?,
        lat: r.get(2)?,
        lon: r.get(3)?,
        status: parse(4, r.get(4)?)?,
        category: r.get(5)?,
        department: r.get(6)?,
        priority: parse::<Priority>(7, r.get(7)?)?,
        created_at: from_ms(r.get(8)?),
        due_at: r.get::<Option<i64>>(9)?.map(from_ms),
        assignee: r.get(10)?,
    })
}

pub(crate) fn report_points(conn: &dyn Conn, after: i64, limit: u32) -> Result<Vec<ReportPoint>> {
    conn.all(
        &format!("SELECT {POINT_COLUMNS} FROM reports WHERE id > ?1 ORDER BY id LIMIT ?2"),
        args![after, limit],
        point_from_row,
    )
}

pub(crate) fn feed_since(conn: &dyn Conn, after: i64, limit: u32) -> Result<FeedPage> {
    // Reports are most of the feed: they come joined in the same read.
    let rows: Vec<(i64, String, i64, i64, Option<ReportPoint>)> = conn.all(
        "SELECT f.seq, f.kind, f.ref, f.at, r.id, r.tracking_code, r.lat, r.lon, r.status, r.category, \
                r.department, r.priority, r.created_at, r.due_at, r.assignee \
         FROM feed f LEFT JOIN reports r ON f.kind = 'report' AND r.id = f.ref \
         WHERE f.seq > ?1 ORDER BY f.seq LIMIT ?2",
        args![after, limit],
        |r| {
        let point = match r.get::<Option<i64>>(4)? {
            Some(_) => Some(ReportPoint {
                id: r.get(4)?,
                code: r.get(5)?,
                lat: r.get(6)?,
                lon: r.get(7)?,
                status: parse(8, r.get(8)?)?,
                category: r.get(9)?,
                department: r.get(10)?,
                priority: parse::<Priority>(11, r.get(11)?)?,
                created_at: from_ms(r.get(12)?),
                due_at: r.get::<Option<i64>>(13)?.map(from_ms),
                assignee: r.get(14)?,
            }),
            None => None,
        };
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, point))
        },
    )?;
    let mut rows = rows;
    let next = rows.last().map_or(after, |r| r.0);
    // Several changes to one thing in this window: keep the latest.
    let mut latest: HashMap<(String, i64), usize> = HashMap::new();
    for (i, (_, kind, reference, _, _)) in rows.iter().enumerate() {
        latest.insert((kind.clone(), *reference), i);
    }
    let mut keep: Vec<usize> = latest.into_values().collect();
    keep.sort_unstable();
    let mut out = Vec::with_capacity(keep.len());
    for i in keep {
        let (seq, kind, reference, at, point) = &mut rows[i];
        let item = match kind.as_str() {
            "report" => point.take().map(FeedItem::Report),
            "unit" => unit(conn, *reference)?.map(FeedItem::Unit),
            "dispatch" => dispatch_by_id(conn, *reference)?.map(FeedItem::Dispatch),
            "visit" => super::patrol::visit(conn, *reference)?.map(FeedItem::Visit),
            _ => None,
        };
        if let Some(item) = item {
            out.push(FeedEntry {
                seq: *seq,
                at: from_ms(*at),
                item,
            });
        }
    }
    Ok(FeedPage { entries: out, next })
}

pub(crate) fn feed_head(conn: &dyn Conn) -> Result<i64> {
    conn.one("SELECT COALESCE(MAX(seq), 0) FROM feed", args![], |r| {
        r.get(0)
    })
}

pub(crate) fn prune_feed(conn: &dyn Conn, before: OffsetDateTime) -> Result<u64> {
    Ok(conn.execute(
        "DELETE FROM feed WHERE at < ?1 AND seq < (SELECT COALESCE(MAX(seq), 0) FROM feed)",
        args![ms(before)],
    )?)
}
