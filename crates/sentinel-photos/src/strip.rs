//! Lossless metadata removal by walking each format's container.
//!
//! JPEG keeps its compressed data untouched (no re-encoding, no quality loss);
//! only the orientation is carried over, in a minimal EXIF block of its own.

use crate::{PhotoError, PhotoFormat};

/// The photo without metadata, or `None` when the orientation has to be baked into
/// the pixels instead (PNG and WebP carrying a non-default orientation).
pub(crate) fn strip_metadata(
    data: &[u8],
    format: PhotoFormat,
    orientation: u8,
) -> Result<Option<Vec<u8>>, PhotoError> {
    match format {
        PhotoFormat::Jpeg => strip_jpeg(data, orientation).map(Some),
        PhotoFormat::Png if orientation == 1 => strip_png(data).map(Some),
        PhotoFormat::WebP if orientation == 1 => strip_webp(data).map(Some),
        _ => {
            // Still check the structure, so a truncated file is refused before decoding.
            match format {
                PhotoFormat::Png => strip_png(data)?,
                _ => strip_webp(data)?,
            };
            Ok(None)
        }
    }
}

fn corrupt(why: &str) -> PhotoError {
    PhotoError::Corrupt(why.to_owned())
}

/// A minimal big-endian EXIF APP1 segment holding only the orientation tag.
fn orientation_app1(orientation: u8) -> Vec<u8> {
    let mut tiff = Vec::new();
    tiff.extend_from_slice(b"MM\0\x2a\0\0\0\x08"); // header, IFD0 at offset 8
    tiff.extend_from_slice(&[0, 1]); // one entry
    tiff.extend_from_slice(&[0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, orientation, 0, 0]); // Orientation, SHORT, 1
    tiff.extend_from_slice(&[0, 0, 0, 0]); // no next IFD
    let mut seg = vec![0xFF, 0xE1];
    let len = (2 + 6 + tiff.len()) as u16;
    seg.extend_from_slice(&len.to_be_bytes());
    seg.extend_from_slice(b"Exif\0\0");
    seg.extend_from_slice(&tiff);
    seg
}

fn strip_jpeg(data: &[u8], orientation: u8) -> Result<Vec<u8>, PhotoError> {
    let mut out = Vec::with_capacity(data.len());
    out.extend_from_slice(&[0xFF, 0xD8]);
    let mut pos = 2;
    let mut wrote_orientation = orientation == 1;
    loop {
        // Markers may be padded with 0xFF fill bytes.
        while data.get(pos) == Some(&0xFF) && data.get(pos + 1) == Some(&0xFF) {
            pos += 1;
        }
        let (Some(&0xFF), Some(&marker)) = (data.get(pos), data.get(pos + 1)) else {
            return Err(corrupt("JPEG structure ends before the image data"));
        };
        if marker == 0xD9 {
            return Err(corrupt("JPEG has no image data"));
        }
        let len_bytes = data
            .get(pos + 2..pos + 4)
            .ok_or_else(|| corrupt("JPEG segment cut short"))?;
        let len = usize::from(u16::from_be_bytes([len_bytes[0], len_bytes[1]]));
        let end = pos + 2 + len;
        if len < 2 || end > data.len() {
            return Err(corrupt("JPEG segment runs past the end of the file"));
        }
        let payload = &data[pos + 4..end];
        let keep = match marker {
            0xE0 => true,                                  // JFIF
            0xE2 => payload.starts_with(b"ICC_PROFILE\0"), // colour profile, not MPF
            0xEE => true,                                  // Adobe colour transform
            0xE1 | 0xE3..=0xED | 0xEF | 0xFE => false,     // EXIF, XMP, IPTC, comments...
            _ => true,                                     // tables, frame headers
        };
        if !wrote_orientation && marker != 0xE0 {
            out.extend_from_slice(&orientation_app1(orientation));
            wrote_orientation = true;
        }
        if keep {
            out.extend_from_slice(&data[pos..end]);
        }
        pos = end;
        if marker == 0xDA {
            break;
        }
    }
    // From the first scan on, everything up to the end-of-image marker is image data
    // (in entropy-coded data 0xFF is always followed by 0x00 or a restart marker, so
    // the first FF D9 is the real end). Anything after it, such as the extra images
    // of a multi-picture file with their own EXIF, is dropped.
    let rest = &data[pos..];
    let eoi = rest
        .windows(2)
        .position(|w| w == [0xFF, 0xD9])
        .ok_or_else(|| corrupt("JPEG is truncated (no end-of-image marker)"))?;
    out.extend_from_slice(&rest[..eoi + 2]);
    Ok(out)
}

fn strip_png(data: &[u8]) -> Result<Vec<u8>, PhotoError> {
    let mut out = Vec::with_capacity(data.len());
    out.extend_from_slice(&data[..8]);
    let mut pos = 8;
    loop {
        let head = data
            .get(pos..pos + 8)
            .ok_or_else(|| corrupt("PNG is truncated"))?;
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let kind = &head[4..8];
        let end = pos
            .checked_add(12 + len)
            .filter(|e| *e <= data.len())
            .ok_or_else(|| corrupt("PNG is truncated"))?;
        // Text, time and EXIF chunks carry metadata; everything else draws the picture.
        if !matches!(kind, b"tEXt" | b"zTXt" | b"iTXt" | b"eXIf" | b"tIME") {
            out.extend_from_slice(&data[pos..end]);
        }
        pos = end;
        if kind == b"IEND" {
            return Ok(out);
        }
    }
}

fn strip_webp(data: &[u8]) -> Result<Vec<u8>, PhotoError> {
    let declared = u32::from_le_bytes([data[4], data[5], data[6], data[7]]) as usize;
    if declared + 8 > data.len() {
        return Err(corrupt("WebP is truncated"));
    }
    let mut body = Vec::with_capacity(declared);
    body.extend_from_slice(b"WEBP");
    let mut pos = 12;
    let end_of_riff = declared + 8;
    while pos < end_of_riff {
        let head = data
            .get(pos..pos + 8)
            .ok_or_else(|| corrupt("WebP is truncated"))?;
        let len = u32::from_le_bytes([head[4], head[5], head[6], head[7]]) as usize;
        let padded = len + (len & 1);
        let end = pos + 8 + padded;
        if end > end_of_riff {
            return Err(corrupt("WebP chunk runs past the end of the file"));
        }
        match &head[0..4] {
            b"EXIF" | b"XMP " => {}
            b"VP8X" => {
                let mut chunk = data[pos..end].to_vec();
                if let Some(flags) = chunk.get_mut(8) {
                    *flags &= !(0x08 | 0x04); // clear the EXIF and XMP flags
                }
                body.extend_from_slice(&chunk);
            }
            _ => body.extend_from_slice(&data[pos..end]),
        }
        pos = end;
    }
    let mut out = Vec::with_capacity(body.len() + 8);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&body);
    Ok(out)
}
