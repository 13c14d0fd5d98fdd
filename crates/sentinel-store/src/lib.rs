//! Storage for Sentinel behind one interface, [`Store`], implemented once for SQL
//! (`sql`) over two databases: embedded SQLite (`sqlite`) for a city on one
//! machine, PostgreSQL with PostGIS (`pg`) for several nodes; both pass the same
//! test suite. Photos go through [`Blobs`]: a folder or S3-compatible storage.
//!
//! Durability policy: every write method returns only after its transaction is
//! committed and fsynced. Concurrent writers share one transaction and one fsync
//! (group commit), which is how throughput is reached without weakening that.
//! Photo files are written and fsynced by [`PhotoFolder`] before the report that
//! references them is committed, so a committed report never points at a missing file.

mod blobs;
mod live;
pub mod pg;
mod photos;
pub mod sql;
pub mod sqlite;
pub mod transfer;

use async_trait::async_trait;
use sentinel_core::lifecycle::LifecyclePolicy;
pub use sentinel_core::throttle::Throttle;
use sentinel_core::{
    Action, Actor, Dispatch, DispatchError, DispatchStep, Event, Fix, LifecycleError, Membership,
    MembershipStatus, NewReport, NewSentinel, NewUnit, Report, ReportId, Role, Sentinel,
    SentinelGroup, Status, TrackingCode, Unit, UnitStatus,
};
use time::OffsetDateTime;

pub use blobs::{Blobs, ObjectBlobs, S3Options};
pub use live::{FeedEntry, FeedItem, FeedPage, PatrolPoint, PatrolVisit, ReportPoint};
pub use photos::PhotoFolder;

/// Why a storage call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database failed; details are for the log, not for clients.
    #[error("database error: {0}")]
    Database(String),
    /// A file could not be read or written.
    #[error("file error: {0}")]
    Io(#[from] std::io::Error),
    /// The thing asked for does not exist.
    #[error("not found")]
    NotFound,
    /// A unique name is taken.
    #[error("{0} already exists")]
    AlreadyExists(String),
    /// The idempotency key was used with a different request.
    #[error("this Idempotency-Key was already used with a different request")]
    IdempotencyMismatch,
    /// The lifecycle refused the action.
    #[error(transparent)]
    Lifecycle(#[from] LifecycleError),
    /// The dispatch rules refused the request.
    #[error(transparent)]
    Dispatch(#[from] DispatchError),
    /// The action's target is unusable (merge into itself, into a closed report...).
    #[error("{0}")]
    InvalidTarget(String),
    /// The store is shutting down or its writer died.
    #[error("storage is unavailable")]
    Unavailable,
}

/// Shorthand.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Where a photo's public (redacted) copy stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedactionState {
    /// Waiting for (or being worked by) the redaction pool; nothing is public yet.
    Pending,
    /// The redacted copy exists and is what the public sees.
    Done,
    /// Redaction failed three times; nothing is public until staff re-run it.
    Failed,
}

impl RedactionState {
    /// As stored.
    pub fn as_str(&self) -> &'static str {
        match self {
            RedactionState::Pending => "pending",
            RedactionState::Done => "done",
            RedactionState::Failed => "failed",
        }
    }

    pub(crate) fn parse(s: &str) -> RedactionState {
        match s {
            "done" => RedactionState::Done,
            "failed" => RedactionState::Failed,
            _ => RedactionState::Pending,
        }
    }
}

/// A photo's redaction: what the public may see of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Redaction {
    /// The original photo's id.
    pub photo_id: String,
    /// Where it stands.
    pub state: RedactionState,
    /// Goes up with every change of edits (or a re-run), so a worker that
    /// finishes an older version does not overwrite a newer one.
    pub version: i64,
    /// The blob holding the public copy (the SHA-256 of its bytes).
    pub redacted_id: Option<String>,
    /// Its media type.
    pub redacted_mime: Option<String>,
    /// What the detectors found and what was blurred, as JSON
    /// (`{"detected": [...], "blurred": [...], "models": "..."}`).
    pub regions: Option<String>,
    /// Staff corrections, as JSON (`sentinel_redact::Edits`).
    pub edits: String,
    /// Hidden from the public entirely.
    pub hidden: bool,
    /// Failed attempts so far.
    pub attempts: i64,
    /// The last failure.
    pub error: Option<String>,
    /// When the current copy was made.
    pub redacted_at: Option<OffsetDateTime>,
}

