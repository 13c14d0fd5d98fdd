//! What the live map and the event stream read: a report reduced to what a map
//! point needs, and the change feed that tells every node what changed.

use sentinel_core::{Dispatch, Priority, Status, Unit};
use time::OffsetDateTime;

/// A report as a point on the command map: no text, no personal data.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportPoint {
    /// Internal id.
    pub id: i64,
    /// Tracking code.
    pub code: String,
    /// Latitude (WGS-84).
    pub lat: f64,
    /// Longitude (WGS-84).
    pub lon: f64,
    /// Status.
    pub status: Status,
    /// Category code.
    pub category: String,
    /// Lead department.
    pub department: Option<String>,
    /// Priority.
    pub priority: Priority,
    /// Received.
    pub created_at: OffsetDateTime,
    /// The running deadline, if any.
    pub due_at: Option<OffsetDateTime>,
    /// Assigned staff user or unit account.
    pub assignee: Option<String>,
}

/// One change, as the feed delivers it: the sequence number of the latest change
/// to the thing, and the thing as it is now.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedEntry {
    /// Position in the feed; a client resumes after it.
    pub seq: i64,
    /// When the change was written.
    pub at: OffsetDateTime,
    /// What changed.
    pub item: FeedItem,
}

/// The thing that changed, in its current state.
#[derive(Debug, Clone, PartialEq)]
pub enum FeedItem {
    /// A report (new, moved on, commented...).
    Report(ReportPoint),
    /// A unit (position, status).
    Unit(Unit),
    /// A dispatch (assigned, a step taken).
    Dispatch(Dispatch),
    /// A patrol visit.
    Visit(PatrolVisit),
}

/// One read of the feed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FeedPage {
    /// The changes, in sequence order.
    pub entries: Vec<FeedEntry>,
    /// Where the next read starts (the last row read, even if its thing is gone).
    pub next: i64,
}

/// A patrol point with its visits counted from a given moment (the start of the
/// local day).
#[derive(Debug, Clone, PartialEq)]
pub struct PatrolPoint {
    /// Id.
    pub id: i64,
    /// Stable code (from the layer's `code`, else its `name`).
    pub code: String,
    /// Name.
    pub name: String,
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
    /// A visit is a position within this many metres.
    pub radius_m: f64,
    /// Visits required per day.
    pub visits_per_day: u32,
    /// The secret in its QR code; staff only.
    pub qr_token: String,
    /// Visits since the moment asked for.
    pub visits: u32,
    /// The latest visit ever.
    pub last_visit: Option<OffsetDateTime>,
}

/// One recorded visit.
#[derive(Debug, Clone, PartialEq)]
pub struct PatrolVisit {
    /// Id.
    pub id: i64,
    /// The point.
    pub point: i64,
    /// Its name.
    pub point_name: String,
    /// The unit, when known.
    pub unit: Option<i64>,
    /// The account that checked in, when manual.
    pub user: Option<String>,
    /// When.
    pub at: OffsetDateTime,
    /// geofence, checkin or qr.
    pub method: String,
}
