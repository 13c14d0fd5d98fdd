//! A map layer file in CSV, with its latitude and longitude columns.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sentinel_geo::Crs;
use sentinel_geo::layers::{LayerError, LayerKind, LayerSpec, read_csv};

fuzz_target!(|data: &[u8]| {
    for kind in [
        LayerKind::Generic,
        LayerKind::Cameras,
        LayerKind::PatrolPoints,
    ] {
        let spec = LayerSpec::new(kind, Crs::Wgs84);
        let _ = read_csv::<_, LayerError>(data, &spec, "lat", "lon", |_| Ok(()));
    }
});