/// A photo claimed by a redaction worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedactionJob {
    /// The original photo.
    pub photo_id: String,
    /// The version claimed.
    pub version: i64,
    /// Staff corrections to apply (JSON).
    pub edits: String,
}

/// How a redaction attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedactionOutcome {
    /// The copy is stored in the blobs under `redacted_id`.
    Done {
        /// Blob id of the copy.
        redacted_id: String,
        /// Its media type.
        mime: String,
        /// Found and blurred boxes (JSON).
        regions: String,
    },
    /// It failed; retried later, up to three attempts.
    Failed {
        /// Why.
        error: String,
    },
}

/// A staff change to a photo's redaction.
#[derive(Debug, Clone, PartialEq)]
pub struct RedactionEdit {
    /// The report whose timeline records the change.
    pub report: ReportId,
    /// The photo (of the report or of one of its events).
    pub photo_id: String,
    /// New corrections (JSON), re-running the redaction; `None` leaves them.
    pub edits: Option<String>,
    /// Hide from (true) or show again to (false) the public; `None` leaves it.
    pub hidden: Option<bool>,
    /// Who.
    pub actor: String,
    /// Their role.
    pub role: String,
    /// What the timeline says.
    pub note: Option<String>,
    /// Details for the timeline (boxes added and removed).
    pub data: serde_json::Value,
    /// When.
    pub now: OffsetDateTime,
}

/// Photos by redaction state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RedactionCounts {
    /// Waiting.
    pub pending: u64,
    /// Public copy made.
    pub done: u64,
    /// Given up after three attempts.
    pub failed: u64,
    /// Hidden by staff.
    pub hidden: u64,
}

/// A stored photo's facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhotoRecord {
    /// sha256 of the stored bytes.
    pub id: String,
    /// Media type.
    pub mime: String,
    /// Width as displayed.
    pub width: u32,
    /// Height as displayed.
    pub height: u32,
    /// File size.
    pub bytes: u64,
    /// Perceptual hash, when known.
    pub phash: Option<u64>,
}

/// The idempotency side of a submission: the key, a hash of the request, and how
/// to render the response that will be kept for replays.
pub struct Idempotency {
    /// The client's `Idempotency-Key`.
    pub key: String,
    /// SHA-256 of the request (body and photos).
    pub request_hash: String,
    /// Renders the response body from the stored report, inside the transaction.
    pub render: Box<dyn FnOnce(&Report) -> String + Send>,
}

/// A submission to store.
pub struct Submission {
    /// The parsed report.
    pub report: NewReport,
    /// Its photos, already durable in the photo folder.
    pub photos: Vec<PhotoRecord>,
    /// Who submitted it (a staff user for the phone channel, else `public`).
    pub actor: String,
    /// Idempotency, when the client sent a key.
    pub idempotency: Option<Idempotency>,
    /// Receipt time.
    pub now: OffsetDateTime,
}

/// What a submission produced.
#[derive(Debug, Clone)]
pub enum Submitted {
    /// A new report, and the response body kept for replays (if a key was given).
    Created(Box<Report>, Option<String>),
    /// The key was seen before with the same request: the original response.
    Replayed(String),
}

/// An earlier use of an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotentResponse {
    /// Hash of the first request.
    pub request_hash: String,
    /// Body of the first response.
    pub response: String,
}

/// A way of naming a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportKey {
    /// By internal id.
    Id(ReportId),
    /// By tracking code.
    Code(TrackingCode),
}

/// A unit to send, and the figures the recommendation gave.
#[derive(Debug, Clone, PartialEq)]
pub struct DispatchRequest {
    /// The report.
    pub report: ReportId,
    /// The unit.
    pub unit: i64,
    /// Who sends it.
    pub by: String,
    /// Distance at assignment.
    pub distance_m: Option<f64>,
    /// Estimated travel time at assignment.
    pub eta_s: Option<f64>,
    /// When.
    pub now: OffsetDateTime,
}

/// The command centre's queues, counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueueCounts {
    /// Submitted, not yet triaged.
    pub new: u64,
    /// Past their running deadline.
    pub overdue: u64,
    /// Sent back by a department (退单).
    pub returned: u64,
    /// Escalated (督办) for their current deadline.
    pub escalated: u64,
}

