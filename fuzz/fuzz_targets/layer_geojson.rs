//! A map layer file in GEOJSON, read as every kind of layer, in both datums.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sentinel_geo::Crs;
use sentinel_geo::layers::{LayerError, LayerKind, LayerSpec, read_geojson};

fuzz_target!(|data: &[u8]| {
    for kind in [
        LayerKind::Generic,
        LayerKind::Cameras,
        LayerKind::PatrolPoints,
    ] {
        for crs in [Crs::Wgs84, Crs::Gcj02] {
            let spec = LayerSpec::new(kind, crs);
            let _ = read_geojson::<_, LayerError>(data, &spec, |_| Ok(()));
        }
    }
});
