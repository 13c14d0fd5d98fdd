//! CSV layers: one point per row from a latitude and a longitude column.

use super::{LayerError, LayerFeature, LayerSpec, check_kind, err};
use crate::Point;
use serde_json::{Map, Value};
use std::io::Read;

/// Reads a CSV with a header row, one point per row from the `lat` and `lon`
/// columns; the other columns become properties (numbers where they parse).
pub fn read_csv<R: Read, E: From<LayerError>>(
    reader: R,
    spec: &LayerSpec,
    lat_column: &str,
    lon_column: &str,
    mut sink: impl FnMut(LayerFeature) -> Result<(), E>,
) -> Result<usize, E> {
    let mut rdr = ::csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(reader);
    let headers = rdr
        .headers()
        .map_err(|e| err("line 1", format!("unreadable header: {e}")))?
        .clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name))
            .ok_or_else(|| err("line 1", format!("no {name:?} column")))
    };
    let (lat_i, lon_i) = (column(lat_column)?, column(lon_column)?);
    let mut n = 0;
    for row in rdr.records() {
        let row = row.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            err(&format!("line {line}"), e.to_string())
        })?;
        let place = format!("line {}", row.position().map_or(0, |p| p.line()));
        let coord = |i: usize, what: &str| -> Result<f64, LayerError> {
            row.get(i)
                .and_then(|v| v.trim().parse::<f64>().ok())
                .ok_or_else(|| {
                    err(
                        &place,
                        format!("{what} {:?} is not a number", row.get(i).unwrap_or("")),
                    )
                })
        };
        let (lat, lon) = (coord(lat_i, lat_column)?, coord(lon_i, lon_column)?);
        let p = Point::from_crs(lat, lon, spec.crs).map_err(|e| err(&place, e.to_string()))?;
        let mut properties = Map::new();
        for (i, (h, v)) in headers.iter().zip(row.iter()).enumerate() {
            if i == lat_i || i == lon_i {
                continue;
            }
            // An empty cell is no value, not an empty string.
            let value = match v.trim() {
                "" => Value::Null,
                t => t
                    .parse::<f64>()
                    .map(|x| serde_json::json!(x))
                    .unwrap_or_else(|_| Value::String(v.to_owned())),
            };
            properties.insert(h.trim().to_owned(), value);
        }
        spec.rename(&mut properties);
        check_kind(spec.kind, true, &mut properties, &place)?;
        let geometry =
            serde_json::json!({ "type": "Point", "coordinates": [p.lon(), p.lat()] }).to_string();
        sink(LayerFeature {
            geometry,
            bbox: [p.lon(), p.lat(), p.lon(), p.lat()],
            properties,
        })?;
        n += 1;
    }
    if n == 0 {
        return Err(err("file", "has no rows").into());
    }
    Ok(n)
}
