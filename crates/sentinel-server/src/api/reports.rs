//! Reports: intake, reading, listing, the timeline and lifecycle actions.
//!
//! Intake durability: photos are validated, stripped and fsynced to the photo
//! folder first; then the report, its photo records, its first event and its
//! idempotency key are committed together; only then is 201 sent.

use crate::AppState;
use crate::auth::{MaybeStaff, Staff};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiPath, ApiQuery, is_json, parse_json};
use crate::views;
use axum::Json;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use sentinel_core::input::ParseContext;
use sentinel_core::{
    Action, Channel, FieldError, Priority, Report, ReportId, ReportInput, Role, Status,
    TrackingCode,
};
use sentinel_photos::ProcessedPhoto;
use sentinel_store::{
    AccessLogEntry, ActionRequest, Idempotency, PhotoRecord, ReportKey, ReportQuery, Submission,
    Submitted,
};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Largest `report` part in a multipart submission.
const MAX_REPORT_PART: usize = 256 * 1024;
const IDEMPOTENCY_HEADER: &str = "idempotency-key";

/// A JSON document and its photos as read off the wire, before any parsing.
struct RawSubmission {
    /// The JSON body, or the JSON part of a multipart body.
    report: Bytes,
    photos: Vec<Bytes>,
}

fn idempotency_key(headers: &HeaderMap) -> ApiResult<Option<String>> {
    let Some(v) = headers.get(IDEMPOTENCY_HEADER) else {
        return Ok(None);
    };
    let key = v
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= 255 && k.bytes().all(|b| b.is_ascii_graphic()));
    key.map(|k| Some(k.to_owned())).ok_or_else(|| {
        ApiError::BadRequest("Idempotency-Key must be 1-255 visible ASCII characters".into())
    })
}

async fn read_field(
    mut field: axum::extract::multipart::Field<'_>,
    limit: usize,
    what: &str,
) -> ApiResult<Bytes> {
    let mut buf = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        if buf.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge(format!(
                "{what} is larger than the limit of {limit} bytes"
            )));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.into())
}

fn multipart_error(e: axum::extract::multipart::MultipartError) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge("the request body is larger than the limit".into())
    } else {
        ApiError::BadRequest(format!("malformed multipart body: {}", e.body_text()))
    }
}

/// Reads `application/json`, or `multipart/form-data` with one JSON part named
/// `part` and up to the configured number of `photo` parts, within the limits.
async fn read_submission(s: &AppState, req: Request, part: &str) -> ApiResult<RawSubmission> {
    let limit = s.config.max_body_bytes;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(ApiError::PayloadTooLarge(format!(
            "the request body is larger than the limit of {limit} bytes"
        )));
    }
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if is_json(ct.as_deref()) {
        // Without photos the body is one JSON part: held to that part's limit.
        let report = axum::body::to_bytes(req.into_body(), MAX_REPORT_PART)
            .await
            .map_err(|e| {
                if crate::extract::is_length_limit(&e) {
                    ApiError::PayloadTooLarge(format!(
                        "a {part} sent as JSON must be at most {MAX_REPORT_PART} bytes"
                    ))
                } else {
                    ApiError::BadRequest(format!("could not read the request body: {e}"))
                }
            })?;
        return Ok(RawSubmission {
            report,
            photos: vec![],
        });
    }
    if !ct
        .as_deref()
        .is_some_and(|c| c.to_ascii_lowercase().starts_with("multipart/form-data"))
    {
        return Err(ApiError::UnsupportedMediaType(format!(
            "send application/json, or multipart/form-data with a `{part}` part and `photo` parts"
        )));
    }
    let mut mp = Multipart::from_request(req, s)
        .await
        .map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let (mut report, mut photos) = (None, Vec::new());
    while let Some(field) = mp.next_field().await.map_err(multipart_error)? {
        match field.name() {
            Some(name) if name == part && report.is_none() => {
                report =
                    Some(read_field(field, MAX_REPORT_PART, &format!("the {part} part")).await?)
            }
            Some(name) if name == part => {
                return Err(ApiError::BadRequest(format!("send one `{part}` part")));
            }
            Some("photo") => {
                if photos.len() == s.config.max_photos {
                    return Err(ApiError::Validation(vec![FieldError::new(
                        "photo",
                        format!("at most {} photos at a time", s.config.max_photos),
                    )]));
                }
                let n = photos.len() + 1;
                photos.push(
                    read_field(
                        field,
                        s.config.photo_limits.max_bytes,
                        &format!("photo {n}"),
                    )
                    .await?,
                );
            }
            other => {
                return Err(ApiError::BadRequest(format!(
                    "unexpected part {:?}; use `{part}` and `photo`",
                    other.unwrap_or("")
                )));
            }
        }
    }
    let report = report
        .ok_or_else(|| ApiError::BadRequest(format!("the `{part}` part (JSON) is missing")))?;
    Ok(RawSubmission { report, photos })
}

