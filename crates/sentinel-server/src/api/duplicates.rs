//! Duplicates before they are filed: open reports of the same kind nearby, and
//! "me too" (支持) instead of a second report.

use crate::AppState;
use crate::auth::MaybeStaff;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiPath, ApiQuery, parse_json, point_query};
use crate::views;
use axum::Json;
use axum::extract::State;
use sentinel_core::input::ContactInput;
use sentinel_core::{FieldError, ReportId, Status};
use sentinel_geo::{BBox, Point};
use sentinel_store::{ReportKey, ReportQuery, Supporter};
use serde::Deserialize;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

#[derive(Deserialize)]
pub(crate) struct NearbyQuery {
    lat: Option<f64>,
    lon: Option<f64>,
    crs: Option<String>,
    category: Option<String>,
    photo_hash: Option<String>,
}

/// Open statuses: what a newcomer could still join.
const OPEN: [Status; 8] = [
    Status::Submitted,
    Status::Accepted,
    Status::Assigned,
    Status::InProgress,
    Status::Returned,
    Status::Resolved,
    Status::Verified,
    Status::Reopened,
];

/// A box around `p` that contains every point within `radius_m`.
fn bbox_around(p: Point, radius_m: f64) -> BBox {
    let dlat = radius_m / 111_320.0;
    let dlon = radius_m / (111_320.0 * p.lat().to_radians().cos().max(0.01));
    BBox {
        min_lon: (p.lon() - dlon).max(-180.0),
        min_lat: (p.lat() - dlat).max(-90.0),
        max_lon: (p.lon() + dlon).min(180.0),
        max_lat: (p.lat() + dlat).min(90.0),
    }
}

/// Open reports of `category` within its duplicate radius and window of `p`,
/// nearest first, each with its distance and age, and `similar_photo` when its first
/// photo is near-identical to `reference` (a perceptual hash).
async fn candidates(
    s: &AppState,
    category: &str,
    p: Point,
    exclude: Option<ReportId>,
    reference: Option<u64>,
) -> ApiResult<Value> {
    let catalog = s.catalog();
    let cat = catalog
        .category(category)
        .ok_or_else(|| ApiError::BadRequest(format!("unknown category {category:?}")))?;
    let now = OffsetDateTime::now_utc();
    let query = ReportQuery {
        bbox: Some(bbox_around(p, cat.duplicate_radius_m)),
        statuses: OPEN.to_vec(),
        categories: vec![cat.code.clone()],
        since: Some(now - Duration::hours(i64::from(cat.duplicate_window_hours))),
        limit: 200,
        ..ReportQuery::default()
    };
    let near: Vec<(f64, sentinel_core::Report)> = s
        .store
        .reports(&query)
        .await?
        .into_iter()
        .filter(|r| Some(r.id) != exclude)
        .filter_map(|r| {
            let d = r.location.distance_m(&p);
            (d <= cat.duplicate_radius_m).then_some((d, r))
        })
        .collect();
    let hashes = match reference {
        Some(_) => {
            s.store
                .photo_hashes(
                    near.iter()
                        .filter_map(|(_, r)| r.photos.first().cloned())
                        .collect(),
                )
                .await?
        }
        None => Default::default(),
    };
    let mut found: Vec<(f64, Value)> = near
        .into_iter()
        .map(|(d, r)| {
            let mut v = views::public_report(&r, &s.config);
            v["distance_m"] = json!((d * 10.0).round() / 10.0);
            v["age_hours"] = json!(((now - r.created_at).as_seconds_f64() / 360.0).round() / 10.0);
            let similar = reference
                .zip(r.photos.first().and_then(|id| hashes.get(id)))
                .is_some_and(|(a, b)| {
                    sentinel_photos::phash::distance(a, *b)
                        <= sentinel_photos::phash::NEAR_IDENTICAL_BITS
                });
            v["similar_photo"] = json!(similar);
            (d, v)
        })
        .collect();
    // Nearest first; the list came newest first, and the sort is stable.
    found.sort_by(|a, b| a.0.total_cmp(&b.0));
    Ok(json!({
        "category": cat.code,
        "radius_m": cat.duplicate_radius_m,
        "window_hours": cat.duplicate_window_hours,
        "reports": found.into_iter().map(|(_, v)| v).collect::<Vec<_>>(),
    }))
}

