//! The analysis facts of every report, loaded from the store at start and kept
//! current from the change feed, for the `/api/v1/analysis` endpoints. The command
//! line's `sentinel stats` loads them the same way.

use sentinel_analysis::{CategoryInfo, Dimensions, Facts, JurisdictionInfo, Named};
use sentinel_core::Catalog;
use sentinel_store::{FeedItem, Store, StoreError};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use time::UtcOffset;
use tokio::sync::watch;

/// Reports read per page while loading.
const PAGE: u32 = 20_000;

/// Names of the category groups the built-in catalogue uses.
const GROUPS: [(&str, &str, &str); 7] = [
    ("roads", "道路设施", "Roads"),
    ("fire_safety", "消防安全", "Fire safety"),
    ("equipment", "特种设备", "Special equipment"),
    ("market", "市场监管", "Market supervision"),
    ("public_safety", "公共安全", "Public safety"),
    ("construction", "建设施工", "Construction"),
    ("other", "其他", "Other"),
];

/// The names analysis shows: the catalogue's categories, groups and departments,
/// and the stored jurisdictions with their parents.
pub async fn dimensions(store: &dyn Store, catalog: &Catalog) -> Result<Dimensions, StoreError> {
    let records = store.jurisdictions().await?;
    Ok(dimensions_of(
        catalog,
        records.iter().map(|j| {
            (
                j.id,
                j.code.as_str(),
                j.name.as_str(),
                j.name_en.as_deref(),
                j.level,
                j.parent_id,
            )
        }),
    ))
}

/// The same from the jurisdictions already in memory (no database read).
pub fn dimensions_in_memory(
    catalog: &Catalog,
    index: &sentinel_geo::JurisdictionIndex,
) -> Dimensions {
    dimensions_of(
        catalog,
        index.all().iter().map(|j| {
            (
                j.id,
                j.code.as_str(),
                j.name.as_str(),
                j.name_en.as_deref(),
                j.level,
                j.parent,
            )
        }),
    )
}

type JurisdictionRow<'a> = (
    i64,
    &'a str,
    &'a str,
    Option<&'a str>,
    sentinel_geo::Level,
    Option<i64>,
);

fn dimensions_of<'a>(
    catalog: &Catalog,
    jurisdictions: impl Iterator<Item = JurisdictionRow<'a>> + Clone,
) -> Dimensions {
    let code_of: HashMap<i64, &str> = jurisdictions.clone().map(|j| (j.0, j.1)).collect();
    let mut groups: Vec<Named> = GROUPS
        .iter()
        .map(|(c, zh, en)| Named {
            code: (*c).into(),
            name: (*zh).into(),
            name_en: (*en).into(),
        })
        .collect();
    for c in &catalog.categories {
        if !groups.iter().any(|g| g.code == c.group) {
            groups.push(Named {
                code: c.group.clone(),
                name: c.group.clone(),
                name_en: c.group.clone(),
            });
        }
    }
    Dimensions {
        categories: catalog
            .categories
            .iter()
            .map(|c| CategoryInfo {
                code: c.code.clone(),
                group: c.group.clone(),
                name: c.name.clone(),
                name_en: c.name_en.clone(),
            })
            .collect(),
        groups,
        departments: catalog
            .departments
            .iter()
            .map(|d| Named {
                code: d.code.clone(),
                name: d.name.clone(),
                name_en: d.name_en.clone(),
            })
            .collect(),
        jurisdictions: jurisdictions
            .map(|(_, code, name, name_en, level, parent)| JurisdictionInfo {
                code: code.to_owned(),
                name: name.to_owned(),
                name_en: name_en.unwrap_or(name).to_owned(),
                level: level.as_str().to_owned(),
                parent: parent.and_then(|p| code_of.get(&p).map(|c| (*c).to_owned())),
            })
            .collect(),
    }
}

