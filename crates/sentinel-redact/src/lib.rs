//! Privacy redaction: every photo the public sees has its faces and licence plates
//! blurred first. The detectors are ONNX models embedded in the binary (CenterFace
//! for faces, HyperLPR's YOLOv5 for Chinese plates; licences and provenance in
//! `models/README.md`), run by `tract` in pure Rust, so redaction works offline on
//! any machine the server runs on.
//!
//! Policy: detection runs on a downscaled copy (a 12000×9000 photo costs the same
//! as a 1280-pixel one) and large photos are also looked at in overlapping tiles, so
//! a small plate far away is found; boxes are mapped back to the full picture,
//! enlarged, and pixelated then blurred, which leaves nothing to recover. A photo
//! where nothing is found and that needs no rotation is returned byte for byte.

mod blur;
mod faces;
mod plates;
#[cfg(any(test, feature = "testing"))]
pub mod testset;

use image::{DynamicImage, ImageDecoder, ImageReader, Limits, RgbImage};
use serde::{Deserialize, Serialize};
use std::io::Cursor;
use std::sync::Arc;
use tract_onnx::prelude::*;

pub use blur::apply;

/// The face detector as shipped (CenterFace, MIT).
pub const FACE_MODEL: &[u8] = include_bytes!("../models/faces/centerface.onnx");
/// The plate detector as shipped (HyperLPR YOLOv5 at 640 px, Apache-2.0).
pub const PLATE_MODEL: &[u8] = include_bytes!("../models/plates/y5fu_640x_sim.onnx");
/// File names looked for when models are loaded from a folder instead.
pub const FACE_FILE: &str = "centerface.onnx";
/// See [`FACE_FILE`].
pub const PLATE_FILE: &str = "plates.onnx";

/// Why a photo could not be redacted, or the detectors could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum RedactError {
    /// A model file is missing, corrupt or not the network expected.
    #[error("the {what} model cannot be used: {reason}")]
    Model {
        /// Which model.
        what: &'static str,
        /// What went wrong.
        reason: String,
    },
    /// The photo cannot be decoded (or is beyond the limits).
    #[error("the photo cannot be read: {0}")]
    Photo(String),
    /// Inference failed on a well-formed input (a bug or a model mismatch).
    #[error("detection failed: {0}")]
    Inference(String),
    /// The redacted photo could not be written.
    #[error("the redacted photo cannot be written: {0}")]
    Encode(String),
}

/// What a box covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegionKind {
    /// A face the detector found.
    Face,
    /// A licence plate the detector found.
    Plate,
    /// A box a member of staff drew.
    Manual,
}

/// A rectangle in the pixels of the photo as displayed (orientation applied).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Region {
    /// What it covers.
    pub kind: RegionKind,
    /// Left edge.
    pub x: u32,
    /// Top edge.
    pub y: u32,
    /// Width.
    pub w: u32,
    /// Height.
    pub h: u32,
    /// The detector's confidence (1 for manual boxes).
    pub score: f32,
}

impl Region {
    /// Intersection over union with another box.
    pub fn iou(&self, o: &Region) -> f32 {
        let x1 = self.x.max(o.x);
        let y1 = self.y.max(o.y);
        let x2 = (self.x + self.w).min(o.x + o.w);
        let y2 = (self.y + self.h).min(o.y + o.h);
        if x2 <= x1 || y2 <= y1 {
            return 0.0;
        }
        let inter = f64::from(x2 - x1) * f64::from(y2 - y1);
        let union = f64::from(self.w) * f64::from(self.h) + f64::from(o.w) * f64::from(o.h) - inter;
        (inter / union) as f32
    }

    /// This box grown by `factor` around its centre, kept inside `width`×`height`.
    pub fn enlarged(&self, factor: f32, width: u32, height: u32) -> Region {
        let cx = self.x as f32 + self.w as f32 / 2.0;
        let cy = self.y as f32 + self.h as f32 / 2.0;
        let w = self.w as f32 * factor;
        let h = self.h as f32 * factor;
        let x0 = (cx - w / 2.0).max(0.0);
        let y0 = (cy - h / 2.0).max(0.0);
        let x1 = (cx + w / 2.0).min(width as f32);
        let y1 = (cy + h / 2.0).min(height as f32);
        Region {
            x: x0 as u32,
            y: y0 as u32,
            w: (x1 - x0).max(1.0).round() as u32,
            h: (y1 - y0).max(1.0).round() as u32,
            ..*self
        }
    }
}

