//! Photo intake. Privacy policy: a stored photo carries no EXIF metadata (no GPS,
//! no camera serial, no time); only the orientation survives, so the picture still
//! shows the right way up. Metadata is read first, because a report without a
//! location may take it from the photo.
//!
//! Safety policy: the type comes from the bytes, never the name; dimensions are
//! checked from the header before anything is decoded, and decoding runs under
//! memory limits, so a decompression bomb costs nothing.

mod exif_data;
pub mod phash;
mod strip;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

use image::{DynamicImage, ImageFormat, ImageReader, Limits};
use sentinel_geo::Point;
use sha2::{Digest, Sha256};
use std::io::Cursor;
use time::OffsetDateTime;

pub use exif_data::PhotoMetadata;

/// A photo format Sentinel accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhotoFormat {
    /// JPEG / JFIF / EXIF.
    Jpeg,
    /// PNG.
    Png,
    /// WebP (lossy or lossless).
    WebP,
}

impl PhotoFormat {
    /// The media type served back.
    pub fn mime(&self) -> &'static str {
        match self {
            PhotoFormat::Jpeg => "image/jpeg",
            PhotoFormat::Png => "image/png",
            PhotoFormat::WebP => "image/webp",
        }
    }

    /// The format from its media type, as stored.
    pub fn from_mime(mime: &str) -> Option<Self> {
        match mime {
            "image/jpeg" => Some(PhotoFormat::Jpeg),
            "image/png" => Some(PhotoFormat::Png),
            "image/webp" => Some(PhotoFormat::WebP),
            _ => None,
        }
    }

    fn image_format(&self) -> ImageFormat {
        match self {
            PhotoFormat::Jpeg => ImageFormat::Jpeg,
            PhotoFormat::Png => ImageFormat::Png,
            PhotoFormat::WebP => ImageFormat::WebP,
        }
    }

    /// The format, judged from the first bytes.
    pub fn sniff(data: &[u8]) -> Option<Self> {
        if data.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(PhotoFormat::Jpeg)
        } else if data.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(PhotoFormat::Png)
        } else if data.len() >= 12 && &data[0..4] == b"RIFF" && &data[8..12] == b"WEBP" {
            Some(PhotoFormat::WebP)
        } else {
            None
        }
    }
}

/// Limits on what is accepted.
#[derive(Debug, Clone, Copy)]
pub struct PhotoLimits {
    /// Largest file.
    pub max_bytes: usize,
    /// Largest width or height.
    pub max_dimension: u32,
    /// Largest width × height.
    pub max_pixels: u64,
    /// Most memory the decoder may allocate.
    pub max_decoded_bytes: u64,
}

impl Default for PhotoLimits {
    fn default() -> Self {
        PhotoLimits {
            max_bytes: 10 * 1024 * 1024,
            max_dimension: 12_000,
            // 50 megapixels covers every phone camera.
            max_pixels: 50_000_000,
            max_decoded_bytes: 512 * 1024 * 1024,
        }
    }
}

/// Why a photo was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PhotoError {
    /// Bigger than `max_bytes`.
    #[error("the photo is {size} bytes; the limit is {limit}")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// Not JPEG, PNG or WebP, whatever its name says.
    #[error("only JPEG, PNG and WebP photos are accepted; this file is not one")]
    UnsupportedType,
    /// Width or height beyond the limits (a decompression bomb, or a panorama too big to serve).
    #[error(
        "the photo is {width}×{height} pixels; the limit is {max_dimension} pixels a side and {max_pixels} in all"
    )]
    TooManyPixels {
        /// Declared width.
        width: u32,
        /// Declared height.
        height: u32,
        /// Limit per side.
        max_dimension: u32,
        /// Limit in all.
        max_pixels: u64,
    },
    /// It does not decode: corrupt or truncated.
    #[error("the photo is damaged or incomplete: {0}")]
    Corrupt(String),
}

/// A photo ready to store: metadata stripped, identified by its content.
#[derive(Debug, Clone)]
pub struct ProcessedPhoto {
    /// Hex sha256 of `bytes`: the same photo is stored once.
    pub id: String,
    /// Its format.
    pub format: PhotoFormat,
    /// Width as displayed (after orientation).
    pub width: u32,
    /// Height as displayed.
    pub height: u32,
    /// The file to store, without EXIF.
    pub bytes: Vec<u8>,
    /// What the EXIF said before it was removed.
    pub metadata: PhotoMetadata,
    /// Perceptual hash, for spotting near-identical photos.
    pub phash: u64,
}

fn decode_limits(limits: &PhotoLimits) -> Limits {
    let mut l = Limits::default();
    l.max_image_width = Some(limits.max_dimension);
    l.max_image_height = Some(limits.max_dimension);
    l.max_alloc = Some(limits.max_decoded_bytes);
    l
}

fn check_dimensions(width: u32, height: u32, limits: &PhotoLimits) -> Result<(), PhotoError> {
    if width == 0
        || height == 0
        || width > limits.max_dimension
        || height > limits.max_dimension
        || u64::from(width) * u64::from(height) > limits.max_pixels
    {
        return Err(PhotoError::TooManyPixels {
            width,
            height,
            max_dimension: limits.max_dimension,
            max_pixels: limits.max_pixels,
        });
    }
    Ok(())
}

