//! The console's one search box: a tracking code, a report id, a caller's phone
//! number (for those who may see contact details, logged), a place (jurisdictions
//! and named features of the city's layers) or a unit's call sign.

use crate::AppState;
use crate::auth::Staff;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiQuery;
use crate::views;
use axum::Json;
use axum::extract::State;
use geo::InteriorPoint;
use sentinel_core::{Report, ReportId, Role, TrackingCode};
use sentinel_store::{ReportKey, ReportQuery};
use serde::Deserialize;
use serde_json::{Value, json};

/// Query of `GET /api/v1/search`.
#[derive(Deserialize)]
pub(crate) struct SearchQuery {
    q: Option<String>,
    limit: Option<u32>,
}

const MAX_QUERY_CHARS: usize = 100;

fn report_hit(r: &Report, matched: &str) -> Value {
    json!({
        "kind": "report",
        "label": r.tracking_code,
        "matched": matched,
        "id": r.id,
        "code": r.tracking_code,
        "category": r.category,
        "status": r.status,
        "lat": r.location.lat(),
        "lon": r.location.lon(),
    })
}

/// Whether `q` is a phone number (not a report id: those are shorter).
fn looks_like_phone(q: &str) -> bool {
    let digits = q.chars().filter(char::is_ascii_digit).count();
    (7..=20).contains(&digits) && q.chars().all(|c| c.is_ascii_digit() || " +-()".contains(c))
}

/// The property of a layer feature that names it and contains `needle`, if any.
fn feature_name(properties: &str, needle: &str) -> Option<String> {
    let v: Value = serde_json::from_str(properties).ok()?;
    let obj = v.as_object()?;
    const NAMES: &[&str] = &["name", "名称", "title", "label", "address", "地址"];
    let named = obj
        .iter()
        .filter(|(k, _)| NAMES.contains(&k.to_lowercase().as_str()))
        .chain(obj.iter());
    named
        .filter_map(|(_, v)| v.as_str())
        .find(|s| s.to_lowercase().contains(needle))
        .map(str::to_owned)
}

/// `GET /api/v1/search?q=`: staff only; the tracking code's report comes first.
pub(crate) async fn search(
    State(s): State<AppState>,
    staff: Staff,
    ApiQuery(q): ApiQuery<SearchQuery>,
) -> ApiResult<Json<Value>> {
    let text = q.q.as_deref().unwrap_or_default().trim().to_owned();
    if text.is_empty() {
        return Err(ApiError::BadRequest(
            "q is missing: give a tracking code, report id, phone number, place or call sign"
                .into(),
        ));
    }
    if text.chars().count() > MAX_QUERY_CHARS || text.chars().any(char::is_control) {
        return Err(ApiError::BadRequest(format!(
            "q must be at most {MAX_QUERY_CHARS} printable characters"
        )));
    }
    let limit = q.limit.unwrap_or(20).clamp(1, 50) as usize;
    let needle = text.to_lowercase();
    let mut results: Vec<Value> = Vec::new();
    let mut seen_reports: Vec<ReportId> = Vec::new();

    if let Ok(code) = text.parse::<TrackingCode>()
        && let Some(r) = s.store.report(&ReportKey::Code(code)).await?
    {
        seen_reports.push(r.id);
        results.push(report_hit(&r, "tracking_code"));
    }
    if let Ok(id) = text.parse::<i64>()
        && id > 0
        && let Some(r) = s.store.report(&ReportKey::Id(ReportId(id))).await?
        && !seen_reports.contains(&r.id)
    {
        seen_reports.push(r.id);
        results.push(report_hit(&r, "id"));
    }
    // A caller's number: personal data, so only for those who may see contact
    // details, only the reports they may see them on, and every hit is logged.
    if looks_like_phone(&text)
        && matches!(
            staff.user.role,
            Role::Admin | Role::Dispatcher | Role::Officer
        )
    {
        let found = s
            .store
            .reports(&ReportQuery {
                contact_phones: sentinel_core::phone_variants(&text),
                limit: 50,
                ..Default::default()
            })
            .await?;
        for r in &found {
            if !views::may_see_contact(&staff, r) || seen_reports.contains(&r.id) {
                continue;
            }
            super::reports::log_personal_read(&s, &staff, r, "contact", "search by phone").await?;
            seen_reports.push(r.id);
            results.push(report_hit(r, "phone"));
        }
    }
    // Units, as the units list shows them to this caller.
    for u in s.store.units().await? {
        if staff.user.role == Role::Unit && u.user.as_deref() != Some(staff.user.name.as_str()) {
            continue;
        }
        if u.callsign.to_lowercase().contains(&needle) {
            results.push(json!({
                "kind": "unit",
                "label": u.callsign,
                "id": u.id,
                "unit_kind": u.kind,
                "status": u.status,
                "lat": u.position.map(|p| p.point.lat()),
                "lon": u.position.map(|p| p.point.lon()),
            }));
        }
    }
    // Places: the jurisdictions, then named features of the city's layers.
    {
        let index = s.jurisdictions();
        for j in index.all() {
            let hit = j.name.to_lowercase().contains(&needle)
                || j.name_en
                    .as_deref()
                    .is_some_and(|n| n.to_lowercase().contains(&needle))
                || j.code == text;
            if !hit {
                continue;
            }
            let Some(p) = j.area.interior_point() else {
                continue;
            };
            results.push(json!({
                "kind": "place",
                "label": j.name,
                "name_en": j.name_en,
                "code": j.code,
                "level": j.level,
                "lat": p.y(),
                "lon": p.x(),
            }));
        }
    }
    if results.len() < limit {
        for f in s.store.find_layer_features(&text, 200).await? {
            let Some(name) = feature_name(&f.properties, &needle) else {
                continue;
            };
            results.push(json!({
                "kind": "feature",
                "label": name,
                "layer": f.layer,
                "layer_kind": f.kind,
                "lat": f.lat,
                "lon": f.lon,
            }));
            if results.len() >= limit {
                break;
            }
        }
    }
    results.truncate(limit);
    Ok(Json(json!({ "results": results })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_phone_is_told_from_a_report_id() {
        assert!(looks_like_phone("138 0013 8000"));
        assert!(looks_like_phone("+86-13800138000"));
        assert!(!looks_like_phone("4521"));
        assert!(!looks_like_phone("东昌府区"));
    }

    #[test]
    fn a_feature_is_named_by_its_name_first() {
        let p = r#"{"id":"东昌路口","name":"东昌路口摄像头","kind":"球机"}"#;
        assert_eq!(feature_name(p, "东昌").as_deref(), Some("东昌路口摄像头"));
        assert_eq!(feature_name(p, "球机").as_deref(), Some("球机"));
        assert_eq!(feature_name(p, "西湖"), None);
    }
}
