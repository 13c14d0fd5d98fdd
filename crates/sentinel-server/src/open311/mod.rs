//! Open311 GeoReport v2 at `/open311/v2`, with service discovery and the
//! FixMyStreet extensions (`servicerequestupdates`, extended statuses, `groups`).
//! Categories are services, reports are service requests (their tracking code is
//! the `service_request_id`), status changes are updates. The mapping is
//! documented in docs/OPEN311.md; the lifecycle stays Sentinel's: a client files
//! reports and adds notes, it never moves a work order.

mod doc;
mod mapping;
mod media;

use crate::AppState;
use crate::error::ApiError;
use crate::views;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use doc::{Format, Node, Open311Error};
use mapping::Asked;
use sentinel_core::input::{ContactInput, ParseContext};
use sentinel_core::open311::{Params, w3c, w3c_datetime};
use sentinel_core::{Action, Actor, Catalog, Channel, Report, ReportId, ReportInput, TrackingCode};
use sentinel_store::{Open311Client, ReportKey, ReportQuery, Submitted};
use serde_json::Value;
use std::collections::HashMap;
use time::{Duration, OffsetDateTime};

/// The spec's limit on one page of requests.
const MAX_REQUESTS: u32 = 1000;
/// The spec's longest date span.
const MAX_SPAN: Duration = Duration::days(90);
/// Media links kept per request.
const MAX_MEDIA: usize = 5;

/// The Open311 routes.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/open311/{file}", get(discovery))
        .route("/open311/v2/{file}", get(v2_get).post(v2_post))
        .route("/open311/v2/services/{file}", get(service_definition))
        .route("/open311/v2/requests/{file}", get(one_request))
        .route("/open311/v2/tokens/{file}", get(token))
}

type Result<T, E = Open311Error> = std::result::Result<T, E>;

/// Maps an error from the rest of Sentinel to the spec's codes: 404 for what
/// does not exist, 403 for keys, 400 for the rest (503 and 429 keep their meaning).
fn from_api(format: Format, e: ApiError) -> Open311Error {
    let status = match &e {
        ApiError::NotFound(_) => StatusCode::NOT_FOUND,
        ApiError::Forbidden(_) | ApiError::Unauthorized(_) => StatusCode::FORBIDDEN,
        ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
        ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ApiError::Internal(cause) => {
            tracing::error!(%cause, "open311 request failed");
            StatusCode::SERVICE_UNAVAILABLE
        }
        _ => StatusCode::BAD_REQUEST,
    };
    let descriptions = match &e {
        ApiError::Validation(fields) => fields
            .iter()
            .map(|f| format!("{}: {}", open311_field(&f.field), f.message))
            .collect(),
        ApiError::Internal(_) => vec!["the service is temporarily unavailable; try again".into()],
        other => vec![other.to_string()],
    };
    Open311Error {
        format,
        status,
        descriptions,
        retry_after: match e {
            ApiError::TooManyRequests { retry_after } => Some(retry_after),
            ApiError::Unavailable | ApiError::Internal(_) => Some(5),
            _ => None,
        },
    }
}

/// Our field names, as a client of this API knows them.
fn open311_field(field: &str) -> String {
    match field {
        "category" => "service_code".into(),
        "lon" => "long".into(),
        "contact.email" => "email".into(),
        "contact.phone" => "phone".into(),
        "contact.name" => "first_name".into(),
        f => match f.strip_prefix("attributes.") {
            Some(code) => format!("attribute[{code}]"),
            None => f.to_owned(),
        },
    }
}

/// A name in the language asked for: the English one when asked and present.
fn pick(en: bool, zh: &str, english: &str) -> String {
    if en && !english.is_empty() {
        english
    } else {
        zh
    }
    .to_owned()
}

/// English names when the client asks for English (`Accept-Language: en` or
/// `locale=en`), Chinese otherwise.
fn english(headers: &HeaderMap, params: &Params) -> bool {
    params
        .get("locale")
        .or_else(|| {
            headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
        })
        .is_some_and(|l| l.trim_start().to_ascii_lowercase().starts_with("en"))
}

