//! Map layers: named sets of points, lines or polygons with properties, read from
//! GeoJSON (streamed feature by feature, so a file of any size takes bounded
//! memory) or CSV (one point per row). Every problem names its place: the feature
//! index or the line number.
//!
//! Kinds with meaning carry required properties: patrol points a `radius_m` and
//! `visits_per_day`; cameras a `stream_url` (and optionally a `heading`); drone
//! bases a `coverage_radius_m`; units a `unit_kind`.

use crate::{Crs, Point};
use geojson::{GeometryValue, Position};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::str::FromStr;

mod csv;
mod geojson_stream;
mod kml;
mod shapefile;

pub use self::csv::read_csv;
pub use self::geojson_stream::read_geojson;
pub use self::kml::read_kml;
pub use self::shapefile::{ShapefileParts, read_shapefile};

/// What a layer holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LayerKind {
    /// Anything: roads, water, districts, points of interest.
    Generic,
    /// Key patrol points (巡逻点) with a radius and a required visit frequency.
    PatrolPoints,
    /// Cameras with a stream link.
    Cameras,
    /// Drone bases with a coverage radius.
    DroneBases,
    /// Home stations of field units.
    Units,
}

impl LayerKind {
    /// Stable text.
    pub fn as_str(&self) -> &'static str {
        match self {
            LayerKind::Generic => "generic",
            LayerKind::PatrolPoints => "patrol_points",
            LayerKind::Cameras => "cameras",
            LayerKind::DroneBases => "drone_bases",
            LayerKind::Units => "units",
        }
    }
}

impl FromStr for LayerKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "generic" => Ok(LayerKind::Generic),
            "patrol_points" => Ok(LayerKind::PatrolPoints),
            "cameras" => Ok(LayerKind::Cameras),
            "drone_bases" => Ok(LayerKind::DroneBases),
            "units" => Ok(LayerKind::Units),
            other => Err(format!(
                "unknown layer kind {other:?}; use generic, patrol_points, cameras, drone_bases or units"
            )),
        }
    }
}

/// How to read a layer file, whatever its format.
#[derive(Debug, Clone)]
pub struct LayerSpec {
    /// What the layer holds (and so which properties it requires).
    pub kind: LayerKind,
    /// Datum of the coordinates in the file.
    pub crs: Crs,
    /// Properties to rename, (`to`, `from`): dBase column names stop at 10
    /// characters and a city's files have their own names (半径, 每日巡查次数).
    pub rename: Vec<(String, String)>,
}

impl LayerSpec {
    /// A spec without renames.
    pub fn new(kind: LayerKind, crs: Crs) -> Self {
        Self {
            kind,
            crs,
            rename: Vec::new(),
        }
    }

    fn rename(&self, props: &mut Map<String, Value>) {
        for (to, from) in &self.rename {
            if let Some(v) = props.remove(from) {
                props.insert(to.clone(), v);
            }
        }
    }
}

/// One feature ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerFeature {
    /// GeoJSON geometry, WGS-84.
    pub geometry: String,
    /// Bounding box: min lon, min lat, max lon, max lat.
    pub bbox: [f64; 4],
    /// Properties.
    pub properties: Map<String, Value>,
}

/// Where and why a layer file is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{place}: {message}")]
pub struct LayerError {
    /// "feature 12" or "line 5003".
    pub place: String,
    /// What is wrong.
    pub message: String,
}

fn err(place: &str, message: impl Into<String>) -> LayerError {
    LayerError {
        place: place.to_owned(),
        message: message.into(),
    }
}

fn to_wgs84(p: &Position, crs: Crs, place: &str) -> Result<[f64; 2], LayerError> {
    let (&x, &y) = match p.as_slice() {
        [x, y, ..] => (x, y),
        _ => return Err(err(place, "a position with fewer than two numbers")),
    };
    if x.abs() > 180.0 || y.abs() > 180.0 {
        return Err(err(
            place,
            format!("({x}, {y}) is not in degrees: the file looks projected; convert it to WGS-84"),
        ));
    }
    if y.abs() > 90.0 {
        return Err(err(
            place,
            format!("({x}, {y}) looks swapped: GeoJSON positions are (longitude, latitude)"),
        ));
    }
    let p = Point::from_crs(y, x, crs).map_err(|e| err(place, e.to_string()))?;
    Ok([p.lon(), p.lat()])
}

