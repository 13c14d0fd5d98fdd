//! Photo files. The public (and every `/api/v1/photos/...` link: the API, Open311's
//! `media_url`, the maps, the tracking page) only ever gets a photo's redacted copy
//! (faces and plates blurred); until it exists the answer is 503 "being prepared",
//! never the original. Staff who need the evidence read the original through the
//! report it belongs to, and each such read goes to the personal-data access log.

use crate::AppState;
use crate::auth::Staff;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sentinel_core::FieldError;
use sentinel_core::{Report, Role};
use sentinel_redact::{Edits, Region, RegionKind};
use sentinel_store::{Redaction, RedactionEdit, RedactionState};
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

const THUMB_SIDE: u32 = 320;
/// Most boxes staff may draw on one photo.
const MAX_BOXES: usize = 100;

fn cached(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag))
}

fn file_response(
    bytes: Vec<u8>,
    mime: &str,
    etag: &str,
    cache: &'static str,
) -> ApiResult<Response> {
    let mut res = bytes.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(mime).map_err(|e| ApiError::Internal(e.to_string()))?,
    );
    h.insert(
        header::ETAG,
        HeaderValue::from_str(etag).map_err(|e| ApiError::Internal(e.to_string()))?,
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(res)
}

async fn record(s: &AppState, id: &str) -> ApiResult<sentinel_store::PhotoRecord> {
    s.store
        .photo(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no photo {id}")))
}

/// The copy the public may see: its blob id and media type, or why there is none.
/// One read of the photo's row on the path every public image takes.
async fn public_copy(s: &AppState, id: &str) -> ApiResult<(String, String)> {
    if !s.redaction.enabled() {
        let rec = record(s, id).await?;
        return Ok((rec.id, rec.mime));
    }
    let r = load_redaction(s, id).await?;
    if r.hidden {
        return Err(ApiError::NotFound(
            "this photo was removed from public view".into(),
        ));
    }
    match (r.state, r.redacted_id, r.redacted_mime) {
        (RedactionState::Done, Some(rid), Some(mime)) => Ok((rid, mime)),
        (RedactionState::Failed, ..) => Err(ApiError::PhotoProcessing(
            "faces and licence plates could not be blurred in this photo yet; staff have been told"
                .into(),
        )),
        _ => Err(ApiError::PhotoProcessing(match s.redaction.unavailable() {
            Some(_) => {
                "this photo is not public until faces and licence plates can be blurred".into()
            }
            None => {
                "faces and licence plates are being blurred; the photo appears in a few seconds"
                    .into()
            }
        })),
    }
}

/// `GET /api/v1/photos/{id}`: the public copy (faces and plates blurred, EXIF
/// removed, turned upright).
pub(crate) async fn get_photo(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let (rid, mime) = public_copy(&s, &id).await?;
    let etag = format!("\"{rid}\"");
    if cached(&headers, &etag) {
        return Ok(StatusCode::NOT_MODIFIED.into_response());
    }
    let bytes = s
        .photos
        .get(&rid)
        .await
        .map_err(|e| ApiError::Internal(format!("reading photo {id}: {e}")))?;
    // Short-lived: staff may hide it or blur more.
    file_response(bytes, &mime, &etag, "public, max-age=60")
}

/// `GET /api/v1/photos/{id}/thumb`: a JPEG of the public copy, about 320 px on its
/// longer side.
pub(crate) async fn get_thumbnail(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let (rid, _) = public_copy(&s, &id).await?;
    let etag = format!("\"{rid}-t{THUMB_SIDE}\"");
    if cached(&headers, &etag) {
        return Ok(StatusCode::NOT_MODIFIED.into_response());
    }
    let io = |e: std::io::Error| ApiError::Internal(format!("photo {id}: {e}"));
    // Cached under the copy's id: a thumbnail is never made from an original.
    let bytes = match s.photos.get_thumb(&rid).await.map_err(io)? {
        Some(t) => t,
        None => {
            let copy = s.photos.get(&rid).await.map_err(io)?;
            let thumb =
                tokio::task::spawn_blocking(move || sentinel_photos::thumbnail(&copy, THUMB_SIDE))
                    .await
                    .map_err(|e| ApiError::Internal(e.to_string()))?
                    .map_err(|e| ApiError::Internal(e.to_string()))?;
            if let Err(e) = s.photos.put_thumb(&rid, thumb.clone()).await {
                tracing::warn!(error = %e, "could not cache a thumbnail");
            }
            thumb
        }
    };
    file_response(bytes, "image/jpeg", &etag, "public, max-age=60")
}

/// The report and the photo, checked to belong to it (its own photos or those of
/// its events, such as the photo of a fix).
async fn report_photo(s: &AppState, key: &str, id: &str) -> ApiResult<Report> {
    let r = super::reports::load_report(s, key).await?;
    if r.photos.iter().any(|p| p == id) {
        return Ok(r);
    }
    let events = s.store.events(r.id).await?;
    let in_events = events.iter().any(|e| {
        e.data["photos"]
            .as_array()
            .is_some_and(|a| a.iter().any(|p| p.as_str() == Some(id)))
    });
    if in_events {
        Ok(r)
    } else {
        Err(ApiError::NotFound(format!(
            "report {key} has no photo {id}"
        )))
    }
}

/// `GET /api/v1/reports/{key}/photos/{id}/original`: the photo as the reporter sent
/// it (EXIF removed), for staff who need the evidence: admins, dispatchers, the
/// handling departments' officers and the assigned unit. Logged before it is sent.
pub(crate) async fn get_original(
    State(s): State<AppState>,
    staff: Staff,
    ApiPath((key, id)): ApiPath<(String, String)>,
) -> ApiResult<Response> {
    let r = report_photo(&s, &key, &id).await?;
    if !crate::views::may_see_contact(&staff, &r) {
        return Err(ApiError::Forbidden(format!(
            "the {} role may not see original photos of this report",
            staff.user.role
        )));
    }
    let rec = record(&s, &id).await?;
    super::reports::log_personal_read(
        &s,
        &staff,
        &r,
        &format!("photo_original:{id}"),
        "GET /api/v1/reports/{key}/photos/{id}/original",
    )
    .await?;
    let bytes = s
        .photos
        .get(&rec.id)
        .await
        .map_err(|e| ApiError::Internal(format!("reading photo {id}: {e}")))?;
    // Never kept by a shared cache.
    file_response(
        bytes,
        &rec.mime,
        &format!("\"{}\"", rec.id),
        "private, no-store",
    )
}

fn regions(v: &Value, key: &str) -> Value {
    v.get(key).cloned().unwrap_or_else(|| json!([]))
}

fn redaction_view(s: &AppState, r: &Redaction) -> Value {
    let found: Value = r
        .regions
        .as_deref()
        .and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or_else(|| json!({}));
    let edits: Value = serde_json::from_str(&r.edits).unwrap_or_else(|_| json!({}));
    json!({
        "photo": r.photo_id,
        "state": r.state.as_str(),
        "version": r.version,
        "hidden": r.hidden,
        "public_url": crate::views::photo_url(&s.config, &r.photo_id),
        "detected": regions(&found, "detected"),
        "blurred": regions(&found, "blurred"),
        "width": found.get("width"),
        "height": found.get("height"),
        "models": found.get("models"),
        "added": regions(&edits, "added"),
        "removed": regions(&edits, "removed"),
        "attempts": r.attempts,
        "error": r.error,
        "redacted_at": r.redacted_at.and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok()),
        "unavailable": s.redaction.unavailable(),
    })
}