/// Whose dispatches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DispatchesOf {
    /// A report's.
    Report(ReportId),
    /// A unit's.
    Unit(i64),
    /// The open ones (not cleared or cancelled) of the units this account works:
    /// what a crew is out on now.
    OpenFor(String),
}

/// A way of naming a sentinel: what they sign in with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SentinelKey {
    /// The account name.
    Handle(String),
    /// The mobile number (normalised).
    Phone(String),
    /// The email (any case).
    Email(String),
}

/// Filters for listing reports, newest first, with keyset pagination.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReportQuery {
    /// Lon/lat box.
    pub bbox: Option<sentinel_geo::BBox>,
    /// Any of these statuses.
    pub statuses: Vec<Status>,
    /// Any of these categories.
    pub categories: Vec<String>,
    /// Lead department.
    pub department: Option<String>,
    /// Filed under this sentinel account.
    pub account: Option<String>,
    /// Filed with any of these contact phone numbers (as stored: digits, perhaps a
    /// leading `+`). Personal data: the caller logs the search.
    pub contact_phones: Vec<String>,
    /// Created at or after.
    pub since: Option<OffsetDateTime>,
    /// Created before.
    pub until: Option<OffsetDateTime>,
    /// Only open reports whose running deadline passed before this time (the
    /// overdue queue).
    pub overdue_at: Option<OffsetDateTime>,
    /// Only reports escalated (督办) for their current deadline.
    pub escalated: bool,
    /// Only ids below this (the cursor).
    pub before_id: Option<ReportId>,
    /// Page size.
    pub limit: u32,
    /// Newest by id (the default, for keyset pages) or by time of filing (for
    /// time windows: an index walk instead of a scan down from the newest row).
    pub order: ReportOrder,
}

/// How a list of reports is ordered, newest first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ReportOrder {
    /// By id.
    #[default]
    Id,
    /// By `created_at`, then id.
    Created,
}

/// An action to apply to a report.
#[derive(Debug, Clone)]
pub struct ActionRequest {
    /// The report.
    pub report: ReportId,
    /// Who acts.
    pub actor: Actor,
    /// What they do.
    pub action: Action,
    /// Photos attached to the event (already durable in the photo folder).
    pub photos: Vec<PhotoRecord>,
    /// How the deadline moves if the action succeeds.
    pub due: sentinel_core::calendar::DueChange,
    /// Whether the report's category requires 核查.
    pub requires_verification: bool,
    /// Lifecycle settings.
    pub policy: LifecyclePolicy,
    /// When.
    pub now: OffsetDateTime,
}

/// A staff account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Internal id.
    pub id: i64,
    /// Login name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Department, for officers.
    pub department: Option<String>,
    /// Disabled users cannot sign in and their tokens stop working.
    pub disabled: bool,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// When created.
    pub created_at: OffsetDateTime,
}

/// A bearer token's facts (never the secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    /// Internal id.
    pub id: i64,
    /// Owner's name.
    pub user: String,
    /// A label to tell tokens apart.
    pub label: String,
    /// When created.
    pub created_at: OffsetDateTime,
    /// When it stops working.
    pub expires_at: Option<OffsetDateTime>,
    /// When revoked.
    pub revoked_at: Option<OffsetDateTime>,
}

/// What a sentinel's reports add up to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Standing {
    /// Reports filed under the account.
    pub filed: u64,
    /// Of those a dispatcher has looked at, how many were taken up (not refused).
    pub judged: u64,
    /// How many were taken up.
    pub valid: u64,
    /// Other people who said "me too" on them.
    pub supporters: u64,
}

/// An Open311 client application (its key is never stored, only its hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Open311Client {
    /// Internal id.
    pub id: i64,
    /// The application's name.
    pub name: String,
    /// When created.
    pub created_at: OffsetDateTime,
    /// When revoked.
    pub revoked_at: Option<OffsetDateTime>,
}

/// One row of the personal-data access log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessLogEntry {
    /// When.
    pub at: OffsetDateTime,
    /// Who read.
    pub user: String,
    /// Their role.
    pub role: String,
    /// Whose report.
    pub report_id: ReportId,
    /// What was shown (`contact`).
    pub fields: String,
    /// Why (the endpoint).
    pub purpose: String,
}