/// Converts every position of a geometry and returns it with its bounding box.
fn convert(value: &GeometryValue, crs: Crs, place: &str) -> Result<(Value, [f64; 4]), LayerError> {
    let mut bbox = [
        f64::INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NEG_INFINITY,
    ];
    let mut conv = |p: &Position| -> Result<Value, LayerError> {
        let c = to_wgs84(p, crs, place)?;
        bbox = [
            bbox[0].min(c[0]),
            bbox[1].min(c[1]),
            bbox[2].max(c[0]),
            bbox[3].max(c[1]),
        ];
        Ok(serde_json::json!(c))
    };
    let line = |ps: &[Position],
                conv: &mut dyn FnMut(&Position) -> Result<Value, LayerError>|
     -> Result<Value, LayerError> {
        Ok(Value::Array(ps.iter().map(conv).collect::<Result<_, _>>()?))
    };
    let ring_check = |r: &[Position]| -> Result<(), LayerError> {
        if r.len() < 4 || r.first() != r.last() {
            return Err(err(
                place,
                "a polygon ring must be closed and have at least 4 positions",
            ));
        }
        Ok(())
    };
    let (kind, coords) = match value {
        GeometryValue::Point { coordinates } => ("Point", conv(coordinates)?),
        GeometryValue::MultiPoint { coordinates } => ("MultiPoint", line(coordinates, &mut conv)?),
        GeometryValue::LineString { coordinates } => {
            if coordinates.len() < 2 {
                return Err(err(place, "a line needs at least 2 positions"));
            }
            ("LineString", line(coordinates, &mut conv)?)
        }
        GeometryValue::MultiLineString { coordinates } => (
            "MultiLineString",
            Value::Array(
                coordinates
                    .iter()
                    .map(|l| line(l, &mut conv))
                    .collect::<Result<_, _>>()?,
            ),
        ),
        GeometryValue::Polygon { coordinates } => {
            coordinates.iter().try_for_each(|r| ring_check(r))?;
            (
                "Polygon",
                Value::Array(
                    coordinates
                        .iter()
                        .map(|r| line(r, &mut conv))
                        .collect::<Result<_, _>>()?,
                ),
            )
        }
        GeometryValue::MultiPolygon { coordinates } => {
            coordinates
                .iter()
                .flatten()
                .try_for_each(|r| ring_check(r))?;
            let polys = coordinates
                .iter()
                .map(|p| {
                    Ok(Value::Array(
                        p.iter()
                            .map(|r| line(r, &mut conv))
                            .collect::<Result<_, LayerError>>()?,
                    ))
                })
                .collect::<Result<_, LayerError>>()?;
            ("MultiPolygon", Value::Array(polys))
        }
        GeometryValue::GeometryCollection { .. } => {
            return Err(err(
                place,
                "geometry collections are not supported; split them into features",
            ));
        }
    };
    if !bbox[0].is_finite() {
        return Err(err(place, "an empty geometry"));
    }
    Ok((
        serde_json::json!({ "type": kind, "coordinates": coords }),
        bbox,
    ))
}

/// Checks one feature from any format: converts its geometry to WGS-84, checks
/// the properties its kind requires.
fn feature(
    value: &GeometryValue,
    mut properties: Map<String, Value>,
    spec: &LayerSpec,
    place: &str,
) -> Result<LayerFeature, LayerError> {
    let (geometry, bbox) = convert(value, spec.crs, place)?;
    spec.rename(&mut properties);
    check_kind(
        spec.kind,
        matches!(value, GeometryValue::Point { .. }),
        &mut properties,
        place,
    )?;
    Ok(LayerFeature {
        geometry: geometry.to_string(),
        bbox,
        properties,
    })
}

