//! Sample photos built in memory, for tests: real encoders, real EXIF.

use exif::experimental::Writer;
use exif::{Field, In, Rational, Tag, Value};
use image::{ImageEncoder, RgbImage};
use std::io::Cursor;

/// A colourful test picture (gradients compress like a photo, not like a flat fill).
pub fn picture(width: u32, height: u32, seed: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        let v = x
            .wrapping_mul(7)
            .wrapping_add(y.wrapping_mul(13))
            .wrapping_add(seed.wrapping_mul(101));
        image::Rgb([(x % 256) as u8, (y % 256) as u8, (v % 251) as u8])
    })
}

fn dms(value: f64) -> Vec<Rational> {
    let v = value.abs();
    let d = v.trunc();
    let m = ((v - d) * 60.0).trunc();
    let s = ((v - d) * 60.0 - m) * 60.0;
    vec![
        Rational {
            num: d as u32,
            denom: 1,
        },
        Rational {
            num: m as u32,
            denom: 1,
        },
        Rational {
            num: (s * 10_000.0).round() as u32,
            denom: 10_000,
        },
    ]
}

/// EXIF (TIFF bytes) with GPS, capture time, orientation and a camera serial.
pub fn exif_block(lat: f64, lon: f64, taken: &str, orientation: u16) -> Vec<u8> {
    let fields = [
        Field {
            tag: Tag::Orientation,
            ifd_num: In::PRIMARY,
            value: Value::Short(vec![orientation]),
        },
        Field {
            tag: Tag::BodySerialNumber,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![b"SERIAL-12345".to_vec()]),
        },
        Field {
            tag: Tag::DateTimeOriginal,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![taken.as_bytes().to_vec()]),
        },
        Field {
            tag: Tag::GPSLatitudeRef,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![if lat < 0.0 {
                b"S".to_vec()
            } else {
                b"N".to_vec()
            }]),
        },
        Field {
            tag: Tag::GPSLatitude,
            ifd_num: In::PRIMARY,
            value: Value::Rational(dms(lat)),
        },
        Field {
            tag: Tag::GPSLongitudeRef,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![if lon < 0.0 {
                b"W".to_vec()
            } else {
                b"E".to_vec()
            }]),
        },
        Field {
            tag: Tag::GPSLongitude,
            ifd_num: In::PRIMARY,
            value: Value::Rational(dms(lon)),
        },
    ];
    let mut w = Writer::new();
    for f in &fields {
        w.push_field(f);
    }
    let mut out = Cursor::new(Vec::new());
    w.write(&mut out, false).expect("EXIF writes to memory");
    out.into_inner()
}

/// A JPEG of about `width`×`height`, with the given EXIF (TIFF bytes) if any.
pub fn jpeg(width: u32, height: u32, seed: u32, exif: Option<Vec<u8>>, quality: u8) -> Vec<u8> {
    let img = picture(width, height, seed);
    let mut out = Cursor::new(Vec::new());
    let mut enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality);
    if let Some(e) = exif {
        enc.set_exif_metadata(e).expect("JPEG takes EXIF");
    }
    enc.write_image(img.as_raw(), width, height, image::ExtendedColorType::Rgb8)
        .expect("encodes");
    out.into_inner()
}

/// A PNG with a text chunk (metadata that must be stripped).
pub fn png_with_text(width: u32, height: u32) -> Vec<u8> {
    let img = picture(width, height, 3);
    let mut out = Cursor::new(Vec::new());
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(img.as_raw(), width, height, image::ExtendedColorType::Rgb8)
        .expect("encodes");
    let png = out.into_inner();
    // Insert a tEXt chunk after IHDR (8 signature + 25 IHDR).
    let text = b"Author\0Jane Citizen, 13800138000";
    let mut chunk = (text.len() as u32).to_be_bytes().to_vec();
    chunk.extend_from_slice(b"tEXt");
    chunk.extend_from_slice(text);
    let mut crc_input = b"tEXt".to_vec();
    crc_input.extend_from_slice(text);
    chunk.extend_from_slice(&crc32(&crc_input).to_be_bytes());
    let mut withtext = png[..33].to_vec();
    withtext.extend_from_slice(&chunk);
    withtext.extend_from_slice(&png[33..]);
    withtext
}

/// A lossless WebP.
pub fn webp(width: u32, height: u32) -> Vec<u8> {
    let img = picture(width, height, 5);
    let mut out = Cursor::new(Vec::new());
    image::codecs::webp::WebPEncoder::new_lossless(&mut out)
        .write_image(img.as_raw(), width, height, image::ExtendedColorType::Rgb8)
        .expect("encodes");
    out.into_inner()
}

/// A tiny PNG whose header claims `width`×`height`: a decompression bomb's calling card.
pub fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    let mut ihdr = width.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    for (kind, data) in [
        (&b"IHDR"[..], ihdr.as_slice()),
        (b"IDAT", &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]),
        (b"IEND", &[]),
    ] {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        let mut c = kind.to_vec();
        c.extend_from_slice(data);
        out.extend_from_slice(&crc32(&c).to_be_bytes());
    }
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for b in data {
        crc ^= u32::from(*b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}
