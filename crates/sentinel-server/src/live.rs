//! The live side of the command map: one task tails the store's change feed,
//! keeps the in-memory report index (behind the vector tiles) current, and
//! broadcasts each change to the event streams.
//!
//! Every node tails the same feed, so a change written through any node reaches
//! every node's map and streams. A write through this node wakes the tail at once
//! (the `poke` middleware); otherwise it polls every 250 ms.

use crate::AppState;
use crate::api::patrol::visit_json;
use crate::api::units::{dispatch_json, unit_json};
use crate::auth::Staff;
use crate::views::ts;
use sentinel_core::Role;
use sentinel_store::{FeedEntry, FeedItem, ReportPoint, Store};
use sentinel_tiles::{PointRecord, ReportIndex};
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::{Notify, broadcast, watch};

/// Messages kept for subscribers that fall behind before they must catch up
/// from the store.
const RING: usize = 4096;
/// Feed rows read at once.
const PAGE: u32 = 2000;
/// The shortest time between two reads of the feed when changes keep coming.
const BATCH: Duration = Duration::from_millis(15);
/// The rendered-tile cache's budget.
const TILE_CACHE_BYTES: usize = 128 << 20;
const TILE_CACHE_ENTRIES: usize = 8192;

/// A rendered tile's identity: the tile and its filter.
pub type TileKey = (sentinel_tiles::TileId, String);
/// A rendered tile and the ETag it was drawn for.
type CachedTile = (String, bytes::Bytes);

/// Who may see a message.
#[derive(Debug, Clone, PartialEq)]
pub enum Scope {
    /// A report: its lead department, assignee, and tracking code (a crew out on
    /// it sees it too).
    Report {
        /// Tracking code.
        code: String,
        /// Lead department.
        department: Option<String>,
        /// Assigned account.
        assignee: Option<String>,
    },
    /// A unit: itself and its department.
    Unit {
        /// Unit id.
        id: i64,
        /// Its department.
        department: Option<String>,
    },
    /// A dispatch: the unit sent, to which report, and whether it is still open
    /// (a crew sees its report's changes while it is).
    Dispatch {
        /// Unit id.
        unit: i64,
        /// The report's tracking code.
        report: String,
        /// Not cleared or cancelled.
        open: bool,
    },
    /// A patrol visit: the unit that made it, if known.
    Visit {
        /// Unit id.
        unit: Option<i64>,
    },
}

/// One change, ready to send.
#[derive(Debug, Clone)]
pub struct Message {
    /// Feed sequence: the SSE event id.
    pub seq: i64,
    /// `report`, `unit` or `dispatch`: the SSE event name.
    pub kind: &'static str,
    /// The JSON payload.
    pub data: String,
    /// Who may see it.
    pub scope: Scope,
}

/// What one subscriber may see, worked out once when it connects.
#[derive(Debug, Clone)]
pub struct Viewer {
    role: Role,
    user: String,
    department: Option<String>,
    unit: Option<i64>,
    /// Reports the viewer's unit is out on: loaded at connect, then kept current
    /// from the dispatch messages it sees.
    dispatched: HashSet<String>,
}

impl Viewer {
    /// The viewer for a staff member (`unit`: the unit their account works).
    pub fn new(staff: &Staff, unit: Option<i64>) -> Self {
        Viewer {
            role: staff.user.role,
            user: staff.user.name.clone(),
            department: staff.user.department.clone(),
            unit,
            dispatched: staff.dispatched.iter().cloned().collect(),
        }
    }