/// `GET /api/v1/reports/nearby?lat=&lon=&category=[&photo_hash=]`: open reports of
/// that category within its duplicate radius and time window, nearest first.
pub(crate) async fn get_nearby(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<NearbyQuery>,
) -> ApiResult<Json<Value>> {
    let p = point_query(q.lat, q.lon, q.crs.as_deref())?;
    let code = q
        .category
        .ok_or_else(|| ApiError::BadRequest("category is required".into()))?;
    let reference = q
        .photo_hash
        .as_deref()
        .map(|h| {
            u64::from_str_radix(h, 16).map_err(|_| {
                ApiError::BadRequest("photo_hash must be 16 hexadecimal digits".into())
            })
        })
        .transpose()?;
    Ok(Json(candidates(&s, &code, p, None, reference).await?))
}

/// `GET /api/v1/reports/{key}/duplicates` (staff): likely duplicates of a report, for
/// 并单, with near-identical first photos flagged.
pub(crate) async fn get_duplicates(
    State(s): State<AppState>,
    _staff: crate::auth::Staff,
    ApiPath(key): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    let r = crate::api::reports::load_report(&s, &key).await?;
    let reference = match r.photos.first() {
        Some(id) => s
            .store
            .photo_hashes(vec![id.clone()])
            .await?
            .get(id)
            .copied(),
        None => None,
    };
    Ok(Json(
        candidates(&s, &r.category, r.location, Some(r.id), reference).await?,
    ))
}

#[derive(Deserialize, Default)]
pub(crate) struct SupportBody {
    /// A stable id the reporter app keeps on the device.
    supporter_id: Option<String>,
    contact: Option<ContactInput>,
}

fn supporter(body: SupportBody, staff: Option<&crate::auth::Staff>) -> ApiResult<Supporter> {
    let mut errors = Vec::new();
    let contact = body
        .contact
        .unwrap_or_default()
        .parse("contact", &mut errors);
    let device = body
        .supporter_id
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    if device
        .as_deref()
        .is_some_and(|d| d.len() > 128 || !d.bytes().all(|b| b.is_ascii_graphic()))
    {
        errors.push(FieldError::new(
            "supporter_id",
            "must be 1-128 visible ASCII characters",
        ));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let key = match (staff, &device, &contact.phone, &contact.email) {
        (Some(st), _, _, _) => format!("staff:{}", st.user.name),
        (None, Some(d), _, _) => format!("device:{d}"),
        (None, None, Some(p), _) => format!(
            "phone:{}",
            p.chars().filter(char::is_ascii_digit).collect::<String>()
        ),
        (None, None, None, Some(e)) => format!("email:{}", e.to_lowercase()),
        _ => {
            return Err(ApiError::Validation(vec![FieldError::new(
                "supporter_id",
                "say who supports: a supporter_id from the app, or a phone or e-mail",
            )]));
        }
    };
    Ok(Supporter { key, contact })
}

/// `POST /api/v1/reports/{key}/support`: "me too". Files nothing new; supporting
/// twice counts once.
pub(crate) async fn post_support(
    State(s): State<AppState>,
    MaybeStaff(staff): MaybeStaff,
    crate::client::ClientIp(peer): crate::client::ClientIp,
    ApiPath(key): ApiPath<String>,
    crate::extract::ApiBytes(body): crate::extract::ApiBytes,
) -> ApiResult<Json<Value>> {
    if staff.is_none() {
        s.intake_limit.check(peer)?;
    }
    let body: SupportBody = if body.is_empty() {
        SupportBody::default()
    } else {
        parse_json(&body)?
    };
    let who = supporter(body, staff.as_ref())?;
    let id = match key.parse::<i64>() {
        Ok(id) => ReportId(id),
        Err(_) => {
            let code = key
                .parse()
                .map_err(|_| ApiError::NotFound(format!("no report {key:?}")))?;
            s.store
                .report(&ReportKey::Code(code))
                .await?
                .ok_or_else(|| ApiError::NotFound(format!("no report {key:?}")))?
                .id
        }
    };
    let (report, added) = s
        .store
        .support(id, who, OffsetDateTime::now_utc())
        .await
        .map_err(|e| match e {
            sentinel_store::StoreError::InvalidTarget(m) => ApiError::Conflict(m),
            other => other.into(),
        })?;
    let mut v = views::public_report(&report, &s.config);
    v["added"] = json!(added);
    Ok(Json(v))
}
