//! Shapefile layers: the `.shp` geometry with its `.dbf` attributes (both
//! required), the `.prj` to refuse projected or unknown coordinate systems, and
//! the `.cpg` code page (Chinese files are often GBK). Records stream one by one.

use super::{LayerError, LayerFeature, LayerSpec, err, feature};
use geo::{Contains, Coord, LineString, Point, Polygon};
use geojson::{GeometryValue, Position};
use serde_json::{Map, Value};
use shapefile::dbase::{self, FieldValue};
use shapefile::record::traits::HasXY;
use shapefile::{PolygonRing, Shape, ShapeReader};
use std::io::{Read, Seek};

/// The files of one shapefile, opened by the caller.
pub struct ShapefileParts<S, D> {
    /// The `.shp` geometry.
    pub shp: S,
    /// The `.dbf` attribute table.
    pub dbf: D,
    /// The `.prj` text, when there is one.
    pub prj: Option<String>,
    /// The `.cpg` code page name, when there is one.
    pub cpg: Option<String>,
}

/// Refuses a `.prj` that is projected or on a datum other than WGS-84 / CGCS2000
/// (the two agree to centimetres; Beijing 1954 and Xi'an 1980 are off by up to
/// 100 m).
fn check_prj(prj: &str) -> Result<(), LayerError> {
    let name = |tag: &str| {
        prj.find(tag).map(|i| {
            prj[i + tag.len()..]
                .trim_start_matches(['[', '"'])
                .split('"')
                .next()
                .unwrap_or_default()
                .to_owned()
        })
    };
    if let Some(projected) = name("PROJCS") {
        return Err(err(
            ".prj",
            format!(
                "the coordinates are projected ({projected}); reproject the file to WGS-84 longitude/latitude (EPSG:4326)"
            ),
        ));
    }
    let datum = name("DATUM").unwrap_or_default().to_ascii_uppercase();
    if !(datum.contains("WGS") || datum.contains("2000") || datum.is_empty()) {
        return Err(err(
            ".prj",
            format!("the datum {datum} is not WGS-84 or CGCS2000; convert the file to WGS-84"),
        ));
    }
    Ok(())
}

fn positions<P: HasXY>(ps: &[P]) -> Vec<Position> {
    ps.iter().map(|p| vec![p.x(), p.y()].into()).collect()
}

fn lines<P: HasXY>(parts: &[Vec<P>]) -> GeometryValue {
    match parts {
        [one] => GeometryValue::LineString {
            coordinates: positions(one),
        },
        _ => GeometryValue::MultiLineString {
            coordinates: parts.iter().map(|p| positions(p)).collect(),
        },
    }
}

/// Groups rings into polygons: each outer ring starts one, each hole joins the
/// outer ring that contains it (the format does not promise holes follow their
/// outer ring).
fn polygons<P: HasXY>(rings: &[PolygonRing<P>], place: &str) -> Result<GeometryValue, LayerError> {
    let ring = |ps: &[P]| {
        LineString::from(
            ps.iter()
                .map(|p| Coord { x: p.x(), y: p.y() })
                .collect::<Vec<_>>(),
        )
    };
    let mut outers: Vec<(Polygon, Vec<Vec<Position>>)> = Vec::new();
    let mut holes = Vec::new();
    // A ring with a non-finite coordinate never closes, and geo's containment test
    // asserts that rings are closed (found by fuzzing): refuse such rings first.
    for r in rings {
        let ps = match r {
            PolygonRing::Outer(ps) | PolygonRing::Inner(ps) => ps,
        };
        if ps.iter().any(|p| !(p.x().is_finite() && p.y().is_finite())) {
            return Err(err(place, "a ring with a coordinate that is not a number"));
        }
    }
    for r in rings {
        match r {
            PolygonRing::Outer(ps) => {
                outers.push((Polygon::new(ring(ps), vec![]), vec![positions(ps)]));
            }
            PolygonRing::Inner(ps) => holes.push(ps),
        }
    }
    for h in holes {
        let first = h
            .first()
            .map(|p| Point::new(p.x(), p.y()))
            .ok_or_else(|| err(place, "an empty ring"))?;
        let owner = outers
            .iter_mut()
            .find(|(poly, _)| poly.contains(&first))
            .ok_or_else(|| err(place, "a hole outside every outer ring"))?;
        owner.1.push(positions(h));
    }
    let mut polys: Vec<Vec<Vec<Position>>> = outers.into_iter().map(|(_, r)| r).collect();
    Ok(match polys.len() {
        0 => return Err(err(place, "a polygon without an outer ring")),
        1 => GeometryValue::Polygon {
            coordinates: polys.remove(0),
        },
        _ => GeometryValue::MultiPolygon { coordinates: polys },
    })
}

