//! What each audience sees of a report. Privacy policy: the public view is built
//! field by field from an allow-list and never touches the reporter; the staff
//! view adds contact details only when the caller asks for them after
//! [`may_see_contact`] said yes (and the read was logged).

use crate::Config;
use crate::auth::Staff;
use sentinel_core::{Event, Report, Reporter, Role};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub(crate) fn ts(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

fn opt_ts(t: Option<OffsetDateTime>) -> Value {
    t.map_or(Value::Null, |t| Value::String(ts(t)))
}

/// Link to a photo.
pub fn photo_url(cfg: &Config, id: &str) -> String {
    format!("{}/api/v1/photos/{id}", cfg.public_url)
}

/// The photos the public may see (all but those staff hid).
fn public_photos<'a>(r: &'a Report, cfg: &'a Config) -> impl Iterator<Item = &'a String> + 'a {
    r.photos.iter().filter(|p| !cfg.hidden_photos.contains(p))
}

/// The view anyone may see.
pub fn public_report(r: &Report, cfg: &Config) -> Value {
    let mut v = json!({
        "id": r.id,
        "tracking_code": r.tracking_code,
        "category": r.category,
        "description": r.description,
        "lat": r.location.lat(),
        "lon": r.location.lon(),
        "accuracy_m": r.accuracy_m,
        "address": r.address,
        "attributes": r.attributes,
        "photos": public_photos(r, cfg).map(|p| photo_url(cfg, p)).collect::<Vec<_>>(),
        "thumbnails": public_photos(r, cfg).map(|p| format!("{}/thumb", photo_url(cfg, p))).collect::<Vec<_>>(),
        "status": r.status,
        "priority": r.priority,
        "supporters": r.supporters,
        "merged_into": r.merged_into,
        "created_at": ts(r.created_at),
        "updated_at": ts(r.updated_at),
        "closed_at": opt_ts(r.closed_at),
        "due_at": opt_ts(r.due.map(|d| d.0)),
        "due_for": r.due.map(|d| d.1),
        "overdue": r.due.is_some_and(|d| d.0 < OffsetDateTime::now_utc()),
        // The score is public (a satisfaction figure); the comment stays staff-only.
        "rating": r.rating.map(|x| x.0),
    });
    // The department in charge: the one assigned, else the one routing chose.
    if let Some(d) = r
        .department
        .as_ref()
        .or(r.routing.as_ref().map(|x| &x.department))
    {
        v["department"] = json!(d);
    }
    v
}

/// Whether a report is this staff member's to see as staff (its timeline, routing,
/// redaction boxes): the command centre and analysts see every report, an officer
/// their departments' (lead or co-handling), a unit what it was assigned or is out
/// on now (an open dispatch). Out of
/// scope, staff see what the public sees.
pub fn in_scope(staff: &Staff, r: &Report) -> bool {
    match staff.user.role {
        Role::Admin | Role::Dispatcher | Role::Analyst => true,
        Role::Officer | Role::Unit => may_see_contact(staff, r),
    }
}

/// Whether this staff member may see the reporter's contact details.
pub fn may_see_contact(staff: &Staff, r: &Report) -> bool {
    let u = &staff.user;
    match u.role {
        Role::Admin | Role::Dispatcher => true,
        Role::Officer => u.department.as_deref().is_some_and(|d| {
            r.department.as_deref() == Some(d) || r.co_departments.iter().any(|c| c == d)
        }),
        Role::Unit => {
            r.assignee.as_deref() == Some(u.name.as_str())
                || staff
                    .dispatched
                    .iter()
                    .any(|c| c == r.tracking_code.as_str())
        }
        Role::Analyst => false,
    }
}

/// The staff view; `with_contact` only after the access was logged.
pub fn staff_report(r: &Report, cfg: &Config, with_contact: bool) -> Value {
    let mut v = public_report(r, cfg);
    v["channel"] = json!(r.channel);
    v["co_departments"] = json!(r.co_departments);
    v["assignee"] = json!(r.assignee);
    v["observed_at"] = opt_ts(r.observed_at);
    v["jurisdiction"] = json!(r.jurisdiction);
    v["routing"] = json!(r.routing);
    if let Some(routing) = &r.routing {
        v["routing"]["basis"] = json!(routing.basis());
    }
    let (kind, contact, account) = match &r.reporter {
        Reporter::Anonymous => ("anonymous", None, None),
        Reporter::Contact(c) => ("contact", Some(c), None),
        Reporter::Account(a) => ("account", None, Some(a)),
    };
    let mut reporter =
        json!({ "kind": kind, "contact_hidden": contact.is_some() && !with_contact });
    if with_contact {
        reporter["contact"] = json!(contact);
        reporter["account"] = json!(account);
    }
    v["reporter"] = reporter;
    // Staff see every photo (through its public copy); the ids lead to the
    // redaction view and, for those allowed, the logged original.
    v["photos"] = json!(
        r.photos
            .iter()
            .map(|p| photo_url(cfg, p))
            .collect::<Vec<_>>()
    );
    v["thumbnails"] = json!(
        r.photos
            .iter()
            .map(|p| format!("{}/thumb", photo_url(cfg, p)))
            .collect::<Vec<_>>()
    );
    v["photo_ids"] = json!(r.photos);
    v["hidden_photos"] = json!(
        r.photos
            .iter()
            .filter(|p| cfg.hidden_photos.contains(p))
            .collect::<Vec<_>>()
    );
    v
}

/// Actions whose notes are written for the public timeline.
pub(crate) const PUBLIC_NOTES: &[&str] = &["reject", "resolve", "reopen", "close"];

/// Links to the photos attached to an event (the photo of a fix, say); the
/// public's leave out hidden ones.
fn attachments(e: &Event, cfg: &Config, public: bool) -> Vec<String> {
    e.data["photos"]
        .as_array()
        .map(|ids| {
            ids.iter()
                .filter_map(Value::as_str)
                .filter(|id| !public || !cfg.hidden_photos.contains(id))
                .map(|id| photo_url(cfg, id))
                .collect()
        })
        .unwrap_or_default()
}

/// A timeline entry as the public sees it: what happened and when, not who.
pub fn public_event(e: &Event, cfg: &Config) -> Value {
    let public = PUBLIC_NOTES.contains(&e.action.as_str());
    json!({
        "at": ts(e.at),
        "action": e.action,
        "from_status": e.from_status,
        "to_status": e.to_status,
        "note": if public { json!(e.note) } else { Value::Null },
        "attachments": if public { attachments(e, cfg, true) } else { vec![] },
    })
}

/// A timeline entry for staff.
pub fn staff_event(e: &Event, cfg: &Config) -> Value {
    json!({
        "attachments": attachments(e, cfg, false),
        "id": e.id,
        "at": ts(e.at),
        "actor": e.actor,
        "actor_role": e.actor_role,
        "action": e.action,
        "from_status": e.from_status,
        "to_status": e.to_status,
        "note": e.note,
        "data": e.data,
    })
}
