//! Jurisdictions (city → district/county → town/street → grid 网格) and locating a
//! point in them: an R-tree over bounding boxes finds candidates, then an exact
//! point-in-polygon test decides. A point on a shared border belongs to both
//! neighbours; the one with the smaller id wins, so the answer is stable.

use crate::Point;
use geo::{BoundingRect, Intersects, MultiPolygon};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RTree};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A level of the hierarchy, from the largest to the smallest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// 市.
    City,
    /// 区/县.
    District,
    /// 镇/街道.
    Town,
    /// 网格.
    Grid,
}

impl Level {
    /// All levels, largest first.
    pub const ALL: [Level; 4] = [Level::City, Level::District, Level::Town, Level::Grid];

    /// The stable text.
    pub fn as_str(&self) -> &'static str {
        match self {
            Level::City => "city",
            Level::District => "district",
            Level::Town => "town",
            Level::Grid => "grid",
        }
    }

    /// The level above, if any.
    pub fn parent(&self) -> Option<Level> {
        match self {
            Level::City => None,
            Level::District => Some(Level::City),
            Level::Town => Some(Level::District),
            Level::Grid => Some(Level::Town),
        }
    }
}

impl FromStr for Level {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "city" => Ok(Level::City),
            "district" | "county" => Ok(Level::District),
            "town" | "street" | "township" => Ok(Level::Town),
            "grid" => Ok(Level::Grid),
            other => Err(format!(
                "unknown level {other:?}; use city, district, town or grid"
            )),
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One area of responsibility.
#[derive(Debug, Clone, PartialEq)]
pub struct Jurisdiction {
    /// Stored id.
    pub id: i64,
    /// Chinese name.
    pub name: String,
    /// English name, if known.
    pub name_en: Option<String>,
    /// Administrative code (e.g. an adcode), unique.
    pub code: String,
    /// Level.
    pub level: Level,
    /// The jurisdiction one level up.
    pub parent: Option<i64>,
    /// Its area, WGS-84 lon/lat.
    pub area: MultiPolygon<f64>,
}

type Entry = GeomWithData<Rectangle<[f64; 2]>, usize>;

/// Jurisdictions ready for point location.
#[derive(Debug, Default)]
pub struct JurisdictionIndex {
    items: Vec<Jurisdiction>,
    tree: RTree<Entry>,
}

impl JurisdictionIndex {
    /// Indexes `items` (bulk-loaded R-tree over their bounding boxes).
    pub fn new(items: Vec<Jurisdiction>) -> Self {
        let entries = items
            .iter()
            .enumerate()
            .filter_map(|(i, j)| {
                let r = j.area.bounding_rect()?;
                Some(GeomWithData::new(
                    Rectangle::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]),
                    i,
                ))
            })
            .collect();
        JurisdictionIndex {
            items,
            tree: RTree::bulk_load(entries),
        }
    }

    /// Whether there are no jurisdictions (then there is no service area to enforce).
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// All jurisdictions.
    pub fn all(&self) -> &[Jurisdiction] {
        &self.items
    }

    /// The jurisdiction containing `p` at each level, largest first.
    pub fn locate(&self, p: Point) -> Vec<&Jurisdiction> {
        let point = geo::Point::new(p.lon(), p.lat());
        let mut best: [Option<&Jurisdiction>; 4] = [None; 4];
        for e in self
            .tree
            .locate_in_envelope_intersecting(&AABB::from_point([p.lon(), p.lat()]))
        {
            let j = &self.items[e.data];
            let slot = &mut best[j.level as usize];
            if slot.is_some_and(|b| b.id < j.id) {
                continue;
            }
            if j.area.intersects(&point) {
                *slot = Some(j);
            }
        }
        best.into_iter().flatten().collect()
    }

    /// The smallest jurisdiction containing `p`.
    pub fn innermost(&self, p: Point) -> Option<&Jurisdiction> {
        self.locate(p).pop()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{LineString, Polygon};

    fn square(x0: f64, y0: f64, x1: f64, y1: f64) -> LineString<f64> {
        LineString::from(vec![(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)])
    }

    fn j(id: i64, level: Level, area: Polygon<f64>) -> Jurisdiction {
        Jurisdiction {
            id,
            name: format!("j{id}"),
            name_en: None,
            code: format!("c{id}"),
            level,
            parent: None,
            area: MultiPolygon(vec![area]),
        }
    }

    fn index() -> JurisdictionIndex {
        JurisdictionIndex::new(vec![
            j(
                1,
                Level::City,
                Polygon::new(square(0.0, 0.0, 10.0, 10.0), vec![]),
            ),
            // West district with a lake (hole) that belongs to nobody below the city.
            j(
                2,
                Level::District,
                Polygon::new(
                    square(0.0, 0.0, 5.0, 10.0),
                    vec![square(1.0, 1.0, 2.0, 2.0)],
                ),
            ),
            j(
                3,
                Level::District,
                Polygon::new(square(5.0, 0.0, 10.0, 10.0), vec![]),
            ),
            j(
                4,
                Level::Town,
                Polygon::new(square(5.0, 0.0, 10.0, 5.0), vec![]),
            ),
        ])
    }

    fn names(v: Vec<&Jurisdiction>) -> Vec<i64> {
        v.into_iter().map(|j| j.id).collect()
    }

    #[test]
    fn a_point_gets_its_whole_chain() {
        let ix = index();
        assert_eq!(names(ix.locate(Point::new(2.5, 7.0).unwrap())), [1, 3, 4]);
        assert_eq!(names(ix.locate(Point::new(8.0, 3.0).unwrap())), [1, 2]);
        assert_eq!(ix.innermost(Point::new(2.5, 7.0).unwrap()).unwrap().id, 4);
    }

    #[test]
    fn outside_and_holes_are_not_inside() {
        let ix = index();
        assert!(ix.locate(Point::new(20.0, 20.0).unwrap()).is_empty());
        // In the lake: inside the city, in no district.
        assert_eq!(names(ix.locate(Point::new(1.5, 1.5).unwrap())), [1]);
    }

    #[test]
    fn a_point_on_a_shared_border_goes_to_the_smaller_id() {
        let ix = index();
        assert_eq!(names(ix.locate(Point::new(7.0, 5.0).unwrap())), [1, 2]);
        assert_eq!(names(ix.locate(Point::new(5.0, 5.0).unwrap())), [1, 2, 4]);
    }
}
