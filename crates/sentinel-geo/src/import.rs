//! Reading jurisdiction boundaries from GeoJSON. Every problem names the feature
//! (by its index in the file) and the reason; one bad feature fails the whole file,
//! so an import is all or nothing.

use crate::jurisdiction::Level;
use crate::{Crs, Point};
use geo::{Coord, LineString, MultiPolygon, Polygon, Validation};
use geojson::{GeoJson, GeometryValue, Position};

/// How to read the file.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Level of every feature in the file.
    pub level: Level,
    /// Property holding the Chinese name.
    pub name_field: String,
    /// Property holding the English name (optional in the data).
    pub name_en_field: String,
    /// Property holding the unique code.
    pub code_field: String,
    /// Property holding the parent's code, if the file says.
    pub parent_field: Option<String>,
    /// Datum of the coordinates.
    pub crs: Crs,
}

/// A jurisdiction read from a file, before it is stored.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedJurisdiction {
    /// Chinese name.
    pub name: String,
    /// English name.
    pub name_en: Option<String>,
    /// Code.
    pub code: String,
    /// Level.
    pub level: Level,
    /// Parent's code, when the file names it.
    pub parent_code: Option<String>,
    /// Area in WGS-84.
    pub area: MultiPolygon<f64>,
}

/// What is wrong with a file, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", feature.map(|i| format!("feature {i}: ")).unwrap_or_default())]
pub struct ImportError {
    /// Index of the faulty feature in the file (0-based), if it is one feature's fault.
    pub feature: Option<usize>,
    /// What is wrong.
    pub message: String,
}

fn at(feature: usize, message: impl Into<String>) -> ImportError {
    ImportError {
        feature: Some(feature),
        message: message.into(),
    }
}

fn ring(
    positions: &[Position],
    crs: Crs,
    i: usize,
    what: &str,
) -> Result<LineString<f64>, ImportError> {
    if positions.len() < 4 {
        return Err(at(
            i,
            format!(
                "{what} has {} positions; a closed ring needs at least 4",
                positions.len()
            ),
        ));
    }
    if positions.first() != positions.last() {
        return Err(at(
            i,
            format!("{what} is not closed (its first and last positions differ)"),
        ));
    }
    let mut coords = Vec::with_capacity(positions.len());
    for p in positions {
        let (&x, &y) = match p.as_slice() {
            [x, y, ..] => (x, y),
            _ => {
                return Err(at(
                    i,
                    format!("{what} has a position with fewer than two numbers"),
                ));
            }
        };
        if x.abs() > 180.0 || y.abs() > 180.0 {
            return Err(at(
                i,
                format!(
                    "coordinates ({x}, {y}) are not degrees: the file looks projected (e.g. Web Mercator); convert it to WGS-84 longitude/latitude"
                ),
            ));
        }
        if y.abs() > 90.0 {
            return Err(at(
                i,
                format!(
                    "coordinates ({x}, {y}) look swapped: GeoJSON positions are (longitude, latitude)"
                ),
            ));
        }
        let p = Point::from_crs(y, x, crs).map_err(|e| at(i, e.to_string()))?;
        coords.push(Coord {
            x: p.lon(),
            y: p.lat(),
        });
    }
    Ok(LineString::new(coords))
}

