//! A shapefile: the input is split into the `.shp`, the `.dbf` and the `.cpg`
//! (a code page name) at two marker bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sentinel_geo::Crs;
use sentinel_geo::layers::{LayerError, LayerKind, LayerSpec, ShapefileParts, read_shapefile};
use std::io::Cursor;

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(3, |b| *b == 0xFE);
    let shp = parts.next().unwrap_or_default();
    let dbf = parts.next().unwrap_or_default();
    let cpg = parts
        .next()
        .and_then(|c| std::str::from_utf8(c).ok())
        .map(str::to_owned);
    let spec = LayerSpec::new(LayerKind::Generic, Crs::Wgs84);
    let parts = ShapefileParts {
        shp: Cursor::new(shp),
        dbf: Cursor::new(dbf),
        prj: None,
        cpg,
    };
    let _ = read_shapefile::<_, _, LayerError>(parts, &spec, |_| Ok(()));
});
