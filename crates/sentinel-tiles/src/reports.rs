//! The report index and its tiles.

use crate::points::{self, PointFeature};
use crate::tile::{EXTENT, TileId, project};
use h3o::{CellIndex, LatLng, Resolution};
use mvt::{GeomEncoder, GeomType, Tile};
use sentinel_core::{Priority, Status};
use std::collections::{BTreeMap, HashMap};
use time::OffsetDateTime;

/// From this zoom on, a tile carries one point per report; below it, hexagons.
pub const POINT_ZOOM: u8 = 13;
/// The resolution each report's cell is kept at; coarser cells are its parents.
const CELL_RES: Resolution = Resolution::Ten;
/// Tile units of buffer around point tiles (symbols at the edge are not cut).
const POINT_BUFFER: f64 = 64.0;

/// The H3 resolution of the hexagons on a tile at zoom `z` (below [`POINT_ZOOM`]):
/// about 40 to 100 screen pixels across, big enough to read a count on.
pub fn hex_resolution(z: u8) -> Resolution {
    let r = z.saturating_sub(4).clamp(3, 10);
    Resolution::try_from(r).unwrap_or(Resolution::Ten)
}

/// A report as the index takes it in.
#[derive(Debug, Clone, PartialEq)]
pub struct PointRecord {
    /// Internal id (dense, from 1).
    pub id: i64,
    /// Latitude.
    pub lat: f64,
    /// Longitude.
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
    /// Running deadline.
    pub due_at: Option<OffsetDateTime>,
}

/// Which reports a tile shows; the same filters as the reports API.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    /// Any of these statuses (empty: all).
    pub statuses: Vec<Status>,
    /// Any of these categories (empty: all).
    pub categories: Vec<String>,
    /// This lead department.
    pub department: Option<String>,
    /// Received at or after.
    pub since: Option<OffsetDateTime>,
    /// Received before.
    pub until: Option<OffsetDateTime>,
}

/// What a tile needs of a report, kept inline in the index so a scan reads
/// neighbouring memory only.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Payload {
    mx: f64,
    my: f64,
    id: u32,
    status: Status,
    priority: Priority,
    category: u16,
    department: u16,
    created: i64,
    due: i64,
    cell: u64,
}

/// Strings seen often (categories, departments) kept once, compared as numbers.
#[derive(Default)]
struct Interner {
    ids: HashMap<String, u16>,
    names: Vec<String>,
}

impl Interner {
    fn id(&mut self, s: &str) -> u16 {
        if let Some(&i) = self.ids.get(s) {
            return i;
        }
        let i = u16::try_from(self.names.len() + 1).unwrap_or(u16::MAX);
        self.names.push(s.to_owned());
        self.ids.insert(s.to_owned(), i);
        i
    }
    fn find(&self, s: &str) -> Option<u16> {
        self.ids.get(s).copied()
    }
    fn name(&self, i: u16) -> &str {
        self.names
            .get(usize::from(i).wrapping_sub(1))
            .map_or("", String::as_str)
    }
}

/// Filters resolved to numbers for the scan.
struct Compiled {
    statuses: Vec<Status>,
    categories: Option<Vec<u16>>,
    department: Option<u16>,
    since: i64,
    until: i64,
}

impl Compiled {
    fn admits(&self, e: &Payload) -> bool {
        (self.statuses.is_empty() || self.statuses.contains(&e.status))
            && self
                .categories
                .as_ref()
                .is_none_or(|c| c.contains(&e.category))
            && self.department.is_none_or(|d| d == e.department)
            && e.created >= self.since
            && e.created < self.until
    }
}

/// The parent of an H3 cell index at a coarser resolution, by arithmetic on the
/// index's bits (resolution in bits 52-55, one 3-bit digit per resolution below,
/// unused digits all ones), without the validation a library call does per cell.
fn parent_bits(cell: u64, res: u8) -> u64 {
    let unused = 3 * (15 - u32::from(res));
    let digits = (1u64 << unused) - 1;
    (cell & !(0xF << 52) & !digits) | (u64::from(res) << 52) | digits
}