fn request_hash(raw: &RawSubmission) -> String {
    let mut h = Sha256::new();
    h.update(Sha256::digest(&raw.report));
    for p in &raw.photos {
        h.update(Sha256::digest(p));
    }
    sentinel_photos::hex(&h.finalize())
}

/// The one-time pad that seals a reporter_key under the Idempotency-Key it was
/// filed with: no secret is kept in clear at rest (the store holds the key's hash
/// and this sealed form), yet a replay with the same key answers the same secret.
fn pad(idempotency_key: &str) -> [u8; 64] {
    let mut h = sha2::Sha512::new();
    h.update(b"sentinel reporter_key seal\0");
    h.update(idempotency_key.as_bytes());
    h.finalize().into()
}

fn seal(idempotency_key: &str, reporter_key: &str) -> String {
    let pad = pad(idempotency_key);
    let bytes: Vec<u8> = reporter_key
        .bytes()
        .zip(pad.iter())
        .map(|(a, b)| a ^ b)
        .collect();
    sentinel_photos::hex(&bytes)
}

fn unseal(idempotency_key: &str, sealed: &str) -> Option<String> {
    let pad = pad(idempotency_key);
    let bytes = (0..sealed.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(sealed.get(i..i + 2)?, 16).ok())
        .collect::<Option<Vec<u8>>>()?;
    let plain: Vec<u8> = bytes.iter().zip(pad.iter()).map(|(a, b)| a ^ b).collect();
    String::from_utf8(plain).ok()
}

/// A kept answer as the client must see it: its sealed reporter_key opened.
fn unseal_answer(body: &str, idempotency_key: &str) -> String {
    let Ok(mut v) = serde_json::from_str::<Value>(body) else {
        return body.to_owned();
    };
    if let Some(sealed) = v["reporter_key"]["sealed"].as_str() {
        v["reporter_key"] = unseal(idempotency_key, sealed).map_or(Value::Null, Value::String);
    }
    v.to_string()
}