fn check_jurisdiction(s: &AppState, format: Format, params: &Params) -> Result<()> {
    if let (Some(ours), Some(given)) = (
        &s.config.open311_jurisdiction,
        params.get("jurisdiction_id"),
    ) && !given.trim().eq_ignore_ascii_case(ours)
    {
        return Err(Open311Error::not_found(
            format,
            format!("jurisdiction_id {given:?} was not found; this endpoint serves {ours:?}"),
        ));
    }
    Ok(())
}

async fn client(
    s: &AppState,
    format: Format,
    params: &Params,
    what: &str,
) -> Result<Open311Client> {
    let forbidden = |why: &str| {
        Open311Error::new(
            format,
            StatusCode::FORBIDDEN,
            format!("{why} api_key -- can't proceed with {what}"),
        )
    };
    let key = params.get("api_key").ok_or_else(|| forbidden("Missing"))?;
    let client = s
        .store
        .open311_client_for_key(&crate::auth::secret_hash(key.trim()))
        .await
        .map_err(|e| from_api(format, e.into()))?
        .ok_or_else(|| forbidden("Invalid"))?;
    s.open311_limit
        .check(client.id)
        .map_err(|e| from_api(format, e))?;
    Ok(client)
}

/// `GET /open311/discovery.{xml,json}`
async fn discovery(State(s): State<AppState>, Path(file): Path<String>) -> Result<Response> {
    let (stem, format) = Format::split(&file)?;
    if stem != "discovery" {
        return Err(Open311Error::not_found(
            format,
            format!("no resource {file:?}"),
        ));
    }
    let changeset = w3c(s.started_at);
    let endpoint = Node::Record(vec![
        (
            "specification",
            Node::Text("http://wiki.open311.org/GeoReport_v2".into()),
        ),
        (
            "url",
            Node::Text(format!("{}/open311/v2", s.config.public_url)),
        ),
        ("changeset", Node::Text(changeset.clone())),
        ("type", Node::Text("production".into())),
        (
            "formats",
            Node::List(
                "format",
                vec![
                    Node::Text("text/xml".into()),
                    Node::Text("application/json".into()),
                ],
            ),
        ),
    ]);
    Ok(doc::one(
        format,
        "discovery",
        Node::Record(vec![
            ("changeset", Node::Text(changeset)),
            ("contact", Node::Text(format!("{}/", s.config.public_url))),
            (
                "key_service",
                Node::Text("API keys are issued by the city's Sentinel administrators".into()),
            ),
            ("endpoints", Node::List("endpoint", vec![endpoint])),
        ]),
    ))
}

/// `GET /open311/v2/{services,requests,servicerequestupdates}.{xml,json}`
async fn v2_get(
    State(s): State<AppState>,
    Path(file): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response> {
    let (stem, format) = Format::split(&file)?;
    let params = Params::parse(query.as_deref(), b"");
    check_jurisdiction(&s, format, &params)?;
    match stem {
        "services" => Ok(services(&s, format, english(&headers, &params))),
        "requests" => requests(&s, format, &params, english(&headers, &params)).await,
        "servicerequestupdates" => updates(&s, format, &params).await,
        _ => Err(Open311Error::not_found(
            format,
            format!("no resource {file:?}"),
        )),
    }
}

/// `POST /open311/v2/{requests,servicerequestupdates}.{xml,json}`
async fn v2_post(
    State(s): State<AppState>,
    Path(file): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let (stem, format) = Format::split(&file)?;
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(Open311Error::bad(
            format,
            "send the arguments as application/x-www-form-urlencoded",
        ));
    }
    let params = Params::parse(query.as_deref(), &body);
    match stem {
        "requests" => {
            let client = client(&s, format, &params, "create_request").await?;
            check_jurisdiction(&s, format, &params)?;
            create_request(&s, format, &params, &client).await
        }
        "servicerequestupdates" => {
            let client = client(&s, format, &params, "post_service_request_update").await?;
            check_jurisdiction(&s, format, &params)?;
            post_update(&s, format, &params, &client).await
        }
        _ => Err(Open311Error::not_found(
            format,
            format!("no resource {file:?} to post to"),
        )),
    }
}

