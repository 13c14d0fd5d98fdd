//! Field units and dispatch: units and their live positions (our API, and the
//! OsmAnd/Traccar HTTP protocol so existing tracker apps work unchanged), the
//! recommendation of units for a report, and the dispatch steps.

use crate::AppState;
use crate::api::reports::load_report;
use crate::auth::Staff;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::views::ts;
use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sentinel_core::dispatch::{self, Candidate, EtaModel, Want, check_position_time};
use sentinel_core::{Dispatch, DispatchStep, Fix, NewUnit, Role, Unit, UnitStatus};
use sentinel_geo::{BBox, Point};
use sentinel_store::{DispatchRequest, DispatchesOf};
use serde::Deserialize;
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

/// How far ahead of our clock a device's time may be.
const CLOCK_SKEW: Duration = Duration::minutes(5);
/// Most positions in one batch.
const MAX_BATCH: usize = 1_000;

/// A unit as staff see it. The tracker id is a credential and never shown.
pub(crate) fn unit_json(u: &Unit, now: OffsetDateTime, stale_secs: u64) -> Value {
    let p = u.position.as_ref();
    let stale = p.is_none_or(|p| now - p.at > Duration::seconds(stale_secs as i64));
    json!({
        "id": u.id,
        "callsign": u.callsign,
        "kind": u.kind,
        "status": u.status,
        "department": u.department,
        "user": u.user,
        "lat": p.map(|p| p.point.lat()),
        "lon": p.map(|p| p.point.lon()),
        "accuracy_m": p.and_then(|p| p.accuracy_m),
        "speed_mps": p.and_then(|p| p.speed_mps),
        "bearing": p.and_then(|p| p.bearing),
        "position_at": p.map(|p| ts(p.at)),
        "updated_at": ts(u.updated_at),
        "stale": stale,
        "dispatch": u.dispatch,
    })
}

pub(crate) fn dispatch_json(d: &Dispatch) -> Value {
    json!({
        "id": d.id,
        "report": d.report,
        "unit": d.unit,
        "callsign": d.callsign,
        "step": d.step,
        "distance_m": d.distance_m.map(|v| v.round()),
        "eta_s": d.eta_s.map(|v| v.round()),
        "steps": d.steps,
    })
}

