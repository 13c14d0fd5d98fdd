//! Reports as columns: the few attributes analysis reads, one array each, rows
//! kept in order of their local day so a period is a contiguous slice.

use crate::period::local_day;
use h3o::{LatLng, Resolution};
use std::collections::HashMap;
use time::UtcOffset;

/// What analysis needs of one report, as the store gives it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportFacts {
    /// The report's id.
    pub id: i64,
    /// When it came in (ms since the epoch).
    pub created_ms: i64,
    /// Category code.
    pub category: String,
    /// Lead department now, if assigned.
    pub department: Option<String>,
    /// Innermost jurisdiction code, if inside one.
    pub jurisdiction: Option<String>,
    /// Intake channel.
    pub channel: String,
    /// Where.
    pub lat: f64,
    /// Where.
    pub lon: f64,
    /// Merged into another report or refused: not a hazard of its own.
    pub excluded: bool,
    /// First 受理, ms.
    pub accepted_ms: Option<i64>,
    /// Whether that 受理 came after its deadline (unknown for old data).
    pub accept_late: Option<bool>,
    /// First 办结, ms.
    pub resolved_ms: Option<i64>,
    /// Whether that 办结 came after its deadline.
    pub resolve_late: Option<bool>,
    /// The reporter's rating, 1 to 5.
    pub rating: Option<u8>,
    /// Ever reopened after a fix.
    pub reopened: bool,
    /// The department that last sent it back (退单), if any.
    pub returned_by: Option<String>,
}

/// A category's place in the catalogue.
#[derive(Debug, Clone, PartialEq)]
pub struct CategoryInfo {
    /// Code.
    pub code: String,
    /// Its group's code.
    pub group: String,
    /// Chinese name.
    pub name: String,
    /// English name.
    pub name_en: String,
}

/// A named thing: department, group or channel.
#[derive(Debug, Clone, PartialEq)]
pub struct Named {
    /// Code.
    pub code: String,
    /// Chinese name.
    pub name: String,
    /// English name.
    pub name_en: String,
}

/// A jurisdiction with its place in the hierarchy.
#[derive(Debug, Clone, PartialEq)]
pub struct JurisdictionInfo {
    /// Code.
    pub code: String,
    /// Chinese name.
    pub name: String,
    /// English name.
    pub name_en: String,
    /// city, district, town or grid.
    pub level: String,
    /// The parent's code.
    pub parent: Option<String>,
}

/// The names analysis shows beside codes.
#[derive(Debug, Clone, Default)]
pub struct Dimensions {
    /// Categories with their groups.
    pub categories: Vec<CategoryInfo>,
    /// Category groups.
    pub groups: Vec<Named>,
    /// Departments.
    pub departments: Vec<Named>,
    /// Jurisdictions, any level.
    pub jurisdictions: Vec<JurisdictionInfo>,
}

/// No value in a `u16` column.
pub(crate) const NONE16: u16 = u16::MAX;
/// No value in a `u32` column.
pub(crate) const NONE32: u32 = u32::MAX;

pub(crate) const EXCLUDED: u8 = 1;
pub(crate) const ACCEPT_KNOWN: u8 = 2;
pub(crate) const ACCEPT_ON_TIME: u8 = 4;
pub(crate) const RESOLVED: u8 = 8;
pub(crate) const RESOLVE_KNOWN: u8 = 16;
pub(crate) const RESOLVE_ON_TIME: u8 = 32;
pub(crate) const REOPENED: u8 = 64;

/// The resolution cells are kept at; hotspots take parents of it.
pub const CELL_RESOLUTION: Resolution = Resolution::Eleven;

/// Codes interned to small numbers, with their names.
#[derive(Debug, Clone, Default)]
pub(crate) struct Dict {
    pub(crate) codes: Vec<String>,
    pub(crate) names: Vec<(String, String)>,
    index: HashMap<String, u32>,
}

impl Dict {
    fn add(&mut self, code: &str, name: &str, name_en: &str) -> u32 {
        if let Some(&i) = self.index.get(code) {
            self.names[i as usize] = (name.to_owned(), name_en.to_owned());
            return i;
        }
        let i = self.codes.len() as u32;
        self.codes.push(code.to_owned());
        self.names.push((name.to_owned(), name_en.to_owned()));
        self.index.insert(code.to_owned(), i);
        i
    }