/// A report past its deadline that still needs a reminder (催办) or an escalation (督办).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overdue {
    /// The report.
    pub report: ReportId,
    /// The deadline it missed.
    pub due_at: OffsetDateTime,
    /// What the deadline was for.
    pub due_kind: sentinel_core::calendar::DueKind,
    /// A reminder is due.
    pub remind: bool,
    /// An escalation is due.
    pub escalate: bool,
}

/// A feature to store in a layer.
#[derive(Debug, Clone, PartialEq)]
pub struct NewLayerFeature {
    /// GeoJSON geometry (WGS-84).
    pub geometry: String,
    /// JSON object of properties.
    pub properties: String,
    /// min lon, min lat, max lon, max lat.
    pub bbox: [f64; 4],
}

/// A layer feature found by its properties.
#[derive(Debug, Clone, PartialEq)]
pub struct FoundFeature {
    /// The layer's name.
    pub layer: String,
    /// The layer's kind.
    pub kind: String,
    /// The middle of the feature's bounding box.
    pub lon: f64,
    /// The middle of the feature's bounding box.
    pub lat: f64,
    /// Its properties, as JSON text.
    pub properties: String,
}

/// A visible layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerInfo {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Kind (`generic`, `patrol_points`, `cameras`, `drone_bases`, `units`).
    pub kind: String,
    /// Number of features.
    pub feature_count: u64,
    /// When imported.
    pub created_at: OffsetDateTime,
}

/// A person joining a report ("me too").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Supporter {
    /// Who, stably: `account:…`, `device:…`, `phone:…` or `email:…`.
    pub key: String,
    /// Optional contact details (personal data).
    pub contact: sentinel_core::Contact,
}

/// A jurisdiction to add or update (matched by code).
#[derive(Debug, Clone, PartialEq)]
pub struct NewJurisdiction {
    /// Unique code.
    pub code: String,
    /// Chinese name.
    pub name: String,
    /// English name.
    pub name_en: Option<String>,
    /// Level.
    pub level: sentinel_geo::Level,
    /// The parent's code (it must exist already or come earlier in the batch).
    pub parent_code: Option<String>,
    /// Area as a GeoJSON geometry (WGS-84).
    pub area_geojson: String,
}

/// A stored jurisdiction.
#[derive(Debug, Clone, PartialEq)]
pub struct JurisdictionRecord {
    /// Id.
    pub id: i64,
    /// Code.
    pub code: String,
    /// Chinese name.
    pub name: String,
    /// English name.
    pub name_en: Option<String>,
    /// Level.
    pub level: sentinel_geo::Level,
    /// Parent's id.
    pub parent_id: Option<i64>,
    /// Area as a GeoJSON geometry.
    pub area_geojson: String,
}