fn geometry(shape: &Shape, place: &str) -> Result<GeometryValue, LayerError> {
    let point = |x: f64, y: f64| GeometryValue::Point {
        coordinates: vec![x, y].into(),
    };
    Ok(match shape {
        Shape::NullShape => return Err(err(place, "has no geometry (a null shape)")),
        Shape::Point(p) => point(p.x, p.y),
        Shape::PointM(p) => point(p.x, p.y),
        Shape::PointZ(p) => point(p.x, p.y),
        Shape::Polyline(l) => lines(l.parts()),
        Shape::PolylineM(l) => lines(l.parts()),
        Shape::PolylineZ(l) => lines(l.parts()),
        Shape::Polygon(p) => polygons(p.rings(), place)?,
        Shape::PolygonM(p) => polygons(p.rings(), place)?,
        Shape::PolygonZ(p) => polygons(p.rings(), place)?,
        Shape::Multipoint(m) => GeometryValue::MultiPoint {
            coordinates: positions(m.points()),
        },
        Shape::MultipointM(m) => GeometryValue::MultiPoint {
            coordinates: positions(m.points()),
        },
        Shape::MultipointZ(m) => GeometryValue::MultiPoint {
            coordinates: positions(m.points()),
        },
        Shape::Multipatch(_) => {
            return Err(err(place, "multipatch (3D) shapes are not supported"));
        }
    })
}

fn json(v: FieldValue) -> Value {
    let num = |x: Option<f64>| {
        x.filter(|x| x.is_finite())
            .map_or(Value::Null, |x| serde_json::json!(x))
    };
    match v {
        FieldValue::Character(s) => s.map_or(Value::Null, |s| Value::String(s.trim().to_owned())),
        FieldValue::Memo(s) => Value::String(s),
        FieldValue::Numeric(x) => num(x),
        FieldValue::Float(x) => num(x.map(f64::from)),
        FieldValue::Double(x) | FieldValue::Currency(x) => num(Some(x)),
        FieldValue::Integer(i) => serde_json::json!(i),
        FieldValue::Logical(b) => b.map_or(Value::Null, Value::Bool),
        FieldValue::Date(d) => d.map_or(Value::Null, |d| Value::String(d.to_string())),
        FieldValue::DateTime(d) => Value::String(format!("{d:?}")),
    }
}

