//! A report sent as `multipart/form-data`, as the intake reads it: the framing by
//! multer (the parser axum's `Multipart` uses, same version), cut into chunks at
//! places the input chooses, then the `report` part parsed and checked against the
//! catalogue and each `photo` part sniffed, with the intake's part limits.
//!
//! Input layout: the first byte picks the chunk size, the next line (up to `\n`) is
//! the boundary, the rest is the body.
#![no_main]

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use sentinel_core::{Catalog, Channel, ParseContext, ReportInput};
use sentinel_photos::{PhotoFormat, PhotoLimits};

/// The intake's limits (`MAX_REPORT_PART` and the default photo count).
const MAX_REPORT_PART: usize = 256 * 1024;
const MAX_PHOTOS: usize = 5;

/// Every future here is ready at once (the body is in memory): poll to the end.
fn run<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

async fn read(data: &[u8]) {
    let Some((&size, rest)) = data.split_first() else {
        return;
    };
    let Some(nl) = rest.iter().position(|&b| b == b'\n') else {
        return;
    };
    let Ok(boundary) = std::str::from_utf8(&rest[..nl]) else {
        return;
    };
    let body = &rest[nl + 1..];
    let chunk = usize::from(size).max(1);
    let chunks: Vec<Result<Bytes, std::io::Error>> = body
        .chunks(chunk)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    let mut mp = multer::Multipart::new(futures_util::stream::iter(chunks), boundary);
    let (mut report, mut photos) = (None::<Vec<u8>>, 0usize);
    while let Ok(Some(mut field)) = mp.next_field().await {
        let (limit, is_report) = match field.name() {
            Some("report") if report.is_none() => (MAX_REPORT_PART, true),
            Some("photo") if photos < MAX_PHOTOS => (PhotoLimits::default().max_bytes, false),
            _ => return,
        };
        let mut buf = Vec::new();
        loop {
            match field.chunk().await {
                Ok(Some(c)) if buf.len() + c.len() <= limit => buf.extend_from_slice(&c),
                Ok(Some(_)) | Err(_) => return,
                Ok(None) => break,
            }
        }
        if is_report {
            report = Some(buf);
        } else {
            photos += 1;
            let _ = PhotoFormat::sniff(&buf);
        }
    }
    let Some(report) = report else {
        return;
    };
    let Ok(input) = serde_json::from_slice::<ReportInput>(&report) else {
        return;
    };
    let catalog = Catalog::builtin();
    let ctx = ParseContext {
        catalog: &catalog,
        photo_count: photos,
        exif_location: None,
        exif_time: None,
        channel: Channel::Api,
        account: None,
        staff: false,
    };
    let _ = input.parse(&ctx);
}

fuzz_target!(|data: &[u8]| run(read(data)));
