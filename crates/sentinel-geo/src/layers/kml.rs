//! KML layers (Google Earth, 天地图 and most desktop GIS export it): every
//! Placemark in every Document and Folder becomes a feature, with its name,
//! description and ExtendedData as properties. KML coordinates are always
//! longitude, latitude. The document is parsed whole, so KML suits files of tens
//! of megabytes; larger layers belong in GeoJSON, which streams.

use super::{LayerError, LayerFeature, LayerSpec, err, feature};
use geojson::{GeometryValue, Position};
use kml::types::{Coord, Element, Geometry, Placemark};
use kml::{Kml, KmlReader};
use serde_json::{Map, Value};
use std::io::Read;

fn positions(coords: &[Coord]) -> Vec<Position> {
    coords.iter().map(|c| vec![c.x, c.y].into()).collect()
}

/// The GeoJSON geometry of a KML geometry; a MultiGeometry must hold one kind.
fn geometry(g: &Geometry, place: &str) -> Result<GeometryValue, LayerError> {
    Ok(match g {
        Geometry::Point(p) => GeometryValue::Point {
            coordinates: vec![p.coord.x, p.coord.y].into(),
        },
        Geometry::LineString(l) => GeometryValue::LineString {
            coordinates: positions(&l.coords),
        },
        Geometry::LinearRing(r) => GeometryValue::Polygon {
            coordinates: vec![positions(&r.coords)],
        },
        Geometry::Polygon(p) => GeometryValue::Polygon {
            coordinates: std::iter::once(&p.outer)
                .chain(&p.inner)
                .map(|r| positions(&r.coords))
                .collect(),
        },
        Geometry::MultiGeometry(m) => {
            let parts = m
                .geometries
                .iter()
                .map(|g| geometry(g, place))
                .collect::<Result<Vec<_>, _>>()?;
            let mut points = Vec::new();
            let mut lines = Vec::new();
            let mut polygons = Vec::new();
            for p in parts {
                match p {
                    GeometryValue::Point { coordinates } => points.push(coordinates),
                    GeometryValue::MultiPoint { coordinates } => points.extend(coordinates),
                    GeometryValue::LineString { coordinates } => lines.push(coordinates),
                    GeometryValue::MultiLineString { coordinates } => lines.extend(coordinates),
                    GeometryValue::Polygon { coordinates } => polygons.push(coordinates),
                    GeometryValue::MultiPolygon { coordinates } => polygons.extend(coordinates),
                    GeometryValue::GeometryCollection { .. } => {}
                }
            }
            match (points.is_empty(), lines.is_empty(), polygons.is_empty()) {
                (false, true, true) => GeometryValue::MultiPoint {
                    coordinates: points,
                },
                (true, false, true) => GeometryValue::MultiLineString { coordinates: lines },
                (true, true, false) => GeometryValue::MultiPolygon {
                    coordinates: polygons,
                },
                (true, true, true) => return Err(err(place, "an empty MultiGeometry")),
                _ => {
                    return Err(err(
                        place,
                        "a MultiGeometry mixing points, lines and polygons; split it into placemarks",
                    ));
                }
            }
        }
        Geometry::Element(e) => {
            return Err(err(
                place,
                format!("a <{}> geometry is not supported", e.name),
            ));
        }
        _ => return Err(err(place, "an unsupported geometry")),
    })
}

/// A value as a number where it reads as one, else text.
fn value(text: &str) -> Value {
    let t = text.trim();
    match t.parse::<f64>() {
        Ok(x) if x.is_finite() => serde_json::json!(x),
        _ => Value::String(t.to_owned()),
    }
}

/// `<ExtendedData>`: `<Data name><value>` and `<SchemaData><SimpleData name>`.
fn extended_data(e: &Element, props: &mut Map<String, Value>) {
    for child in &e.children {
        match child.name.as_str() {
            "Data" => {
                if let Some(name) = child.attrs.get("name") {
                    let v = child
                        .children
                        .iter()
                        .find(|c| c.name == "value")
                        .and_then(|c| c.content.as_deref())
                        .unwrap_or_default();
                    props.insert(name.clone(), value(v));
                }
            }
            "SimpleData" => {
                if let Some(name) = child.attrs.get("name") {
                    props.insert(name.clone(), value(child.content.as_deref().unwrap_or("")));
                }
            }
            _ => extended_data(child, props),
        }
    }
}