fn number(props: &Map<String, Value>, key: &str) -> Option<f64> {
    match props.get(key)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Checks and normalises the properties a kind requires.
fn check_kind(
    kind: LayerKind,
    is_point: bool,
    props: &mut Map<String, Value>,
    place: &str,
) -> Result<(), LayerError> {
    if kind != LayerKind::Generic && !is_point {
        return Err(err(place, format!("{} must be points", kind.as_str())));
    }
    let mut positive = |key: &str| -> Result<(), LayerError> {
        let v = number(props, key)
            .filter(|v| v.is_finite() && *v > 0.0)
            .ok_or_else(|| err(place, format!("needs a positive number {key:?}")))?;
        props.insert(key.into(), serde_json::json!(v));
        Ok(())
    };
    match kind {
        LayerKind::Generic => {}
        LayerKind::PatrolPoints => {
            positive("radius_m")?;
            positive("visits_per_day")?;
        }
        LayerKind::DroneBases => positive("coverage_radius_m")?,
        LayerKind::Cameras => {
            let url = props
                .get("stream_url")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if !(url.starts_with("rtsp://")
                || url.starts_with("http://")
                || url.starts_with("https://"))
            {
                return Err(err(
                    place,
                    "needs a \"stream_url\" (rtsp://, http:// or https://)",
                ));
            }
            if let Some(h) = props.get("heading").filter(|v| !v.is_null()) {
                let h = number(props, "heading")
                    .filter(|h| (0.0..360.0).contains(h))
                    .ok_or_else(|| {
                        err(place, format!("heading {h} must be degrees from 0 to 360"))
                    })?;
                props.insert("heading".into(), serde_json::json!(h));
            }
        }
        LayerKind::Units => {
            let k = props
                .get("unit_kind")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if ![
                "traffic_police",
                "special_police",
                "office_staff",
                "police_station",
            ]
            .contains(&k)
            {
                return Err(err(
                    place,
                    "needs a \"unit_kind\": traffic_police, special_police, office_staff or police_station",
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect_geojson(text: &str, kind: LayerKind) -> Result<Vec<LayerFeature>, LayerError> {
        let mut out = Vec::new();
        read_geojson::<_, LayerError>(text.as_bytes(), &LayerSpec::new(kind, Crs::Wgs84), |f| {
            out.push(f);
            Ok(())
        })?;
        Ok(out)
    }

    fn collect_csv(text: &str, kind: LayerKind) -> Result<Vec<LayerFeature>, LayerError> {
        let mut out = Vec::new();
        read_csv::<_, LayerError>(
            text.as_bytes(),
            &LayerSpec::new(kind, Crs::Wgs84),
            "lat",
            "lon",
            |f| {
                out.push(f);
                Ok(())
            },
        )?;
        Ok(out)
    }

    #[test]
    fn geojson_features_stream_through_with_bounding_boxes() {
        let text = r#"{"type":"FeatureCollection","features":[
            {"type":"Feature","properties":{"name":"运河"},"geometry":{"type":"LineString","coordinates":[[115.9,36.4],[116.0,36.5]]}},
            {"type":"Feature","properties":{"name":"点"},"geometry":{"type":"Point","coordinates":[115.95,36.45]}}]}"#;
        let fs = collect_geojson(text, LayerKind::Generic).unwrap();
        assert_eq!(fs.len(), 2);
        assert_eq!(fs[0].bbox, [115.9, 36.4, 116.0, 36.5]);
        assert_eq!(fs[1].properties["name"], "点");
    }

    #[test]
    fn geojson_members_may_come_in_any_order() {
        let text = r#"{"bbox":[115.0,36.0,116.0,37.0],"crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:OGC:1.3:CRS84"}},"name":"roads",
            "features":[{"type":"Feature","geometry":{"type":"Point","coordinates":[115.95,36.45]},"properties":null}],
            "type":"FeatureCollection"}"#;
        assert_eq!(collect_geojson(text, LayerKind::Generic).unwrap().len(), 1);
        let single = r#"{"type":"Feature","geometry":{"type":"Point","coordinates":[115.95,36.45]},"properties":{}}"#;
        assert!(
            collect_geojson(single, LayerKind::Generic)
                .unwrap_err()
                .message
                .contains("FeatureCollection")
        );
    }

    #[test]
    fn a_broken_feature_is_named_by_its_index() {
        let mut text = String::from(r#"{"type":"FeatureCollection","features":["#);
        for i in 0..10 {
            if i > 0 {
                text.push(',');
            }
            let coords = if i == 7 { "[115.95]" } else { "[115.95,36.45]" };
            text.push_str(&format!(
                r#"{{"type":"Feature","properties":{{}},"geometry":{{"type":"Point","coordinates":{coords}}}}}"#
            ));
        }
        text.push_str("]}");
        let e = collect_geojson(&text, LayerKind::Generic).unwrap_err();
        assert_eq!(e.place, "feature 7", "{e}");
        let truncated = &text[..text.len() - 40];
        let e = collect_geojson(truncated, LayerKind::Generic).unwrap_err();
        assert!(e.to_string().contains("feature"), "{e}");
    }

    #[test]
    fn kinds_require_their_properties() {
        let cam = |props: &str| {
            format!(
                r#"{{"type":"FeatureCollection","features":[{{"type":"Feature","properties":{props},"geometry":{{"type":"Point","coordinates":[115.9,36.4]}}}}]}}"#
            )
        };
        assert!(
            collect_geojson(
                &cam(r#"{"stream_url":"rtsp://10.0.0.5/live","heading":"90"}"#),
                LayerKind::Cameras
            )
            .unwrap()[0]
                .properties["heading"]
                == 90.0
        );
        let e = collect_geojson(&cam(r#"{"heading":90}"#), LayerKind::Cameras).unwrap_err();
        assert_eq!(e.place, "feature 0");
        assert!(e.message.contains("stream_url"));
        assert!(
            collect_geojson(
                &cam(r#"{"stream_url":"rtsp://x","heading":400}"#),
                LayerKind::Cameras
            )
            .is_err()
        );
        assert!(
            collect_geojson(&cam(r#"{"radius_m":50}"#), LayerKind::PatrolPoints)
                .unwrap_err()
                .message
                .contains("visits_per_day")
        );
        let line = r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"coverage_radius_m":5000},"geometry":{"type":"LineString","coordinates":[[115.9,36.4],[116.0,36.5]]}}]}"#;
        assert!(
            collect_geojson(line, LayerKind::DroneBases)
                .unwrap_err()
                .message
                .contains("must be points")
        );
    }

    #[test]
    fn a_bad_csv_coordinate_is_reported_with_its_line_number() {
        let mut text = String::from("name,lat,lon,radius_m,visits_per_day\n");
        for i in 0..6000 {
            let lat = if i == 5001 {
                "thirty-six".to_owned()
            } else {
                format!("{}", 36.4 + f64::from(i) * 1e-5)
            };
            text.push_str(&format!("p{i},{lat},115.98,50,4\n"));
        }
        let e = collect_csv(&text, LayerKind::PatrolPoints).unwrap_err();
        // The header is line 1, so row 5001 (0-based) is line 5003.
        assert_eq!(e.place, "line 5003", "{e}");
        assert!(e.message.contains("thirty-six"));
        let ok = collect_csv(
            "name,lat,lon,radius_m,visits_per_day\na,36.4,115.9,50,4\n",
            LayerKind::PatrolPoints,
        )
        .unwrap();
        assert_eq!(ok[0].properties["visits_per_day"], 4.0);
        assert!(
            collect_csv("name,y,x\na,36.4,115.9\n", LayerKind::Generic)
                .unwrap_err()
                .message
                .contains("\"lat\"")
        );
    }

    #[test]
    fn columns_can_be_renamed_into_the_properties_a_kind_needs() {
        let mut spec = LayerSpec::new(LayerKind::PatrolPoints, Crs::Wgs84);
        spec.rename = vec![
            ("radius_m".into(), "半径".into()),
            ("visits_per_day".into(), "每日巡查".into()),
        ];
        let mut out = Vec::new();
        read_csv::<_, LayerError>(
            "名称,lat,lon,半径,每日巡查\n古楼,36.45,115.98,60,8\n".as_bytes(),
            &spec,
            "lat",
            "lon",
            |f| {
                out.push(f);
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(out[0].properties["radius_m"], 60.0);
        assert_eq!(out[0].properties["visits_per_day"], 8.0);
        assert!(!out[0].properties.contains_key("半径"));
    }

    #[test]
    fn swapped_and_projected_coordinates_are_named() {
        let f = |c: &str| {
            format!(
                r#"{{"type":"FeatureCollection","features":[{{"type":"Feature","properties":{{}},"geometry":{{"type":"Point","coordinates":{c}}}}}]}}"#
            )
        };
        assert!(
            collect_geojson(&f("[36.4,115.9]"), LayerKind::Generic)
                .unwrap_err()
                .message
                .contains("swapped")
        );
        assert!(
            collect_geojson(&f("[12913000,4366000]"), LayerKind::Generic)
                .unwrap_err()
                .message
                .contains("projected")
        );
    }
}