fn services(s: &AppState, format: Format, en: bool) -> Response {
    let catalog = s.catalog();
    let items = catalog
        .categories
        .iter()
        .map(|c| {
            Node::Record(vec![
                ("service_code", Node::Text(c.code.clone())),
                ("service_name", Node::Text(pick(en, &c.name, &c.name_en))),
                ("description", Node::Text(c.description.clone())),
                ("metadata", Node::Bool(!c.attributes.is_empty())),
                (
                    "type",
                    Node::Text(if c.realtime { "realtime" } else { "batch" }.into()),
                ),
                ("keywords", Node::Text(c.keywords.join(", "))),
                ("group", Node::Text(c.group.clone())),
                (
                    "groups",
                    Node::List("group", vec![Node::Text(c.group.clone())]),
                ),
            ])
        })
        .collect();
    doc::list(format, "services", "service", items)
}

/// `GET /open311/v2/services/{code}.{xml,json}`
async fn service_definition(
    State(s): State<AppState>,
    Path(file): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response> {
    let (code, format) = Format::split(&file)?;
    let params = Params::parse(query.as_deref(), b"");
    check_jurisdiction(&s, format, &params)?;
    let en = english(&headers, &params);
    let catalog = s.catalog();
    let cat = catalog.category(code).ok_or_else(|| {
        Open311Error::not_found(format, format!("service_code {code:?} was not found"))
    })?;
    let mut attrs: Vec<_> = cat.attributes.iter().collect();
    attrs.sort_by_key(|a| a.order);
    let attributes = attrs
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let datatype = serde_json::to_value(a.datatype)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            let hint = match datatype.as_str() {
                "number" => "a number",
                "datetime" => "a date and time, e.g. 2026-11-26T08:00:00+08:00",
                "multivaluelist" => "one or more keys from the values",
                "singlevaluelist" => "one key from the values",
                "text" => "text; line breaks allowed",
                _ => "a line of text",
            };
            let question = pick(en, &a.description, &a.description_en);
            Node::Record(vec![
                ("variable", Node::Bool(true)),
                ("code", Node::Text(a.code.clone())),
                ("datatype", Node::Text(datatype.clone())),
                ("required", Node::Bool(a.required)),
                ("datatype_description", Node::Text(hint.into())),
                // Orders are positive and unique within a service, as the spec asks.
                ("order", Node::num(i + 1)),
                ("description", Node::Text(question)),
                (
                    "values",
                    Node::List(
                        "value",
                        a.values
                            .iter()
                            .map(|v| {
                                Node::Record(vec![
                                    ("key", Node::Text(v.key.clone())),
                                    ("name", Node::Text(pick(en, &v.name, &v.name_en))),
                                ])
                            })
                            .collect(),
                    ),
                ),
            ])
        })
        .collect();
    Ok(doc::one(
        format,
        "service_definition",
        Node::Record(vec![
            ("service_code", Node::Text(cat.code.clone())),
            ("attributes", Node::List("attribute", attributes)),
        ]),
    ))
}

/// What a category promises, in a sentence (the `service_notice`).
fn service_notice(catalog: &Catalog, category: &str) -> Node {
    catalog.category(category).map_or(Node::Null, |c| {
        let d = c.deadlines_for(c.default_priority);
        let limit = |l: sentinel_core::calendar::Limit| match l {
            sentinel_core::calendar::Limit::Hours(h) => format!("{h} 小时 / {h} h"),
            sentinel_core::calendar::Limit::WorkingDays(n) => {
                format!("{n} 个工作日 / {n} working days")
            }
        };
        Node::Text(format!(
            "受理时限 {}，办结时限 {} / accepted within {}, resolved within {}",
            limit(d.accept),
            limit(d.resolve),
            limit(d.accept),
            limit(d.resolve)
        ))
    })
}