    /// Whether they may see this message (a dispatch of their own unit also
    /// updates which reports they follow).
    pub fn sees(&mut self, m: &Message) -> bool {
        match self.role {
            Role::Admin | Role::Dispatcher | Role::Analyst => true,
            Role::Officer => match &m.scope {
                Scope::Report { department, .. } | Scope::Unit { department, .. } => {
                    department.is_some() && *department == self.department
                }
                Scope::Dispatch { .. } | Scope::Visit { .. } => false,
            },
            Role::Unit => match &m.scope {
                Scope::Report { assignee, code, .. } => {
                    assignee.as_deref() == Some(&self.user) || self.dispatched.contains(code)
                }
                Scope::Dispatch { unit, report, open } => {
                    if Some(*unit) != self.unit {
                        return false;
                    }
                    if *open {
                        self.dispatched.insert(report.clone());
                    } else {
                        self.dispatched.remove(report);
                    }
                    true
                }
                Scope::Unit { id, .. } => Some(*id) == self.unit,
                Scope::Visit { unit } => unit.is_some() && *unit == self.unit,
            },
        }
    }
}

/// The live state shared by handlers.
pub struct Live {
    tx: broadcast::Sender<Arc<Message>>,
    wake: Notify,
    head: AtomicI64,
    started: AtomicBool,
    ready: watch::Sender<bool>,
    stale_secs: u64,
    /// Rendered report tiles by tile and filter, with the ETag they were drawn for.
    tiles: Mutex<HashMap<TileKey, CachedTile>>,
    tile_bytes: AtomicUsize,
    /// Every report as a map point, for the tiles.
    pub index: RwLock<ReportIndex>,
}

impl Live {
    /// Live state; unit positions older than `stale_secs` are marked stale.
    pub fn new(stale_secs: u64) -> Self {
        let generation = OffsetDateTime::now_utc().unix_timestamp_nanos() as u64;
        Live {
            tx: broadcast::channel(RING).0,
            wake: Notify::new(),
            head: AtomicI64::new(0),
            started: AtomicBool::new(false),
            ready: watch::channel(false).0,
            stale_secs,
            tiles: Mutex::new(HashMap::new()),
            tile_bytes: AtomicUsize::new(0),
            index: RwLock::new(ReportIndex::new(generation)),
        }
    }

    /// A tile drawn earlier for this very ETag (same data version, same minute,
    /// same filter), if still kept.
    pub fn cached_tile(&self, key: &TileKey, etag: &str) -> Option<bytes::Bytes> {
        let tiles = self.tiles.lock().ok()?;
        tiles
            .get(key)
            .filter(|(e, _)| e == etag)
            .map(|(_, b)| b.clone())
    }

    /// Keeps a drawn tile; the cache is emptied whole when it passes its budget
    /// (tiles are cheap to draw again, and a simple bound cannot leak).
    pub fn cache_tile(&self, key: TileKey, etag: String, bytes: bytes::Bytes) {
        let Ok(mut tiles) = self.tiles.lock() else {
            return;
        };
        let size = bytes.len();
        if self.tile_bytes.load(Ordering::Relaxed) + size > TILE_CACHE_BYTES
            || tiles.len() >= TILE_CACHE_ENTRIES
        {
            tiles.clear();
            self.tile_bytes.store(0, Ordering::Relaxed);
        }
        if let Some((_, old)) = tiles.insert(key, (etag, bytes)) {
            self.tile_bytes.fetch_sub(old.len(), Ordering::Relaxed);
        }
        self.tile_bytes.fetch_add(size, Ordering::Relaxed);
    }

    /// Wakes the tail: something was just written.
    pub fn poke(&self) {
        self.wake.notify_one();
    }

    /// The last sequence delivered to subscribers.
    pub fn head(&self) -> i64 {
        self.head.load(Ordering::Acquire)
    }