    fn intern(&mut self, code: &str) -> u32 {
        match self.index.get(code) {
            Some(&i) => i,
            None => self.add(code, code, code),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.codes.len()
    }
}

/// Every report's facts, in columns.
#[derive(Debug, Clone)]
pub struct Facts {
    pub(crate) offset: UtcOffset,
    pub(crate) id: Vec<i64>,
    pub(crate) day: Vec<i32>,
    /// Local minute of the day.
    pub(crate) minute: Vec<u16>,
    pub(crate) category: Vec<u16>,
    pub(crate) department: Vec<u16>,
    pub(crate) jurisdiction: Vec<u32>,
    pub(crate) channel: Vec<u8>,
    pub(crate) flags: Vec<u8>,
    pub(crate) rating: Vec<u8>,
    /// Seconds from intake to 受理.
    pub(crate) accept_s: Vec<u32>,
    /// Seconds from intake to 办结.
    pub(crate) resolve_s: Vec<u32>,
    pub(crate) returned_by: Vec<u16>,
    pub(crate) cell: Vec<u64>,
    rows: HashMap<i64, u32>,
    sorted: bool,
    pub(crate) categories: Dict,
    /// The group of each category.
    pub(crate) category_group: Vec<u32>,
    pub(crate) groups: Dict,
    pub(crate) departments: Dict,
    pub(crate) jurisdictions: Dict,
    /// Level and parent of each jurisdiction.
    pub(crate) jurisdiction_tree: Vec<(String, u32)>,
    pub(crate) channels: Dict,
}

impl Facts {
    /// Empty, with the catalogue's names, counting days in `offset`.
    pub fn new(dims: &Dimensions, offset: UtcOffset) -> Facts {
        let mut f = Facts {
            offset,
            id: Vec::new(),
            day: Vec::new(),
            minute: Vec::new(),
            category: Vec::new(),
            department: Vec::new(),
            jurisdiction: Vec::new(),
            channel: Vec::new(),
            flags: Vec::new(),
            rating: Vec::new(),
            accept_s: Vec::new(),
            resolve_s: Vec::new(),
            returned_by: Vec::new(),
            cell: Vec::new(),
            rows: HashMap::new(),
            sorted: true,
            categories: Dict::default(),
            category_group: Vec::new(),
            groups: Dict::default(),
            departments: Dict::default(),
            jurisdictions: Dict::default(),
            jurisdiction_tree: Vec::new(),
            channels: Dict::default(),
        };
        f.set_dimensions(dims);
        f
    }

    /// Takes new names (a configuration change); codes already seen keep their numbers.
    pub fn set_dimensions(&mut self, dims: &Dimensions) {
        for g in &dims.groups {
            self.groups.add(&g.code, &g.name, &g.name_en);
        }
        for c in &dims.categories {
            let i = self.categories.add(&c.code, &c.name, &c.name_en) as usize;
            let g = self.groups.intern(&c.group);
            self.category_group.resize(self.categories.len(), NONE32);
            self.category_group[i] = g;
        }
        for d in &dims.departments {
            self.departments.add(&d.code, &d.name, &d.name_en);
        }
        for j in &dims.jurisdictions {
            self.jurisdictions.add(&j.code, &j.name, &j.name_en);
        }
        self.jurisdiction_tree
            .resize(self.jurisdictions.len(), (String::new(), NONE32));
        for j in &dims.jurisdictions {
            let i = self.jurisdictions.intern(&j.code) as usize;
            let parent = j
                .parent
                .as_deref()
                .map_or(NONE32, |p| self.jurisdictions.intern(p));
            self.jurisdiction_tree
                .resize(self.jurisdictions.len(), (String::new(), NONE32));
            self.jurisdiction_tree[i] = (j.level.clone(), parent);
        }
        for (code, zh, en) in [
            ("web", "网页", "Web"),
            ("api", "接口", "API"),
            ("open311", "Open311", "Open311"),
            ("phone", "电话", "Phone"),
            ("import", "导入", "Import"),
        ] {
            self.channels.add(code, zh, en);
        }
    }

    /// How many reports.
    pub fn len(&self) -> usize {
        self.id.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.id.is_empty()
    }

    /// The first local day with a report.
    pub fn first_day(&self) -> Option<i32> {
        self.day.first().copied()
    }

    /// Adds or replaces reports; rows stay in day order.
    pub fn upsert(&mut self, batch: impl IntoIterator<Item = ReportFacts>) {
        for r in batch {
            self.upsert_one(r);
        }
        if !self.sorted {
            self.sort();
        }
    }