fn placemarks<'k>(k: &'k Kml, out: &mut Vec<&'k Placemark>) {
    match k {
        Kml::KmlDocument(d) => d.elements.iter().for_each(|e| placemarks(e, out)),
        Kml::Document { elements, .. } => elements.iter().for_each(|e| placemarks(e, out)),
        Kml::Folder(f) => f.elements.iter().for_each(|e| placemarks(e, out)),
        Kml::Placemark(p) => out.push(p),
        _ => {}
    }
}

/// Deepest element nesting a KML file may have. Real files nest Folders a few
/// levels; the KML reader builds its tree recursively, so 500 nested Folders (8 KB)
/// would overflow the stack.
pub const MAX_KML_DEPTH: usize = 64;

/// Refuses, in one streaming pass that holds no tree and before the KML reader
/// builds its tree, what that reader cannot survive (each found by fuzzing or by
/// the security review): nesting deeper than [`MAX_KML_DEPTH`] (its recursion
/// overflows the stack), a file that ends inside an element (it loops for ever),
/// a `Point` without coordinates (it panics), and XML that is not well-formed. Each
/// refusal names the byte where it was found.
fn precheck(bytes: &[u8]) -> Result<(), LayerError> {
    use quick_xml::events::Event;
    let mut r = quick_xml::Reader::from_reader(bytes);
    let mut buf = Vec::new();
    // Open elements' local names, and for each open Point whether it had coordinates.
    let mut open: Vec<Vec<u8>> = Vec::new();
    let mut points: Vec<bool> = Vec::new();
    let bad = |msg: String| Err(err("file", format!("is not valid KML: {msg}")));
    loop {
        let at = r.buffer_position();
        match r.read_event_into(&mut buf) {
            Ok(Event::Start(e)) => {
                let name = e.local_name().as_ref().to_vec();
                if open.len() >= MAX_KML_DEPTH {
                    let shown = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                    return Err(err(
                        "file",
                        format!(
                            "nests elements more than {MAX_KML_DEPTH} deep (<{shown}> at byte {at} is at depth {})",
                            open.len() + 1
                        ),
                    ));
                }
                if name == b"Point" {
                    points.push(false);
                }
                open.push(name);
            }
            Ok(Event::Empty(e)) if e.local_name().as_ref() == b"Point" => {
                return bad(format!("the Point at byte {at} has no coordinates"));
            }
            Ok(Event::Text(t)) => {
                let in_point_coordinates = open.last().is_some_and(|n| n == b"coordinates")
                    && open.len() >= 2
                    && open[open.len() - 2] == b"Point";
                if in_point_coordinates
                    && t.as_ref().iter().any(|b| !b.is_ascii_whitespace())
                    && let Some(had) = points.last_mut()
                {
                    *had = true;
                }
            }
            Ok(Event::End(e)) => {
                if e.local_name().as_ref() == b"Point" && points.pop() == Some(false) {
                    return bad(format!("the Point ending at byte {at} has no coordinates"));
                }
                open.pop();
            }
            Ok(Event::Eof) if open.is_empty() => return Ok(()),
            Ok(Event::Eof) => {
                return bad(format!(
                    "it ends inside an element (at depth {})",
                    open.len()
                ));
            }
            Ok(_) => {}
            Err(e) => return bad(format!("{e} (near byte {})", r.error_position())),
        }
        buf.clear();
    }
}