/// The first and last possible index of the descendants at [`CELL_RES`] of a
/// cell at resolution `res`: in index order they are contiguous.
fn descendants(cell: u64, res: u8) -> (u64, u64) {
    let fine = u8::from(CELL_RES);
    let base = (cell & !(0xF << 52)) | (u64::from(fine) << 52);
    let lo_bit = 3 * (15 - u32::from(fine));
    let hi_bit = 3 * (15 - u32::from(res));
    let mask = ((1u64 << hi_bit) - 1) & !((1u64 << lo_bit) - 1);
    (base & !mask, base | mask)
}

/// Cells in a disk of more than this many are not worth looking up one by one:
/// the whole index is scanned instead (the lowest zooms).
const DISK_LIMIT: u32 = 20_000;

/// A cheap hasher for H3 indexes.
#[derive(Default)]
struct CellHasher(u64);

impl std::hash::Hasher for CellHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3);
        }
    }
    fn write_u64(&mut self, v: u64) {
        // splitmix64's finaliser: every input bit reaches every output bit (the
        // varying digits of nearby cells sit in the middle of the index).
        let mut x = v ^ (v >> 30);
        x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x ^= x >> 27;
        x = x.wrapping_mul(0x94d0_49bb_1331_11eb);
        self.0 = x ^ (x >> 31);
    }
}

type Counts = HashMap<u64, (u32, u32, u32), std::hash::BuildHasherDefault<CellHasher>>;

/// New reports wait in the small B-tree until there are this many, then join the run.
const RECENT_MAX: usize = 32_768;

fn key(p: &Payload) -> (u64, u32) {
    (p.cell, p.id)
}

/// Reports in (cell, id) order: one sorted run, read sequentially (a scan costs
/// about a nanosecond per report, where a tree walk costs tens in cache misses),
/// and the newest in a small B-tree until they are merged into the run.
#[derive(Default)]
struct Sorted {
    run: Vec<Payload>,
    recent: BTreeMap<(u64, u32), Payload>,
}

impl Sorted {
    fn len(&self) -> usize {
        self.run.len() + self.recent.len()
    }

    fn find_mut(&mut self, k: (u64, u32)) -> Option<&mut Payload> {
        if self.recent.contains_key(&k) {
            return self.recent.get_mut(&k);
        }
        let i = self.run.partition_point(|p| key(p) < k);
        self.run.get_mut(i).filter(|p| key(p) == k)
    }

    fn remove(&mut self, k: (u64, u32)) {
        if self.recent.remove(&k).is_none() {
            let i = self.run.partition_point(|p| key(p) < k);
            if self.run.get(i).is_some_and(|p| key(p) == k) {
                self.run.remove(i);
            }
        }
    }

    fn insert(&mut self, p: Payload) {
        self.recent.insert(key(&p), p);
        if self.recent.len() > RECENT_MAX {
            let recent: Vec<Payload> = std::mem::take(&mut self.recent).into_values().collect();
            self.absorb(recent);
        }
    }

    /// Merges reports already sorted by key into the run.
    fn absorb(&mut self, sorted: Vec<Payload>) {
        if sorted.is_empty() {
            return;
        }
        let old = std::mem::take(&mut self.run);
        let mut out = Vec::with_capacity(old.len() + sorted.len());
        let mut a = old.into_iter().peekable();
        let mut b = sorted.into_iter().peekable();
        loop {
            let take_a = match (a.peek(), b.peek()) {
                (Some(x), Some(y)) => key(x) <= key(y),
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (None, None) => break,
            };
            out.extend(if take_a { a.next() } else { b.next() });
        }
        self.run = out;
    }

    fn all(&self) -> impl Iterator<Item = &Payload> {
        self.run.iter().chain(self.recent.values())
    }
}

