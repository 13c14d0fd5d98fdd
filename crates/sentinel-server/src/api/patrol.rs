//! Patrol (巡逻): points with their coverage today, visits by check-in or by
//! scanning the point's QR code (geofence visits come from the position stream in
//! the store), and the QR codes to print.

use crate::AppState;
use crate::auth::Staff;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiPath, parse_json};
use crate::views::ts;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use qrcode::QrCode;
use qrcode::render::svg;
use sentinel_core::Role;
use sentinel_core::calendar::CHINA;
use sentinel_core::patrol::{self, PatrolState};
use sentinel_geo::Point;
use sentinel_store::{PatrolPoint, PatrolVisit};
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

pub(crate) fn visit_json(v: &PatrolVisit) -> Value {
    json!({
        "id": v.id,
        "point": v.point,
        "point_name": v.point_name,
        "unit": v.unit,
        "user": v.user,
        "at": ts(v.at),
        "method": v.method,
    })
}

fn point_json(p: &PatrolPoint, now: OffsetDateTime) -> Value {
    let state = patrol::state(p.visits, p.visits_per_day, now, CHINA);
    json!({
        "id": p.id,
        "code": p.code,
        "name": p.name,
        "lat": p.lat,
        "lon": p.lon,
        "radius_m": p.radius_m,
        "visits_per_day": p.visits_per_day,
        "visits_today": p.visits,
        "expected_by_now": patrol::expected_by(p.visits_per_day, now, CHINA),
        "state": state,
        "last_visit_at": p.last_visit.map(ts),
        "qr": format!("/api/v1/patrol/points/{}/qr.svg", p.id),
    })
}

async fn points_today(s: &AppState, now: OffsetDateTime) -> ApiResult<Vec<PatrolPoint>> {
    Ok(s.store.patrol_points(patrol::day_start(now, CHINA)).await?)
}

/// `GET /api/v1/patrol/points`: every point with today's visits and its state;
/// `counts` totals the states.
pub(crate) async fn list_points(
    State(s): State<AppState>,
    _staff: Staff,
) -> ApiResult<Json<Value>> {
    let now = OffsetDateTime::now_utc();
    let points = points_today(&s, now).await?;
    let mut counts = serde_json::Map::new();
    for st in PatrolState::ALL {
        counts.insert(st.as_str().into(), json!(0));
    }
    let items: Vec<Value> = points
        .iter()
        .map(|p| {
            let v = point_json(p, now);
            if let Some(n) = v["state"].as_str().and_then(|k| counts.get_mut(k)) {
                *n = json!(n.as_u64().unwrap_or(0) + 1);
            }
            v
        })
        .collect();
    Ok(Json(json!({ "points": items, "counts": counts })))
}