/// Everything Sentinel stores. Implementations must make each write durable
/// before returning and must keep the event log append-only.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Stores a new report, its photos' records and its first event in one commit.
    async fn submit(&self, submission: Submission) -> Result<Submitted>;
    /// Stores a report together with a history of actions in one commit (imports,
    /// the demo city): each step goes through the same lifecycle checks as
    /// [`Store::apply`]; the `report` field of the steps is ignored.
    async fn submit_with_history(
        &self,
        submission: Submission,
        steps: Vec<ActionRequest>,
    ) -> Result<Report>;
    /// The earlier response for an idempotency key, if any.
    async fn idempotent_response(&self, key: &str) -> Result<Option<IdempotentResponse>>;
    /// One report.
    async fn report(&self, key: &ReportKey) -> Result<Option<Report>>;
    /// A page of reports.
    async fn reports(&self, query: &ReportQuery) -> Result<Vec<Report>>;
    /// A report's timeline, oldest first.
    async fn events(&self, report: ReportId) -> Result<Vec<Event>>;
    /// Applies a lifecycle action atomically: decide, update, append the event.
    async fn apply(&self, request: ActionRequest) -> Result<(Report, Event)>;
    /// A stored photo's record.
    async fn photo(&self, id: &str) -> Result<Option<PhotoRecord>>;
    /// Photo ids in order after `after`, `limit` at a time (for moving photos).
    async fn photo_ids(&self, after: &str, limit: u32) -> Result<Vec<String>>;
    /// How many photos there are.
    async fn count_photos(&self) -> Result<u64>;
    /// Number of reports.
    async fn count_reports(&self) -> Result<u64>;

    /// Creates a staff user.
    async fn create_user(
        &self,
        name: &str,
        password_hash: &str,
        role: Role,
        department: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<User>;
    /// Creates sentinel accounts, each with groups already approved (imports and the
    /// demo); all or nothing. Returns how many.
    async fn create_sentinels(
        &self,
        accounts: Vec<(NewSentinel, Vec<SentinelGroup>)>,
        approved_by: &str,
        now: OffsetDateTime,
    ) -> Result<usize>;
    /// Signs a sentinel up, unverified, with the hash of the code sent to prove the
    /// phone or email; signing up again before verifying replaces only the code
    /// (never the password: whoever signs up with someone else's phone must not
    /// choose the owner's password). A verified phone or email, or a taken name:
    /// `AlreadyExists`.
    async fn create_sentinel(
        &self,
        new: NewSentinel,
        code_hash: &str,
        code_expires: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<Sentinel>;
    /// Checks a sign-up code: right and in time, the account is verified (`Some`)
    /// and takes `password_hash` when given (the code's holder chooses the
    /// password); wrong, one of five tries is spent (`None`); after five, or
    /// expired, `None`.
    async fn verify_sentinel(
        &self,
        key: &SentinelKey,
        code_hash: &str,
        password_hash: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<Option<Sentinel>>;
    /// Starts a sentinel's browser session.
    async fn create_sentinel_session(
        &self,
        id_hash: &str,
        sentinel: i64,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<()>;
    /// The verified sentinel behind a live session.
    async fn sentinel_for_session(
        &self,
        id_hash: &str,
        now: OffsetDateTime,
    ) -> Result<Option<Sentinel>>;
    /// Ends a session.
    async fn end_sentinel_session(&self, id_hash: &str) -> Result<()>;
    /// A sentinel's standing: reports filed, how many were found valid, supporters gathered.
    async fn standing(&self, handle: &str) -> Result<Standing>;
    /// Pending group requests, oldest first: (handle, display name, request).
    async fn group_requests(&self) -> Result<Vec<(String, String, Membership)>>;
    /// A sentinel by handle, phone or email.
    async fn sentinel(&self, key: &SentinelKey) -> Result<Option<Sentinel>>;
    /// A sentinel with their password hash, for signing in.
    async fn sentinel_password_hash(&self, key: &SentinelKey)
    -> Result<Option<(Sentinel, String)>>;
    /// Asks to join a group (again, after a refusal). Already a member or already
    /// asked: `AlreadyExists`.
    async fn request_group(
        &self,
        handle: &str,
        group: SentinelGroup,
        now: OffsetDateTime,
    ) -> Result<Membership>;
    /// An admin approves or declines a pending request (`NotFound` if none).
    async fn decide_group(
        &self,
        handle: &str,
        group: SentinelGroup,
        approve: bool,
        by: &str,
        now: OffsetDateTime,
    ) -> Result<Membership>;
    /// A sentinel's groups and requests.
    async fn memberships(&self, handle: &str) -> Result<Vec<Membership>>;
    /// How many sentinels each group has, by status.
    async fn group_counts(&self) -> Result<Vec<(SentinelGroup, MembershipStatus, u64)>>;

    /// Registers an Open311 client application with the hash of its API key.
    async fn create_open311_client(
        &self,
        name: &str,
        key_hash: &str,
        now: OffsetDateTime,
    ) -> Result<Open311Client>;
    /// Every Open311 client, revoked ones too.
    async fn open311_clients(&self) -> Result<Vec<Open311Client>>;
    /// Revokes a client's key by the client's name.
    async fn revoke_open311_client(&self, name: &str, now: OffsetDateTime) -> Result<()>;
    /// The active client behind a key hash.
    async fn open311_client_for_key(&self, key_hash: &str) -> Result<Option<Open311Client>>;
    /// Remembers the token answered for a report filed under a batch service.
    async fn save_open311_token(
        &self,
        token: &str,
        report: ReportId,
        client: i64,
        now: OffsetDateTime,
    ) -> Result<()>;
    /// The report a token stands for.
    async fn open311_token(&self, token: &str) -> Result<Option<ReportId>>;
    /// Adds photos to a report after it was filed (a fetched media link), with a
    /// `photo_added` event naming where they came from. The photo files must already
    /// be durable.
    async fn add_photos(
        &self,
        report: ReportId,
        photos: Vec<PhotoRecord>,
        actor: &str,
        source: &str,
        now: OffsetDateTime,
    ) -> Result<Event>;
    /// Status changes (not submissions) in `[since, until)`, oldest first, with
    /// each report's tracking code: the feed of updates.
    async fn status_changes(
        &self,
        since: OffsetDateTime,
        until: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<(Event, TrackingCode)>>;
    /// The latest note among `actions` of each report that has one (one query for
    /// a page of reports).
    async fn latest_notes(
        &self,
        reports: &[ReportId],
        actions: &[&str],
    ) -> Result<Vec<(ReportId, String)>>;

    /// A user by name.
    async fn user(&self, name: &str) -> Result<Option<User>>;
    /// All users.
    async fn users(&self) -> Result<Vec<User>>;
    /// Replaces a password hash (and ends the user's sessions).
    async fn set_password(&self, name: &str, password_hash: &str) -> Result<()>;
    /// Disables a user, ending their sessions.
    async fn disable_user(&self, name: &str) -> Result<()>;

    /// Stores a token hash for a user.
    async fn create_token(
        &self,
        user: &str,
        label: &str,
        token_hash: &str,
        now: OffsetDateTime,
        expires_at: Option<OffsetDateTime>,
    ) -> Result<TokenInfo>;
    /// Tokens, all or one user's.
    async fn tokens(&self, user: Option<&str>) -> Result<Vec<TokenInfo>>;
    /// Revokes a token by id.
    async fn revoke_token(&self, id: i64, now: OffsetDateTime) -> Result<()>;
    /// The active user behind a token hash (not revoked, not expired, not disabled).
    async fn user_for_token(&self, token_hash: &str, now: OffsetDateTime) -> Result<Option<User>>;

    /// Starts a browser session.
    async fn create_session(
        &self,
        id_hash: &str,
        user_id: i64,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<()>;
    /// The active user behind a session.
    async fn user_for_session(&self, id_hash: &str, now: OffsetDateTime) -> Result<Option<User>>;
    /// Ends a session.
    async fn delete_session(&self, id_hash: &str) -> Result<()>;

    /// An account's recent sign-in failures (`staff:NAME`, `sentinel:PHONE`...).
    async fn sign_in_throttle(&self, account: &str) -> Result<Option<Throttle>>;
    /// Counts one failed sign-in by the policy in `sentinel_core::throttle`, in one
    /// transaction (every node shares the count); answers the new state.
    async fn sign_in_failed(&self, account: &str, now: OffsetDateTime) -> Result<Throttle>;
    /// Forgets an account's failures (a right password, or an admin's unlock);
    /// answers whether there were any.
    async fn clear_sign_in_failures(&self, account: &str) -> Result<bool>;

    /// Records a staff read of personal data; durable before the data is shown.
    async fn log_personal_data_access(&self, entry: AccessLogEntry) -> Result<()>;
    /// Records many reads at once (an export with contact details), in one commit.
    async fn log_personal_data_access_many(&self, entries: Vec<AccessLogEntry>) -> Result<()>;
    /// The access log for one report.
    async fn personal_data_access(&self, report: ReportId) -> Result<Vec<AccessLogEntry>>;

    /// Adds a supporter ("me too") to an open report, or to the report it was merged
    /// into; answers the report and whether the person was new.
    async fn support(
        &self,
        report: ReportId,
        supporter: Supporter,
        now: OffsetDateTime,
    ) -> Result<(Report, bool)>;

    /// Reports past their deadline that still need a reminder or, `escalate_after`
    /// later, an escalation; oldest deadline first.
    async fn overdue(
        &self,
        now: OffsetDateTime,
        escalate_after: time::Duration,
        limit: u32,
    ) -> Result<Vec<Overdue>>;
    /// Writes the reminder (催办) or escalation (督办) event for a missed deadline,
    /// once: false when it was already written or the deadline moved meanwhile.
    async fn record_overdue(
        &self,
        item: &Overdue,
        escalate: bool,
        now: OffsetDateTime,
    ) -> Result<bool>;

    /// Perceptual hashes of the given photos (those that have one).
    async fn photo_hashes(
        &self,
        ids: Vec<String>,
    ) -> Result<std::collections::HashMap<String, u64>>;

    /// Starts importing a layer (invisible until finished); returns its id.
    async fn begin_layer(&self, name: &str, kind: &str, now: OffsetDateTime) -> Result<i64>;
    /// Adds a batch of features to a layer being imported.
    async fn add_layer_features(&self, layer: i64, features: Vec<NewLayerFeature>) -> Result<()>;
    /// Makes an imported layer visible, replacing a layer of the same name, atomically.
    async fn finish_layer(&self, layer: i64) -> Result<()>;
    /// Throws away a layer being imported.
    async fn abort_layer(&self, layer: i64) -> Result<()>;
    /// The visible layers.
    async fn layers(&self) -> Result<Vec<LayerInfo>>;
    /// Features of the visible layers whose properties contain `text` (any case),
    /// for the console's search by place name; at most `limit`.
    async fn find_layer_features(&self, text: &str, limit: u32) -> Result<Vec<FoundFeature>>;
    /// A layer's features (GeoJSON geometry, JSON properties) meeting a box.
    async fn layer_features(
        &self,
        layer: i64,
        bbox: Option<sentinel_geo::BBox>,
        limit: u32,
    ) -> Result<Vec<(String, String)>>;

    /// Stores (or replaces) one year's working-day calendar file, already checked.
    async fn save_calendar_year(
        &self,
        year: i32,
        document: String,
        now: OffsetDateTime,
    ) -> Result<()>;
    /// Every stored calendar file, by year.
    async fn calendar_years(&self) -> Result<Vec<String>>;

    /// Stores a new configuration version (a checked JSON document); returns its id.
    async fn save_config(&self, document: String, by: &str, now: OffsetDateTime) -> Result<i64>;
    /// The configuration in force, if one was ever saved.
    async fn config(&self) -> Result<Option<String>>;

    /// Adds or updates jurisdictions by code, all or none.
    async fn import_jurisdictions(
        &self,
        items: Vec<NewJurisdiction>,
        now: OffsetDateTime,
    ) -> Result<usize>;
    /// Every jurisdiction.
    async fn jurisdictions(&self) -> Result<Vec<JurisdictionRecord>>;

    /// Creates units, all or none.
    async fn create_units(&self, units: Vec<NewUnit>, now: OffsetDateTime) -> Result<Vec<Unit>>;
    /// Every unit, by callsign.
    async fn units(&self) -> Result<Vec<Unit>>;
    /// One unit by id.
    async fn unit(&self, id: i64) -> Result<Option<Unit>>;
    /// The unit whose tracker sends this id.
    async fn unit_by_tracker(&self, tracker_id: &str) -> Result<Option<Unit>>;
    /// The unit a staff account (role `unit`) works.
    async fn unit_for_user(&self, user: &str) -> Result<Option<Unit>>;
    /// Keeps positions from a unit's tracker; the latest by device time becomes its
    /// position (late, buffered fixes only join the track). Answers the unit.
    async fn record_positions(
        &self,
        unit: i64,
        fixes: Vec<Fix>,
        now: OffsetDateTime,
    ) -> Result<Unit>;
    /// Puts a unit on or off duty; refused while it works a dispatch.
    async fn set_unit_duty(&self, unit: i64, to: UnitStatus, now: OffsetDateTime) -> Result<Unit>;
    /// Sends a unit to an open report; refused (with the reason) unless the unit is
    /// available.
    async fn dispatch(&self, request: DispatchRequest) -> Result<Dispatch>;
    /// Records the next step of a dispatch, taken by `user` in `role`.
    async fn dispatch_step(
        &self,
        dispatch: i64,
        step: DispatchStep,
        user: &str,
        role: Role,
        now: OffsetDateTime,
    ) -> Result<Dispatch>;
    /// One dispatch.
    async fn dispatch_by_id(&self, id: i64) -> Result<Option<Dispatch>>;
    /// Dispatches of a report or of a unit, newest first.
    async fn dispatches(&self, of: DispatchesOf, limit: u32) -> Result<Vec<Dispatch>>;
    /// Changes after `after` in commit order: at most `limit` feed rows are read,
    /// and several changes to one thing come as one entry with the latest sequence.
    async fn feed(&self, after: i64, limit: u32) -> Result<FeedPage>;
    /// The latest sequence number in the feed (0 when empty).
    async fn feed_head(&self) -> Result<i64>;
    /// Drops feed rows written before `before`, keeping the latest row.
    async fn prune_feed(&self, before: OffsetDateTime) -> Result<u64>;
    /// Reports as map points in id order after `after`, `limit` at a time.
    async fn report_points(&self, after: i64, limit: u32) -> Result<Vec<ReportPoint>>;
    /// Reports' facts for analysis, in id order after `after`, `limit` at a time.
    async fn report_facts(
        &self,
        after: i64,
        limit: u32,
    ) -> Result<Vec<sentinel_analysis::ReportFacts>>;
    /// The facts of these reports, for keeping analysis current.
    async fn report_facts_for(&self, ids: Vec<i64>) -> Result<Vec<sentinel_analysis::ReportFacts>>;

    /// Active patrol points with their visits since `since`.
    async fn patrol_points(&self, since: OffsetDateTime) -> Result<Vec<PatrolPoint>>;
    /// The patrol point a QR token belongs to.
    async fn patrol_point_by_token(&self, token: &str) -> Result<Option<i64>>;
    /// Records a manual or QR visit.
    async fn record_visit(
        &self,
        point: i64,
        unit: Option<i64>,
        user: Option<&str>,
        method: &str,
        now: OffsetDateTime,
    ) -> Result<PatrolVisit>;
    /// Recent visits of a point, newest first.
    async fn patrol_visits(&self, point: i64, limit: u32) -> Result<Vec<PatrolVisit>>;

    /// How many reports wait in each of the command centre's queues at `now`.
    async fn queue_counts(&self, now: OffsetDateTime) -> Result<QueueCounts>;

    /// Verifies the database file (`PRAGMA integrity_check` or equivalent).
    async fn integrity_check(&self) -> Result<String>;

    /// Takes or renews the lease `name` for `holder` until `now + ttl`; false
    /// while another holder's lease runs. Periodic jobs run where the lease is,
    /// so with several nodes each runs on one node at a time.
    async fn take_lease(
        &self,
        name: &str,
        holder: &str,
        now: OffsetDateTime,
        ttl: time::Duration,
    ) -> Result<bool>;

    /// Resolves when another node may have added to the change feed (a
    /// PostgreSQL notification); never, where only one node writes.
    async fn feed_changed(&self) {
        std::future::pending::<()>().await
    }
    /// Cheap liveness probe of the database.
    async fn ping(&self) -> Result<()>;
    /// Readiness: one small write through the writer, as a report would be
    /// written (fails when the disk is full or the database refuses writes).
    async fn probe_write(&self, node: &str, now: OffsetDateTime) -> Result<()>;

    /// A photo's redaction (every stored photo has one, pending from the moment
    /// its row is written, in the same transaction as its report).
    async fn redaction(&self, photo: &str) -> Result<Option<Redaction>>;
    /// Claims up to `limit` pending photos, oldest first, for `lease`; a claim that
    /// lapses (its worker died) is claimed again.
    async fn claim_redactions(
        &self,
        limit: u32,
        now: OffsetDateTime,
        lease: time::Duration,
    ) -> Result<Vec<RedactionJob>>;
    /// Records how a claimed job ended; false when the photo's version moved on
    /// meanwhile (staff changed its edits) and the result was dropped.
    async fn finish_redaction(
        &self,
        job: RedactionJob,
        outcome: RedactionOutcome,
        now: OffsetDateTime,
    ) -> Result<bool>;
    /// A staff correction or hiding, with its event on the report's timeline.
    async fn edit_redaction(&self, edit: RedactionEdit) -> Result<Event>;
    /// Queues photos again: all of them (`all`, e.g. after a model update), or only
    /// those that failed. Returns how many.
    async fn requeue_redactions(&self, all: bool) -> Result<u64>;
    /// Drops every claim (at start, where one process owns the database).
    async fn release_redaction_claims(&self) -> Result<u64>;
    /// Photos by state.
    async fn redaction_counts(&self) -> Result<RedactionCounts>;
    /// Ids of the photos staff hid from the public.
    async fn hidden_photos(&self) -> Result<Vec<String>>;
}