fn decode(
    data: &[u8],
    format: PhotoFormat,
    limits: &PhotoLimits,
) -> Result<DynamicImage, PhotoError> {
    let header = ImageReader::with_format(Cursor::new(data), format.image_format());
    let (width, height) = header
        .into_dimensions()
        .map_err(|e| PhotoError::Corrupt(e.to_string()))?;
    check_dimensions(width, height, limits)?;
    let mut reader = ImageReader::with_format(Cursor::new(data), format.image_format());
    reader.limits(decode_limits(limits));
    reader
        .decode()
        .map_err(|e| PhotoError::Corrupt(e.to_string()))
}

/// Validates a JPEG by decoding every scan, in strict mode (errors the decoder could
/// paper over, such as a premature end or bad markers, are refused), to luminance
/// only: colour conversion proves nothing about the file and costs a quarter of the
/// time. Returns the coded dimensions.
fn validate_jpeg(data: &[u8], limits: &PhotoLimits) -> Result<(u32, u32, u64), PhotoError> {
    use zune_core::bytestream::ZCursor;
    use zune_core::colorspace::ColorSpace;
    use zune_core::options::DecoderOptions;
    let corrupt = |e: zune_jpeg::errors::DecodeErrors| PhotoError::Corrupt(e.to_string());
    let options = DecoderOptions::default()
        .set_strict_mode(true)
        .set_max_width(limits.max_dimension as usize)
        .set_max_height(limits.max_dimension as usize)
        .jpeg_set_out_colorspace(ColorSpace::Luma);
    let mut decoder = zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(data), options);
    let headers = decoder.decode_headers();
    let (w, h) = decoder
        .dimensions()
        .map(|(w, h)| {
            (
                u32::try_from(w).unwrap_or(u32::MAX),
                u32::try_from(h).unwrap_or(u32::MAX),
            )
        })
        .unwrap_or((0, 0));
    if w > 0 && h > 0 {
        check_dimensions(w, h, limits)?;
    }
    headers.map_err(corrupt)?;
    check_dimensions(w, h, limits)?;
    let luma = decoder.decode().map_err(corrupt)?;
    Ok((w, h, phash::dhash(&luma, w as usize, h as usize)))
}

/// Validates an uploaded photo and prepares it for storage.
pub fn process(data: &[u8], limits: &PhotoLimits) -> Result<ProcessedPhoto, PhotoError> {
    if data.len() > limits.max_bytes {
        return Err(PhotoError::TooLarge {
            size: data.len(),
            limit: limits.max_bytes,
        });
    }
    let format = PhotoFormat::sniff(data).ok_or(PhotoError::UnsupportedType)?;
    let metadata = PhotoMetadata::read(data);
    // Structure first (cheap, and catches truncation some decoders forgive), then pixels.
    let stripped = strip::strip_metadata(data, format, metadata.orientation)?;
    let (bytes, mut width, mut height, hash) = if format == PhotoFormat::Jpeg {
        let (w, h, hash) = validate_jpeg(data, limits)?;
        (stripped.unwrap_or_else(|| data.to_vec()), w, h, hash)
    } else {
        let mut img = decode(data, format, limits)?;
        let luma = img.to_luma8();
        let hash = phash::dhash(luma.as_raw(), luma.width() as usize, luma.height() as usize);
        let bytes = match stripped {
            Some(bytes) => bytes,
            // The format has no lossless way to keep the orientation: bake it in.
            None => {
                let orientation = image::metadata::Orientation::from_exif(metadata.orientation)
                    .unwrap_or(image::metadata::Orientation::NoTransforms);
                img.apply_orientation(orientation);
                let mut out = Cursor::new(Vec::new());
                img.write_to(&mut out, format.image_format())
                    .map_err(|e| PhotoError::Corrupt(e.to_string()))?;
                out.into_inner()
            }
        };
        (bytes, img.width(), img.height(), hash)
    };
    if format == PhotoFormat::Jpeg && (5..=8).contains(&metadata.orientation) {
        std::mem::swap(&mut width, &mut height);
    }
    let id = hex(&Sha256::digest(&bytes));
    Ok(ProcessedPhoto {
        id,
        format,
        width,
        height,
        bytes,
        metadata,
        phash: hash,
    })
}

/// A JPEG thumbnail of a stored photo, at most `max_side` pixels a side, the right
/// way up.
pub fn thumbnail(stored: &[u8], max_side: u32) -> Result<Vec<u8>, PhotoError> {
    let format = PhotoFormat::sniff(stored).ok_or(PhotoError::UnsupportedType)?;
    let orientation = PhotoMetadata::read(stored).orientation;
    let img = decode(
        stored,
        format,
        &PhotoLimits {
            max_bytes: usize::MAX,
            ..PhotoLimits::default()
        },
    )?;
    let mut thumb = img.thumbnail(max_side, max_side);
    if let Some(o) = image::metadata::Orientation::from_exif(orientation) {
        thumb.apply_orientation(o);
    }
    let rgb = DynamicImage::ImageRgb8(thumb.to_rgb8());
    let mut out = Cursor::new(Vec::new());
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80)
        .encode_image(&rgb)
        .map_err(|e| PhotoError::Corrupt(e.to_string()))?;
    Ok(out.into_inner())
}

/// Lower-case hex of a digest.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Position and time from a photo, for reports that lack them.
impl PhotoMetadata {
    /// The GPS position, if the photo had a valid one.
    pub fn location(&self) -> Option<Point> {
        self.gps
    }

    /// The capture time, if the photo had one.
    pub fn taken_at(&self) -> Option<OffsetDateTime> {
        self.taken_at
    }
}

#[cfg(test)]
mod tests;