async fn load_unit(s: &AppState, id: i64) -> ApiResult<Unit> {
    s.store
        .unit(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no unit {id}")))
}

/// Staff who may act for this unit: the command centre, or the unit's own account.
fn require_for_unit(staff: &Staff, unit: &Unit) -> ApiResult<()> {
    match staff.user.role {
        Role::Admin | Role::Dispatcher => Ok(()),
        Role::Unit if unit.user.as_deref() == Some(staff.user.name.as_str()) => Ok(()),
        Role::Unit => Err(ApiError::Forbidden(format!(
            "this account does not work unit {}",
            unit.callsign
        ))),
        r => Err(ApiError::Forbidden(format!("the {r} role may not do this"))),
    }
}

/// `GET /api/v1/units`
pub(crate) async fn list_units(State(s): State<AppState>, staff: Staff) -> ApiResult<Json<Value>> {
    let now = OffsetDateTime::now_utc();
    // A unit's account sees its own unit only, not every crew's live position.
    let units: Vec<Value> = s
        .store
        .units()
        .await?
        .iter()
        .filter(|u| staff.user.role != Role::Unit || require_for_unit(&staff, u).is_ok())
        .map(|u| unit_json(u, now, s.config.unit_stale_secs))
        .collect();
    Ok(Json(
        json!({ "units": units, "stale_after_s": s.config.unit_stale_secs }),
    ))
}

/// `GET /api/v1/units/{id}`
pub(crate) async fn get_unit(
    State(s): State<AppState>,
    staff: Staff,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Value>> {
    let u = load_unit(&s, id).await?;
    if staff.user.role == Role::Unit {
        require_for_unit(&staff, &u)?;
    }
    Ok(Json(unit_json(
        &u,
        OffsetDateTime::now_utc(),
        s.config.unit_stale_secs,
    )))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewUnitBody {
    callsign: String,
    kind: String,
    tracker_id: Option<String>,
    user: Option<String>,
    department: Option<String>,
    lat: Option<f64>,
    lon: Option<f64>,
    status: Option<UnitStatus>,
}

/// `POST /api/v1/units` (admin): a new unit.
pub(crate) async fn create_unit(
    State(s): State<AppState>,
    staff: Staff,
    ApiJson(b): ApiJson<NewUnitBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    staff.require(&[Role::Admin])?;
    let callsign = b.callsign.trim().to_owned();
    if callsign.is_empty() || callsign.chars().count() > 64 {
        return Err(ApiError::Unprocessable(
            "callsign must be 1 to 64 characters".into(),
        ));
    }
    let kind = b.kind.trim().to_owned();
    if kind.is_empty() || kind.len() > 64 {
        return Err(ApiError::Unprocessable(
            "kind must be 1 to 64 characters".into(),
        ));
    }
    if let Some(t) = &b.tracker_id
        && (t.len() < 6 || t.len() > 128)
    {
        return Err(ApiError::Unprocessable(
            "tracker_id must be 6 to 128 characters (trackers identify themselves by it)".into(),
        ));
    }
    let status = b.status.unwrap_or(UnitStatus::Available);
    if status.is_engaged() {
        return Err(ApiError::Unprocessable(
            "a new unit is available or off_duty".into(),
        ));
    }
    let now = OffsetDateTime::now_utc();
    let position = match (b.lat, b.lon) {
        (Some(lat), Some(lon)) => Some(Fix {
            point: Point::new(lat, lon).map_err(|e| ApiError::Unprocessable(e.to_string()))?,
            at: now,
            accuracy_m: None,
            speed_mps: None,
            bearing: None,
        }),
        (None, None) => None,
        _ => {
            return Err(ApiError::Unprocessable(
                "give both lat and lon, or neither".into(),
            ));
        }
    };
    if let Some(user) = &b.user {
        let u =
            s.store.user(user).await?.ok_or_else(|| {
                ApiError::Unprocessable(format!("no staff account named {user:?}"))
            })?;
        if u.role != Role::Unit {
            return Err(ApiError::Unprocessable(format!(
                "{user:?} is a {} account; a unit is worked by a unit account",
                u.role
            )));
        }
    }
    let created = s
        .store
        .create_units(
            vec![NewUnit {
                callsign,
                kind,
                tracker_id: b.tracker_id,
                user: b.user,
                department: b.department,
                status,
                position,
            }],
            now,
        )
        .await?;
    let u = created
        .first()
        .ok_or_else(|| ApiError::Internal("no unit created".into()))?;
    Ok((
        StatusCode::CREATED,
        Json(unit_json(u, now, s.config.unit_stale_secs)),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PositionBody {
    lat: f64,
    lon: f64,
    /// RFC 3339 time or Unix seconds; now if absent.
    timestamp: Option<Value>,
    accuracy: Option<f64>,
    /// Metres per second.
    speed: Option<f64>,
    bearing: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PositionsBody {
    positions: Vec<PositionBody>,
}

fn parse_time(v: &str) -> Result<OffsetDateTime, String> {
    let v = v.trim();
    if let Ok(n) = v.parse::<f64>() {
        // Unix seconds, or milliseconds when too large to be seconds (trackers send both).
        let secs = if n.abs() > 1e11 { n / 1000.0 } else { n };
        return OffsetDateTime::from_unix_timestamp_nanos((secs * 1e9) as i128)
            .map_err(|_| format!("timestamp {v} is out of range"));
    }
    OffsetDateTime::parse(v, &Rfc3339)
        .or_else(|_| {
            // Traccar also accepts a zone-less ISO time, meaning UTC.
            time::PrimitiveDateTime::parse(
                v,
                time::macros::format_description!(
                    "[year]-[month]-[day][first [T][ ]][hour]:[minute]:[second]"
                ),
            )
            .map(|t| t.assume_utc())
        })
        .map_err(|_| format!("timestamp {v:?} is neither Unix seconds nor an ISO 8601 time"))
}

/// Checks and converts one position report.
#[allow(clippy::too_many_arguments)]
fn make_fix(
    index: Option<usize>,
    lat: f64,
    lon: f64,
    at: Option<OffsetDateTime>,
    accuracy: Option<f64>,
    speed_mps: Option<f64>,
    bearing: Option<f64>,
    now: OffsetDateTime,
) -> Result<Fix, String> {
    let place = index
        .map(|i| format!("positions[{i}]: "))
        .unwrap_or_default();
    let point = Point::new(lat, lon).map_err(|e| format!("{place}{e}"))?;
    let at = at.unwrap_or(now);
    check_position_time(at, now, CLOCK_SKEW).map_err(|e| format!("{place}{e}"))?;
    let finite_nonneg = |v: Option<f64>, name: &str| -> Result<Option<f64>, String> {
        match v {
            Some(v) if !v.is_finite() || v < 0.0 => {
                Err(format!("{place}{name} must be a number ≥ 0"))
            }
            other => Ok(other),
        }
    };
    let bearing = match bearing {
        Some(b) if !(0.0..=360.0).contains(&b) => {
            return Err(format!("{place}bearing must be 0 to 360 degrees"));
        }
        other => other,
    };
    Ok(Fix {
        point,
        at,
        accuracy_m: finite_nonneg(accuracy, "accuracy")?,
        speed_mps: finite_nonneg(speed_mps, "speed")?,
        bearing,
    })
}

/// `POST /api/v1/units/{id}/positions`: a batch of positions (oldest or newest
/// first, any order); the newest becomes the unit's position.
pub(crate) async fn post_positions(
    State(s): State<AppState>,
    staff: Staff,
    ApiPath(id): ApiPath<i64>,
    ApiJson(b): ApiJson<PositionsBody>,
) -> ApiResult<Json<Value>> {
    let unit = load_unit(&s, id).await?;
    require_for_unit(&staff, &unit)?;
    if b.positions.is_empty() || b.positions.len() > MAX_BATCH {
        return Err(ApiError::Unprocessable(format!(
            "send 1 to {MAX_BATCH} positions"
        )));
    }
    let now = OffsetDateTime::now_utc();
    let mut fixes = Vec::with_capacity(b.positions.len());
    let mut problems = Vec::new();
    for (i, p) in b.positions.iter().enumerate() {
        let at = match &p.timestamp {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(t)) => parse_time(t).map(Some),
            Some(Value::Number(n)) => parse_time(&n.to_string()).map(Some),
            Some(_) => Err("timestamp must be a string or a number".into()),
        };
        match at.and_then(|at| {
            make_fix(
                Some(i),
                p.lat,
                p.lon,
                at,
                p.accuracy,
                p.speed,
                p.bearing,
                now,
            )
        }) {
            Ok(f) => fixes.push(f),
            Err(e) => problems.push(e),
        }
    }
    if !problems.is_empty() {
        return Err(ApiError::Unprocessable(problems.join("; ")));
    }
    let count = fixes.len();
    let u = s.store.record_positions(id, fixes, now).await?;
    Ok(Json(json!({
        "accepted": count,
        "unit": unit_json(&u, now, s.config.unit_stale_secs),
    })))
}

/// `GET|POST /osmand`: the OsmAnd/Traccar HTTP position protocol. Parameters come
/// in the query string or a form body: `id` (or `deviceid`), `lat` and `lon` (or
/// `location=lat,lon`), `timestamp` (Unix seconds or milliseconds, or ISO 8601),
/// `speed` (knots, as Traccar defines it), `bearing` (or `heading`), `accuracy`.
/// The tracker id identifies the unit, as it does in Traccar, so it should be
/// unguessable (an IMEI or a random id).
pub(crate) async fn osmand(
    State(s): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    crate::extract::ApiBytes(body): crate::extract::ApiBytes,
) -> ApiResult<Response> {
    let mut params: Vec<(String, String)> = Vec::new();
    if let Some(q) = &query {
        params.extend(form_urlencoded::parse(q.as_bytes()).into_owned());
    }
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if is_form || (!body.is_empty() && headers.get(header::CONTENT_TYPE).is_none()) {
        params.extend(form_urlencoded::parse(&body).into_owned());
    }
    let get = |names: &[&str]| -> Option<String> {
        params
            .iter()
            .find(|(k, _)| names.contains(&k.as_str()))
            .map(|(_, v)| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let Some(tracker) = get(&["id", "deviceid"]) else {
        return Err(ApiError::BadRequest(
            "the tracker id (id) is missing".into(),
        ));
    };
    let num = |names: &[&str], what: &str| -> ApiResult<Option<f64>> {
        get(names)
            .map(|v| {
                v.parse::<f64>()
                    .map_err(|_| ApiError::BadRequest(format!("{what} {v:?} is not a number")))
            })
            .transpose()
    };
    let (lat, lon) = match get(&["location"]) {
        Some(loc) => {
            let mut it = loc.split(',').map(|p| p.trim().parse::<f64>());
            match (it.next(), it.next(), it.next()) {
                (Some(Ok(a)), Some(Ok(b)), None) => (a, b),
                _ => {
                    return Err(ApiError::BadRequest(format!(
                        "location {loc:?} is not \"lat,lon\""
                    )));
                }
            }
        }
        None => match (num(&["lat"], "lat")?, num(&["lon"], "lon")?) {
            (Some(a), Some(b)) => (a, b),
            _ => {
                return Err(ApiError::BadRequest(
                    "lat and lon (or location) are required".into(),
                ));
            }
        },
    };
    let at = get(&["timestamp"])
        .map(|t| parse_time(&t))
        .transpose()
        .map_err(ApiError::BadRequest)?;
    let speed_kn = num(&["speed"], "speed")?;
    let bearing = num(&["bearing", "heading"], "bearing")?;
    let accuracy = num(&["accuracy"], "accuracy")?;
    let now = OffsetDateTime::now_utc();
    let fix = make_fix(
        None,
        lat,
        lon,
        at,
        accuracy,
        speed_kn.map(|k| k * 1852.0 / 3600.0),
        bearing,
        now,
    )
    .map_err(ApiError::BadRequest)?;
    let unit = s
        .store
        .unit_by_tracker(&tracker)
        .await?
        .ok_or_else(|| ApiError::NotFound("no unit has this tracker id".into()))?;
    s.store.record_positions(unit.id, vec![fix], now).await?;
    Ok(StatusCode::OK.into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StatusBody {
    status: UnitStatus,
}

/// `POST /api/v1/units/{id}/status`: on or off duty.
pub(crate) async fn post_status(
    State(s): State<AppState>,
    staff: Staff,
    ApiPath(id): ApiPath<i64>,
    ApiJson(b): ApiJson<StatusBody>,
) -> ApiResult<Json<Value>> {
    let unit = load_unit(&s, id).await?;
    require_for_unit(&staff, &unit)?;
    let now = OffsetDateTime::now_utc();
    let u = s.store.set_unit_duty(id, b.status, now).await?;
    Ok(Json(unit_json(&u, now, s.config.unit_stale_secs)))
}

/// `GET /api/v1/units/{id}/dispatches`: the unit's feed of work, newest first.
pub(crate) async fn unit_dispatches(
    State(s): State<AppState>,
    staff: Staff,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Value>> {
    let unit = load_unit(&s, id).await?;
    require_for_unit(&staff, &unit)?;
    let items: Vec<Value> = s
        .store
        .dispatches(DispatchesOf::Unit(id), 100)
        .await?
        .iter()
        .map(dispatch_json)
        .collect();
    Ok(Json(json!({ "dispatches": items })))
}

#[derive(Deserialize)]
pub(crate) struct RecommendQuery {
    limit: Option<usize>,
    radius_m: Option<f64>,
    /// Comma-separated unit kinds.
    kind: Option<String>,
}

/// `GET /api/v1/reports/{key}/units?limit=&radius_m=&kind=`: the available units
/// that would get there first, with distance and ETA.
pub(crate) async fn recommend(
    State(s): State<AppState>,
    staff: Staff,
    ApiPath(key): ApiPath<String>,
    ApiQuery(q): ApiQuery<RecommendQuery>,
) -> ApiResult<Json<Value>> {
    staff.require(&[Role::Admin, Role::Dispatcher])?;
    let limit = q.limit.unwrap_or(5);
    if !(1..=50).contains(&limit) {
        return Err(ApiError::BadRequest("limit must be 1 to 50".into()));
    }
    let radius_m = q.radius_m.unwrap_or(s.config.dispatch_radius_m);
    if !(radius_m.is_finite() && radius_m > 0.0 && radius_m <= 200_000.0) {
        return Err(ApiError::BadRequest(
            "radius_m must be more than 0 and at most 200000".into(),
        ));
    }
    let kinds: Vec<String> = q
        .kind
        .as_deref()
        .map(|k| {
            k.split(',')
                .map(str::trim)
                .filter(|k| !k.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let report = load_report(&s, &key).await?;
    let now = OffsetDateTime::now_utc();
    let units = s.store.units().await?;
    let candidates: Vec<Candidate> = units
        .iter()
        .filter_map(|u| {
            let p = u.position?;
            Some(Candidate {
                id: u.id,
                kind: u.kind.clone(),
                status: u.status,
                position: p.point,
                position_at: p.at,
            })
        })
        .collect();
    let want = Want {
        target: report.location,
        radius_m,
        kinds: &kinds,
        limit,
        fresh_after: now - Duration::seconds(s.config.unit_stale_secs as i64),
    };
    let ranked = dispatch::rank(&candidates, &want, &s.config.eta);
    let items: Vec<Value> = ranked
        .iter()
        .filter_map(|r| {
            let u = units.iter().find(|u| u.id == r.id)?;
            let mut v = unit_json(u, now, s.config.unit_stale_secs);
            v["distance_m"] = json!(r.distance_m.round());
            v["eta_s"] = json!(r.eta.whole_seconds());
            Some(v)
        })
        .collect();
    Ok(Json(
        json!({ "report": report.tracking_code.as_str(), "units": items }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DispatchBody {
    unit: i64,
}

/// `POST /api/v1/reports/{key}/dispatches`: send a unit. 409 says why a unit
/// cannot go (off duty, engaged on another report).
pub(crate) async fn create_dispatch(
    State(s): State<AppState>,
    staff: Staff,
    ApiPath(key): ApiPath<String>,
    ApiJson(b): ApiJson<DispatchBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    staff.require(&[Role::Admin, Role::Dispatcher])?;
    let report = load_report(&s, &key).await?;
    let unit = load_unit(&s, b.unit).await?;
    let (distance_m, eta_s) = match unit.position {
        Some(p) => (
            Some(p.point.distance_m(&report.location)),
            s.config
                .eta
                .eta(&p.point, &report.location, &unit.kind)
                .map(|d| d.as_seconds_f64()),
        ),
        None => (None, None),
    };
    let d = s
        .store
        .dispatch(DispatchRequest {
            report: report.id,
            unit: unit.id,
            by: staff.user.name.clone(),
            distance_m,
            eta_s,
            now: OffsetDateTime::now_utc(),
        })
        .await?;
    Ok((StatusCode::CREATED, Json(dispatch_json(&d))))
}

/// `GET /api/v1/reports/{key}/dispatches`
pub(crate) async fn report_dispatches(
    State(s): State<AppState>,
    staff: Staff,
    ApiPath(key): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    let report = load_report(&s, &key).await?;
    // Out of scope, a unit still sees its own crews' dispatches to this report.
    let all = crate::views::in_scope(&staff, &report);
    if !all && staff.user.role != Role::Unit {
        return Err(ApiError::Forbidden(
            "this report belongs to another department".into(),
        ));
    }
    let mine: Vec<i64> = if all {
        Vec::new()
    } else {
        s.store
            .units()
            .await?
            .iter()
            .filter(|u| require_for_unit(&staff, u).is_ok())
            .map(|u| u.id)
            .collect()
    };
    let items: Vec<Value> = s
        .store
        .dispatches(DispatchesOf::Report(report.id), 100)
        .await?
        .iter()
        .filter(|d| all || mine.contains(&d.unit))
        .map(dispatch_json)
        .collect();
    Ok(Json(json!({ "dispatches": items })))
}

/// `GET /api/v1/dispatches/{id}`
pub(crate) async fn get_dispatch(
    State(s): State<AppState>,
    staff: Staff,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Value>> {
    let d = s
        .store
        .dispatch_by_id(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no dispatch {id}")))?;
    match staff.user.role {
        Role::Unit => require_for_unit(&staff, &load_unit(&s, d.unit).await?)?,
        // An officer reads the dispatches of their departments' reports only.
        Role::Officer if !crate::views::in_scope(&staff, &load_report(&s, &d.report).await?) => {
            return Err(ApiError::Forbidden(
                "this dispatch is to a report of another department".into(),
            ));
        }
        _ => {}
    }
    Ok(Json(dispatch_json(&d)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StepBody {
    step: DispatchStep,
}

/// `POST /api/v1/dispatches/{id}`: the next step (acknowledged, en_route,
/// on_scene, cleared; cancelled by the command centre).
pub(crate) async fn post_step(
    State(s): State<AppState>,
    staff: Staff,
    ApiPath(id): ApiPath<i64>,
    ApiJson(b): ApiJson<StepBody>,
) -> ApiResult<Json<Value>> {
    if b.step == DispatchStep::Assigned {
        return Err(ApiError::Unprocessable(
            "a dispatch is assigned by POST /api/v1/reports/{key}/dispatches".into(),
        ));
    }
    let d = s
        .store
        .dispatch_step(
            id,
            b.step,
            &staff.user.name,
            staff.user.role,
            OffsetDateTime::now_utc(),
        )
        .await?;
    Ok(Json(dispatch_json(&d)))
}

#[derive(Deserialize)]
pub(crate) struct CamerasQuery {
    limit: Option<usize>,
}

/// `GET /api/v1/reports/{key}/cameras?limit=`: the nearest cameras of every camera
/// layer, with their stream links and distance.
/// A camera's web player: its own `player_url` property if it has an http(s)
/// one, else the layer's template with each `{property}` filled in (URL-encoded);
/// a template naming a property the camera lacks gives nothing.
fn player_url(template: Option<&str>, props: &Value) -> Option<String> {
    if let Some(own) = props.get("player_url").and_then(Value::as_str)
        && (own.starts_with("https://") || own.starts_with("http://"))
    {
        return Some(own.to_owned());
    }
    let mut out = String::new();
    let mut rest = template?;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('}')? + open;
        let value = match &props[&rest[open + 1..close]] {
            Value::String(v) => v.clone(),
            Value::Number(n) => n.to_string(),
            _ => return None,
        };
        out.extend(form_urlencoded::byte_serialize(value.as_bytes()));
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    Some(out)
}

pub(crate) async fn nearest_cameras(
    State(s): State<AppState>,
    staff: Staff,
    ApiPath(key): ApiPath<String>,
    ApiQuery(q): ApiQuery<CamerasQuery>,
) -> ApiResult<Json<Value>> {
    let limit = q.limit.unwrap_or(5);
    if !(1..=50).contains(&limit) {
        return Err(ApiError::BadRequest("limit must be 1 to 50".into()));
    }
    let report = load_report(&s, &key).await?;
    if !crate::views::in_scope(&staff, &report) {
        return Err(ApiError::Forbidden(
            "this report belongs to another department or unit".into(),
        ));
    }
    let here = report.location;
    let layers: Vec<(i64, String)> = s
        .store
        .layers()
        .await?
        .into_iter()
        .filter(|l| l.kind == "cameras")
        .map(|l| (l.id, l.name))
        .collect();
    let mut found: Vec<(f64, Value)> = Vec::new();
    // Widen the box until enough cameras are found (or 20 km).
    for half_deg in [0.01, 0.04, 0.18] {
        found.clear();
        let bbox = BBox {
            min_lon: here.lon() - half_deg * 1.25,
            min_lat: here.lat() - half_deg,
            max_lon: here.lon() + half_deg * 1.25,
            max_lat: here.lat() + half_deg,
        };
        for (layer, layer_name) in &layers {
            let player = s
                .config
                .camera_players
                .iter()
                .find(|(l, _)| l.as_deref() == Some(layer_name.as_str()))
                .or_else(|| s.config.camera_players.iter().find(|(l, _)| l.is_none()))
                .map(|(_, t)| t.as_str());
            for (g, p) in s.store.layer_features(*layer, Some(bbox), 5_000).await? {
                let geom: Value = serde_json::from_str(&g).unwrap_or(Value::Null);
                let (Some(lon), Some(lat)) = (
                    geom["coordinates"][0].as_f64(),
                    geom["coordinates"][1].as_f64(),
                ) else {
                    continue;
                };
                let Ok(pt) = Point::new(lat, lon) else {
                    continue;
                };
                let props: Value = serde_json::from_str(&p).unwrap_or(Value::Null);
                let d = pt.distance_m(&here);
                found.push((
                    d,
                    json!({
                        "name": props.get("name"),
                        "stream_url": props.get("stream_url"),
                        "player_url": player_url(player, &props),
                        "heading": props.get("heading"),
                        "lat": lat,
                        "lon": lon,
                        "distance_m": d.round(),
                    }),
                ));
            }
        }
        if found.len() >= limit {
            break;
        }
    }
    found.sort_by(|a, b| a.0.total_cmp(&b.0));
    let items: Vec<Value> = found.into_iter().take(limit).map(|(_, v)| v).collect();
    Ok(Json(json!({ "cameras": items })))
}

#[cfg(test)]
mod tests {
    use super::player_url;
    use serde_json::json;

    #[test]
    fn a_camera_player_link_fills_the_template_from_the_camera() {
        let cam = json!({"name": "东昌路口 1", "id": 42, "stream_url": "rtsp://10.0.0.1/live"});
        assert_eq!(
            player_url(
                Some("https://video.example.gov.cn/play?cam={id}&n={name}"),
                &cam
            )
            .as_deref(),
            Some(
                "https://video.example.gov.cn/play?cam=42&n=%E4%B8%9C%E6%98%8C%E8%B7%AF%E5%8F%A3+1"
            )
        );
        assert_eq!(player_url(Some("https://v.example/{serial}"), &cam), None);
        assert_eq!(player_url(None, &cam), None);
        let own = json!({"player_url": "https://v.example/own"});
        assert_eq!(
            player_url(None, &own).as_deref(),
            Some("https://v.example/own")
        );
        assert_eq!(
            player_url(None, &json!({"player_url": "javascript:alert(1)"})),
            None
        );
    }
}