/// The first index at or after `from` where `before` stops holding (the run is
/// sorted, `before` true for a prefix): steps double from `from`, then a binary
/// search in the last step, so nearby targets cost a few cache lines.
fn gallop(run: &[Payload], from: usize, before: impl Fn(&Payload) -> bool) -> usize {
    let mut lo = from;
    let mut step = 1;
    while lo + step < run.len() && before(&run[lo + step]) {
        lo += step;
        step *= 2;
    }
    let hi = (lo + step).min(run.len());
    if lo < run.len() && !before(&run[lo]) {
        return lo;
    }
    lo + run[lo..hi].partition_point(|p| before(p))
}

/// More matching reports than this in a point tile: it is drawn as hexagons at the
/// finest resolution instead (a blob of points helps nobody, and the tile stays small).
const POINT_LIMIT: usize = 20_000;

/// Every report as a map point, searchable by tile. Reports are kept in index
/// order of their H3 cell at [`CELL_RES`], so the reports under any coarser cell
/// are one contiguous range: a tile is the cells covering it, each a range read.
pub struct ReportIndex {
    /// By id: the report's cell, to find it in `cells` again.
    entries: Vec<Option<u64>>,
    cells: Sorted,
    categories: Interner,
    departments: Interner,
    generation: u64,
    changes: u64,
    /// The change counter when each z10 tile last changed.
    changed: HashMap<(u32, u32), u64>,
    /// The change counter at the last bulk load.
    bulk: u64,
}

impl ReportIndex {
    /// An empty index. `generation` distinguishes this index's versions from an
    /// earlier one's (a restarted server), so old ETags never match.
    pub fn new(generation: u64) -> Self {
        ReportIndex {
            entries: Vec::new(),
            cells: Sorted::default(),
            categories: Interner::default(),
            departments: Interner::default(),
            generation,
            changes: 0,
            changed: HashMap::new(),
            bulk: 0,
        }
    }

    /// How many reports are in it.
    pub fn len(&self) -> usize {
        self.cells.len()
    }

    /// Whether it holds no report.
    pub fn is_empty(&self) -> bool {
        self.cells.len() == 0
    }

    fn payload(&mut self, r: &PointRecord) -> Option<Payload> {
        let id = u32::try_from(r.id).ok()?;
        let (mx, my) = project(r.lon, r.lat);
        let cell = LatLng::new(r.lat, r.lon).ok()?.to_cell(CELL_RES);
        Some(Payload {
            mx,
            my,
            id,
            status: r.status,
            priority: r.priority,
            category: self.categories.id(&r.category),
            department: r
                .department
                .as_deref()
                .map_or(0, |d| self.departments.id(d)),
            created: r.created_at.unix_timestamp(),
            due: r.due_at.map_or(i64::MAX, |d| d.unix_timestamp()),
            cell: u64::from(cell),
        })
    }

    /// Puts one report in; answers where it is, if anything changed.
    fn put(&mut self, r: &PointRecord) -> Option<(f64, f64)> {
        let p = self.payload(r)?;
        let i = p.id as usize;
        if self.entries.len() <= i {
            self.entries.resize_with(i + 1, || None);
        }
        if let Some(cell) = self.entries[i] {
            if cell == p.cell {
                let old = self.cells.find_mut((cell, p.id))?;
                if *old == p {
                    return None;
                }
                *old = p;
                return Some((p.mx, p.my));
            }
            // A report does not move; should one, it leaves its old place.
            self.cells.remove((cell, p.id));
        }
        self.cells.insert(p);
        self.entries[i] = Some(p.cell);
        Some((p.mx, p.my))
    }

    /// Adds many reports at once (the start-up load, page by page): the new ones
    /// are sorted and merged into the run in one pass.
    pub fn extend(&mut self, records: impl IntoIterator<Item = PointRecord>) {
        let mut fresh = Vec::new();
        for r in records {
            let Some(p) = self.payload(&r) else { continue };
            let i = p.id as usize;
            if self.entries.len() <= i {
                self.entries.resize_with(i + 1, || None);
            }
            if self.entries[i].is_some() {
                self.put(&r);
            } else {
                self.entries[i] = Some(p.cell);
                fresh.push(p);
            }
        }
        fresh.sort_unstable_by_key(key);
        self.cells.absorb(fresh);
        self.changes += 1;
        self.bulk = self.changes;
    }

