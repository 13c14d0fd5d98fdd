//! The report index and its tiles.

use crate::tile::{EXTENT, TileId, project};
use h3o::{CellIndex, LatLng, Resolution};
use mvt::{GeomEncoder, GeomType, Tile};
use rstar::primitives::GeomWithData;
use rstar::{AABB, RTree};
use sentinel_core::{Priority, Status};
use std::collections::HashMap;
use time::OffsetDateTime;

/// From this zoom on, a tile carries one point per report; below it, hexagons.
pub const POINT_ZOOM: u8 = 13;
/// The resolution each report's cell is kept at; coarser cells are its parents.
const CELL_RES: Resolution = Resolution::Ten;
/// Tile units of buffer around point tiles (symbols at the edge are not cut).
const POINT_BUFFER: f64 = 64.0;

/// The H3 resolution of the hexagons on a tile at zoom `z` (below [`POINT_ZOOM`]):
/// about 20 to 60 screen pixels across.
pub fn hex_resolution(z: u8) -> Resolution {
    let r = z.saturating_sub(3).clamp(3, 9);
    Resolution::try_from(r).unwrap_or(Resolution::Nine)
}

/// A report as the index takes it in.
#[derive(Debug, Clone, PartialEq)]
pub struct PointRecord {
    /// Internal id (dense, from 1).
    pub id: i64,
    /// Tracking code.
    pub code: String,
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

struct Entry {
    mx: f64,
    my: f64,
    code: Box<str>,
    status: Status,
    category: u16,
    department: u16,
    priority: Priority,
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
    fn admits(&self, e: &Entry) -> bool {
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

type Node = GeomWithData<[f64; 2], u32>;

/// Every report as a map point, searchable by tile.
pub struct ReportIndex {
    entries: Vec<Option<Entry>>,
    tree: RTree<Node>,
    categories: Interner,
    departments: Interner,
    generation: u64,
    changes: u64,
    /// The change counter when each z10 tile last changed.
    changed: HashMap<(u32, u32), u64>,
    /// The change counter at the last bulk load.
    bulk: u64,
    len: usize,
}

impl ReportIndex {
    /// An empty index. `generation` distinguishes this index's versions from an
    /// earlier one's (a restarted server), so old ETags never match.
    pub fn new(generation: u64) -> Self {
        ReportIndex {
            entries: Vec::new(),
            tree: RTree::new(),
            categories: Interner::default(),
            departments: Interner::default(),
            generation,
            changes: 0,
            changed: HashMap::new(),
            bulk: 0,
            len: 0,
        }
    }

    /// How many reports are in it.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it holds no report.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn entry(&mut self, r: &PointRecord) -> Option<Entry> {
        let (mx, my) = project(r.lon, r.lat);
        let cell = LatLng::new(r.lat, r.lon).ok()?.to_cell(CELL_RES);
        Some(Entry {
            mx,
            my,
            code: r.code.as_str().into(),
            status: r.status,
            category: self.categories.id(&r.category),
            department: r
                .department
                .as_deref()
                .map_or(0, |d| self.departments.id(d)),
            priority: r.priority,
            created: r.created_at.unix_timestamp(),
            due: r.due_at.map_or(i64::MAX, |d| d.unix_timestamp()),
            cell: u64::from(cell),
        })
    }

    /// Adds many reports at once (the start-up load): much faster than one by one
    /// into an empty index.
    pub fn extend(&mut self, records: impl IntoIterator<Item = PointRecord>) {
        let mut nodes = Vec::new();
        for r in records {
            let Ok(id) = u32::try_from(r.id) else {
                continue;
            };
            let Some(e) = self.entry(&r) else { continue };
            let i = id as usize;
            if self.entries.len() <= i {
                self.entries.resize_with(i + 1, || None);
            }
            if self.entries[i].is_none() {
                nodes.push(Node::new([e.mx, e.my], id));
                self.len += 1;
            }
            self.entries[i] = Some(e);
        }
        if self.tree.size() == 0 {
            self.tree = RTree::bulk_load(nodes);
        } else {
            for n in nodes {
                self.tree.insert(n);
            }
        }
        self.changes += 1;
        self.bulk = self.changes;
    }

    /// Adds a report or updates it (a report's position never changes).
    pub fn upsert(&mut self, r: &PointRecord) {
        let Ok(id) = u32::try_from(r.id) else { return };
        let Some(e) = self.entry(r) else { return };
        let i = id as usize;
        if self.entries.len() <= i {
            self.entries.resize_with(i + 1, || None);
        }
        if self.entries[i].is_none() {
            self.tree.insert(Node::new([e.mx, e.my], id));
            self.len += 1;
        }
        self.changes += 1;
        let key = ((e.mx * 1024.0) as u32, (e.my * 1024.0) as u32);
        self.changed.insert(key, self.changes);
        self.entries[i] = Some(e);
    }

    /// A number that changes whenever anything a tile shows may have changed.
    pub fn version(&self, tile: TileId) -> u64 {
        let mut latest = 0;
        if tile.z >= 10 {
            let shift = tile.z - 10;
            latest = self
                .changed
                .get(&(tile.x >> shift, tile.y >> shift))
                .copied()
                .unwrap_or(0);
            // A hexagon can reach over the edge into the neighbouring z10 tile.
            if tile.z < POINT_ZOOM {
                for dx in [-1i64, 0, 1] {
                    for dy in [-1i64, 0, 1] {
                        let k = (
                            (i64::from(tile.x >> shift) + dx) as u32,
                            (i64::from(tile.y >> shift) + dy) as u32,
                        );
                        latest = latest.max(self.changed.get(&k).copied().unwrap_or(0));
                    }
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

    fn scan<'a>(
        &'a self,
        min: [f64; 2],
        max: [f64; 2],
        filter: &'a Compiled,
    ) -> impl Iterator<Item = (u32, &'a Entry)> + 'a {
        self.tree
            .locate_in_envelope(&AABB::from_corners(min, max))
            .filter_map(move |n| {
                let e = self.entries.get(n.data as usize)?.as_ref()?;
                filter.admits(e).then_some((n.data, e))
            })
    }

    /// The tile as Mapbox Vector Tile bytes: layer `reports` (points, from
    /// [`POINT_ZOOM`]) or layers `report_cells` (hexagons with `count`, `open`,
    /// `overdue`) and `report_heat` (their centroids with `count`).
    pub fn render(&self, tile: TileId, filter: &Filter, now: OffsetDateTime) -> Vec<u8> {
        let f = self.compile(filter);
        let now = now.unix_timestamp();
        let mut out = Tile::new(EXTENT);
        if tile.z >= POINT_ZOOM {
            let (min, max) = tile.mercator_box(POINT_BUFFER);
            let mut layer = out.create_layer("reports");
            for (id, e) in self.scan(min, max, &f) {
                let (px, py) = tile.to_tile(e.mx, e.my);
                let Ok(geom) = GeomEncoder::new(GeomType::Point)
                    .point(px.round() as i32, py.round() as i32)
                    .and_then(|g| g.encode())
                else {
                    continue;
                };
                let mut feature = layer.into_feature(geom);
                feature.set_id(u64::from(id));
                feature.add_tag_string("code", &e.code);
                feature.add_tag_string("status", e.status.as_str());
                feature.add_tag_string("category", self.categories.name(e.category));
                feature.add_tag_string("priority", e.priority.as_str());
                feature.add_tag_bool("overdue", e.status.is_open() && e.due < now);
                layer = feature.into_layer();
            }
            let _ = out.add_layer(layer);
        } else {
            self.render_cells(&mut out, tile, &f, now);
        }
        out.to_bytes().unwrap_or_default()
    }

    fn render_cells(&self, out: &mut Tile, tile: TileId, f: &Compiled, now: i64) {
        let res = hex_resolution(tile.z);
        // Grow the box by a cell's width so every cell touching the tile is whole.
        let (_, lat_s, _, lat_n) = tile.lonlat_box(0.0);
        let lat = ((lat_s + lat_n) / 2.0).to_radians();
        let tile_width_m = 40_075_016.7 * lat.cos() / tile.scale();
        let buffer = 2.2 * res.edge_length_m() / tile_width_m * f64::from(EXTENT);
        let (min, max) = tile.mercator_box(buffer);
        let mut cells: HashMap<u64, (u32, u32, u32)> = HashMap::new();
        for (_, e) in self.scan(min, max, f) {
            let Some(parent) = CellIndex::try_from(e.cell).ok().and_then(|c| c.parent(res)) else {
                continue;
            };
            let c = cells.entry(u64::from(parent)).or_default();
            c.0 += 1;
            if e.status.is_open() {
                c.1 += 1;
                if e.due < now {
                    c.2 += 1;
                }
            }
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
    let mut pts: Vec<(i32, i32)> = ring
        .iter()
        .map(|&(x, y)| (x.round() as i32, y.round() as i32))
        .collect();
    pts.dedup();
    if pts.len() > 1 && pts.first() == pts.last() {
        pts.pop();
    }
    if pts.len() < 3 {
        return None;
    }
    // Shoelace: positive area means clockwise with y pointing down.
    let area: i64 = pts
        .iter()
        .zip(pts.iter().cycle().skip(1))
        .map(|(a, b)| i64::from(a.0) * i64::from(b.1) - i64::from(b.0) * i64::from(a.1))
        .sum();
    if area == 0 {
        return None;
    }
    if area < 0 {
        pts.reverse();
    }
    let mut enc = GeomEncoder::new(GeomType::Polygon);
    for (x, y) in pts {
        enc.add_point(x, y).ok()?;
    }
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
            code: format!("LC-{id}"),
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
        let (min, max) = t.mercator_box(POINT_BUFFER);
        let expected = idx
            .tree
            .locate_in_envelope(&AABB::from_corners(min, max))
            .count();
        assert_eq!(layer.features.len(), expected);
        for f in &layer.features {
            assert_eq!(f.r#type, Some(DecodedType::Point as i32));
            let code = tag(layer, f, "code").unwrap().string_value.clone().unwrap();
            assert_eq!(code, format!("LC-{}", f.id.unwrap()));
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
    fn versions_change_only_where_reports_changed() {
        let mut idx = city();
        let here = tile_of(36.444, 115.984, 14);
        let far = tile_of(37.5, 117.0, 14);
        let (v_here, v_far) = (idx.version(here), idx.version(far));
        let mut r = record(7, 36.4402, 115.9802, Status::Accepted, "pothole");
        r.code = "LC-7".into();
        idx.upsert(&r);
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
