//! The labelled set recall is measured on: photos assembled from the fixtures
//! (`tests/fixtures/`, made by `scripts/redaction-fixtures.py`): a real face (NASA's
//! public-domain portrait of Eileen Collins) and drawn Chinese plates (blue, yellow
//! and green new-energy, invented numbers) pasted at known places and sizes onto a
//! real background photo (CC0), so every box is known exactly.

use crate::{Region, RegionKind};
use image::{Rgb, RgbImage};

/// The real portrait, as a JPEG.
pub const ASTRONAUT: &[u8] = include_bytes!("../tests/fixtures/astronaut.jpg");
/// The face cut from it.
pub const FACE: &[u8] = include_bytes!("../tests/fixtures/face.png");
/// A background with no face and no plate.
pub const COFFEE: &[u8] = include_bytes!("../tests/fixtures/coffee.jpg");
/// Drawn plates.
pub const PLATES: [&[u8]; 12] = [
    include_bytes!("../tests/fixtures/plates/plate0.png"),
    include_bytes!("../tests/fixtures/plates/plate1.png"),
    include_bytes!("../tests/fixtures/plates/plate2.png"),
    include_bytes!("../tests/fixtures/plates/plate3.png"),
    include_bytes!("../tests/fixtures/plates/plate4.png"),
    include_bytes!("../tests/fixtures/plates/plate5.png"),
    include_bytes!("../tests/fixtures/plates/plate6.png"),
    include_bytes!("../tests/fixtures/plates/plate7.png"),
    include_bytes!("../tests/fixtures/plates/plate8.png"),
    include_bytes!("../tests/fixtures/plates/plate9.png"),
    include_bytes!("../tests/fixtures/plates/green0.png"),
    include_bytes!("../tests/fixtures/plates/green1.png"),
];

fn load(bytes: &[u8]) -> RgbImage {
    image::load_from_memory(bytes).expect("fixture").to_rgb8()
}

/// A small deterministic generator (xorshift), so the set is the same everywhere.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn range(&mut self, lo: u32, hi: u32) -> u32 {
        lo + (self.next() % u64::from(hi - lo + 1)) as u32
    }
}

/// One labelled photo.
pub struct Scene {
    /// The picture.
    pub image: RgbImage,
    /// Where the faces and plates are.
    pub truth: Vec<Region>,
}

/// `n` photos of `width`×`height`, each with one to three faces 24–160 px wide (the face itself) and
/// one to three plates 60–300 px wide, tinted differently.
pub fn scenes(n: usize, width: u32, height: u32, seed: u64) -> Vec<Scene> {
    let face = load(FACE);
    let plates: Vec<RgbImage> = PLATES.iter().map(|b| load(b)).collect();
    let background = image::imageops::resize(
        &load(COFFEE),
        width,
        height,
        image::imageops::FilterType::Triangle,
    );
    let mut rng = Rng(seed.max(1));
    (0..n)
        .map(|i| {
            let mut img = background.clone();
            let tint = [rng.range(70, 130), rng.range(70, 130), rng.range(70, 130)];
            for p in img.pixels_mut() {
                *p = Rgb([0, 1, 2].map(|c| (u32::from(p[c]) * tint[c] / 100).min(255) as u8));
            }
            let mut truth: Vec<Region> = Vec::new();
            let mut place = |img: &mut RgbImage, sprite: &RgbImage, w: u32, kind, rng: &mut Rng| {
                let h = (w * sprite.height()).div_ceil(sprite.width());
                for _ in 0..50 {
                    let x = rng.range(0, width - w - 1);
                    let y = rng.range(0, height - h - 1);
                    let r = Region {
                        kind,
                        x,
                        y,
                        w,
                        h,
                        score: 1.0,
                    };
                    let apart = truth.iter().all(|t| {
                        x + w + 20 < t.x
                            || t.x + t.w + 20 < x
                            || y + h + 20 < t.y
                            || t.y + t.h + 20 < y
                    });
                    if apart {
                        let s = image::imageops::resize(
                            sprite,
                            w,
                            h,
                            image::imageops::FilterType::Triangle,
                        );
                        image::imageops::replace(img, &s, i64::from(x), i64::from(y));
                        truth.push(label(r));
                        return;
                    }
                }
            };
            for _ in 0..rng.range(1, 3) {
                // The sprite is half again as wide as the face in it: faces 24–160 px.
                let w = rng.range(37, 240);
                place(&mut img, &face, w, RegionKind::Face, &mut rng);
            }
            for k in 0..rng.range(1, 3) as usize {
                let w = rng.range(60, 300);
                let sprite = &plates[(i * 3 + k) % plates.len()];
                place(&mut img, sprite, w, RegionKind::Plate, &mut rng);
            }
            Scene { image: img, truth }
        })
        .collect()
}

/// The labelled box of a pasted sprite: a plate is the whole sprite; the face
/// sprite has hair and background around the face (brows to chin, ear to ear),
/// which is what a face detector is trained to box.
fn label(r: Region) -> Region {
    if r.kind != RegionKind::Face {
        return r;
    }
    let f = |v: u32, a: f32| (v as f32 * a).round() as u32;
    Region {
        x: r.x + f(r.w, 0.19),
        y: r.y + f(r.h, 0.22),
        w: f(r.w, 0.66),
        h: f(r.h, 0.72),
        ..r
    }
}

/// Whether the blurred boxes cover at least 80% of `truth`.
pub fn covered(truth: &Region, blurred: &[Region]) -> bool {
    let area = f64::from(truth.w) * f64::from(truth.h);
    let mut best = 0f64;
    for b in blurred {
        let x1 = truth.x.max(b.x);
        let y1 = truth.y.max(b.y);
        let x2 = (truth.x + truth.w).min(b.x + b.w);
        let y2 = (truth.y + truth.h).min(b.y + b.h);
        if x2 > x1 && y2 > y1 {
            best = best.max(f64::from(x2 - x1) * f64::from(y2 - y1) / area);
        }
    }
    best >= 0.8
}