/// `GET /api/v1/patrol/points/{id}/visits`: the latest visits.
pub(crate) async fn list_visits(
    State(s): State<AppState>,
    _staff: Staff,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Value>> {
    let visits = s.store.patrol_visits(id, 100).await?;
    Ok(Json(
        json!({ "visits": visits.iter().map(visit_json).collect::<Vec<_>>() }),
    ))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct CheckIn {
    /// Where the unit says it is; checked against the point when given.
    lat: Option<f64>,
    lon: Option<f64>,
    /// The unit, when the command centre records a visit for it.
    unit: Option<i64>,
}

/// The unit a staff member checks in for.
async fn checking_unit(s: &AppState, staff: &Staff, asked: Option<i64>) -> ApiResult<Option<i64>> {
    match staff.user.role {
        Role::Unit => {
            let mine = s.store.unit_for_user(&staff.user.name).await?.map(|u| u.id);
            match (asked, mine) {
                (_, None) => Err(ApiError::Forbidden(
                    "this account works no unit, so it has no visits to record".into(),
                )),
                (Some(a), Some(m)) if a != m => {
                    Err(ApiError::Forbidden("a unit checks in for itself".into()))
                }
                (_, m) => Ok(m),
            }
        }
        // A visit is always some unit's: the command centre names the one that
        // reported it by radio.
        Role::Admin | Role::Dispatcher => match asked {
            None => Err(ApiError::Unprocessable(
                "name the unit that visited (unit): the command centre records visits for a unit"
                    .into(),
            )),
            Some(u) if s.store.unit(u).await?.is_none() => {
                Err(ApiError::Unprocessable(format!("no unit {u}")))
            }
            Some(u) => Ok(Some(u)),
        },
        r => Err(ApiError::Forbidden(format!("the {r} role does not patrol"))),
    }
}

/// `POST /api/v1/patrol/points/{id}/visits`: a manual check-in.
pub(crate) async fn check_in(
    State(s): State<AppState>,
    staff: Staff,
    ApiPath(id): ApiPath<i64>,
    body: axum::body::Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    // The body is optional: a bare POST is a check-in without a position.
    let b: CheckIn = if body.iter().all(u8::is_ascii_whitespace) {
        CheckIn::default()
    } else {
        parse_json(&body)?
    };
    let unit = checking_unit(&s, &staff, b.unit).await?;
    let now = OffsetDateTime::now_utc();
    let point = points_today(&s, now)
        .await?
        .into_iter()
        .find(|p| p.id == id)
        .ok_or_else(|| ApiError::NotFound(format!("no patrol point {id}")))?;
    match (b.lat, b.lon) {
        (Some(lat), Some(lon)) => {
            let here = Point::new(lat, lon).map_err(|e| ApiError::Unprocessable(e.to_string()))?;
            let there =
                Point::new(point.lat, point.lon).map_err(|e| ApiError::Internal(e.to_string()))?;
            let d = here.distance_m(&there);
            // GPS in a city is off by tens of metres: allow three radii, at least 150 m.
            let allowed = (point.radius_m * 3.0).max(150.0);
            if d > allowed {
                return Err(ApiError::Unprocessable(format!(
                    "you are {:.0} m from {}; a check-in counts within {allowed:.0} m",
                    d, point.name
                )));
            }
        }
        // A unit proves where it is: a position here, or the point's QR code
        // (`/api/v1/patrol/qr/{token}`). The command centre records a visit it was
        // told of by radio; the visit names who recorded it.
        (None, None) if staff.user.role == Role::Unit => {
            return Err(ApiError::Unprocessable(format!(
                "a unit checks in with its position (lat and lon) at {}, or by scanning its QR code",
                point.name
            )));
        }
        (None, None) => {}
        _ => {
            return Err(ApiError::Unprocessable(
                "give both lat and lon, or neither".into(),
            ));
        }
    }
    let v = s
        .store
        .record_visit(id, unit, Some(&staff.user.name), "checkin", now)
        .await?;
    Ok((StatusCode::CREATED, Json(visit_json(&v))))
}

/// `POST /api/v1/patrol/qr/{token}`: the visit a scanned QR code records.
pub(crate) async fn scan(
    State(s): State<AppState>,
    staff: Staff,
    ApiPath(token): ApiPath<String>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let unit = checking_unit(&s, &staff, None).await?;
    let id = s
        .store
        .patrol_point_by_token(&token)
        .await?
        .ok_or_else(|| ApiError::NotFound("this QR code belongs to no patrol point".into()))?;
    let v = s
        .store
        .record_visit(
            id,
            unit,
            Some(&staff.user.name),
            "qr",
            OffsetDateTime::now_utc(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(visit_json(&v))))
}

/// `GET /api/v1/patrol/points/{id}/qr.svg` (admin, dispatcher): the QR code to
/// print and fix at the point; it opens `/p/{token}`, where a unit checks in.
pub(crate) async fn qr(
    State(s): State<AppState>,
    staff: Staff,
    ApiPath(id): ApiPath<i64>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    staff.require(&[Role::Admin, Role::Dispatcher])?;
    let now = OffsetDateTime::now_utc();
    let point = s
        .store
        .patrol_points(now)
        .await?
        .into_iter()
        .find(|p| p.id == id)
        .ok_or_else(|| ApiError::NotFound(format!("no patrol point {id}")))?;
    let base = if s.config.public_url.is_empty() {
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("localhost");
        format!("http://{host}")
    } else {
        s.config.public_url.clone()
    };
    let url = format!("{base}/p/{}", point.qr_token);
    let code = QrCode::new(url.as_bytes()).map_err(|e| ApiError::Internal(e.to_string()))?;
    let image = code
        .render()
        .min_dimensions(240, 240)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build();
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "private, no-store"),
        ],
        image,
    )
        .into_response())
}