/// Finds a place for an address given as text by the jurisdictions it names:
/// the finest level named, its interior point, and an accuracy covering it.
fn place_address(s: &AppState, address: &str) -> Option<(f64, f64, f64)> {
    use geo::{BoundingRect, Distance, Haversine, InteriorPoint};
    let index = s.jurisdictions();
    let lower = address.to_lowercase();
    let best = index
        .all()
        .iter()
        .filter(|j| {
            j.name.chars().count() >= 2 && address.contains(j.name.as_str())
                || j.name_en
                    .as_deref()
                    .is_some_and(|n| n.len() >= 3 && lower.contains(&n.to_lowercase()))
        })
        .max_by_key(|j| (j.level, j.name.chars().count()))?;
    let p = best.area.interior_point()?;
    let r = best.area.bounding_rect()?;
    let radius = Haversine.distance(r.min().into(), r.max().into()) / 2.0;
    Some((p.y(), p.x(), radius.clamp(50.0, 100_000.0)))
}

async fn create_request(
    s: &AppState,
    format: Format,
    params: &Params,
    client: &Open311Client,
) -> Result<Response> {
    let catalog = s.catalog();
    let code = params
        .get("service_code")
        .ok_or_else(|| Open311Error::bad(format, "service_code was not provided"))?
        .trim();
    let cat = catalog.category(code).ok_or_else(|| {
        Open311Error::not_found(format, format!("service_code {code:?} was not found"))
    })?;
    let mut errors = Vec::new();
    let number = |k: &str, errors: &mut Vec<String>| -> Option<f64> {
        let v = params.get(k)?;
        match v.trim().parse::<f64>() {
            Ok(x) if x.is_finite() => Some(x),
            _ => {
                errors.push(format!("{k}: {v:?} is not a number"));
                None
            }
        }
    };
    let (lat, lon) = (number("lat", &mut errors), number("long", &mut errors));
    let address = params.get("address_string").map(str::trim);
    let (lat, lon, accuracy) = match (lat, lon, address) {
        (Some(lat), Some(lon), _) => (Some(lat), Some(lon), None),
        (Some(_), None, _) | (None, Some(_), _) => {
            errors.push("lat and long must be sent together".into());
            (None, None, None)
        }
        (None, None, Some(a)) => match place_address(s, a) {
            Some((lat, lon, acc)) => (Some(lat), Some(lon), Some(acc)),
            None => {
                errors.push(format!(
                    "address_string {a:?} names no place this city knows; send lat and long"
                ));
                (None, None, None)
            }
        },
        (None, None, None) if errors.is_empty() => {
            errors.push(if params.get("address_id").is_some() {
                "address_id is not supported here; send lat and long or an address_string".into()
            } else {
                "a location is required: lat and long, or address_string".into()
            });
            (None, None, None)
        }
        _ => (None, None, None),
    };
    // CRLF and lone CR are line breaks.
    let description = params
        .get("description")
        .map(|d| d.replace("\r\n", "\n").replace('\r', "\n"));
    if description
        .as_ref()
        .is_some_and(|d| d.chars().count() > sentinel_core::input::MAX_DESCRIPTION_CHARS)
    {
        errors.push("description is longer than 4,000 characters".into());
    }
    let mut media = Vec::new();
    for m in params.all("media_url") {
        match check_media(s, m) {
            Ok(u) => media.push(u),
            Err(e) => errors.push(e),
        }
    }
    if media.len() > MAX_MEDIA {
        errors.push(format!("at most {MAX_MEDIA} media_url may be sent"));
    }
    let mut attributes = serde_json::Map::new();
    for (k, vs) in params.attributes() {
        let multi = cat.attributes.iter().any(|a| {
            a.code == k && a.datatype == sentinel_core::catalog::AttributeType::Multivaluelist
        });
        let v = if multi || vs.len() > 1 {
            Value::Array(vs.into_iter().map(Value::String).collect())
        } else {
            Value::String(vs.into_iter().next().unwrap_or_default())
        };
        attributes.insert(k, v);
    }
    if !errors.is_empty() {
        return Err(Open311Error {
            format,
            status: StatusCode::BAD_REQUEST,
            descriptions: errors,
            retry_after: None,
        });
    }
    let name = [params.get("first_name"), params.get("last_name")]
        .into_iter()
        .flatten()
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ");
    let contact = ContactInput {
        name: (!name.is_empty()).then_some(name),
        phone: params.get("phone").map(str::to_owned),
        email: params.get("email").map(str::to_owned),
    };
    let anonymous = contact.name.is_none() && contact.phone.is_none() && contact.email.is_none();
    let input = ReportInput {
        category: Some(cat.code.clone()),
        description,
        lat,
        lon,
        crs: None,
        accuracy_m: accuracy,
        address: address.map(str::to_owned),
        attributes: Some(attributes),
        contact: (!anonymous).then_some(contact),
        anonymous: Some(anonymous),
        observed_at: None,
        channel: None,
    };
    let ctx = ParseContext {
        catalog: &catalog,
        // A linked photo stands for an attached one: a report may be a picture alone.
        photo_count: media.len(),
        exif_location: None,
        exif_time: None,
        channel: Channel::Open311,
        account: None,
        staff: false,
    };
    let mut new = input
        .parse(&ctx)
        .map_err(|e| from_api(format, ApiError::Validation(e)))?;
    new.media_urls = media.clone();
    let actor = format!("open311:{}", client.name);
    let report = match crate::api::reports::file_report(s, new, vec![], actor, None)
        .await
        .map_err(|e| from_api(format, e))?
    {
        Submitted::Created(r, _) => r,
        Submitted::Replayed(_) => {
            return Err(Open311Error::bad(format, "the request was already filed"));
        }
    };
    let fetchable: Vec<String> = media
        .into_iter()
        .filter(|u| {
            url::Url::parse(u)
                .ok()
                .and_then(|u| {
                    u.host_str().map(|h| {
                        media::allowed(&s.config.media_fetch_hosts, h.trim_matches(['[', ']']))
                    })
                })
                .unwrap_or(false)
        })
        .collect();
    if !fetchable.is_empty() {
        // After the report is durable; the answer never waits for the fetch.
        tokio::spawn(media::fetch_all(
            s.clone(),
            report.id,
            client.name.clone(),
            fetchable,
        ));
    }
    let notice = service_notice(&catalog, &report.category);
    let item = if cat.realtime {
        Node::Record(vec![
            (
                "service_request_id",
                Node::Text(report.tracking_code.to_string()),
            ),
            ("service_notice", notice),
            ("account_id", Node::Null),
        ])
    } else {
        let token = crate::auth::random_secret();
        s.store
            .save_open311_token(&token, report.id, client.id, OffsetDateTime::now_utc())
            .await
            .map_err(|e| from_api(format, e.into()))?;
        Node::Record(vec![
            ("token", Node::Text(token)),
            ("service_notice", notice),
            ("account_id", Node::Null),
        ])
    };
    Ok(doc::list(format, "service_requests", "request", vec![item]))
}

