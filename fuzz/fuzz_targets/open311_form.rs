//! Open311 arguments: a query string and a form body, repeated keys,
//! `attribute[code][]`, lists and W3C dates.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sentinel_core::open311::{Params, w3c, w3c_datetime};

fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|b| *b == b'?').unwrap_or(data.len());
    let query = std::str::from_utf8(&data[..split]).ok();
    let body = data.get(split + 1..).unwrap_or_default();
    let p = Params::parse(query, body);
    for key in [
        "service_code",
        "lat",
        "long",
        "media_url",
        "start_date",
        "end_date",
    ] {
        let _ = p.get(key);
        let _ = p.all(key);
        let _ = p.list(key);
        if let Some(v) = p.get(key)
            && let Ok(t) = w3c_datetime(v)
        {
            let _ = w3c(t);
        }
    }
    let _ = p.attributes();
});