    /// Adds a report or updates it (a report's position never changes).
    pub fn upsert(&mut self, r: &PointRecord) {
        if let Some((mx, my)) = self.put(r) {
            self.changes += 1;
            let key = ((mx * 1024.0) as u32, (my * 1024.0) as u32);
            self.changed.insert(key, self.changes);
        }
    }

    /// A number that changes whenever anything a tile shows may have changed.
    pub fn version(&self, tile: TileId) -> u64 {
        let mut latest = 0;
        if tile.z >= 10 {
            let shift = tile.z - 10;
            // A hexagon can reach over the edge into the neighbouring z10 tile.
            for dx in [-1i64, 0, 1] {
                for dy in [-1i64, 0, 1] {
                    let k = (
                        (i64::from(tile.x >> shift) + dx) as u32,
                        (i64::from(tile.y >> shift) + dy) as u32,
                    );
                    latest = latest.max(self.changed.get(&k).copied().unwrap_or(0));
                }
            }
        } else {
            let shift = 10 - tile.z;
            for (&(x, y), &c) in &self.changed {
                let (tx, ty) = (x >> shift, y >> shift);
                if tx.abs_diff(tile.x) <= 1 && ty.abs_diff(tile.y) <= 1 {
                    latest = latest.max(c);
                }
            }
        }
        // A bulk load changes every tile.
        let v = latest.max(self.bulk);
        self.generation.wrapping_mul(1_000_003).wrapping_add(v)
    }

    fn compile(&self, f: &Filter) -> Compiled {
        Compiled {
            statuses: f.statuses.clone(),
            categories: (!f.categories.is_empty()).then(|| {
                f.categories
                    .iter()
                    .map(|c| self.categories.find(c).unwrap_or(0))
                    .collect()
            }),
            department: f
                .department
                .as_deref()
                .map(|d| self.departments.find(d).unwrap_or(u16::MAX)),
            since: f.since.map_or(i64::MIN, |t| t.unix_timestamp()),
            until: f.until.map_or(i64::MAX, |t| t.unix_timestamp()),
        }
    }

    /// Cells at `res` whose reports may fall in the box, or `None` when there
    /// would be too many to look up one by one (scan everything instead).
    fn covering(&self, tile: TileId, buffer: f64, res: Resolution) -> Option<Vec<u64>> {
        let (w, south, e, n) = tile.lonlat_box(buffer);
        let lat = ((south + n) / 2.0).to_radians();
        let half_w = (e - w) / 2.0 * 111_320.0 * lat.cos();
        let half_h = (n - south) / 2.0 * 110_574.0;
        let reach = (half_w * half_w + half_h * half_h).sqrt();
        // Ring k lies at least 1.5 k edges from the centre.
        let k = (reach / (1.5 * res.edge_length_m())).ceil() as u32 + 1;
        if 3 * k * (k + 1) + 1 > DISK_LIMIT {
            return None;
        }
        let centre = LatLng::new((south + n) / 2.0, (w + e) / 2.0)
            .ok()?
            .to_cell(res);
        Some(
            centre
                .grid_disk::<Vec<_>>(k)
                .into_iter()
                .map(u64::from)
                .collect(),
        )
    }

