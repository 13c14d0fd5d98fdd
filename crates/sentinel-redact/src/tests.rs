use super::testset::{self, ASTRONAUT, COFFEE};
use super::*;
use std::sync::OnceLock;

fn detector() -> &'static Detector {
    static D: OnceLock<Detector> = OnceLock::new();
    D.get_or_init(|| Detector::load(&ModelSource::Embedded, Settings::default()).expect("models"))
}

fn rgb(bytes: &[u8]) -> RgbImage {
    image::load_from_memory(bytes).unwrap().to_rgb8()
}

/// Mean absolute difference per channel inside (or outside) a box.
fn diff(a: &RgbImage, b: &RgbImage, r: &Region, inside: bool) -> f64 {
    let (mut sum, mut n) = (0f64, 0f64);
    for (x, y, p) in a.enumerate_pixels() {
        let within = x >= r.x && x < r.x + r.w && y >= r.y && y < r.y + r.h;
        if within != inside {
            continue;
        }
        let q = b.get_pixel(x, y);
        for c in 0..3 {
            sum += (f64::from(p[c]) - f64::from(q[c])).abs();
        }
        n += 3.0;
    }
    sum / n
}

fn jpeg(img: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    img.write_with_encoder(image::codecs::jpeg::JpegEncoder::new_with_quality(
        &mut out, 92,
    ))
    .unwrap();
    out
}

#[test]
fn the_astronauts_face_is_found_and_blurred_and_nothing_else_changes() {
    let out = redact_photo(ASTRONAUT, detector(), &Edits::default()).unwrap();
    let faces: Vec<_> = out
        .regions
        .iter()
        .filter(|r| r.kind == RegionKind::Face)
        .collect();
    assert_eq!(faces.len(), 1, "{:?}", out.regions);
    let f = faces[0];
    // Her face is around (180..280, 60..200) in the 512×512 portrait.
    assert!(
        f.x < 200 && f.x + f.w > 260 && f.y < 100 && f.y + f.h > 170,
        "{f:?}"
    );
    let (before, after) = (rgb(ASTRONAUT), rgb(&out.bytes));
    let inside = diff(&before, &after, f, true);
    let outside = diff(&before, &after, f, false);
    assert!(
        inside > 12.0,
        "the face region changed by only {inside:.1} per channel"
    );
    assert!(
        outside < 2.5,
        "the rest changed by {outside:.2} per channel"
    );
    assert_ne!(out.bytes, ASTRONAUT);
}

#[test]
fn a_photo_without_faces_or_plates_comes_back_unchanged() {
    let out = redact_photo(COFFEE, detector(), &Edits::default()).unwrap();
    assert!(out.regions.is_empty(), "{:?}", out.regions);
    assert_eq!(out.bytes, COFFEE);
}

#[test]
fn plates_near_and_far_are_found_in_a_full_hd_photo() {
    let scenes = testset::scenes(2, 1920, 1080, 11);
    for s in &scenes {
        let bytes = jpeg(&s.image);
        let out = redact_photo(&bytes, detector(), &Edits::default()).unwrap();
        for t in &s.truth {
            assert!(
                testset::covered(t, &out.regions),
                "{t:?} not covered by {:?}",
                out.regions
            );
        }
        let after = rgb(&out.bytes);
        for t in s.truth.iter().filter(|t| t.kind == RegionKind::Plate) {
            let d = diff(&s.image, &after, t, true);
            assert!(d > 10.0, "plate {t:?} changed by only {d:.1}");
        }
    }
}

#[test]
fn staff_edits_add_a_box_and_remove_a_false_one() {
    let auto = redact_photo(ASTRONAUT, detector(), &Edits::default()).unwrap();
    let face = auto.detected[0];
    let extra = Region {
        kind: RegionKind::Manual,
        x: 400,
        y: 400,
        w: 80,
        h: 60,
        score: 1.0,
    };
    let edits = Edits {
        added: vec![extra],
        removed: vec![face],
    };
    let out = redact_photo(ASTRONAUT, detector(), &edits).unwrap();
    assert_eq!(out.regions.len(), 1);
    assert_eq!(out.regions[0].kind, RegionKind::Manual);
    let (before, after) = (rgb(ASTRONAUT), rgb(&out.bytes));
    assert!(diff(&before, &after, &extra, true) > 3.0);
    assert!(
        diff(&before, &after, &face, true) < 3.0,
        "the removed face was blurred anyway"
    );
}

#[test]
fn a_huge_photo_is_searched_downscaled_and_boxes_map_back() {
    let mut big = RgbImage::from_pixel(12_000, 9_000, image::Rgb([90, 110, 100]));
    let face = rgb(testset::FACE);
    let face = image::imageops::resize(&face, 1300, 1600, image::imageops::FilterType::Triangle);
    image::imageops::replace(&mut big, &face, 8_000, 5_000);
    let bytes = jpeg(&big);
    drop(big);
    let out = redact_photo(&bytes, detector(), &Edits::default()).unwrap();
    assert_eq!((out.width, out.height), (12_000, 9_000));
    let f = out
        .regions
        .iter()
        .find(|r| r.kind == RegionKind::Face)
        .expect("a face");
    assert!(
        f.x > 7_700 && f.x < 8_500 && f.y > 4_800 && f.y < 5_700,
        "{f:?}"
    );
}

#[test]
fn the_exif_orientation_is_applied_to_the_copy() {
    let exif = sentinel_photos::testing::exif_block(36.45, 115.98, "2026:05:01 10:00:00", 6);
    let bytes = sentinel_photos::testing::jpeg(300, 200, 3, Some(exif), 90);
    let out = redact_photo(&bytes, detector(), &Edits::default()).unwrap();
    assert_eq!((out.width, out.height), (200, 300));
    assert_eq!(rgb(&out.bytes).dimensions(), (200, 300));
}

#[test]
fn a_corrupt_model_is_refused_at_load() {
    let dir = std::env::temp_dir().join(format!("sentinel-models-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(FACE_FILE), &FACE_MODEL[..FACE_MODEL.len() / 2]).unwrap();
    std::fs::write(dir.join(PLATE_FILE), PLATE_MODEL).unwrap();
    let err = Detector::load(&ModelSource::Folder(dir.clone()), Settings::default()).unwrap_err();
    assert!(
        matches!(err, RedactError::Model { what: "face", .. }),
        "{err}"
    );
    std::fs::remove_file(dir.join(FACE_FILE)).unwrap();
    let err = Detector::load(&ModelSource::Folder(dir.clone()), Settings::default()).unwrap_err();
    assert!(err.to_string().contains("centerface.onnx"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn recall_on_the_labelled_set_is_at_least_ninety_percent() {
    let (mut faces, mut plates) = ((0, 0), (0, 0));
    for s in testset::scenes(6, 1920, 1080, 5) {
        let out = redact_photo(&jpeg(&s.image), detector(), &Edits::default()).unwrap();
        for t in &s.truth {
            let hit = testset::covered(t, &out.regions) as u32;
            if hit == 0 {
                eprintln!("missed {t:?}; blurred {:?}", out.regions);
            }
            match t.kind {
                RegionKind::Face => faces = (faces.0 + hit, faces.1 + 1),
                _ => plates = (plates.0 + hit, plates.1 + 1),
            }
        }
    }
    assert!(faces.0 * 10 >= faces.1 * 9, "faces {faces:?}");
    assert!(plates.0 * 10 >= plates.1 * 9, "plates {plates:?}");
}