/// Checks a media link; private hosts pass only where the city allows them.
fn check_media(s: &AppState, raw: &str) -> Result<String, String> {
    match mapping::check_media_url(raw) {
        Err(e) if s.config.media_fetch_allow_private && e.contains("private") => {
            url::Url::parse(raw.trim())
                .map(|u| u.to_string())
                .map_err(|e| e.to_string())
        }
        other => other,
    }
}

/// A `start_date`/`end_date` window: at most 90 days, by default the last 90.
fn window(format: Format, params: &Params) -> Result<(OffsetDateTime, OffsetDateTime)> {
    let date = |k: &str| -> Result<Option<OffsetDateTime>> {
        params
            .get(k)
            .map(|v| w3c_datetime(v).map_err(|e| Open311Error::bad(format, format!("{k}: {e}"))))
            .transpose()
    };
    let (start, end) = (date("start_date")?, date("end_date")?);
    let now = OffsetDateTime::now_utc();
    // Dates near the ends of the calendar (9999-12-31) must not overflow.
    let out_of_range = || Open311Error::bad(format, "start_date or end_date is out of range");
    let (start, end) = match (start, end) {
        (Some(a), Some(b)) => (a, b),
        (Some(a), None) => (
            a,
            a.checked_add(MAX_SPAN)
                .ok_or_else(out_of_range)?
                .min(now.max(a)),
        ),
        (None, Some(b)) => (b.checked_sub(MAX_SPAN).ok_or_else(out_of_range)?, b),
        (None, None) => (now - MAX_SPAN, now),
    };
    if end < start {
        return Err(Open311Error::bad(format, "end_date is before start_date"));
    }
    if end - start > MAX_SPAN {
        return Err(Open311Error::bad(
            format,
            "start_date and end_date may not span more than 90 days",
        ));
    }
    Ok((start, end))
}

