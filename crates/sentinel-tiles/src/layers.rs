//! Imported layers as tiles: GeoJSON geometries in, clipped MVT features out.

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

/// A ring in tile coordinates.
type Ring = Vec<(f64, f64)>;

/// A polygon (outer ring, then holes) cut to the tile and its buffer, each part
/// one MVT polygon: outer rings clockwise on screen, holes the other way.
fn clipped_polygon(tile: TileId, rings: &Value) -> Vec<mvt::GeomData> {
    use geo::{BooleanOps, Coord, LineString, Polygon, Rect};
    let Some(rings) = rings
        .as_array()
        .map(|rs| rs.iter().filter_map(|r| ring(tile, r)).collect::<Vec<_>>())
    else {
        return Vec::new();
    };
    let Some(outer) = rings.first() else {
        return Vec::new();
    };
    if outer.len() < 4 || outside(outer) {
        return Vec::new();
    }
    let lo = -BUFFER;
    let hi = f64::from(EXTENT) + BUFFER;
    let inside = |r: &Vec<(f64, f64)>| {
        r.iter()
            .all(|&(x, y)| (lo..=hi).contains(&x) && (lo..=hi).contains(&y))
    };
    let line = |r: &Vec<(f64, f64)>| {
        LineString::from(r.iter().map(|&(x, y)| Coord { x, y }).collect::<Vec<_>>())
    };
    let parts: Vec<(Ring, Vec<Ring>)> = if rings.iter().all(inside) {
        vec![(outer.clone(), rings[1..].to_vec())]
    } else {
        let poly = Polygon::new(line(outer), rings[1..].iter().map(line).collect());
        let frame = Rect::new(Coord { x: lo, y: lo }, Coord { x: hi, y: hi }).to_polygon();
        poly.intersection(&frame)
            .0
            .into_iter()
            .map(|p| {
                let pts = |l: &LineString<f64>| l.0.iter().map(|c| (c.x, c.y)).collect::<Vec<_>>();
                (pts(p.exterior()), p.interiors().iter().map(pts).collect())
            })
            .collect()
    };
    parts
        .into_iter()
        .filter_map(|(outer, holes)| {
            let mut enc = GeomEncoder::new(GeomType::Polygon);
            wind(&mut enc, &outer, true)?;
            for h in &holes {
                wind(&mut enc, h, false);
            }
            enc.encode().ok()
        })
        .collect()
}

/// Adds one ring, wound clockwise on screen for an outer ring, anticlockwise for a
/// hole; `None` when the ring has no area left at tile resolution.
pub(crate) fn wind(enc: &mut GeomEncoder<i32>, ring: &[(f64, f64)], outer: bool) -> Option<()> {
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
    if (area > 0) != outer {
        pts.reverse();
    }
    for (x, y) in pts {
        enc.add_point(x, y).ok()?;
    }
    enc.complete_geom().ok()
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
/// left out; lines and polygons (with their holes) are clipped to the tile and its
/// buffer, so a province-sized polygon costs a tile no more than its part in it.
/// Properties become tags: strings, numbers and booleans.
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
            Some("Polygon") => parts.extend(clipped_polygon(tile, coords)),
            Some("MultiPolygon") => {
                for poly in coords.as_array().into_iter().flatten() {
                    parts.extend(clipped_polygon(tile, poly));
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

    /// Absolute points and ring count of an MVT polygon geometry.
    fn rings(g: &[u32]) -> (Vec<(i32, i32)>, usize) {
        let zigzag = |v: u32| ((v >> 1) as i32) ^ -((v & 1) as i32);
        let (mut x, mut y, mut i, mut closes) = (0, 0, 0, 0);
        let mut pts = Vec::new();
        while i < g.len() {
            let (id, count) = (g[i] & 7, g[i] >> 3);
            i += 1;
            if id == 7 {
                closes += 1;
                continue;
            }
            for _ in 0..count {
                x += zigzag(g[i]);
                y += zigzag(g[i + 1]);
                i += 2;
                pts.push((x, y));
            }
        }
        (pts, closes)
    }

    #[test]
    fn polygons_are_cut_to_the_tile_with_their_holes() {
        let t = TileId::new(14, 13470, 6408).unwrap();
        let (w, s, e, n) = t.lonlat_box(0.0);
        let (cx, cy) = ((w + e) / 2.0, (s + n) / 2.0);
        let (dx, dy) = ((e - w) / 10.0, (n - s) / 10.0);
        // A district far bigger than the tile, with a lake in the tile's middle.
        let big = format!(
            r#"{{"type":"Polygon","coordinates":[[[{a},{b}],[{c},{b}],[{c},{d}],[{a},{d}],[{a},{b}]],[[{h0},{v0}],[{h1},{v0}],[{h1},{v1}],[{h0},{v1}],[{h0},{v0}]]]}}"#,
            a = w - 1.0,
            b = s - 1.0,
            c = e + 1.0,
            d = n + 1.0,
            h0 = cx - dx,
            h1 = cx + dx,
            v0 = cy - dy,
            v1 = cy + dy,
        );
        let tile = Decoded::decode(render_layer(t, "districts", &[(big, "{}".into())]).as_slice())
            .unwrap();
        let f = &tile.layers[0].features[0];
        assert_eq!(f.r#type, Some(DecodedType::Polygon as i32));
        let (pts, closes) = rings(&f.geometry);
        assert_eq!(closes, 2, "the outer ring and the lake");
        assert!(
            pts.iter()
                .all(|&(x, y)| (-64..=4160).contains(&x) && (-64..=4160).contains(&y)),
            "{pts:?}"
        );
        // A polygon wholly outside the tile is left out.
        let away = r#"{"type":"Polygon","coordinates":[[[100,30],[101,30],[101,31],[100,30]]]}"#
            .to_string();
        let tile =
            Decoded::decode(render_layer(t, "x", &[(away, "{}".into())]).as_slice()).unwrap();
        assert!(tile.layers[0].features.is_empty());
    }
}
