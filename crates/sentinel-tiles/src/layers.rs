//! Imported layers as tiles: GeoJSON geometries in, clipped MVT features out.

use crate::reports::polygon;
use crate::tile::{EXTENT, TileId, project};
use mvt::{GeomEncoder, GeomType, Tile};
use serde_json::Value;

/// Tile units of buffer around layer tiles.
const BUFFER: f64 = 64.0;

fn to_tile(tile: TileId, c: &Value) -> Option<(f64, f64)> {
    let lon = c.get(0)?.as_f64()?;
    let lat = c.get(1)?.as_f64()?;
    let (mx, my) = project(lon, lat);
    Some(tile.to_tile(mx, my))
}

fn line(tile: TileId, coords: &Value) -> Option<mvt::GeomData> {
    let lo = -BUFFER;
    let hi = f64::from(EXTENT) + BUFFER;
    let mut enc =
        GeomEncoder::new(GeomType::Linestring).bbox(pointy::BBox::new([(lo, lo), (hi, hi)]));
    for c in coords.as_array()? {
        let (x, y) = to_tile(tile, c)?;
        enc.add_point(x, y).ok()?;
    }
    let g = enc.encode().ok()?;
    (!g.is_empty()).then_some(g)
}

fn ring(tile: TileId, coords: &Value) -> Option<Vec<(f64, f64)>> {
    coords
        .as_array()?
        .iter()
        .map(|c| to_tile(tile, c))
        .collect()
}

fn outside(ring: &[(f64, f64)]) -> bool {
    let lo = -BUFFER;
    let hi = f64::from(EXTENT) + BUFFER;
    ring.iter().all(|p| p.0 < lo)
        || ring.iter().all(|p| p.0 > hi)
        || ring.iter().all(|p| p.1 < lo)
        || ring.iter().all(|p| p.1 > hi)
}

/// Renders features (GeoJSON geometry and properties, as the store keeps them)
/// into one MVT layer named `name`. Points outside the tile and its buffer are
/// left out; lines are clipped; polygons are kept whole when they touch the tile
/// (their outer ring only: holes are rare in the layers cities import, and the map
/// draws the outline). Properties become tags: strings, numbers and booleans.
pub fn render_layer(tile: TileId, name: &str, features: &[(String, String)]) -> Vec<u8> {
    let mut out = Tile::new(EXTENT);
    let mut layer = out.create_layer(name);
    let lo = -BUFFER;
    let hi = f64::from(EXTENT) + BUFFER;
    for (i, (g, p)) in features.iter().enumerate() {
        let Ok(geom) = serde_json::from_str::<Value>(g) else {
            continue;
        };
        let coords = &geom["coordinates"];
        let mut parts: Vec<mvt::GeomData> = Vec::new();
        match geom["type"].as_str() {
            Some("Point") => {
                if let Some((x, y)) = to_tile(tile, coords)
                    && (lo..=hi).contains(&x)
                    && (lo..=hi).contains(&y)
                    && let Ok(g) = GeomEncoder::new(GeomType::Point)
                        .point(x.round() as i32, y.round() as i32)
                        .and_then(|e| e.encode())
                {
                    parts.push(g);
                }
            }
            Some("LineString") => parts.extend(line(tile, coords)),
            Some("MultiLineString") => {
                for l in coords.as_array().into_iter().flatten() {
                    parts.extend(line(tile, l));
                }
            }
            Some("Polygon") => {
                if let Some(r) = coords.get(0).and_then(|r| ring(tile, r))
                    && !outside(&r)
                {
                    parts.extend(polygon(&r));
                }
            }
            Some("MultiPolygon") => {
                for poly in coords.as_array().into_iter().flatten() {
                    if let Some(r) = poly.get(0).and_then(|r| ring(tile, r))
                        && !outside(&r)
                    {
                        parts.extend(polygon(&r));
                    }
                }
            }
            _ => {}
        }
        if parts.is_empty() {
            continue;
        }
        let props: Value = serde_json::from_str(p).unwrap_or(Value::Null);
        for g in parts {
            let mut feature = layer.into_feature(g);
            feature.set_id(i as u64 + 1);
            if let Some(obj) = props.as_object() {
                for (k, v) in obj {
                    match v {
                        Value::String(s) => feature.add_tag_string(k, s),
                        Value::Bool(b) => feature.add_tag_bool(k, *b),
                        Value::Number(n) => match n.as_i64() {
                            Some(i) => feature.add_tag_sint(k, i),
                            None => feature.add_tag_double(k, n.as_f64().unwrap_or(0.0)),
                        },
                        _ => {}
                    }
                }
            }
            layer = feature.into_layer();
        }
    }
    let _ = out.add_layer(layer);
    out.to_bytes().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use geozero::mvt::{Message, Tile as Decoded, tile::GeomType as DecodedType};

    #[test]
    fn layer_features_become_clipped_tagged_features() {
        let t = TileId::new(14, 13470, 6408).unwrap();
        let (w, s, e, n) = t.lonlat_box(0.0);
        let (cx, cy) = ((w + e) / 2.0, (s + n) / 2.0);
        let feats = vec![
            (
                format!(r#"{{"type":"Point","coordinates":[{cx},{cy}]}}"#),
                r#"{"name":"东昌路口","stream_url":"rtsp://cam/1","heading":90}"#.to_string(),
            ),
            (
                r#"{"type":"Point","coordinates":[100.0,30.0]}"#.to_string(),
                r#"{"name":"far away"}"#.to_string(),
            ),
            (
                // A road crossing the whole tile and far beyond: clipped.
                format!(
                    r#"{{"type":"LineString","coordinates":[[{},{cy}],[{},{cy}]]}}"#,
                    w - 1.0,
                    e + 1.0
                ),
                r#"{"name":"road"}"#.to_string(),
            ),
            (
                format!(
                    r#"{{"type":"Polygon","coordinates":[[[{w},{s}],[{cx},{s}],[{cx},{cy}],[{w},{cy}],[{w},{s}]]]}}"#
                ),
                r#"{"zone":1}"#.to_string(),
            ),
        ];
        let tile = Decoded::decode(render_layer(t, "cameras", &feats).as_slice()).unwrap();
        let layer = &tile.layers[0];
        assert_eq!(layer.name, "cameras");
        let types: Vec<i32> = layer.features.iter().map(|f| f.r#type.unwrap()).collect();
        assert_eq!(
            types,
            vec![
                DecodedType::Point as i32,
                DecodedType::Linestring as i32,
                DecodedType::Polygon as i32
            ]
        );
        assert!(layer.keys.iter().any(|k| k == "stream_url"));
        assert!(
            layer
                .values
                .iter()
                .any(|v| v.string_value.as_deref() == Some("东昌路口"))
        );
        // The clipped road stays within the buffer: decode its first point.
        let g = &layer.features[1].geometry;
        let zigzag = |v: u32| ((v >> 1) as i32) ^ -((v & 1) as i32);
        let x0 = zigzag(g[1]);
        assert!((-64..=4096 + 64).contains(&x0), "{x0}");
    }
}