/// Reads every Placemark of a KML document, handing each checked feature to
/// `sink`. Returns the count. Places are "placemark N" (from 0, in document order).
pub fn read_kml<R: Read, E: From<LayerError>>(
    reader: R,
    spec: &LayerSpec,
    mut sink: impl FnMut(LayerFeature) -> Result<(), E>,
) -> Result<usize, E> {
    let mut bytes = Vec::new();
    std::io::BufReader::new(reader)
        .read_to_end(&mut bytes)
        .map_err(|e| err("file", format!("could not be read: {e}")))?;
    precheck(&bytes)?;
    let doc: Kml = KmlReader::<_, f64>::from_reader(bytes.as_slice())
        .read()
        .map_err(|e| err("file", format!("not valid KML: {e}")))?;
    let mut found = Vec::new();
    placemarks(&doc, &mut found);
    if found.is_empty() {
        return Err(err("file", "has no placemarks").into());
    }
    for (i, p) in found.iter().enumerate() {
        let place = format!("placemark {i}");
        let g = p
            .geometry
            .as_ref()
            .ok_or_else(|| err(&place, "has no geometry"))?;
        let value = geometry(g, &place)?;
        let mut props = Map::new();
        if let Some(n) = &p.name {
            props.insert("name".into(), Value::String(n.trim().to_owned()));
        }
        if let Some(d) = &p.description {
            props.insert("description".into(), Value::String(d.trim().to_owned()));
        }
        for c in p.children.iter().filter(|c| c.name == "ExtendedData") {
            extended_data(c, &mut props);
        }
        sink(feature(&value, props, spec, &place)?)?;
    }
    Ok(found.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::Crs;
    use crate::layers::LayerKind;

    fn read(text: &str, kind: LayerKind) -> Result<Vec<LayerFeature>, LayerError> {
        let mut out = Vec::new();
        let spec = LayerSpec::new(kind, Crs::Wgs84);
        read_kml::<_, LayerError>(text.as_bytes(), &spec, |f| {
            out.push(f);
            Ok(())
        })?;
        Ok(out)
    }

    const DOC: &str = r##"<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document><name>巡逻</name>
  <Folder><name>东昌府</name>
    <Placemark><name>古楼</name>
      <ExtendedData>
        <Data name="radius_m"><value>80</value></Data>
        <Data name="visits_per_day"><value>6</value></Data>
      </ExtendedData>
      <Point><coordinates>115.985,36.456,0</coordinates></Point>
    </Placemark>
  </Folder>
  <Placemark><name>光岳楼</name>
    <ExtendedData><SchemaData schemaUrl="#s">
      <SimpleData name="radius_m">50</SimpleData><SimpleData name="visits_per_day">4</SimpleData>
    </SchemaData></ExtendedData>
    <Point><coordinates>115.99,36.45</coordinates></Point>
  </Placemark>
</Document></kml>"##;

    #[test]
    fn placemarks_in_folders_become_features_with_their_data() {
        let fs = read(DOC, LayerKind::PatrolPoints).unwrap();
        assert_eq!(fs.len(), 2);
        assert_eq!(fs[0].properties["name"], "古楼");
        assert_eq!(fs[0].properties["radius_m"], 80.0);
        assert_eq!(fs[1].properties["visits_per_day"], 4.0);
        assert_eq!(fs[1].bbox, [115.99, 36.45, 115.99, 36.45]);
    }

    #[test]
    fn polygons_keep_their_holes_and_multigeometries_their_parts() {
        let doc = r#"<kml xmlns="http://www.opengis.net/kml/2.2"><Document>
<Placemark><name>湖</name><Polygon>
  <outerBoundaryIs><LinearRing><coordinates>115.9,36.4 116.0,36.4 116.0,36.5 115.9,36.5 115.9,36.4</coordinates></LinearRing></outerBoundaryIs>
  <innerBoundaryIs><LinearRing><coordinates>115.94,36.44 115.96,36.44 115.96,36.46 115.94,36.44</coordinates></LinearRing></innerBoundaryIs>
</Polygon></Placemark>
<Placemark><MultiGeometry>
  <LineString><coordinates>115.9,36.4 116.0,36.5</coordinates></LineString>
  <LineString><coordinates>115.8,36.3 115.85,36.35</coordinates></LineString>
</MultiGeometry></Placemark>
</Document></kml>"#;
        let fs = read(doc, LayerKind::Generic).unwrap();
        let g: Value = serde_json::from_str(&fs[0].geometry).unwrap();
        assert_eq!(g["type"], "Polygon");
        assert_eq!(g["coordinates"].as_array().unwrap().len(), 2);
        let g: Value = serde_json::from_str(&fs[1].geometry).unwrap();
        assert_eq!(g["type"], "MultiLineString");
        assert_eq!(fs[1].bbox, [115.8, 36.3, 116.0, 36.5]);
    }

    #[test]
    fn deep_nesting_is_refused_with_its_depth_not_a_stack_overflow() {
        let deep = format!(
            "<kml xmlns=\"http://www.opengis.net/kml/2.2\"><Document>{}<Placemark><Point><coordinates>116,36</coordinates></Point></Placemark>{}</Document></kml>",
            "<Folder>".repeat(500),
            "</Folder>".repeat(500)
        );
        let e = read(&deep, LayerKind::Generic).unwrap_err().to_string();
        assert!(e.contains("more than 64 deep"), "{e}");
        assert!(e.contains("<Folder> at byte"), "{e}");
        // Nesting of real files still reads.
        let ok = deep
            .replace(&"<Folder>".repeat(500), &"<Folder>".repeat(20))
            .replace(&"</Folder>".repeat(500), &"</Folder>".repeat(20));
        assert_eq!(read(&ok, LayerKind::Generic).unwrap().len(), 1);
    }

    #[test]
    fn a_file_that_ends_inside_an_element_is_refused_not_a_hang() {
        // Found by fuzzing: the KML reader looped for ever on this.
        let truncated = format!("{DOC}<Placemark><name>road</name><LineStr<?xinmgl>")
            .replace("</Document></kml>", "");
        let e = read(&truncated, LayerKind::Generic)
            .unwrap_err()
            .to_string();
        assert!(e.contains("not valid KML"), "{e}");
    }

    #[test]
    fn a_point_without_coordinates_is_refused_not_a_panic() {
        // Found by fuzzing: the KML reader panicked on these.
        for point in [
            "<Point></Point>",
            "<Point/>",
            "<Point><coordinates> </coordinates></Point>",
        ] {
            let doc = DOC.replace(
                "<Point><coordinates>115.99,36.45</coordinates></Point>",
                point,
            );
            assert_ne!(doc, DOC);
            let e = read(&doc, LayerKind::Generic).unwrap_err().to_string();
            assert!(e.contains("has no coordinates"), "{point}: {e}");
        }
    }

    #[test]
    fn bad_placemarks_are_named() {
        let no_geometry = r#"<kml xmlns="http://www.opengis.net/kml/2.2"><Document>
<Placemark><name>a</name><Point><coordinates>115.9,36.4</coordinates></Point></Placemark>
<Placemark><name>b</name></Placemark></Document></kml>"#;
        let e = read(no_geometry, LayerKind::Generic).unwrap_err();
        assert_eq!(e.place, "placemark 1", "{e}");
        let open_ring = r#"<kml xmlns="http://www.opengis.net/kml/2.2"><Placemark><Polygon>
<outerBoundaryIs><LinearRing><coordinates>115.9,36.4 116.0,36.4 116.0,36.5 115.9,36.5</coordinates></LinearRing></outerBoundaryIs>
</Polygon></Placemark></kml>"#;
        assert!(
            read(open_ring, LayerKind::Generic)
                .unwrap_err()
                .message
                .contains("closed")
        );
        let swapped = r#"<kml xmlns="http://www.opengis.net/kml/2.2"><Placemark><Point><coordinates>36.4,115.9</coordinates></Point></Placemark></kml>"#;
        assert!(
            read(swapped, LayerKind::Generic)
                .unwrap_err()
                .message
                .contains("swapped")
        );
        assert!(read("<kml><Document></Document></kml>", LayerKind::Generic).is_err());
        assert!(read("not xml at all <", LayerKind::Generic).is_err());
    }
}