fn created(body: String, id: Option<ReportId>, replayed: bool) -> Response {
    let mut res = (StatusCode::CREATED, body).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Some(id) = id
        && let Ok(v) = HeaderValue::from_str(&format!("/api/v1/reports/{id}"))
    {
        h.insert(header::LOCATION, v);
    }
    if replayed {
        h.insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    res
}

pub(crate) async fn process_photos(
    s: &AppState,
    photos: Vec<Bytes>,
) -> ApiResult<Vec<ProcessedPhoto>> {
    let limits = s.config.photo_limits;
    tokio::task::spawn_blocking(move || {
        photos
            .iter()
            .enumerate()
            .map(|(i, p)| {
                sentinel_photos::process(p, &limits).map_err(|e| match ApiError::from(e) {
                    ApiError::Validation(mut v) => {
                        v.iter_mut().for_each(|f| f.field = format!("photo[{i}]"));
                        ApiError::Validation(v)
                    }
                    ApiError::PayloadTooLarge(m) => {
                        ApiError::PayloadTooLarge(format!("photo {}: {m}", i + 1))
                    }
                    ApiError::UnsupportedMediaType(m) => {
                        ApiError::UnsupportedMediaType(format!("photo {}: {m}", i + 1))
                    }
                    other => other,
                })
            })
            .collect::<ApiResult<Vec<_>>>()
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
}

/// Writes processed photos durably to the photo folder and returns their records.
pub(crate) async fn store_photos(
    s: &AppState,
    photos: Vec<ProcessedPhoto>,
) -> ApiResult<Vec<PhotoRecord>> {
    let records = photos
        .iter()
        .map(|p| PhotoRecord {
            id: p.id.clone(),
            mime: p.format.mime().into(),
            width: p.width,
            height: p.height,
            bytes: p.bytes.len() as u64,
            phash: Some(p.phash),
        })
        .collect();
    if !photos.is_empty() {
        for p in photos {
            // Not stored, not acknowledged: the client keeps the report and retries.
            s.photos.put(&p.id, p.bytes).await.map_err(|e| {
                tracing::error!(error = %e, where_ = %s.photos.describe(), "storing a photo failed");
                ApiError::Unavailable
            })?;
        }
    }
    Ok(records)
}

/// `POST /api/v1/reports`
pub(crate) async fn create_report(
    State(s): State<AppState>,
    MaybeStaff(staff): MaybeStaff,
    crate::client::ClientIp(peer): crate::client::ClientIp,
    req: Request,
) -> ApiResult<Response> {
    if staff.is_none() {
        s.intake_limit.check(peer)?;
    }
    // The key the client chose stays with the client: the store keeps its hash,
    // and the reporter_key inside a kept answer is sealed with the key itself.
    let raw_key = idempotency_key(req.headers())?;
    let key = raw_key.as_deref().map(crate::auth::secret_hash);
    let account = if staff.is_none() {
        crate::api::sentinels::signed_in(&s, req.headers())
            .await?
            .map(|who| who.handle)
    } else {
        None
    };
    let raw = read_submission(&s, req, "report").await?;
    // Only a keyed request is ever compared with another.
    let hash = key.as_ref().map(|_| request_hash(&raw)).unwrap_or_default();
    if let Some(key) = &key
        && let Some(prev) = s.store.idempotent_response(key).await?
    {
        if prev.request_hash != hash {
            return Err(ApiError::Unprocessable(
                sentinel_store::StoreError::IdempotencyMismatch.to_string(),
            ));
        }
        let body = unseal_answer(&prev.response, raw_key.as_deref().unwrap_or_default());
        return Ok(created(body, None, true));
    }
    let input: ReportInput = parse_json(&raw.report)?;
    let catalog = s.catalog();
    let photos = process_photos(&s, raw.photos).await?;
    let first_meta = photos
        .iter()
        .map(|p| p.metadata)
        .find(|m| m.location().is_some())
        .or(photos.first().map(|p| p.metadata));
    let ctx = ParseContext {
        catalog: &catalog,
        photo_count: photos.len(),
        exif_location: first_meta.and_then(|m| m.location()),
        exif_time: first_meta.and_then(|m| m.taken_at()),
        channel: Channel::Api,
        account,
        staff: staff.is_some(),
    };
    let mut new = input.parse(&ctx).map_err(ApiError::Validation)?;
    // Whoever filed it gets a secret, once, to confirm the fix, reopen or rate from
    // the tracking page without an account; only its hash is kept.
    let reporter_key = crate::auth::random_secret();
    new.reporter_key_hash = Some(crate::auth::secret_hash(&reporter_key));
    let actor = staff
        .as_ref()
        .map_or_else(|| "public".to_owned(), |st| st.user.name.clone());
    let config = s.config.clone();
    let answer = move |r: &Report, reporter_key: Value| {
        let mut v = views::public_report(r, &config);
        v["reporter_key"] = reporter_key;
        v.to_string()
    };
    let plain = {
        let (answer, reporter_key) = (answer.clone(), reporter_key.clone());
        move |r: &Report| answer(r, json!(reporter_key))
    };
    let idempotency = key.map(|key| {
        let sealed = seal(raw_key.as_deref().unwrap_or_default(), &reporter_key);
        Idempotency {
            key,
            request_hash: hash,
            render: Box::new(move |r: &Report| answer(r, json!({ "sealed": sealed }))),
        }
    });
    let raw_key = raw_key.unwrap_or_default();
    match file_report(&s, new, photos, actor, idempotency).await? {
        Submitted::Created(report, body) => {
            let body = body.map_or_else(|| plain(&report), |b| unseal_answer(&b, &raw_key));
            Ok(created(body, Some(report.id), false))
        }
        Submitted::Replayed(body) => Ok(created(unseal_answer(&body, &raw_key), None, true)),
    }
}

/// Files a parsed report, whatever door it came in by: locates and routes it
/// (refusing a point outside the service area unless configured otherwise), sets
/// its first deadline, makes its photos durable, then commits it.
pub(crate) async fn file_report(
    s: &AppState,
    mut new: sentinel_core::NewReport,
    photos: Vec<ProcessedPhoto>,
    actor: String,
    idempotency: Option<Idempotency>,
) -> ApiResult<Submitted> {
    let catalog = s.catalog();
    let index = s.jurisdictions();
    let (jurisdiction, routing) =
        crate::geography::route_at(&catalog, &index, &new.category, new.location);
    if !index.is_empty()
        && jurisdiction.is_none()
        && catalog.outside_service_area == sentinel_core::catalog::OutsideServiceArea::Refuse
    {
        return Err(ApiError::Validation(vec![FieldError::new(
            "lat",
            "the location is outside the service area (not in any jurisdiction this city serves)",
        )]));
    }
    new.jurisdiction = jurisdiction;
    new.routing = Some(routing);
    let now = OffsetDateTime::now_utc();
    if let Some(cat) = catalog.category(&new.category)
        && let sentinel_core::calendar::DueChange::Set(at, kind) =
            sentinel_core::calendar::due_at_submission(
                cat.deadlines_for(new.priority),
                now,
                &s.calendar(),
            )
    {
        new.due = Some((at, kind));
    }

    // Photos reach the disk (fsynced) before the report that references them.
    let records = store_photos(s, photos).await?;
    let with_photos = !records.is_empty();
    let submitted = s
        .store
        .submit(Submission {
            report: new,
            photos: records,
            actor,
            idempotency,
            now,
        })
        .await?;
    if let Submitted::Created(report, _) = &submitted {
        if with_photos {
            // Their public copies are made now, in the background.
            s.redaction.poke();
        }
        s.metrics.reports_created.inc();
        tracing::info!(id = %report.id, code = %report.tracking_code, category = %report.category, channel = %report.channel, "report received");
        text_code_to_caller(s, report);
    }
    Ok(submitted)
}

/// A phoned-in report's code goes to the caller's phone too (besides being read
/// back), through the city's gateway, after the report is stored: the answer
/// never waits on the gateway, and a failure is logged, not the caller's problem.
fn text_code_to_caller(s: &AppState, report: &Report) {
    let phone = match &report.reporter {
        sentinel_core::Reporter::Contact(c) if report.channel == Channel::Phone => c.phone.clone(),
        _ => None,
    };
    let Some(phone) = phone else { return };
    let (sender, code) = (s.code_sender.clone(), report.tracking_code.to_string());
    tokio::spawn(async move {
        use crate::api::sentinels::{Purpose, mask};
        if let Err(e) = sender.send(&phone, &code, Purpose::TrackingCode).await {
            tracing::warn!(to = %mask(&phone), error = %e, "the tracking code could not be texted to the caller");
        }
    });
}

fn parse_key(key: &str) -> ApiResult<ReportKey> {
    if let Ok(id) = key.parse::<i64>() {
        return Ok(ReportKey::Id(ReportId(id)));
    }
    key.parse::<TrackingCode>()
        .map(ReportKey::Code)
        .map_err(|_| {
            ApiError::NotFound(format!(
                "no report {key:?}: use a report id or a tracking code"
            ))
        })
}

/// A report by id or tracking code, or 404.
pub(crate) async fn load_report(s: &AppState, key: &str) -> ApiResult<Report> {
    load(s, key).await
}

async fn load(s: &AppState, key: &str) -> ApiResult<Report> {
    s.store
        .report(&parse_key(key)?)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no report {key:?}")))
}

/// The staff view, logging the read of contact details first when they are shown.
async fn staff_view(s: &AppState, staff: &Staff, r: &Report, purpose: &str) -> ApiResult<Value> {
    let has_contact = matches!(
        r.reporter,
        sentinel_core::Reporter::Contact(_) | sentinel_core::Reporter::Account(_)
    );
    let show = has_contact && views::may_see_contact(staff, r);
    if show {
        log_personal_read(s, staff, r, "contact", purpose).await?;
    }
    let mut v = views::staff_report(r, &s.config, show);
    v["allowed_actions"] = json!(allowed_actions(s, staff, r));
    Ok(v)
}

/// What this staff member may do to `r` now (the lifecycle table, their role and
/// scope), so a screen offers only that.
pub(crate) fn allowed_actions(
    s: &AppState,
    staff: &Staff,
    r: &Report,
) -> Vec<sentinel_core::ActionKind> {
    let catalog = s.catalog();
    let state = sentinel_core::ReportState {
        status: r.status,
        department: r.department.as_deref(),
        co_departments: &r.co_departments,
        assignee: r.assignee.as_deref(),
        requires_verification: catalog
            .category(&r.category)
            .is_some_and(|c| c.requires_verification),
        closed_at: r.closed_at,
    };
    sentinel_core::allowed_actions(
        &state,
        &staff.actor(),
        OffsetDateTime::now_utc(),
        &s.config.lifecycle,
    )
}

/// Writes a staff read of `r`'s personal data (`fields`) to the access log; the
/// data is shown only after this succeeded.
pub(crate) async fn log_personal_read(
    s: &AppState,
    staff: &Staff,
    r: &Report,
    fields: &str,
    purpose: &str,
) -> ApiResult<()> {
    s.store
        .log_personal_data_access(AccessLogEntry {
            at: OffsetDateTime::now_utc(),
            user: staff.user.name.clone(),
            role: staff.user.role.to_string(),
            report_id: r.id,
            fields: fields.into(),
            purpose: purpose.into(),
        })
        .await?;
    Ok(())
}

/// `GET /api/v1/reports/{id or tracking code}`
pub(crate) async fn get_report(
    State(s): State<AppState>,
    MaybeStaff(staff): MaybeStaff,
    ApiPath(key): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    let r = load(&s, &key).await?;
    let mut v = match staff.filter(|st| views::in_scope(st, &r)) {
        Some(st) => staff_view(&s, &st, &r, "GET /api/v1/reports/{key}").await?,
        None => views::public_report(&r, &s.config),
    };
    v["place"] = place(&s, &r);
    Ok(Json(v))
}

/// The jurisdictions a report lies in, largest first, named in both languages (a
/// tracking page and the console say where it is in words).
fn place(s: &AppState, r: &Report) -> Value {
    let index = s.jurisdictions();
    Value::Array(
        index
            .locate(r.location)
            .into_iter()
            .map(|j| json!({ "code": j.code, "name": j.name, "name_en": j.name_en, "level": j.level }))
            .collect(),
    )
}

/// Query of `GET /api/v1/reports`.
#[derive(Deserialize, Default)]
pub(crate) struct ListQuery {
    pub(crate) bbox: Option<String>,
    pub(crate) status: Option<String>,
    pub(crate) category: Option<String>,
    pub(crate) department: Option<String>,
    pub(crate) since: Option<String>,
    pub(crate) until: Option<String>,
    pub(crate) limit: Option<u32>,
    pub(crate) cursor: Option<String>,
    /// Staff: one of the command centre's queues (new, overdue, returned, escalated).
    pub(crate) queue: Option<String>,
}

pub(crate) fn list(value: &Option<String>) -> Vec<String> {
    value
        .iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .collect()
}

pub(crate) fn time_param(name: &str, v: &Option<String>) -> ApiResult<Option<OffsetDateTime>> {
    v.as_deref()
        .map(|t| {
            OffsetDateTime::parse(t, &Rfc3339)
                .map_err(|_| ApiError::BadRequest(format!("{name} must be an RFC 3339 date-time")))
        })
        .transpose()
}

impl ListQuery {
    pub(crate) fn into_query(self, s: &AppState) -> ApiResult<ReportQuery> {
        let statuses = list(&self.status)
            .iter()
            .map(|v| v.parse::<Status>().map_err(ApiError::BadRequest))
            .collect::<ApiResult<Vec<_>>>()?;
        let categories = list(&self.category);
        if let Some(unknown) = categories
            .iter()
            .find(|c| s.catalog().category(c).is_none())
        {
            return Err(ApiError::BadRequest(format!(
                "unknown category {unknown:?}"
            )));
        }
        let limit = self.limit.unwrap_or(50);
        if !(1..=500).contains(&limit) {
            return Err(ApiError::BadRequest(
                "limit must be between 1 and 500".into(),
            ));
        }
        let before_id = self
            .cursor
            .as_deref()
            .map(|c| {
                c.parse::<i64>()
                    .map(ReportId)
                    .map_err(|_| ApiError::BadRequest("cursor is not one this API gave out".into()))
            })
            .transpose()?;
        Ok(ReportQuery {
            bbox: self
                .bbox
                .as_deref()
                .map(str::parse)
                .transpose()
                .map_err(ApiError::BadRequest)?,
            statuses,
            categories,
            department: self.department,
            account: None,
            contact_phones: vec![],
            since: time_param("since", &self.since)?,
            until: time_param("until", &self.until)?,
            overdue_at: None,
            escalated: false,
            before_id,
            limit,
            order: sentinel_store::ReportOrder::Id,
        })
    }
}

/// `GET /api/v1/reports`: newest first; follow `next_cursor` for the next page.
pub(crate) async fn list_reports(
    State(s): State<AppState>,
    MaybeStaff(staff): MaybeStaff,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Value>> {
    let queue = q.queue.clone();
    let mut query = q.into_query(&s)?;
    if let Some(name) = queue {
        if staff.is_none() {
            return Err(ApiError::Unauthorized(
                "the queues are for staff: sign in first".into(),
            ));
        }
        match name.as_str() {
            "new" => query.statuses = vec![Status::Submitted],
            "returned" => query.statuses = vec![Status::Returned],
            "overdue" => query.overdue_at = Some(OffsetDateTime::now_utc()),
            "escalated" => query.escalated = true,
            other => {
                return Err(ApiError::BadRequest(format!(
                    "unknown queue {other:?}; use new, overdue, returned or escalated"
                )));
            }
        }
    }
    let page = s.store.reports(&query).await?;
    let next = (page.len() == query.limit as usize)
        .then(|| page.last().map(|r| r.id.to_string()))
        .flatten();
    // Lists never carry contact details, for anyone: open one report to see them (logged).
    let items: Vec<Value> = page
        .iter()
        .map(|r| {
            if let Some(st) = staff.as_ref().filter(|st| views::in_scope(st, r)) {
                let mut v = views::staff_report(r, &s.config, false);
                v["allowed_actions"] = json!(allowed_actions(&s, st, r));
                v
            } else {
                views::public_report(r, &s.config)
            }
        })
        .collect();
    Ok(Json(json!({ "reports": items, "next_cursor": next })))
}

/// `GET /api/v1/reports/{key}/events`
pub(crate) async fn get_events(
    State(s): State<AppState>,
    MaybeStaff(staff): MaybeStaff,
    ApiPath(key): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    let r = load(&s, &key).await?;
    let staff = staff.filter(|st| views::in_scope(st, &r));
    let events = s.store.events(r.id).await?;
    let items: Vec<Value> = events
        .iter()
        .map(|e| {
            if staff.is_some() {
                views::staff_event(e, &s.config)
            } else {
                views::public_event(e, &s.config)
            }
        })
        .collect();
    Ok(Json(json!({ "report": r.id, "events": items })))
}

/// Body of `POST /api/v1/reports/{key}/actions`.
#[derive(Deserialize)]
pub(crate) struct ActionBody {
    action: String,
    note: Option<String>,
    reason: Option<String>,
    department: Option<String>,
    co_departments: Option<Vec<String>>,
    assignee: Option<String>,
    /// A report id (number or string) or tracking code.
    into: Option<Value>,
    priority: Option<String>,
    /// rate: 1 to 5.
    score: Option<i64>,
}

async fn to_action(s: &AppState, report: &Report, b: ActionBody) -> ApiResult<Action> {
    let text = b.reason.or(b.note).unwrap_or_default();
    let catalog = s.catalog();
    let missing =
        |f: &str| ApiError::Validation(vec![FieldError::new(f, "is required for this action")]);
    Ok(match b.action.as_str() {
        "accept" => Action::Accept,
        "reject" => Action::Reject { reason: text },
        "merge" => {
            let into = match b.into.ok_or_else(|| missing("into"))? {
                Value::String(s) => s,
                Value::Number(n) => n.to_string(),
                _ => {
                    return Err(ApiError::Validation(vec![FieldError::new(
                        "into",
                        "give a report id or tracking code",
                    )]));
                }
            };
            let target = s.store.report(&parse_key(&into)?).await?.ok_or_else(|| {
                ApiError::Unprocessable(format!("there is no report {into} to merge into"))
            })?;
            Action::Merge { into: target.id }
        }
        "assign" => {
            // 派单 follows the routing unless the dispatcher overrides it (改派), which
            // needs a reason on the record.
            let routed = report.routing.as_ref().map(|r| r.department.clone());
            let department = b
                .department
                .or_else(|| routed.clone())
                .ok_or_else(|| missing("department"))?;
            if routed.is_some_and(|r| r != department) && text.trim().is_empty() {
                return Err(ApiError::Validation(vec![FieldError::new(
                    "reason",
                    "assigning to another department than the routing chose (改派) needs a reason",
                )]));
            }
            let co = b.co_departments.unwrap_or_default();
            for d in std::iter::once(&department).chain(&co) {
                if catalog.department(d).is_none() {
                    return Err(ApiError::Validation(vec![FieldError::new(
                        "department",
                        format!("unknown department {d:?}"),
                    )]));
                }
            }
            Action::Assign {
                department,
                co_departments: co,
                assignee: b.assignee,
                reason: (!text.is_empty()).then_some(text),
            }
        }
        "start" => Action::Start,
        "return" => Action::Return { reason: text },
        "resolve" => Action::Resolve { note: text },
        "verify" => Action::Verify,
        "close" => Action::Close,
        "reopen" => Action::Reopen { reason: text },
        "escalate" => Action::Escalate {
            note: (!text.is_empty()).then_some(text),
        },
        "set_priority" => {
            let p = b.priority.ok_or_else(|| missing("priority"))?;
            Action::SetPriority {
                priority: p
                    .parse::<Priority>()
                    .map_err(|e| ApiError::Validation(vec![FieldError::new("priority", e)]))?,
            }
        }
        "comment" => Action::Comment { note: text },
        "rate" => {
            let score = b.score.ok_or_else(|| missing("score"))?;
            let score = u8::try_from(score)
                .ok()
                .filter(|s| (1..=5).contains(s))
                .ok_or_else(|| {
                    ApiError::Validation(vec![FieldError::new(
                        "score",
                        "a rating is a whole number from 1 to 5",
                    )])
                })?;
            Action::Rate {
                score,
                comment: (!text.trim().is_empty()).then_some(text),
            }
        }
        other => {
            return Err(ApiError::Validation(vec![FieldError::new(
                "action",
                format!("unknown action {other:?}; see the lifecycle table in the API description"),
            )]));
        }
    })
}

/// `POST /api/v1/reports/{key}/actions`: move the work order. JSON, or multipart
/// with an `action` part and `photo` parts (e.g. the photo of the fix with 办结).
pub(crate) async fn post_action(
    State(s): State<AppState>,
    staff: Staff,
    ApiPath(key): ApiPath<String>,
    req: Request,
) -> ApiResult<Response> {
    staff.require(&[
        Role::Admin,
        Role::Dispatcher,
        Role::Officer,
        Role::Unit,
        Role::Analyst,
    ])?;
    let raw = read_submission(&s, req, "action").await?;
    let body: ActionBody = parse_json(&raw.report)?;
    let r = load(&s, &key).await?;
    let action = to_action(&s, &r, body).await?;
    let photos = process_photos(&s, raw.photos).await?;
    let photos = store_photos(&s, photos).await?;
    let (report, event) = apply_action(&s, &r, staff.actor(), action, photos).await?;
    tracing::info!(id = %report.id, action = %event.action, user = %staff.user.name, "report action");
    let mut view = views::staff_report(&report, &s.config, false);
    view["allowed_actions"] = json!(allowed_actions(&s, &staff, &report));
    Ok(
        Json(json!({ "report": view, "event": views::staff_event(&event, &s.config) }))
            .into_response(),
    )
}

/// Applies a lifecycle action to `r` now, whoever asks (staff, the reporter, an
/// Open311 client): the category says how the deadline moves and whether 核查 is
/// required.
pub(crate) async fn apply_action(
    s: &AppState,
    r: &Report,
    actor: sentinel_core::Actor,
    action: Action,
    photos: Vec<PhotoRecord>,
) -> ApiResult<(Report, sentinel_core::Event)> {
    let catalog = s.catalog();
    let cat = catalog.category(&r.category);
    let now = OffsetDateTime::now_utc();
    if !photos.is_empty() {
        s.redaction.poke();
    }
    let due = cat.map_or(sentinel_core::calendar::DueChange::Keep, |c| {
        sentinel_core::calendar::due_after(
            action.kind(),
            c.deadlines_for(r.priority),
            now,
            &s.calendar(),
        )
    });
    Ok(s.store
        .apply(ActionRequest {
            report: r.id,
            actor,
            action,
            photos,
            requires_verification: cat.is_some_and(|c| c.requires_verification),
            due,
            policy: s.config.lifecycle,
            now,
        })
        .await?)
}

/// Body of `POST /api/v1/reports/{key}/reporter`.
#[derive(Deserialize)]
pub(crate) struct ReporterBody {
    reporter_key: Option<String>,
    action: String,
    reason: Option<String>,
    score: Option<i64>,
    comment: Option<String>,
}

/// `POST /api/v1/reports/{key}/reporter`: the person who filed the report, proved
/// by the secret they were given, confirms the fix (`confirm`), disputes it
/// (`reopen`, with a reason) or rates the handling (`rate`, 1 to 5).
pub(crate) async fn post_reporter_action(
    State(s): State<AppState>,
    crate::client::ClientIp(peer): crate::client::ClientIp,
    ApiPath(key): ApiPath<String>,
    crate::extract::ApiBytes(body): crate::extract::ApiBytes,
) -> ApiResult<Json<Value>> {
    s.intake_limit.check(peer)?;
    let b: ReporterBody = parse_json(&body)?;
    let r = load(&s, &key).await?;
    let given = b.reporter_key.as_deref().map(str::trim).unwrap_or_default();
    let proved = !given.is_empty()
        && r.reporter_key_hash.as_deref().is_some_and(|h| {
            let mine = crate::auth::secret_hash(given);
            // Compare without an early exit.
            h.len() == mine.len()
                && h.bytes()
                    .zip(mine.bytes())
                    .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                    == 0
        });
    if !proved {
        return Err(ApiError::Forbidden(
            "only the person who filed this report can do this (the reporter_key is missing or wrong)"
                .into(),
        ));
    }
    let text = |v: Option<String>| v.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty());
    let action = match b.action.as_str() {
        "confirm" => Action::Close,
        "reopen" => Action::Reopen {
            reason: text(b.reason).unwrap_or_default(),
        },
        "rate" => {
            let score = b
                .score
                .and_then(|s| u8::try_from(s).ok())
                .filter(|s| (1..=5).contains(s))
                .ok_or_else(|| {
                    ApiError::Validation(vec![FieldError::new(
                        "score",
                        "a rating is a whole number from 1 to 5",
                    )])
                })?;
            Action::Rate {
                score,
                comment: text(b.comment),
            }
        }
        other => {
            return Err(ApiError::Validation(vec![FieldError::new(
                "action",
                format!("unknown action {other:?}; use confirm, reopen or rate"),
            )]));
        }
    };
    let (report, event) =
        apply_action(&s, &r, sentinel_core::Actor::Reporter, action, vec![]).await?;
    tracing::info!(id = %report.id, action = %event.action, "reporter action");
    Ok(Json(json!({
        "report": views::public_report(&report, &s.config),
        "event": views::public_event(&event, &s.config),
    })))
}

/// `GET /api/v1/queue`: how many reports wait in each queue (staff).
pub(crate) async fn queue_counts(
    State(s): State<AppState>,
    _staff: Staff,
) -> ApiResult<Json<Value>> {
    let c = s.store.queue_counts(OffsetDateTime::now_utc()).await?;
    Ok(Json(json!({
        "new": c.new,
        "overdue": c.overdue,
        "returned": c.returned,
        "escalated": c.escalated,
    })))
}

#[cfg(test)]
mod seal_tests {
    use super::*;

    #[test]
    fn a_sealed_reporter_key_opens_with_its_idempotency_key_only() {
        let secret = crate::auth::random_secret();
        let sealed = seal("client-key-1", &secret);
        assert!(!sealed.contains(&secret));
        assert_eq!(
            unseal("client-key-1", &sealed).as_deref(),
            Some(secret.as_str())
        );
        assert_ne!(
            unseal("client-key-2", &sealed).as_deref(),
            Some(secret.as_str())
        );
        let body = json!({"id": 1, "reporter_key": {"sealed": sealed}}).to_string();
        let open: Value = serde_json::from_str(&unseal_answer(&body, "client-key-1")).unwrap();
        assert_eq!(open["reporter_key"], json!(secret));
    }
}