    /// Every report admitted by the filter under the cells covering the box
    /// (or everywhere), with the covering cell it was found under (`None` when
    /// everything was scanned). The visitor answers whether to go on.
    fn for_each(
        &self,
        tile: TileId,
        buffer: f64,
        res: Resolution,
        f: &Compiled,
        mut visit: impl FnMut(Option<u64>, &Payload) -> bool,
    ) {
        let Some(mut cells) = self.covering(tile, buffer, res) else {
            for p in self.cells.all() {
                if f.admits(p) && !visit(None, p) {
                    return;
                }
            }
            return;
        };
        // In index order, each cell's range starts at or after the previous one's
        // end, so the run is walked forward once (galloping between ranges).
        cells.sort_unstable();
        let r = u8::from(res);
        let run = &self.cells.run;
        let mut at = 0;
        for cell in cells {
            let (lo, hi) = descendants(cell, r);
            at = gallop(run, at, |p| p.cell < lo);
            while let Some(p) = run.get(at) {
                if p.cell > hi {
                    break;
                }
                at += 1;
                if f.admits(p) && !visit(Some(cell), p) {
                    return;
                }
            }
            for (_, p) in self.cells.recent.range((lo, 0)..=(hi, u32::MAX)) {
                if f.admits(p) && !visit(Some(cell), p) {
                    return;
                }
            }
        }
    }

    /// The tile as Mapbox Vector Tile bytes: layer `reports` (points, from
    /// [`POINT_ZOOM`]; the feature id is the report id, with `status`, `category`,
    /// `priority` and `overdue`) or layers `report_cells` (hexagons with `count`, `open`,
    /// `overdue`) and `report_heat` (their centroids with `count`). A point tile
    /// holding more than 20,000 reports is drawn as the finest hexagons instead.
    pub fn render(&self, tile: TileId, filter: &Filter, now: OffsetDateTime) -> Vec<u8> {
        let f = self.compile(filter);
        let now = now.unix_timestamp();
        let mut out = Tile::new(EXTENT);
        if tile.z >= POINT_ZOOM {
            let ([x0, y0], [x1, y1]) = tile.mercator_box(POINT_BUFFER);
            let res = Resolution::try_from(u8::from(CELL_RES).min(tile.z - 3)).unwrap_or(CELL_RES);
            // Points are found through the cells, then kept if inside the tile.
            let mut inside: Vec<Payload> = Vec::new();
            self.for_each(tile, POINT_BUFFER, res, &f, |_, p| {
                if p.mx >= x0 && p.mx <= x1 && p.my >= y0 && p.my <= y1 {
                    inside.push(*p);
                }
                inside.len() <= POINT_LIMIT
            });
            if inside.len() <= POINT_LIMIT {
                let features: Vec<PointFeature<'_>> = inside
                    .iter()
                    .map(|e| {
                        let (px, py) = tile.to_tile(e.mx, e.my);
                        PointFeature {
                            id: u64::from(e.id),
                            x: px.round() as i32,
                            y: py.round() as i32,
                            status: e.status.as_str(),
                            category: self.categories.name(e.category),
                            priority: e.priority.as_str(),
                            overdue: e.status.is_open() && e.due < now,
                        }
                    })
                    .collect();
                return points::encode("reports", EXTENT, &features);
            }
        }
        self.render_cells(&mut out, tile, &f, now);
        out.to_bytes().unwrap_or_default()
    }

