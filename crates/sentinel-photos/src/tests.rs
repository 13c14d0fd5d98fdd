use super::testing::*;
use super::*;

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn jpeg_exif_is_read_then_stripped_losslessly_keeping_orientation() {
    let exif = exif_block(36.456_7, 115.985_4, "2026:05:04 09:30:00", 6);
    let original = jpeg(640, 480, 1, Some(exif), 90);
    assert!(contains(&original, b"SERIAL-12345"));
    let p = process(&original, &PhotoLimits::default()).unwrap();
    let gps = p.metadata.location().unwrap();
    assert!((gps.lat() - 36.4567).abs() < 1e-5 && (gps.lon() - 115.9854).abs() < 1e-5);
    let taken = p.metadata.taken_at().unwrap();
    assert_eq!(taken.to_string(), "2026-05-04 9:30:00.0 +08:00:00");
    // Rotated 90°: displayed portrait.
    assert_eq!((p.width, p.height), (480, 640));
    assert!(!contains(&p.bytes, b"SERIAL-12345"));
    let after = PhotoMetadata::read(&p.bytes);
    assert_eq!(after.orientation, 6);
    assert!(after.location().is_none() && after.taken_at().is_none());
    // The compressed image data is untouched: the scan is byte-identical.
    let scan = |d: &[u8]| d[d.windows(2).position(|w| w == [0xFF, 0xDA]).unwrap()..].to_vec();
    assert_eq!(scan(&original), scan(&p.bytes));
    assert_eq!(p.format, PhotoFormat::Jpeg);
}

#[test]
fn the_same_photo_gets_the_same_id() {
    let a = process(&jpeg(200, 100, 9, None, 80), &PhotoLimits::default()).unwrap();
    let b = process(&jpeg(200, 100, 9, None, 80), &PhotoLimits::default()).unwrap();
    let c = process(&jpeg(200, 100, 10, None, 80), &PhotoLimits::default()).unwrap();
    assert_eq!(a.id, b.id);
    assert_ne!(a.id, c.id);
    assert_eq!(a.id.len(), 64);
}

#[test]
fn png_text_chunks_are_removed() {
    let original = png_with_text(64, 48);
    assert!(contains(&original, b"Jane Citizen"));
    let p = process(&original, &PhotoLimits::default()).unwrap();
    assert!(!contains(&p.bytes, b"Jane Citizen"));
    assert_eq!((p.width, p.height, p.format), (64, 48, PhotoFormat::Png));
    image::load_from_memory(&p.bytes).unwrap();
}

#[test]
fn webp_is_accepted() {
    let p = process(&webp(50, 40), &PhotoLimits::default()).unwrap();
    assert_eq!((p.width, p.height, p.format), (50, 40, PhotoFormat::WebP));
}

#[test]
fn a_pdf_named_like_a_photo_is_refused() {
    let pdf = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n".repeat(20);
    assert_eq!(
        process(&pdf, &PhotoLimits::default()).unwrap_err(),
        PhotoError::UnsupportedType
    );
    let elf = [&b"\x7fELF\x02\x01\x01"[..], &[0u8; 200]].concat();
    assert_eq!(
        process(&elf, &PhotoLimits::default()).unwrap_err(),
        PhotoError::UnsupportedType
    );
}

#[test]
fn truncated_and_corrupt_images_are_refused() {
    let good = jpeg(300, 200, 2, None, 85);
    let truncated = &good[..good.len() * 2 / 3];
    assert!(matches!(
        process(truncated, &PhotoLimits::default()),
        Err(PhotoError::Corrupt(_))
    ));
    let png = png_with_text(40, 40);
    assert!(matches!(
        process(&png[..png.len() - 20], &PhotoLimits::default()),
        Err(PhotoError::Corrupt(_))
    ));
    let mut garbage = good[..20].to_vec();
    garbage.extend(std::iter::repeat_n(0x55u8, 5000));
    assert!(matches!(
        process(&garbage, &PhotoLimits::default()),
        Err(PhotoError::Corrupt(_))
    ));
    let w = webp(30, 30);
    assert!(matches!(
        process(&w[..w.len() / 2], &PhotoLimits::default()),
        Err(PhotoError::Corrupt(_))
    ));
}

#[test]
fn a_decompression_bomb_is_refused_from_its_header() {
    let bomb = png_claiming(50_000, 50_000);
    assert!(bomb.len() < 100);
    assert!(matches!(
        process(&bomb, &PhotoLimits::default()),
        Err(PhotoError::TooManyPixels { width: 50_000, .. })
    ));
}

#[test]
fn an_oversized_file_is_refused_before_anything_else() {
    let limits = PhotoLimits {
        max_bytes: 1000,
        ..PhotoLimits::default()
    };
    let big = jpeg(300, 300, 1, None, 95);
    assert!(matches!(
        process(&big, &limits),
        Err(PhotoError::TooLarge { .. })
    ));
}

#[test]
fn thumbnails_are_small_jpegs_the_right_way_up() {
    let exif = exif_block(36.0, 116.0, "2026:01:01 00:00:00", 6);
    let p = process(&jpeg(800, 400, 4, Some(exif), 85), &PhotoLimits::default()).unwrap();
    let t = thumbnail(&p.bytes, 320).unwrap();
    let img = image::load_from_memory(&t).unwrap();
    // 800×400 turned upright is 400×800; scaled to fit 320.
    assert_eq!((img.width(), img.height()), (160, 320));
}