/// Thresholds and sizes; the defaults were chosen on the labelled set described in
/// `docs/PRIVACY.md`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// A face heat-map peak above this is a face.
    pub face_threshold: f32,
    /// A plate candidate above this is a plate.
    pub plate_threshold: f32,
    /// The longer side of the picture the face detector sees.
    pub face_side: u32,
    /// Photos whose longer side exceeds this are also searched for plates in 2×2
    /// overlapping tiles.
    pub tile_above: u32,
    /// Boxes are grown by this factor before blurring (a detector's box is tight).
    pub enlarge: f32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            face_threshold: 0.25,
            plate_threshold: 0.25,
            face_side: 1280,
            tile_above: 960,
            enlarge: 1.3,
        }
    }
}

/// Where the detectors come from.
#[derive(Debug, Clone)]
pub enum ModelSource {
    /// The models embedded in the binary.
    Embedded,
    /// `centerface.onnx` and `plates.onnx` in this folder (a model update without a
    /// new binary).
    Folder(std::path::PathBuf),
}

type Plan = Arc<TypedRunnableModel>;

/// Both detectors, ready to run. Cheap to share between threads; each call runs on
/// the caller's thread.
pub struct Detector {
    settings: Settings,
    faces: faces::FaceModel,
    plates: Plan,
    /// Names the models, so a redaction records what made it.
    pub models: String,
}

impl std::fmt::Debug for Detector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Detector")
            .field("models", &self.models)
            .field("settings", &self.settings)
            .finish()
    }
}

fn model_error(what: &'static str) -> impl Fn(TractError) -> RedactError {
    move |e| RedactError::Model {
        what,
        reason: format!("{e:#}"),
    }
}

impl Detector {
    /// Loads and checks both models: a corrupt or wrong file fails here, at start,
    /// never later on a photo.
    pub fn load(source: &ModelSource, settings: Settings) -> Result<Detector, RedactError> {
        let (face_bytes, plate_bytes, models) = match source {
            ModelSource::Embedded => (
                FACE_MODEL.to_vec(),
                PLATE_MODEL.to_vec(),
                "centerface+y5fu_640x (embedded)".to_string(),
            ),
            ModelSource::Folder(dir) => {
                let read = |name: &str, what: &'static str| {
                    std::fs::read(dir.join(name)).map_err(|e| RedactError::Model {
                        what,
                        reason: format!("{}: {e}", dir.join(name).display()),
                    })
                };
                (
                    read(FACE_FILE, "face")?,
                    read(PLATE_FILE, "plate")?,
                    format!("{FACE_FILE}+{PLATE_FILE} from {}", dir.display()),
                )
            }
        };
        let faces = faces::FaceModel::new(&face_bytes)?;
        let plates = plates::prepare(&plate_bytes)?;
        let d = Detector {
            settings,
            faces,
            plates,
            models,
        };
        // Run both once on a blank picture: a model that parses but does not have
        // the expected outputs is refused now.
        d.detect(&RgbImage::new(64, 48))?;
        Ok(d)
    }

    /// The settings in use.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Faces and plates in `img`, as boxes in its pixels (not yet enlarged). A
    /// photo larger than [`WORKING_SIDE`] is searched in a copy of that size and the
    /// boxes scaled back, so time and memory stay bounded whatever its size.
    pub fn detect(&self, img: &RgbImage) -> Result<Vec<Region>, RedactError> {
        let (w, h) = img.dimensions();
        let long = w.max(h);
        if long <= WORKING_SIDE {
            return self.detect_in(img);
        }
        let k = WORKING_SIDE as f32 / long as f32;
        let small = image::imageops::resize(
            img,
            ((w as f32 * k).round() as u32).max(1),
            ((h as f32 * k).round() as u32).max(1),
            image::imageops::FilterType::Triangle,
        );
        let back = |v: u32| (v as f32 / k).round() as u32;
        Ok(self
            .detect_in(&small)?
            .into_iter()
            .map(|r| Region {
                x: back(r.x).min(w - 1),
                y: back(r.y).min(h - 1),
                w: back(r.w).max(1).min(w - back(r.x).min(w - 1)),
                h: back(r.h).max(1).min(h - back(r.y).min(h - 1)),
                ..r
            })
            .collect())
    }

    fn detect_in(&self, img: &RgbImage) -> Result<Vec<Region>, RedactError> {
        let mut found = self.faces.detect(img, &self.settings)?;
        found.extend(plates::detect(&self.plates, img, &self.settings)?);
        Ok(found)
    }
}