/// Reads a shapefile record by record, handing each checked feature to `sink`.
/// Returns the count. Places are "record N" (from 0, as GIS tools number them).
pub fn read_shapefile<S: Read + Seek, D: Read + Seek, E: From<LayerError>>(
    parts: ShapefileParts<S, D>,
    spec: &LayerSpec,
    mut sink: impl FnMut(LayerFeature) -> Result<(), E>,
) -> Result<usize, E> {
    if let Some(prj) = &parts.prj {
        check_prj(prj)?;
    }
    let shapes =
        ShapeReader::new(parts.shp).map_err(|e| err(".shp", format!("not a shapefile: {e}")))?;
    let mut builder = dbase::ReaderBuilder::new();
    if let Some(cpg) = &parts.cpg {
        let encoding = dbase::encoding::DynEncoding::from_name(cpg)
            .ok_or_else(|| err(".cpg", format!("unknown code page {:?}", cpg.trim())))?;
        builder = builder.with_encoding(encoding);
    }
    let table = builder
        .build(parts.dbf)
        .map_err(|e| err(".dbf", format!("not a dBase table: {e}")))?;
    let mut reader = shapefile::Reader::new(shapes, table);
    let mut n = 0;
    for (i, item) in reader.iter_shapes_and_records().enumerate() {
        let place = format!("record {i}");
        let (shape, record) = item.map_err(|e| err(&place, format!("unreadable: {e}")))?;
        let value = geometry(&shape, &place)?;
        let props: Map<String, Value> = record
            .into_iter()
            .map(|(k, v)| (k.trim().to_owned(), json(v)))
            .collect();
        sink(feature(&value, props, spec, &place)?)?;
        n += 1;
    }
    if n == 0 {
        return Err(err("file", "has no records").into());
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Crs;
    use crate::layers::LayerKind;
    use dbase::{FieldName, Record, TableWriterBuilder};
    use shapefile::{Polygon as ShpPolygon, Writer};
    use std::io::Cursor;

    /// Writes a two-record polygon shapefile in memory: a lake with an island
    /// hole, and a two-part multipolygon, with a Chinese name.
    fn sample() -> (Vec<u8>, Vec<u8>) {
        let mut shp = Cursor::new(Vec::new());
        let mut shx = Cursor::new(Vec::new());
        let mut dbf = Cursor::new(Vec::new());
        let table = TableWriterBuilder::new()
            .add_character_field(FieldName::try_from("name").unwrap(), 20)
            .add_numeric_field(FieldName::try_from("area").unwrap(), 10, 2);
        {
            let shape_writer = shapefile::ShapeWriter::with_shx(&mut shp, &mut shx);
            let dbase_writer = table.build_with_dest(&mut dbf);
            let mut w = Writer::new(shape_writer, dbase_writer);
            let p = |x: f64, y: f64| shapefile::Point::new(x, y);
            let lake = ShpPolygon::with_rings(vec![
                PolygonRing::Outer(vec![
                    p(115.9, 36.4),
                    p(115.9, 36.5),
                    p(116.0, 36.5),
                    p(116.0, 36.4),
                    p(115.9, 36.4),
                ]),
                PolygonRing::Inner(vec![
                    p(115.94, 36.44),
                    p(115.96, 36.44),
                    p(115.96, 36.46),
                    p(115.94, 36.46),
                    p(115.94, 36.44),
                ]),
            ]);
            let pair = ShpPolygon::with_rings(vec![
                PolygonRing::Outer(vec![
                    p(115.0, 36.0),
                    p(115.0, 36.1),
                    p(115.1, 36.1),
                    p(115.1, 36.0),
                    p(115.0, 36.0),
                ]),
                PolygonRing::Outer(vec![
                    p(115.2, 36.0),
                    p(115.2, 36.1),
                    p(115.3, 36.1),
                    p(115.3, 36.0),
                    p(115.2, 36.0),
                ]),
            ]);
            for (shape, name, area) in [(lake, "东昌湖", 6.3), (pair, "two", 1.0)] {
                let mut r = Record::default();
                r.insert("name".into(), FieldValue::Character(Some(name.into())));
                r.insert("area".into(), FieldValue::Numeric(Some(area)));
                w.write_shape_and_record(&shape, &r).unwrap();
            }
        }
        (shp.into_inner(), dbf.into_inner())
    }

    fn read(prj: Option<&str>) -> Result<Vec<LayerFeature>, LayerError> {
        let (shp, dbf) = sample();
        let mut out = Vec::new();
        read_shapefile::<_, _, LayerError>(
            ShapefileParts {
                shp: Cursor::new(shp),
                dbf: Cursor::new(dbf),
                prj: prj.map(str::to_owned),
                cpg: Some("UTF-8".into()),
            },
            &LayerSpec::new(LayerKind::Generic, Crs::Wgs84),
            |f| {
                out.push(f);
                Ok(())
            },
        )?;
        Ok(out)
    }

    #[test]
    fn records_become_features_with_holes_and_attributes() {
        let fs = read(Some(r#"GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]"#)).unwrap();
        assert_eq!(fs.len(), 2);
        assert_eq!(fs[0].properties["name"], "东昌湖");
        assert_eq!(fs[0].properties["area"], 6.3);
        let g: Value = serde_json::from_str(&fs[0].geometry).unwrap();
        assert_eq!(g["type"], "Polygon");
        assert_eq!(
            g["coordinates"].as_array().unwrap().len(),
            2,
            "the hole stays"
        );
        let g: Value = serde_json::from_str(&fs[1].geometry).unwrap();
        assert_eq!(g["type"], "MultiPolygon");
        assert_eq!(fs[1].bbox, [115.0, 36.0, 115.3, 36.1]);
    }

    #[test]
    fn projected_and_foreign_datums_are_refused() {
        let e = read(Some(r#"PROJCS["CGCS2000_3_Degree_GK_CM_117E",GEOGCS["GCS_China_Geodetic_Coordinate_System_2000",DATUM["D_China_2000"]]]"#)).unwrap_err();
        assert_eq!(e.place, ".prj");
        assert!(e.message.contains("projected"), "{e}");
        let e = read(Some(
            r#"GEOGCS["GCS_Beijing_1954",DATUM["D_Beijing_1954"]]"#,
        ))
        .unwrap_err();
        assert!(e.message.contains("BEIJING"), "{e}");
        assert!(
            read(Some(
                r#"GEOGCS["GCS_China_Geodetic_Coordinate_System_2000",DATUM["D_China_2000"]]"#
            ))
            .is_ok()
        );
    }

    #[test]
    fn a_table_that_is_not_dbase_is_refused() {
        let (shp, _) = sample();
        let e = read_shapefile::<_, _, LayerError>(
            ShapefileParts {
                shp: Cursor::new(shp),
                dbf: Cursor::new(b"not a table".to_vec()),
                prj: None,
                cpg: None,
            },
            &LayerSpec::new(LayerKind::Generic, Crs::Wgs84),
            |_| Ok(()),
        )
        .unwrap_err();
        assert_eq!(e.place, ".dbf");
    }
}