fn polygon(rings: &[Vec<Position>], crs: Crs, i: usize) -> Result<Polygon<f64>, ImportError> {
    let (outer, holes) = rings
        .split_first()
        .ok_or_else(|| at(i, "a polygon has no rings"))?;
    let exterior = ring(outer, crs, i, "the outer ring")?;
    let interiors = holes
        .iter()
        .enumerate()
        .map(|(h, r)| ring(r, crs, i, &format!("hole {h}")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Polygon::new(exterior, interiors))
}

fn text_property(f: &geojson::Feature, field: &str) -> Option<String> {
    match f.property(field)? {
        serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Parses a FeatureCollection of Polygon / MultiPolygon features.
pub fn parse_jurisdictions(
    text: &str,
    opts: &ImportOptions,
) -> Result<Vec<ImportedJurisdiction>, ImportError> {
    let whole = |m: String| ImportError {
        feature: None,
        message: m,
    };
    let gj: GeoJson = text
        .parse()
        .map_err(|e: geojson::Error| whole(format!("not valid GeoJSON: {e}")))?;
    let features = match gj {
        GeoJson::FeatureCollection(fc) => fc.features,
        GeoJson::Feature(f) => vec![f],
        GeoJson::Geometry(_) => {
            return Err(whole(
                "expected Features with properties, found a bare geometry".into(),
            ));
        }
    };
    if features.is_empty() {
        return Err(whole("the file has no features".into()));
    }
    let mut out = Vec::with_capacity(features.len());
    let mut codes = std::collections::HashSet::new();
    for (i, f) in features.iter().enumerate() {
        let geometry = f
            .geometry
            .as_ref()
            .ok_or_else(|| at(i, "has no geometry"))?;
        let area = match &geometry.value {
            GeometryValue::Polygon { coordinates } => {
                MultiPolygon(vec![polygon(coordinates, opts.crs, i)?])
            }
            GeometryValue::MultiPolygon { coordinates: polys } => MultiPolygon(
                polys
                    .iter()
                    .map(|p| polygon(p, opts.crs, i))
                    .collect::<Result<Vec<_>, _>>()?,
            ),
            other => {
                return Err(at(
                    i,
                    format!(
                        "a {} where a Polygon or MultiPolygon is expected",
                        other.type_name()
                    ),
                ));
            }
        };
        if let Err(e) = area.check_validation() {
            return Err(at(i, format!("invalid polygon: {e}")));
        }
        let name = text_property(f, &opts.name_field).ok_or_else(|| {
            at(
                i,
                format!("has no {:?} property for its name", opts.name_field),
            )
        })?;
        let code = text_property(f, &opts.code_field).ok_or_else(|| {
            at(
                i,
                format!("has no {:?} property for its code", opts.code_field),
            )
        })?;
        if !codes.insert(code.clone()) {
            return Err(at(i, format!("code {code:?} appears twice in the file")));
        }
        let parent_code = match &opts.parent_field {
            Some(field) => Some(
                text_property(f, field)
                    .ok_or_else(|| at(i, format!("has no {field:?} property for its parent")))?,
            ),
            None => None,
        };
        out.push(ImportedJurisdiction {
            name,
            name_en: text_property(f, &opts.name_en_field),
            code,
            level: opts.level,
            parent_code,
            area,
        });
    }
    Ok(out)
}

/// Finds each imported jurisdiction's parent by where it lies: the jurisdiction one
/// level up that contains a point inside it. Used when the file names no parents.
/// When nothing exists at the level above, there is no parent to find.
pub fn assign_parents_by_containment(
    items: &mut [ImportedJurisdiction],
    existing: &crate::JurisdictionIndex,
) -> Result<(), ImportError> {
    use geo::InteriorPoint;
    for (i, item) in items.iter_mut().enumerate() {
        let Some(parent_level) = item.level.parent() else {
            continue;
        };
        if !existing.all().iter().any(|j| j.level == parent_level) {
            continue;
        }
        let inside = item
            .area
            .interior_point()
            .ok_or_else(|| at(i, "has an empty area"))?;
        let p = Point::new(inside.y(), inside.x()).map_err(|e| at(i, e.to_string()))?;
        let parent = existing
            .locate(p)
            .into_iter()
            .find(|j| j.level == parent_level)
            .ok_or_else(|| at(i, format!("lies outside every {parent_level}")))?;
        item.parent_code = Some(parent.code.clone());
    }
    Ok(())
}

/// The area as a GeoJSON geometry, for storage.
pub fn area_to_geojson(area: &MultiPolygon<f64>) -> String {
    let ring = |r: &LineString<f64>| r.0.iter().map(|c| [c.x, c.y]).collect::<Vec<_>>();
    let polys: Vec<Vec<Vec<[f64; 2]>>> = area
        .0
        .iter()
        .map(|p| {
            std::iter::once(p.exterior())
                .chain(p.interiors())
                .map(ring)
                .collect()
        })
        .collect();
    serde_json::json!({ "type": "MultiPolygon", "coordinates": polys }).to_string()
}

/// An area stored by [`area_to_geojson`].
pub fn area_from_geojson(text: &str) -> Result<MultiPolygon<f64>, ImportError> {
    let g: geojson::Geometry = text.parse().map_err(|e: geojson::Error| ImportError {
        feature: None,
        message: e.to_string(),
    })?;
    match &g.value {
        GeometryValue::MultiPolygon { coordinates } => Ok(MultiPolygon(
            coordinates
                .iter()
                .map(|p| polygon(p, Crs::Wgs84, 0))
                .collect::<Result<Vec<_>, _>>()?,
        )),
        GeometryValue::Polygon { coordinates } => {
            Ok(MultiPolygon(vec![polygon(coordinates, Crs::Wgs84, 0)?]))
        }
        other => Err(ImportError {
            feature: None,
            message: format!("a stored area is a {}", other.type_name()),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> ImportOptions {
        ImportOptions {
            level: Level::District,
            name_field: "name".into(),
            name_en_field: "name_en".into(),
            code_field: "adcode".into(),
            parent_field: None,
            crs: Crs::Wgs84,
        }
    }

    fn fc(features: &[(&str, &str)]) -> String {
        let fs: Vec<String> = features
            .iter()
            .map(|(code, geom)| format!(r#"{{"type":"Feature","properties":{{"name":"区{code}","adcode":"{code}"}},"geometry":{geom}}}"#))
            .collect();
        format!(
            r#"{{"type":"FeatureCollection","features":[{}]}}"#,
            fs.join(",")
        )
    }

    const SQUARE: &str = r#"{"type":"Polygon","coordinates":[[[115.9,36.4],[116.0,36.4],[116.0,36.5],[115.9,36.5],[115.9,36.4]]]}"#;

    #[test]
    fn the_real_liaocheng_counties_import() {
        let text = include_str!("../../../data/demo/liaocheng/districts.geojson");
        let js = parse_jurisdictions(text, &opts()).unwrap();
        assert_eq!(js.len(), 8);
        assert!(
            js.iter()
                .any(|j| j.name == "东昌府区"
                    && j.name_en.as_deref() == Some("Dongchangfu District"))
        );
        // Round trip through storage form.
        let back = area_from_geojson(&area_to_geojson(&js[0].area)).unwrap();
        assert_eq!(back, js[0].area);
    }

    #[test]
    fn each_bad_feature_is_named_with_its_index_and_reason() {
        let cases = [
            (
                r#"{"type":"Polygon","coordinates":[[[0,0],[2,2],[2,0],[0,2],[0,0]]]}"#,
                "feature 1: invalid polygon",
            ),
            (
                r#"{"type":"Polygon","coordinates":[[[115.9,36.4],[116.0,36.4],[116.0,36.5],[115.9,36.5]]]}"#,
                "not closed",
            ),
            (
                r#"{"type":"Point","coordinates":[115.9,36.4]}"#,
                "a Point where a Polygon or MultiPolygon is expected",
            ),
            (
                r#"{"type":"Polygon","coordinates":[[[36.4,115.9],[36.4,116.0],[36.5,116.0],[36.4,115.9]]]}"#,
                "look swapped",
            ),
            (
                r#"{"type":"Polygon","coordinates":[[[12913000,4366000],[12914000,4366000],[12914000,4367000],[12913000,4366000]]]}"#,
                "projected",
            ),
        ];
        for (geom, why) in cases {
            let err = parse_jurisdictions(&fc(&[("1", SQUARE), ("2", geom)]), &opts()).unwrap_err();
            assert_eq!(err.feature, Some(1), "{err}");
            assert!(err.to_string().contains(why), "{err} should say {why}");
        }
        let dup = parse_jurisdictions(&fc(&[("1", SQUARE), ("1", SQUARE)]), &opts()).unwrap_err();
        assert!(dup.to_string().contains("appears twice"));
        assert!(
            parse_jurisdictions("{ not json", &opts())
                .unwrap_err()
                .feature
                .is_none()
        );
    }

    #[test]
    fn gcj02_files_are_converted_to_wgs84() {
        let o = ImportOptions {
            crs: Crs::Gcj02,
            ..opts()
        };
        let js = parse_jurisdictions(&fc(&[("1", SQUARE)]), &o).unwrap();
        let first = js[0].area.0[0].exterior().0[0];
        assert!((first.x - 115.9).abs() > 1e-4 && (first.x - 115.9).abs() < 0.01);
    }
}
