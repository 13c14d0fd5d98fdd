//! A report as the native API receives it: JSON bytes into `ReportInput`, then
//! checked against the built-in catalogue, as anonymous, signed-in and staff callers.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sentinel_core::{Catalog, Channel, ParseContext, ReportInput};

fuzz_target!(|data: &[u8]| {
    let Ok(input) = serde_json::from_slice::<ReportInput>(data) else {
        return;
    };
    let catalog = Catalog::builtin();
    for (account, staff) in [
        (None, false),
        (Some("s-fuzz".to_owned()), false),
        (None, true),
    ] {
        let ctx = ParseContext {
            catalog: &catalog,
            photo_count: data.len() % 6,
            exif_location: None,
            exif_time: None,
            channel: Channel::Api,
            account,
            staff,
        };
        let _ = input.clone().parse(&ctx);
    }
});