async fn load_redaction(s: &AppState, id: &str) -> ApiResult<Redaction> {
    s.store
        .redaction(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no photo {id}")))
}

/// `GET /api/v1/reports/{key}/photos/{id}/redaction`: what was found and blurred,
/// staff corrections, whether it is hidden.
pub(crate) async fn get_redaction(
    State(s): State<AppState>,
    staff: Staff,
    ApiPath((key, id)): ApiPath<(String, String)>,
) -> ApiResult<Json<Value>> {
    staff.require(&[Role::Admin, Role::Dispatcher, Role::Officer, Role::Unit])?;
    let report = report_photo(&s, &key, &id).await?;
    if !crate::views::in_scope(&staff, &report) {
        return Err(ApiError::Forbidden(
            "this report belongs to another department or unit".into(),
        ));
    }
    let r = load_redaction(&s, &id).await?;
    Ok(Json(redaction_view(&s, &r)))
}

/// A box drawn on the photo as displayed.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BoxIn {
    x: u32,
    y: u32,
    w: u32,
    h: u32,
}

/// `POST .../redaction`: boxes to add and detections to remove (re-running the
/// redaction), and/or hiding the photo from the public.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RedactionChange {
    #[serde(default)]
    add: Vec<BoxIn>,
    #[serde(default)]
    remove: Vec<BoxIn>,
    #[serde(default)]
    hidden: Option<bool>,
    #[serde(default)]
    note: Option<String>,
}