/// Reads every report's facts from the store; `progress` hears how many so far.
pub async fn load_facts(
    store: &dyn Store,
    dims: &Dimensions,
    offset: UtcOffset,
    mut progress: impl FnMut(usize),
) -> Result<Facts, StoreError> {
    let mut facts = Facts::new(dims, offset);
    let mut after = 0;
    loop {
        let page = store.report_facts(after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        facts.upsert(page);
        progress(facts.len());
    }
    Ok(facts)
}

/// The server's facts, kept current.
pub struct Analysis {
    /// Every report's facts. Queries hold the read lock while they run (well under
    /// a second); the follower takes the write lock only to apply a batch.
    pub facts: RwLock<Facts>,
    ready: watch::Sender<bool>,
    offset: UtcOffset,
    started: std::sync::atomic::AtomicBool,
}

impl Analysis {
    /// Empty until [`Analysis::start`] has loaded the store.
    pub fn new(offset: UtcOffset) -> Self {
        Analysis {
            facts: RwLock::new(Facts::new(&Dimensions::default(), offset)),
            ready: watch::channel(false).0,
            offset,
            started: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Runs `f` over the facts (on a blocking thread: a query over millions of rows
    /// must not stall the async workers).
    pub async fn query<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&Facts) -> T + Send + 'static,
    ) -> Option<T> {
        let me = self.clone();
        tokio::task::spawn_blocking(move || me.facts.read().ok().map(|g| f(&g)))
            .await
            .ok()
            .flatten()
    }

    /// The time zone days are counted in.
    pub fn offset(&self) -> UtcOffset {
        self.offset
    }

    /// Waits until the facts are loaded (false if it takes longer than `wait`).
    pub async fn wait_ready(&self, wait: Duration) -> bool {
        let mut rx = self.ready.subscribe();
        tokio::time::timeout(wait, rx.wait_for(|r| *r))
            .await
            .is_ok()
    }

    /// Loads the facts, then applies changed reports from the feed every second.
    pub fn start(self: &Arc<Self>, state: crate::AppState) {
        if self.started.swap(true, std::sync::atomic::Ordering::AcqRel) {
            return;
        }
        let me = self.clone();
        tokio::spawn(async move {
            loop {
                if let Err(e) = me.run(&state).await {
                    tracing::warn!(error = %e, "analysis stopped following changes; restarting in 5 s");
                    tokio::time::sleep(Duration::from_secs(5)).await;
                }
            }
        });
    }

    async fn run(&self, s: &crate::AppState) -> Result<(), StoreError> {
        let store = &*s.store;
        let mut cursor = store.feed_head().await?;
        let t = std::time::Instant::now();
        let mut dims = dimensions(store, &s.catalog()).await?;
        let facts = load_facts(store, &dims, self.offset, |_| {}).await?;
        tracing::info!(
            reports = facts.len(),
            ms = t.elapsed().as_millis() as u64,
            "analysis facts loaded"
        );
        if let Ok(mut f) = self.facts.write() {
            *f = facts;
        }
        self.ready.send_replace(true);
        let mut names_checked = std::time::Instant::now();
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let mut changed: HashSet<i64> = HashSet::new();
            loop {
                let page = store.feed(cursor, 2_000).await?;
                if page.next <= cursor {
                    break;
                }
                cursor = page.next;
                for e in page.entries {
                    if let FeedItem::Report(p) = e.item {
                        changed.insert(p.id);
                    }
                }
            }
            let rename = names_checked.elapsed() > Duration::from_secs(60);
            if changed.is_empty() && !rename {
                continue;
            }
            let rows = store
                .report_facts_for(changed.into_iter().collect())
                .await?;
            if rename {
                // Configuration and boundaries may have been reloaded (SIGHUP): take
                // the names in force, from memory.
                let index = s.jurisdictions();
                if !index.all().is_empty() {
                    dims = dimensions_in_memory(&s.catalog(), &index);
                }
                names_checked = std::time::Instant::now();
            }
            if let Ok(mut f) = self.facts.write() {
                if rename {
                    f.set_dimensions(&dims);
                }
                f.upsert(rows);
            }
        }
    }
}