    /// A new subscription to what comes next.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Message>> {
        self.tx.subscribe()
    }

    /// Waits until the report index is loaded (false if it takes longer than `wait`).
    pub async fn wait_ready(&self, wait: Duration) -> bool {
        let mut rx = self.ready.subscribe();
        tokio::time::timeout(wait, rx.wait_for(|r| *r))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Starts the tail task once.
    pub fn start(self: &Arc<Self>, store: Arc<dyn Store>) {
        if self.started.swap(true, Ordering::AcqRel) {
            return;
        }
        let live = self.clone();
        tokio::spawn(async move {
            loop {
                if let Err(e) = live.run(&*store).await {
                    tracing::warn!(error = %e, "the live feed stopped; restarting in 1 s");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        });
    }

    async fn run(&self, store: &dyn Store) -> Result<(), sentinel_store::StoreError> {
        if !*self.ready.borrow() {
            // Where the feed stands before loading: changes during the load are
            // applied again afterwards, which is harmless.
            let start = store.feed_head().await?;
            let t = std::time::Instant::now();
            let mut after = 0;
            loop {
                let page = store.report_points(after, 50_000).await?;
                let Some(last) = page.last() else { break };
                after = last.id;
                let records: Vec<PointRecord> = page.iter().map(record).collect();
                if let Ok(mut idx) = self.index.write() {
                    idx.extend(records);
                }
            }
            self.head.store(start, Ordering::Release);
            let n = self.index.read().map(|i| i.len()).unwrap_or(0);
            tracing::info!(
                reports = n,
                ms = t.elapsed().as_millis() as u64,
                "map index loaded"
            );
            self.ready.send_replace(true);
        }
        let mut cursor = self.head();
        loop {
            let last_read = std::time::Instant::now();
            let page = store.feed(cursor, PAGE).await?;
            let more = page.next > cursor;
            for e in &page.entries {
                if let FeedItem::Report(p) = &e.item
                    && let Ok(mut idx) = self.index.write()
                {
                    idx.upsert(&record(p));
                }
                let m = Arc::new(message(e, self.stale_secs));
                // No subscribers is not an error.
                let _ = self.tx.send(m);
            }
            cursor = page.next;
            self.head.store(cursor, Ordering::Release);
            if !more {
                tokio::select! {
                    () = self.wake.notified() => {}
                    () = store.feed_changed() => {}
                    () = tokio::time::sleep(Duration::from_millis(250)) => {}
                }
                // Under heavy intake, read at most every BATCH so one read carries
                // many changes instead of one query per request; a lone change is
                // read at once.
                if let Some(wait) = BATCH.checked_sub(last_read.elapsed()) {
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }
}

fn record(p: &ReportPoint) -> PointRecord {
    PointRecord {
        id: p.id,
        lat: p.lat,
        lon: p.lon,
        status: p.status,
        category: p.category.clone(),
        department: p.department.clone(),
        priority: p.priority,
        created_at: p.created_at,
        due_at: p.due_at,
    }
}

/// A feed entry as a stream message.
pub fn message(e: &FeedEntry, stale_secs: u64) -> Message {
    let (kind, data, scope) = match &e.item {
        FeedItem::Report(p) => (
            "report",
            json!({
                "code": p.code,
                "lat": p.lat,
                "lon": p.lon,
                "status": p.status,
                "category": p.category,
                "department": p.department,
                "priority": p.priority,
                "assignee": p.assignee,
                "created_at": ts(p.created_at),
                "due_at": p.due_at.map(ts),
            }),
            Scope::Report {
                code: p.code.clone(),
                department: p.department.clone(),
                assignee: p.assignee.clone(),
            },
        ),
        FeedItem::Unit(u) => (
            "unit",
            unit_json(u, e.at, stale_secs),
            Scope::Unit {
                id: u.id,
                department: u.department.clone(),
            },
        ),
        FeedItem::Dispatch(d) => (
            "dispatch",
            dispatch_json(d),
            Scope::Dispatch {
                unit: d.unit,
                report: d.report.clone(),
                open: !d.step.is_final(),
            },
        ),
        FeedItem::Visit(v) => ("visit", visit_json(v), Scope::Visit { unit: v.unit }),
    };
    Message {
        seq: e.seq,
        kind,
        data: data.to_string(),
        scope,
    }
}

/// Middleware: after a request that may have written, wake the tail so the
/// change reaches the streams without waiting for the next poll.
pub async fn poke(
    axum::extract::State(s): axum::extract::State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let writes = !matches!(
        *req.method(),
        axum::http::Method::GET | axum::http::Method::HEAD
    );
    let res = next.run(req).await;
    if writes {
        s.live.poke();
    }
    res
}