    fn render_cells(&self, out: &mut Tile, tile: TileId, f: &Compiled, now: i64) {
        let res = hex_resolution(tile.z);
        let r = u8::from(res);
        // Grow the box by a cell's width so every cell touching the tile is whole.
        let (_, lat_s, _, lat_n) = tile.lonlat_box(0.0);
        let lat = ((lat_s + lat_n) / 2.0).to_radians();
        let tile_width_m = 40_075_016.7 * lat.cos() / tile.scale();
        let buffer = 2.2 * res.edge_length_m() / tile_width_m * f64::from(EXTENT);
        let mut cells = Counts::default();
        // Under a covering cell of this resolution every report counts for that
        // cell; only a full scan needs the parent worked out.
        let mut last: Option<(u64, (u32, u32, u32))> = None;
        self.for_each(tile, buffer, res, f, |under, e| {
            let cell = under.unwrap_or_else(|| parent_bits(e.cell, r));
            let c = match &mut last {
                Some((k, c)) if *k == cell => c,
                _ => {
                    if let Some((k, c)) = last.take() {
                        let e = cells.entry(k).or_default();
                        e.0 += c.0;
                        e.1 += c.1;
                        e.2 += c.2;
                    }
                    &mut last.insert((cell, (0, 0, 0))).1
                }
            };
            c.0 += 1;
            if e.status.is_open() {
                c.1 += 1;
                if e.due < now {
                    c.2 += 1;
                }
            }
            true
        });
        if let Some((k, c)) = last {
            let e = cells.entry(k).or_default();
            e.0 += c.0;
            e.1 += c.1;
            e.2 += c.2;
        }
        let mut keys: Vec<u64> = cells.keys().copied().collect();
        keys.sort_unstable();
        let mut hexes = out.create_layer("report_cells");
        let mut heat = out.create_layer("report_heat");
        let limit = f64::from(EXTENT) + buffer;
        for key in keys {
            let (count, open, overdue) = cells[&key];
            let Ok(cell) = CellIndex::try_from(key) else {
                continue;
            };
            let ring: Vec<(f64, f64)> = cell
                .boundary()
                .iter()
                .map(|ll| {
                    let (mx, my) = project(ll.lng(), ll.lat());
                    tile.to_tile(mx, my)
                })
                .collect();
            let outside = ring.iter().all(|&(x, _)| x < -buffer)
                || ring.iter().all(|&(x, _)| x > limit)
                || ring.iter().all(|&(_, y)| y < -buffer)
                || ring.iter().all(|&(_, y)| y > limit);
            if outside {
                continue;
            }
            let name = cell.to_string();
            if let Some(geom) = polygon(&ring) {
                let mut feature = hexes.into_feature(geom);
                feature.add_tag_string("h3", &name);
                feature.add_tag_uint("count", u64::from(count));
                feature.add_tag_uint("open", u64::from(open));
                feature.add_tag_uint("overdue", u64::from(overdue));
                hexes = feature.into_layer();
            }
            let centre = LatLng::from(cell);
            let (mx, my) = project(centre.lng(), centre.lat());
            let (px, py) = tile.to_tile(mx, my);
            if let Ok(geom) = GeomEncoder::new(GeomType::Point)
                .point(px.round() as i32, py.round() as i32)
                .and_then(|g| g.encode())
            {
                let mut feature = heat.into_feature(geom);
                feature.add_tag_uint("count", u64::from(count));
                heat = feature.into_layer();
            }
        }
        let _ = out.add_layer(hexes);
        let _ = out.add_layer(heat);
    }
}