/// One request as the spec lists it.
fn request_node(
    s: &AppState,
    catalog: &Catalog,
    r: &Report,
    notes: &HashMap<ReportId, String>,
    en: bool,
) -> Node {
    let cat = catalog.category(&r.category);
    let service_name = cat.map_or_else(|| r.category.clone(), |c| pick(en, &c.name, &c.name_en));
    let agency = r
        .department
        .as_ref()
        .or(r.routing.as_ref().map(|x| &x.department))
        .map(|d| {
            catalog
                .department(d)
                .map_or_else(|| d.clone(), |dep| pick(en, &dep.name, &dep.name_en))
        });
    let media = r
        .photos
        .iter()
        .find(|p| !s.config.hidden_photos.contains(p))
        .map(|p| views::photo_url(&s.config, p))
        .or_else(|| r.media_urls.first().cloned());
    let updated = if mapping::open_or_closed(r.status) == "closed" {
        r.closed_at.unwrap_or(r.updated_at)
    } else {
        r.updated_at
    };
    let expected = r
        .due
        .filter(|(_, kind)| *kind == sentinel_core::calendar::DueKind::Resolve)
        .map(|(at, _)| w3c(at));
    Node::Record(vec![
        (
            "service_request_id",
            Node::Text(r.tracking_code.to_string()),
        ),
        (
            "status",
            Node::Text(mapping::open_or_closed(r.status).into()),
        ),
        ("status_notes", Node::opt_text(notes.get(&r.id).cloned())),
        ("service_name", Node::Text(service_name)),
        ("service_code", Node::Text(r.category.clone())),
        ("description", Node::Text(r.description.clone())),
        ("agency_responsible", Node::opt_text(agency)),
        ("service_notice", service_notice(catalog, &r.category)),
        ("requested_datetime", Node::Text(w3c(r.created_at))),
        ("updated_datetime", Node::Text(w3c(updated))),
        ("expected_datetime", Node::opt_text(expected)),
        ("address", Node::opt_text(r.address.clone())),
        ("address_id", Node::Null),
        ("zipcode", Node::Null),
        ("lat", Node::num(r.location.lat())),
        ("long", Node::num(r.location.lon())),
        ("media_url", Node::opt_text(media)),
        // FixMyStreet reads the detailed state from here.
        (
            "extended_status",
            Node::Text(mapping::extended(r.status).into()),
        ),
    ])
}

async fn render_requests(
    s: &AppState,
    format: Format,
    reports: Vec<Report>,
    en: bool,
) -> Result<Response> {
    let ids: Vec<ReportId> = reports.iter().map(|r| r.id).collect();
    let notes: HashMap<ReportId, String> = s
        .store
        .latest_notes(&ids, views::PUBLIC_NOTES)
        .await
        .map_err(|e| from_api(format, e.into()))?
        .into_iter()
        .collect();
    let catalog = s.catalog();
    let items = reports
        .iter()
        .map(|r| request_node(s, &catalog, r, &notes, en))
        .collect();
    Ok(doc::list(format, "service_requests", "request", items))
}

fn report_key(id: &str) -> Option<ReportKey> {
    let id = id.trim();
    if let Ok(code) = id.parse::<TrackingCode>() {
        return Some(ReportKey::Code(code));
    }
    id.parse::<i64>().ok().map(|n| ReportKey::Id(ReportId(n)))
}

