//! A report (工单) and its append-only event log.

use crate::lifecycle::Status;
use crate::tracking::TrackingCode;
use sentinel_geo::Point;
use serde::{Deserialize, Serialize};
use std::fmt;

use time::OffsetDateTime;

/// The internal identifier. Public clients may use it or the tracking code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ReportId(pub i64);

impl fmt::Display for ReportId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vm])* $variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The stable text used in the API and in storage.
            pub fn as_str(&self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s { $($text => Ok($name::$variant),)+ _ => Err(format!("unknown {}: {s:?}", stringify!($name).to_lowercase())) }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.as_str()) }
        }
    };
}
pub(crate) use string_enum;

string_enum! {
    /// How urgently a report must be handled; categories set the default.
    Priority {
        /// Whenever convenient.
        Low = "low",
        /// The usual.
        Normal = "normal",
        /// Ahead of the queue.
        High = "high",
        /// Danger to life: now.
        Urgent = "urgent",
    }
}

string_enum! {
    /// Where a report came in, for statistics and for trust.
    Channel {
        /// The reporter web app.
        Web = "web",
        /// The native API.
        Api = "api",
        /// Open311 GeoReport v2.
        Open311 = "open311",
        /// Staff entering a phone call.
        Phone = "phone",
        /// Bulk import.
        Import = "import",
    }
}

/// Contact details: personal data. Never in a public response; every staff read
/// is written to the access log.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    /// The reporter's name as they gave it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Phone number as given (not normalised).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// E-mail address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

impl Contact {
    /// True when no field is filled.
    pub fn is_empty(&self) -> bool {
        self.name.is_none() && self.phone.is_none() && self.email.is_none()
    }
}

/// Who filed the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reporter {
    /// Nobody to contact back; allowed per category.
    Anonymous,
    /// A person who left contact details.
    Contact(Contact),
    /// A signed-in reporter account.
    Account(String),
}

impl Reporter {
    /// The stored kind: `anonymous`, `contact` or `account`.
    pub fn kind(&self) -> &'static str {
        match self {
            Reporter::Anonymous => "anonymous",
            Reporter::Contact(_) => "contact",
            Reporter::Account(_) => "account",
        }
    }
}

/// A report as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Internal id.
    pub id: ReportId,
    /// Public handle.
    pub tracking_code: TrackingCode,
    /// Category code.
    pub category: String,
    /// Free text from the reporter (may be empty when photos say it all).
    pub description: String,
    /// WGS-84 position.
    pub location: Point,
    /// GPS accuracy radius the device reported.
    pub accuracy_m: Option<f64>,
    /// Street address as given or geocoded.
    pub address: Option<String>,
    /// Answers to the category's extra questions.
    pub attributes: serde_json::Map<String, serde_json::Value>,
    /// Content ids (sha256) of the photos, in upload order.
    pub photos: Vec<String>,
    /// Who reported it.
    pub reporter: Reporter,
    /// How it came in.
    pub channel: Channel,
    /// Where it is in its life.
    pub status: Status,
    /// How urgent.
    pub priority: Priority,
    /// Lead department (主办).
    pub department: Option<String>,
    /// Co-handling departments (协办).
    pub co_departments: Vec<String>,
    /// Staff user or unit working it.
    pub assignee: Option<String>,
    /// The report this one was merged into (并单).
    pub merged_into: Option<ReportId>,
    /// "Me too" count, including the reporter.
    pub supporters: i64,
    /// When the hazard was seen (given, or from photo EXIF), if known.
    pub observed_at: Option<OffsetDateTime>,
    /// When Sentinel received it.
    pub created_at: OffsetDateTime,
    /// Last change.
    pub updated_at: OffsetDateTime,
    /// When it was last closed, for the reopen window.
    pub closed_at: Option<OffsetDateTime>,
    /// Code of the innermost jurisdiction it lies in, if any.
    pub jurisdiction: Option<String>,
    /// How it was routed at intake.
    pub routing: Option<crate::routing::Routing>,
    /// The running deadline and what it is for.
    pub due: Option<(OffsetDateTime, crate::calendar::DueKind)>,
    /// The latest rating of the handling (1 to 5) and when it was given.
    pub rating: Option<(u8, OffsetDateTime)>,
    /// Links to media held elsewhere (Open311 `media_url`).
    pub media_urls: Vec<String>,
    /// SHA-256 (hex) of the filer's secret; never shown, compared only.
    pub reporter_key_hash: Option<String>,
}

/// One entry of a report's append-only timeline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    /// Position in the global log (monotonic).
    pub id: i64,
    /// The report it belongs to.
    pub report_id: ReportId,
    /// When it happened.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// User name, `public` or `system`.
    pub actor: String,
    /// The actor's role at the time, if staff.
    pub actor_role: Option<String>,
    /// What was done (`submit`, `accept`, `assign`, ...).
    pub action: String,
    /// State before, when the action changes state.
    pub from_status: Option<Status>,
    /// State after.
    pub to_status: Option<Status>,
    /// Reason or note.
    pub note: Option<String>,
    /// Action details (department, merge target, priority, photo ids).
    pub data: serde_json::Value,
}

// The enum is declared by `string_enum!`, which cannot take `#[default]` per variant.
#[allow(clippy::derivable_impls)]
impl Default for Priority {
    fn default() -> Self {
        Priority::Normal
    }
}