/// Staff corrections applied on top of what the detectors find.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Edits {
    /// Boxes to blur that the detectors missed.
    #[serde(default)]
    pub added: Vec<Region>,
    /// Detections that were wrong: a found box overlapping one of these by half or
    /// more is left alone.
    #[serde(default)]
    pub removed: Vec<Region>,
}

/// A redacted copy.
#[derive(Debug, Clone)]
pub struct Redacted {
    /// The encoded picture.
    pub bytes: Vec<u8>,
    /// Its media type.
    pub mime: &'static str,
    /// What was blurred (after edits), in the copy's pixels.
    pub regions: Vec<Region>,
    /// What the detectors found, before edits.
    pub detected: Vec<Region>,
    /// Size of the copy.
    pub width: u32,
    /// See `width`.
    pub height: u32,
}

/// Photos are searched at most this large (longer side); larger ones in a copy.
pub const WORKING_SIDE: u32 = 2560;

/// The largest photo redaction will decode (pixels); larger ones are refused.
pub const MAX_PIXELS: u64 = 120_000_000;

/// Decodes a stored photo, applies its EXIF orientation, finds faces and plates,
/// applies the staff's edits and blurs. A photo with nothing to blur and no
/// rotation comes back as the same bytes.
pub fn redact_photo(
    bytes: &[u8],
    detector: &Detector,
    edits: &Edits,
) -> Result<Redacted, RedactError> {
    let (img, format, rotated) = decode(bytes)?;
    let (width, height) = img.dimensions();
    let detected = detector.detect(&img)?;
    let regions = chosen(&detected, edits, detector.settings.enlarge, width, height);
    if regions.is_empty() && !rotated {
        return Ok(Redacted {
            bytes: bytes.to_vec(),
            mime: mime(format),
            regions,
            detected,
            width,
            height,
        });
    }
    let mut img = img;
    apply(&mut img, &regions);
    let (bytes, mime) = encode(&img, format)?;
    Ok(Redacted {
        bytes,
        mime,
        regions,
        detected,
        width,
        height,
    })
}

/// The boxes to blur: detections not removed by staff, enlarged, and the staff's
/// own boxes.
pub fn chosen(
    detected: &[Region],
    edits: &Edits,
    enlarge: f32,
    width: u32,
    height: u32,
) -> Vec<Region> {
    let mut out: Vec<Region> = detected
        .iter()
        .filter(|d| !edits.removed.iter().any(|r| r.iou(d) >= 0.5))
        .map(|d| d.enlarged(enlarge, width, height))
        .collect();
    out.extend(edits.added.iter().filter_map(|a| {
        let x = a.x.min(width);
        let y = a.y.min(height);
        let w = a.w.min(width - x);
        let h = a.h.min(height - y);
        (w > 0 && h > 0).then_some(Region {
            kind: RegionKind::Manual,
            x,
            y,
            w,
            h,
            score: 1.0,
        })
    }));
    out
}

fn mime(format: image::ImageFormat) -> &'static str {
    match format {
        image::ImageFormat::Png => "image/png",
        _ => "image/jpeg",
    }
}

