//! Statements for patrol points and their visits.

use super::queries::{feed, from_ms, ms};
use super::{Conn, Dialect, Row, args};
use crate::{PatrolPoint, PatrolVisit, Result, StoreError};
use sentinel_core::Fix;
use sentinel_geo::Point;
use time::{Duration, OffsetDateTime};

/// A unit lingering at a point counts once per this long.
const DEBOUNCE: Duration = Duration::minutes(30);

/// Brings the patrol points in step with a patrol layer that was just made ready:
/// points are matched by code (the feature's `code`, else its `name`); those that
/// left the layer stop counting, their visits kept.
pub(crate) fn sync_points(
    conn: &dyn Conn,
    layer: i64,
    layer_name: &str,
    now: OffsetDateTime,
) -> Result<()> {
    conn.execute(
        "UPDATE patrol_points SET active = 0, updated_at = ?2 WHERE layer_name = ?1",
        args![layer_name, ms(now)],
    )?;
    let (code, name) = (
        conn.json_text("properties", &["code"]),
        conn.json_text("properties", &["name"]),
    );
    let radius = conn.json_number("properties", &["radius_m"]);
    let visits = conn.json_number("properties", &["visits_per_day"]);
    // 128 random bits, as hex, for the printed QR code.
    let token = match conn.dialect() {
        Dialect::Sqlite => "lower(hex(randomblob(16)))",
        Dialect::Postgres => "replace(gen_random_uuid()::text, '-', '')",
    };
    conn.execute(
        &format!("INSERT INTO patrol_points (code, name, lat, lon, radius_m, visits_per_day, qr_token, layer_name, active, updated_at) \
         SELECT COALESCE({code}, {name}, 'P' || id), COALESCE({name}, {code}, 'P' || id), \
                min_lat, min_lon, {radius}, CAST({visits} AS INTEGER), {token}, CAST(?2 AS TEXT), 1, CAST(?3 AS BIGINT) \
         FROM layer_features WHERE layer_id = ?1 \
         ON CONFLICT (code) DO UPDATE SET name = excluded.name, lat = excluded.lat, lon = excluded.lon, \
                radius_m = excluded.radius_m, visits_per_day = excluded.visits_per_day, \
                layer_name = excluded.layer_name, active = 1, updated_at = excluded.updated_at"),
        args![layer, layer_name, ms(now)],
    )?;
    Ok(())
}

fn visit_from_row(r: &Row<'_>) -> Result<PatrolVisit> {
    Ok(PatrolVisit {
        id: r.get(0)?,
        point: r.get(1)?,
        point_name: r.get(2)?,
        unit: r.get(3)?,
        user: r.get(4)?,
        at: from_ms(r.get(5)?),
        method: r.get(6)?,
    })
}

const VISIT_SELECT: &str = "SELECT v.id, v.point_id, p.name, v.unit_id, v.user_name, v.at, v.method \
     FROM patrol_visits v JOIN patrol_points p ON p.id = v.point_id";

pub(crate) fn visit(conn: &dyn Conn, id: i64) -> Result<Option<PatrolVisit>> {
    conn.opt(
        &format!("{VISIT_SELECT} WHERE v.id = ?1"),
        args![id],
        visit_from_row,
    )
}

pub(crate) fn visits(conn: &dyn Conn, point: i64, limit: u32) -> Result<Vec<PatrolVisit>> {
    conn.all(
        &format!("{VISIT_SELECT} WHERE v.point_id = ?1 ORDER BY v.at DESC, v.id DESC LIMIT ?2"),
        args![point, limit],
        visit_from_row,
    )
}

pub(crate) fn insert_visit(
    conn: &dyn Conn,
    point: i64,
    unit: Option<i64>,
    user: Option<&str>,
    method: &str,
    at: OffsetDateTime,
) -> Result<PatrolVisit> {
    let active: Option<i64> = conn.opt(
        "SELECT active FROM patrol_points WHERE id = ?1",
        args![point],
        |r| r.get(0),
    )?;
    if active != Some(1) {
        return Err(StoreError::NotFound);
    }
    let id = conn.insert(
        "INSERT INTO patrol_visits (point_id, unit_id, user_name, at, method) VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
        args![point, unit, user, ms(at), method],
    )?;
    feed("visit", id, at);
    visit(conn, id)?.ok_or(StoreError::NotFound)
}

/// Records a visit for every active point whose radius the fix falls within,
/// unless this unit already visited it in the last half hour.
pub(crate) fn geofence(conn: &dyn Conn, unit: i64, fix: &Fix) -> Result<()> {
    let (lat, lon) = (fix.point.lat(), fix.point.lon());
    // Radii are at most a few hundred metres: a 0.01 degree box (about 1.1 km)
    // holds every candidate.
    let near: Vec<(i64, f64, f64, f64)> = conn.all(
        "SELECT id, lat, lon, radius_m FROM patrol_points \
         WHERE active = 1 AND lat BETWEEN ?1 AND ?2 AND lon BETWEEN ?3 AND ?4",
        args![lat - 0.01, lat + 0.01, lon - 0.0125, lon + 0.0125],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )?;
    for (id, plat, plon, radius) in near {
        let Ok(p) = Point::new(plat, plon) else {
            continue;
        };
        if p.distance_m(&fix.point) > radius {
            continue;
        }
        let recent: bool = conn.one(
            "SELECT EXISTS (SELECT 1 FROM patrol_visits WHERE unit_id = ?1 AND point_id = ?2 AND at > ?3 AND at <= ?4)",
            args![unit, id, ms(fix.at - DEBOUNCE), ms(fix.at + DEBOUNCE)],
            |r| r.get(0),
        )?;
        if !recent {
            insert_visit(conn, id, Some(unit), None, "geofence", fix.at)?;
        }
    }
    Ok(())
}

pub(crate) fn points(conn: &dyn Conn, since: OffsetDateTime) -> Result<Vec<PatrolPoint>> {
    conn.all(
        "SELECT p.id, p.code, p.name, p.lat, p.lon, p.radius_m, p.visits_per_day, p.qr_token, \
                (SELECT count(*) FROM patrol_visits v WHERE v.point_id = p.id AND v.at >= ?1), \
                (SELECT max(at) FROM patrol_visits v WHERE v.point_id = p.id) \
         FROM patrol_points p WHERE p.active = 1 ORDER BY p.name, p.id",
        args![ms(since)],
        |r| {
            Ok(PatrolPoint {
                id: r.get(0)?,
                code: r.get(1)?,
                name: r.get(2)?,
                lat: r.get(3)?,
                lon: r.get(4)?,
                radius_m: r.get(5)?,
                visits_per_day: r.get::<i64>(6)?.clamp(0, i64::from(u32::MAX)) as u32,
                qr_token: r.get(7)?,
                visits: r.get::<i64>(8)? as u32,
                last_visit: r.get::<Option<i64>>(9)?.map(from_ms),
            })
        },
    )
}

pub(crate) fn point_by_token(conn: &dyn Conn, token: &str) -> Result<Option<i64>> {
    conn.opt(
        "SELECT id FROM patrol_points WHERE qr_token = ?1 AND active = 1",
        args![token],
        |r| r.get(0),
    )
}