async fn requests(s: &AppState, format: Format, params: &Params, en: bool) -> Result<Response> {
    let store_err = |e: sentinel_store::StoreError| from_api(format, e.into());
    // A list of ids overrides every other argument.
    let ids = params.list("service_request_id");
    if !ids.is_empty() {
        if ids.len() > MAX_REQUESTS as usize {
            return Err(Open311Error::bad(
                format,
                format!("at most {MAX_REQUESTS} service_request_id at once"),
            ));
        }
        let mut found = Vec::new();
        for id in &ids {
            if let Some(key) = report_key(id)
                && let Some(r) = s.store.report(&key).await.map_err(store_err)?
            {
                found.push(r);
            }
        }
        return render_requests(s, format, found, en).await;
    }
    let catalog = s.catalog();
    let categories = params.list("service_code");
    if let Some(unknown) = categories.iter().find(|c| catalog.category(c).is_none()) {
        return Err(Open311Error::not_found(
            format,
            format!("service_code {unknown:?} was not found"),
        ));
    }
    let mut statuses = Vec::new();
    for st in params.list("status") {
        statuses.extend(mapping::statuses(&st).ok_or_else(|| {
            Open311Error::bad(
                format,
                format!("status {st:?} is unknown; use open or closed"),
            )
        })?);
    }
    let (start, end) = window(format, params)?;
    let reports = s
        .store
        .reports(&ReportQuery {
            statuses,
            categories,
            since: Some(start),
            until: Some(end + Duration::milliseconds(1)),
            limit: MAX_REQUESTS,
            order: sentinel_store::ReportOrder::Created,
            ..Default::default()
        })
        .await
        .map_err(store_err)?;
    render_requests(s, format, reports, en).await
}