/// Decodes under limits and turns the picture the way it is meant to be seen.
fn decode(bytes: &[u8]) -> Result<(RgbImage, image::ImageFormat, bool), RedactError> {
    let err = |e: image::ImageError| RedactError::Photo(e.to_string());
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| RedactError::Photo(e.to_string()))?;
    let format = reader
        .format()
        .ok_or_else(|| RedactError::Photo("not a JPEG, PNG or WebP picture".into()))?;
    let mut limits = Limits::default();
    limits.max_alloc = Some(MAX_PIXELS * 4 + (64 << 20));
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(err)?;
    let (w, h) = decoder.dimensions();
    if u64::from(w) * u64::from(h) > MAX_PIXELS {
        return Err(RedactError::Photo(format!(
            "{w}×{h} is more than {MAX_PIXELS} pixels"
        )));
    }
    let orientation = decoder.orientation().map_err(err)?;
    let mut img = DynamicImage::from_decoder(decoder).map_err(err)?;
    let rotated = orientation != image::metadata::Orientation::NoTransforms;
    img.apply_orientation(orientation);
    let img = match img {
        DynamicImage::ImageRgb8(i) => i,
        other => other.to_rgb8(),
    };
    Ok((img, format, rotated))
}

/// JPEG stays JPEG (quality 92: the untouched parts stay visually the same), PNG
/// stays PNG, WebP becomes JPEG.
fn encode(
    img: &RgbImage,
    format: image::ImageFormat,
) -> Result<(Vec<u8>, &'static str), RedactError> {
    let mut out = Vec::new();
    let err = |e: image::ImageError| RedactError::Encode(e.to_string());
    if format == image::ImageFormat::Png {
        img.write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
            .map_err(err)?;
        return Ok((out, "image/png"));
    }
    let enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 92);
    img.write_with_encoder(enc).map_err(err)?;
    Ok((out, "image/jpeg"))
}

/// Greedy non-maximum suppression: keeps the best of boxes overlapping by more
/// than `iou`.
pub(crate) fn suppress(mut boxes: Vec<Region>, iou: f32) -> Vec<Region> {
    boxes.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut kept: Vec<Region> = Vec::new();
    for b in boxes {
        if kept.iter().all(|k| k.iou(&b) <= iou) {
            kept.push(b);
        }
    }
    kept
}

/// Resizes `img` to fit in `w`×`h` keeping its shape, then places it at the top
/// left of a canvas of exactly that size; returns the canvas and the scale.
pub(crate) fn fit(img: &RgbImage, w: u32, h: u32, fill: u8) -> (RgbImage, f32) {
    let (iw, ih) = img.dimensions();
    let scale = (w as f32 / iw as f32).min(h as f32 / ih as f32).min(1.0);
    let nw = ((iw as f32 * scale).round() as u32).clamp(1, w);
    let nh = ((ih as f32 * scale).round() as u32).clamp(1, h);
    let resized;
    let src = if (nw, nh) == (iw, ih) {
        img
    } else {
        resized = image::imageops::resize(img, nw, nh, image::imageops::FilterType::Triangle);
        &resized
    };
    let mut canvas = RgbImage::from_pixel(w, h, image::Rgb([fill, fill, fill]));
    image::imageops::replace(&mut canvas, src, 0, 0);
    (canvas, nw as f32 / iw as f32)
}

/// The picture as a [1, 3, h, w] tensor, each value multiplied by `scale`.
pub(crate) fn tensor(img: &RgbImage, scale: f32) -> Tensor {
    let (w, h) = img.dimensions();
    let (w, h) = (w as usize, h as usize);
    let raw = img.as_raw();
    let mut data = vec![0f32; 3 * w * h];
    let plane = w * h;
    for (i, px) in raw.chunks_exact(3).enumerate() {
        data[i] = f32::from(px[0]) * scale;
        data[plane + i] = f32::from(px[1]) * scale;
        data[2 * plane + i] = f32::from(px[2]) * scale;
    }
    tract_ndarray::Array4::from_shape_vec((1, 3, h, w), data)
        .expect("the shape matches the data")
        .into()
}

#[cfg(test)]
mod tests;