/// One ring as an MVT polygon, wound clockwise on screen (y down) as the
/// specification wants for an exterior ring.
pub(crate) fn polygon(ring: &[(f64, f64)]) -> Option<mvt::GeomData> {
    let mut enc = GeomEncoder::new(GeomType::Polygon);
    crate::layers::wind(&mut enc, ring, true)?;
    enc.encode().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use geozero::mvt::{Message, Tile as Decoded, tile::GeomType as DecodedType};
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-26 12:00 UTC);

    fn record(id: i64, lat: f64, lon: f64, status: Status, category: &str) -> PointRecord {
        PointRecord {
            id,
            lat,
            lon,
            status,
            category: category.into(),
            department: Some("roads".into()),
            priority: Priority::Normal,
            created_at: NOW - time::Duration::days(id % 10),
            due_at: (id % 3 == 0).then(|| NOW - time::Duration::hours(1)),
        }
    }

    fn tile_of(lat: f64, lon: f64, z: u8) -> TileId {
        let (x, y) = project(lon, lat);
        let n = f64::from(1u32 << z);
        TileId::new(u32::from(z), (x * n) as u32, (y * n) as u32).unwrap()
    }

    /// A grid of 40 x 40 reports about 20 m apart around a point in Liaocheng.
    fn city() -> ReportIndex {
        let mut idx = ReportIndex::new(1);
        let mut id = 0;
        let mut rs = Vec::new();
        for i in 0..40 {
            for j in 0..40 {
                id += 1;
                let status = if id % 2 == 0 {
                    Status::Submitted
                } else {
                    Status::Closed
                };
                let cat = if id % 4 == 1 {
                    "pothole"
                } else {
                    "streetlight"
                };
                rs.push(record(
                    id,
                    36.44 + f64::from(i) * 0.0002,
                    115.98 + f64::from(j) * 0.0002,
                    status,
                    cat,
                ));
            }
        }
        idx.extend(rs);
        idx
    }

    fn decode(bytes: &[u8]) -> Decoded {
        Decoded::decode(bytes).expect("a valid vector tile")
    }

    fn tag<'a>(
        layer: &'a geozero::mvt::tile::Layer,
        f: &geozero::mvt::tile::Feature,
        key: &str,
    ) -> Option<&'a geozero::mvt::tile::Value> {
        f.tags.chunks(2).find_map(|kv| {
            (layer.keys[kv[0] as usize] == key).then(|| &layer.values[kv[1] as usize])
        })
    }

    #[test]
    fn high_zoom_tiles_carry_one_point_per_report_with_its_facts() {
        let idx = city();
        let t = tile_of(36.444, 115.984, 15);
        let tile = decode(&idx.render(t, &Filter::default(), NOW));
        let layer = tile.layers.iter().find(|l| l.name == "reports").unwrap();
        assert_eq!(layer.extent, Some(4096));
        assert!(!layer.features.is_empty());
        // Every point lies inside the tile or its buffer, and every report there is present.
        let ([x0, y0], [x1, y1]) = t.mercator_box(POINT_BUFFER);
        let expected = idx
            .cells
            .all()
            .filter(|p| p.mx >= x0 && p.mx <= x1 && p.my >= y0 && p.my <= y1)
            .count();
        assert_eq!(layer.features.len(), expected);
        for f in &layer.features {
            assert_eq!(f.r#type, Some(DecodedType::Point as i32));
            let status = tag(layer, f, "status")
                .unwrap()
                .string_value
                .clone()
                .unwrap();
            let id = f.id.unwrap();
            assert_eq!(status, if id % 2 == 0 { "submitted" } else { "closed" });
            let overdue = tag(layer, f, "overdue").unwrap().bool_value.unwrap();
            assert_eq!(overdue, id % 3 == 0 && id % 2 == 0, "report {id}");
        }
    }

    #[test]
    fn filters_select_the_same_reports_as_the_api() {
        let idx = city();
        let t = tile_of(36.444, 115.984, 13);
        let count = |f: Filter| {
            let tile = decode(&idx.render(t, &f, NOW));
            tile.layers
                .iter()
                .find(|l| l.name == "reports")
                .map_or(0, |l| l.features.len())
        };
        let all = count(Filter::default());
        assert_eq!(all, 1600);
        assert_eq!(
            count(Filter {
                statuses: vec![Status::Submitted],
                ..Filter::default()
            }),
            800
        );
        assert_eq!(
            count(Filter {
                categories: vec!["pothole".into()],
                ..Filter::default()
            }),
            400
        );
        assert_eq!(
            count(Filter {
                categories: vec!["no-such".into()],
                ..Filter::default()
            }),
            0
        );
        assert_eq!(
            count(Filter {
                department: Some("parks".into()),
                ..Filter::default()
            }),
            0
        );
        assert_eq!(
            count(Filter {
                department: Some("roads".into()),
                ..Filter::default()
            }),
            1600
        );
        // Received in the last 3 days: ids with id % 10 in 0..3.
        assert_eq!(
            count(Filter {
                since: Some(NOW - time::Duration::days(3) + time::Duration::seconds(1)),
                ..Filter::default()
            }),
            480
        );
    }

    #[test]
    fn low_zoom_tiles_count_reports_in_hexagons_that_add_up() {
        let idx = city();
        for z in [8u8, 10, 12] {
            let t = tile_of(36.444, 115.984, z);
            let tile = decode(&idx.render(t, &Filter::default(), NOW));
            let cells = tile
                .layers
                .iter()
                .find(|l| l.name == "report_cells")
                .unwrap();
            let heat = tile
                .layers
                .iter()
                .find(|l| l.name == "report_heat")
                .unwrap();
            assert_eq!(cells.features.len(), heat.features.len());
            let mut total = 0;
            for f in &cells.features {
                assert_eq!(f.r#type, Some(DecodedType::Polygon as i32));
                let h3 = tag(cells, f, "h3").unwrap().string_value.clone().unwrap();
                let cell: CellIndex = h3.parse().unwrap();
                assert_eq!(cell.resolution(), hex_resolution(z));
                total += tag(cells, f, "count").unwrap().uint_value.unwrap();
                let open = tag(cells, f, "open").unwrap().uint_value.unwrap();
                let overdue = tag(cells, f, "overdue").unwrap().uint_value.unwrap();
                assert!(overdue <= open);
            }
            assert_eq!(total, 1600, "zoom {z}");
        }
    }

    #[test]
    fn parent_arithmetic_matches_h3() {
        for (lat, lon) in [(36.45, 115.98), (-33.9, 151.2), (64.1, -21.9), (0.0, 0.0)] {
            let cell = LatLng::new(lat, lon).unwrap().to_cell(CELL_RES);
            for r in 0..=10u8 {
                let res = Resolution::try_from(r).unwrap();
                assert_eq!(
                    parent_bits(u64::from(cell), r),
                    u64::from(cell.parent(res).unwrap()),
                    "{lat},{lon} res {r}"
                );
            }
        }
    }

    #[test]
    fn a_point_tile_with_too_many_reports_becomes_fine_hexagons() {
        let mut idx = ReportIndex::new(1);
        idx.extend((1..=25_000).map(|i| {
            record(
                i,
                36.44 + (i % 150) as f64 * 0.00001,
                115.98 + (i / 150) as f64 * 0.00001,
                Status::Submitted,
                "pothole",
            )
        }));
        let t = tile_of(36.4407, 115.9808, 15);
        let tile = decode(&idx.render(t, &Filter::default(), NOW));
        assert!(tile.layers.iter().all(|l| l.name != "reports"));
        let cells = tile
            .layers
            .iter()
            .find(|l| l.name == "report_cells")
            .unwrap();
        let total: u64 = cells
            .features
            .iter()
            .map(|f| tag(cells, f, "count").unwrap().uint_value.unwrap())
            .sum();
        assert_eq!(total, 25_000);
        // Filtered below the limit, the same tile has points again.
        let some = Filter {
            since: Some(NOW - time::Duration::days(1) + time::Duration::seconds(1)),
            ..Filter::default()
        };
        let tile = decode(&idx.render(t, &some, NOW));
        assert_eq!(
            tile.layers
                .iter()
                .find(|l| l.name == "reports")
                .unwrap()
                .features
                .len(),
            2_500
        );
    }

    #[test]
    fn versions_change_only_where_reports_changed() {
        let mut idx = city();
        let here = tile_of(36.444, 115.984, 14);
        let far = tile_of(37.5, 117.0, 14);
        let (v_here, v_far) = (idx.version(here), idx.version(far));
        idx.upsert(&record(7, 36.4402, 115.9802, Status::Accepted, "pothole"));
        assert_ne!(idx.version(here), v_here);
        assert_eq!(idx.version(far), v_far);
        assert_ne!(idx.version(tile_of(36.444, 115.984, 6)), v_here);
        assert_eq!(idx.len(), 1600);
        // A new report adds a point.
        idx.upsert(&record(
            5000,
            36.4403,
            115.9803,
            Status::Submitted,
            "pothole",
        ));
        assert_eq!(idx.len(), 1601);
        // A different generation never reuses a version.
        assert_ne!(
            ReportIndex::new(2).version(here),
            ReportIndex::new(1).version(here)
        );
    }
}