/// `GET /open311/v2/requests/{id}.{xml,json}`
async fn one_request(
    State(s): State<AppState>,
    Path(file): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response> {
    let (id, format) = Format::split(&file)?;
    let params = Params::parse(query.as_deref(), b"");
    check_jurisdiction(&s, format, &params)?;
    let missing =
        || Open311Error::not_found(format, format!("service_request_id {id:?} was not found"));
    let key = report_key(id).ok_or_else(missing)?;
    let r = s
        .store
        .report(&key)
        .await
        .map_err(|e| from_api(format, e.into()))?
        .ok_or_else(missing)?;
    render_requests(&s, format, vec![r], english(&headers, &params)).await
}

/// `GET /open311/v2/tokens/{token}.{xml,json}`
async fn token(
    State(s): State<AppState>,
    Path(file): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response> {
    let (token, format) = Format::split(&file)?;
    let params = Params::parse(query.as_deref(), b"");
    check_jurisdiction(&s, format, &params)?;
    let missing = || Open311Error::not_found(format, format!("token {token:?} was not found"));
    let id = s
        .store
        .open311_token(token)
        .await
        .map_err(|e| from_api(format, e.into()))?
        .ok_or_else(missing)?;
    let r = s
        .store
        .report(&ReportKey::Id(id))
        .await
        .map_err(|e| from_api(format, e.into()))?
        .ok_or_else(missing)?;
    Ok(doc::list(
        format,
        "service_requests",
        "request",
        vec![Node::Record(vec![
            (
                "service_request_id",
                Node::Text(r.tracking_code.to_string()),
            ),
            ("token", Node::Text(token.to_owned())),
        ])],
    ))
}

/// `GET servicerequestupdates`: status changes in the window, oldest first.
async fn updates(s: &AppState, format: Format, params: &Params) -> Result<Response> {
    let (start, end) = window(format, params)?;
    let changes = s
        .store
        .status_changes(start, end + Duration::milliseconds(1), MAX_REQUESTS)
        .await
        .map_err(|e| from_api(format, e.into()))?;
    let items = changes
        .into_iter()
        .filter_map(|(e, code)| {
            let to = e.to_status?;
            let public_note = views::PUBLIC_NOTES
                .contains(&e.action.as_str())
                .then(|| e.note.clone())
                .flatten();
            let media = e
                .data
                .get("photos")
                .and_then(Value::as_array)
                .and_then(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .find(|p| !s.config.hidden_photos.contains(p))
                })
                .map(|p| views::photo_url(&s.config, p));
            Some(Node::Record(vec![
                ("update_id", Node::Text(e.id.to_string())),
                ("service_request_id", Node::Text(code.to_string())),
                ("status", Node::Text(mapping::extended(to).into())),
                ("updated_datetime", Node::Text(w3c(e.at))),
                ("description", Node::Text(public_note.unwrap_or_default())),
                ("media_url", Node::Text(media.unwrap_or_default())),
                ("external_status_code", Node::Text(to.as_str().into())),
            ]))
        })
        .collect();
    Ok(doc::list(
        format,
        "service_request_updates",
        "request_update",
        items,
    ))
}

/// `POST servicerequestupdates`: what a reporter said through the client. "Fixed"
/// closes a resolved order, "open" reopens a resolved or closed one; anything else,
/// or a word the state does not allow, becomes a note on the timeline.
async fn post_update(
    s: &AppState,
    format: Format,
    params: &Params,
    client: &Open311Client,
) -> Result<Response> {
    let id = params
        .get("service_request_id")
        .ok_or_else(|| Open311Error::bad(format, "service_request_id was not provided"))?;
    let status = params
        .get("status")
        .ok_or_else(|| Open311Error::bad(format, "status was not provided"))?;
    let asked = mapping::asked(status).ok_or_else(|| {
        Open311Error::bad(
            format,
            format!("status {status:?} is not an Open311 status"),
        )
    })?;
    let description = params
        .get("description")
        .map(|d| d.replace("\r\n", "\n").replace('\r', "\n"))
        .unwrap_or_default();
    if description.chars().any(sentinel_core::input::unprintable) {
        return Err(Open311Error::bad(
            format,
            "description must not contain control characters",
        ));
    }
    if description.chars().count() > sentinel_core::input::MAX_DESCRIPTION_CHARS {
        return Err(Open311Error::bad(
            format,
            "description is longer than 4,000 characters",
        ));
    }
    if let Some(t) = params.get("updated_datetime") {
        w3c_datetime(t).map_err(|e| Open311Error::bad(format, format!("updated_datetime: {e}")))?;
    }
    let mut media = Vec::new();
    for m in params.all("media_url") {
        media.push(check_media(s, m).map_err(|e| Open311Error::bad(format, e))?);
    }
    let missing =
        || Open311Error::not_found(format, format!("service_request_id {id:?} was not found"));
    let key = report_key(id).ok_or_else(missing)?;
    let r = s
        .store
        .report(&key)
        .await
        .map_err(|e| from_api(format, e.into()))?
        .ok_or_else(missing)?;
    use sentinel_core::Status as St;
    let said = if description.trim().is_empty() {
        format!("({status})")
    } else {
        description.clone()
    };
    let with_media = if media.is_empty() {
        said.clone()
    } else {
        format!("{said}\n{}", media.join("\n"))
    };
    // A client changes only what it filed itself (or every report, when an admin
    // trusts it with `--open311-trusted-clients`); on others its word is a note.
    let name = format!("open311:{}", client.name);
    let may_act = s.config.open311_trusted_clients.contains(&client.name)
        || s.store
            .events(r.id)
            .await
            .map_err(|e| from_api(format, e.into()))?
            .first()
            .is_some_and(|e| e.actor == name);
    let asked = if may_act { asked } else { Asked::Note };
    let me = || Actor::Client { name: name.clone() };
    let action = match (asked, r.status) {
        (Asked::Done, St::Resolved)
            if !s
                .catalog()
                .category(&r.category)
                .is_some_and(|c| c.requires_verification) =>
        {
            (me(), Action::Close)
        }
        (Asked::Done, St::Verified) => (me(), Action::Close),
        (Asked::NotDone, St::Resolved | St::Verified | St::Closed) => (
            me(),
            Action::Reopen {
                reason: with_media.clone(),
            },
        ),
        _ => (
            Actor::System,
            Action::Comment {
                note: format!("[{}] {with_media}", client.name),
            },
        ),
    };
    let (_, event) = crate::api::reports::apply_action(s, &r, action.0, action.1, vec![])
        .await
        .map_err(|e| from_api(format, e))?;
    tracing::info!(report = %r.id, client = %client.name, action = %event.action, "open311 update");
    Ok(doc::list(
        format,
        "service_request_updates",
        "request_update",
        vec![Node::Record(vec![(
            "update_id",
            Node::Text(event.id.to_string()),
        )])],
    ))
}