    fn upsert_one(&mut self, r: ReportFacts) {
        let secs = |t: Option<i64>| {
            t.map_or(NONE32, |t| {
                ((t - r.created_ms).max(0) / 1000).min(i64::from(NONE32 - 1)) as u32
            })
        };
        let mut flags = 0;
        if r.excluded {
            flags |= EXCLUDED;
        }
        if let Some(late) = r.accept_late {
            flags |= ACCEPT_KNOWN;
            if !late {
                flags |= ACCEPT_ON_TIME;
            }
        }
        if r.resolved_ms.is_some() {
            flags |= RESOLVED;
        }
        if let Some(late) = r.resolve_late {
            flags |= RESOLVE_KNOWN;
            if !late {
                flags |= RESOLVE_ON_TIME;
            }
        }
        if r.reopened {
            flags |= REOPENED;
        }
        let day = local_day(r.created_ms, self.offset);
        let local_s = (r.created_ms.div_euclid(1000) + i64::from(self.offset.whole_seconds()))
            .rem_euclid(86_400);
        let category = self.categories.intern(&r.category);
        self.category_group.resize(self.categories.len(), NONE32);
        if self.category_group[category as usize] == NONE32 {
            self.category_group[category as usize] = self.groups.intern("other");
        }
        let department = r
            .department
            .as_deref()
            .map_or(NONE16, |d| self.departments.intern(d) as u16);
        let returned_by = r
            .returned_by
            .as_deref()
            .map_or(NONE16, |d| self.departments.intern(d) as u16);
        let jurisdiction = r.jurisdiction.as_deref().map_or(NONE32, |j| {
            let i = self.jurisdictions.intern(j);
            self.jurisdiction_tree
                .resize(self.jurisdictions.len(), (String::new(), NONE32));
            i
        });
        let cell = LatLng::new(r.lat, r.lon)
            .map(|p| u64::from(p.to_cell(CELL_RESOLUTION)))
            .unwrap_or(0);
        let values = Row {
            day,
            minute: (local_s / 60) as u16,
            category: category as u16,
            department,
            jurisdiction,
            channel: self.channels.intern(&r.channel) as u8,
            flags,
            rating: r.rating.unwrap_or(0),
            accept_s: secs(r.accepted_ms),
            resolve_s: secs(r.resolved_ms),
            returned_by,
            cell,
        };
        match self.rows.get(&r.id) {
            Some(&i) => {
                let i = i as usize;
                if self.day[i] != day {
                    self.sorted = false;
                }
                self.write(i, values);
            }
            None => {
                if self.day.last().is_some_and(|&last| last > day) {
                    self.sorted = false;
                }
                let i = self.id.len();
                self.rows.insert(r.id, i as u32);
                self.id.push(r.id);
                self.day.push(0);
                self.minute.push(0);
                self.category.push(0);
                self.department.push(0);
                self.jurisdiction.push(0);
                self.channel.push(0);
                self.flags.push(0);
                self.rating.push(0);
                self.accept_s.push(0);
                self.resolve_s.push(0);
                self.returned_by.push(0);
                self.cell.push(0);
                self.write(i, values);
            }
        }
    }

    fn write(&mut self, i: usize, v: Row) {
        self.day[i] = v.day;
        self.minute[i] = v.minute;
        self.category[i] = v.category;
        self.department[i] = v.department;
        self.jurisdiction[i] = v.jurisdiction;
        self.channel[i] = v.channel;
        self.flags[i] = v.flags;
        self.rating[i] = v.rating;
        self.accept_s[i] = v.accept_s;
        self.resolve_s[i] = v.resolve_s;
        self.returned_by[i] = v.returned_by;
        self.cell[i] = v.cell;
    }

    /// Puts rows in (day, id) order again.
    fn sort(&mut self) {
        let mut order: Vec<u32> = (0..self.id.len() as u32).collect();
        order.sort_unstable_by_key(|&i| (self.day[i as usize], self.id[i as usize]));
        fn permute<T: Copy>(v: &mut Vec<T>, order: &[u32]) {
            *v = order.iter().map(|&i| v[i as usize]).collect();
        }
        permute(&mut self.id, &order);
        permute(&mut self.day, &order);
        permute(&mut self.minute, &order);
        permute(&mut self.category, &order);
        permute(&mut self.department, &order);
        permute(&mut self.jurisdiction, &order);
        permute(&mut self.channel, &order);
        permute(&mut self.flags, &order);
        permute(&mut self.rating, &order);
        permute(&mut self.accept_s, &order);
        permute(&mut self.resolve_s, &order);
        permute(&mut self.returned_by, &order);
        permute(&mut self.cell, &order);
        self.rows = self
            .id
            .iter()
            .enumerate()
            .map(|(i, &id)| (id, i as u32))
            .collect();
        self.sorted = true;
    }

    /// The rows whose local day lies in `[from, to)`.
    pub(crate) fn range(&self, from: i32, to: i32) -> std::ops::Range<usize> {
        let a = self.day.partition_point(|&d| d < from);
        let b = self.day.partition_point(|&d| d < to);
        a..b.max(a)
    }

    /// The ancestor of jurisdiction `j` at `level` (itself if it is at that level).
    pub(crate) fn jurisdiction_at(&self, mut j: u32, level: &str) -> u32 {
        for _ in 0..16 {
            let Some((l, parent)) = self.jurisdiction_tree.get(j as usize) else {
                return NONE32;
            };
            if l == level {
                return j;
            }
            if *parent == NONE32 {
                return NONE32;
            }
            j = *parent;
        }
        NONE32
    }
}

struct Row {
    day: i32,
    minute: u16,
    category: u16,
    department: u16,
    jurisdiction: u32,
    channel: u8,
    flags: u8,
    rating: u8,
    accept_s: u32,
    resolve_s: u32,
    returned_by: u16,
    cell: u64,
}