/// `POST /api/v1/reports/{key}/photos/{id}/redaction`: admins, dispatchers and the
/// handling departments' officers correct what the detectors did; each change is an
/// event on the report's timeline.
pub(crate) async fn post_redaction(
    State(s): State<AppState>,
    staff: Staff,
    ApiPath((key, id)): ApiPath<(String, String)>,
    ApiJson(change): ApiJson<RedactionChange>,
) -> ApiResult<Json<Value>> {
    staff.require(&[Role::Admin, Role::Dispatcher, Role::Officer])?;
    let report = report_photo(&s, &key, &id).await?;
    if staff.user.role == Role::Officer && !crate::views::may_see_contact(&staff, &report) {
        return Err(ApiError::Forbidden(
            "officers may correct photos of their own department's reports only".into(),
        ));
    }
    let current = load_redaction(&s, &id).await?;
    let rec = record(&s, &id).await?;
    // The copy's size (turned upright) once known, else the photo's.
    let found: Value = current
        .regions
        .as_deref()
        .and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or_else(|| json!({}));
    let width = found["width"].as_u64().map_or(rec.width, |w| w as u32);
    let height = found["height"].as_u64().map_or(rec.height, |h| h as u32);
    let mut errors = Vec::new();
    if change.add.is_empty() && change.remove.is_empty() && change.hidden.is_none() {
        errors.push(FieldError::new(
            "add",
            "nothing to change: give boxes to add or remove, or hidden",
        ));
    }
    if change.add.len() + change.remove.len() > MAX_BOXES {
        errors.push(FieldError::new(
            "add",
            format!("at most {MAX_BOXES} boxes at once"),
        ));
    }
    let check = |list: &[BoxIn], field: &str, errors: &mut Vec<FieldError>| {
        for (i, b) in list.iter().enumerate() {
            if b.w < 4 || b.h < 4 {
                errors.push(FieldError::new(
                    format!("{field}[{i}]"),
                    "a box must be at least 4 pixels wide and high",
                ));
            } else if u64::from(b.x) + u64::from(b.w) > u64::from(width)
                || u64::from(b.y) + u64::from(b.h) > u64::from(height)
            {
                errors.push(FieldError::new(
                    format!("{field}[{i}]"),
                    format!("the box goes outside the {width}×{height} photo"),
                ));
            }
        }
    };
    check(&change.add, "add", &mut errors);
    check(&change.remove, "remove", &mut errors);
    if change
        .note
        .as_deref()
        .is_some_and(|n| n.chars().count() > 500)
    {
        errors.push(FieldError::new("note", "at most 500 characters"));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let region = |b: &BoxIn| Region {
        kind: RegionKind::Manual,
        x: b.x,
        y: b.y,
        w: b.w,
        h: b.h,
        score: 1.0,
    };
    let edits = if change.add.is_empty() && change.remove.is_empty() {
        None
    } else {
        let mut e: Edits = serde_json::from_str(&current.edits).unwrap_or_default();
        for b in &change.remove {
            let r = region(b);
            // Removing a box staff drew takes it away; otherwise it marks a detection
            // as wrong.
            let before = e.added.len();
            e.added.retain(|a| a.iou(&r) < 0.5);
            if e.added.len() == before {
                e.removed.push(r);
            }
        }
        e.added.extend(change.add.iter().map(region));
        Some(serde_json::to_string(&e).map_err(|e| ApiError::Internal(e.to_string()))?)
    };
    let data = json!({
        "photo": id,
        "added": change.add.iter().map(|b| json!({"x": b.x, "y": b.y, "w": b.w, "h": b.h})).collect::<Vec<_>>(),
        "removed": change.remove.iter().map(|b| json!({"x": b.x, "y": b.y, "w": b.w, "h": b.h})).collect::<Vec<_>>(),
        "hidden": change.hidden,
    });
    s.store
        .edit_redaction(RedactionEdit {
            report: report.id,
            photo_id: id.clone(),
            edits,
            hidden: change.hidden,
            actor: staff.user.name.clone(),
            role: staff.user.role.to_string(),
            note: change.note.clone(),
            data,
            now: OffsetDateTime::now_utc(),
        })
        .await?;
    if let Some(h) = change.hidden {
        s.redaction.set_hidden(&id, h);
    }
    s.redaction.poke();
    let r = load_redaction(&s, &id).await?;
    Ok(Json(redaction_view(&s, &r)))
}
