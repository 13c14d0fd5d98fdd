//! The photo pipeline on any bytes: sniff the type, read the header, decode under
//! limits, read EXIF, strip metadata, and make a thumbnail of what was kept.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sentinel_photos::{PhotoLimits, process, thumbnail};

fuzz_target!(|data: &[u8]| {
    let limits = PhotoLimits::default();
    if let Ok(p) = process(data, &limits) {
        let _ = thumbnail(&p.bytes, 256);
    }
});
