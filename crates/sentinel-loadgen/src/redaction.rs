//! The redaction benchmark: per-photo time on one core for Full HD photos, the
//! throughput with every core busy, recall on the labelled set
//! (`sentinel_redact::testset`), and a 12000×9000 photo's time and memory.

use anyhow::Result;
use sentinel_redact::testset::{self, covered};
use sentinel_redact::{Detector, Edits, ModelSource, RegionKind, Settings, redact_photo};
use std::sync::Arc;
use std::time::Instant;

fn jpeg(img: &image::RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    img.write_with_encoder(image::codecs::jpeg::JpegEncoder::new_with_quality(
        &mut out, 90,
    ))
    .expect("encodes");
    out
}

/// CPU seconds this process has used (user + system).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // Fields 14 and 15 of the whole line are the 12th and 13th after the name.
    (ticks(11) + ticks(12)) / 100.0
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

pub fn run(photos: usize, recall_set: usize, threads: usize, settings: Settings) -> Result<()> {
    let t = Instant::now();
    println!("settings: {settings:?}");
    let detector = Arc::new(Detector::load(&ModelSource::Embedded, settings)?);
    println!("models loaded in {:.0} ms", t.elapsed().as_secs_f64() * 1e3);
    let scenes = testset::scenes(photos.max(recall_set), 1920, 1080, 42);
    let encoded: Vec<Vec<u8>> = scenes.iter().map(|s| jpeg(&s.image)).collect();
    // Warm-up: the face model's plan for this shape is prepared on first use.
    redact_photo(&encoded[0], &detector, &Edits::default())?;

    // One core: photo after photo on this thread.
    let mut times = Vec::new();
    let cpu0 = cpu_seconds();
    for bytes in encoded.iter().take(photos) {
        let t = Instant::now();
        redact_photo(bytes, &detector, &Edits::default())?;
        times.push(t.elapsed().as_secs_f64());
    }
    let cpu = cpu_seconds() - cpu0;
    let wall: f64 = times.iter().sum();
    let mut sorted = times.clone();
    sorted.sort_by(f64::total_cmp);
    println!(
        "1920x1080, one thread: median {:.0} ms, p90 {:.0} ms, max {:.0} ms over {} photos (CPU {:.2} s for {:.2} s wall: {:.2} cores)",
        median(times.clone()) * 1e3,
        sorted[sorted.len() * 9 / 10] * 1e3,
        sorted[sorted.len() - 1] * 1e3,
        times.len(),
        cpu,
        wall,
        cpu / wall
    );

    // Every core: `threads` workers sharing the photos.
    for n in [1, threads] {
        let t = Instant::now();
        let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let enc = Arc::new(encoded.iter().take(photos).cloned().collect::<Vec<_>>());
        let workers: Vec<_> = (0..n)
            .map(|_| {
                let (d, next, enc) = (detector.clone(), next.clone(), enc.clone());
                std::thread::spawn(move || {
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if i >= enc.len() {
                            break;
                        }
                        redact_photo(&enc[i], &d, &Edits::default()).expect("redacts");
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().expect("worker");
        }
        let secs = t.elapsed().as_secs_f64();
        println!(
            "throughput with {n} thread(s): {:.2} photos/s ({} photos in {:.1} s)",
            photos as f64 / secs,
            photos,
            secs
        );
    }

    // Recall on the labelled set.
    let (mut faces, mut plates) = ((0u32, 0u32), (0u32, 0u32));
    let (mut small_faces, mut small_plates) = ((0u32, 0u32), (0u32, 0u32));
    let mut blurred_boxes = 0usize;
    let mut truths = 0usize;
    for (s, bytes) in scenes.iter().zip(&encoded).take(recall_set) {
        let out = redact_photo(bytes, &detector, &Edits::default())?;
        blurred_boxes += out.regions.len();
        truths += s.truth.len();
        for t in &s.truth {
            let hit = u32::from(covered(t, &out.regions));
            let (all, small, limit) = match t.kind {
                RegionKind::Face => (&mut faces, &mut small_faces, 40),
                _ => (&mut plates, &mut small_plates, 100),
            };
            *all = (all.0 + hit, all.1 + 1);
            if t.w < limit {
                *small = (small.0 + hit, small.1 + 1);
            }
        }
    }
    let pct = |(a, b): (u32, u32)| 100.0 * f64::from(a) / f64::from(b.max(1));
    println!(
        "recall on {recall_set} labelled 1920x1080 photos: faces {}/{} ({:.1}%; 24-39 px: {}/{} {:.1}%), plates {}/{} ({:.1}%; 60-99 px: {}/{} {:.1}%); {} boxes blurred for {} true objects",
        faces.0,
        faces.1,
        pct(faces),
        small_faces.0,
        small_faces.1,
        pct(small_faces),
        plates.0,
        plates.1,
        pct(plates),
        small_plates.0,
        small_plates.1,
        pct(small_plates),
        blurred_boxes,
        truths
    );

    // A 12000×9000 photo: time and peak memory.
    let mut big = image::RgbImage::from_pixel(12_000, 9_000, image::Rgb([90, 110, 100]));
    let face = image::load_from_memory(testset::FACE)?.to_rgb8();
    let face = image::imageops::resize(&face, 1300, 1600, image::imageops::FilterType::Triangle);
    image::imageops::replace(&mut big, &face, 8_000, 5_000);
    let bytes = jpeg(&big);
    drop(big);
    let before = peak_rss_mb();
    let t = Instant::now();
    let out = redact_photo(&bytes, &detector, &Edits::default())?;
    println!(
        "12000x9000 ({:.1} MB JPEG): {:.2} s, {} boxes, peak memory {:.0} MB (before it {:.0} MB)",
        bytes.len() as f64 / 1e6,
        t.elapsed().as_secs_f64(),
        out.regions.len(),
        peak_rss_mb(),
        before
    );
    Ok(())
}
