//! Reading the few EXIF facts Sentinel uses before the metadata is removed.

use exif::{In, Reader, Tag, Value};
use sentinel_geo::Point;
use std::io::Cursor;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// What a photo's EXIF says that a report can use.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PhotoMetadata {
    /// GPS position, when present and valid.
    pub(crate) gps: Option<Point>,
    /// Capture time. Cameras rarely record a time zone; without one, China
    /// Standard Time (UTC+8) is assumed, the zone Sentinel's cities live in.
    pub(crate) taken_at: Option<OffsetDateTime>,
    /// EXIF orientation, 1 to 8 (1 when absent).
    pub orientation: u8,
}

impl PhotoMetadata {
    /// Reads what it can; a photo without EXIF, or with broken EXIF, simply has none.
    pub fn read(data: &[u8]) -> PhotoMetadata {
        let none = PhotoMetadata {
            gps: None,
            taken_at: None,
            orientation: 1,
        };
        let Ok(exif) = Reader::new().read_from_container(&mut Cursor::new(data)) else {
            return none;
        };
        let orientation = exif
            .get_field(Tag::Orientation, In::PRIMARY)
            .and_then(|f| f.value.get_uint(0))
            .filter(|o| (1..=8).contains(o))
            .map_or(1, |o| o as u8);
        PhotoMetadata {
            gps: gps(&exif),
            taken_at: taken_at(&exif),
            orientation,
        }
    }
}

fn degrees(exif: &exif::Exif, tag: Tag, reference: Tag, negative: u8) -> Option<f64> {
    let Value::Rational(parts) = &exif.get_field(tag, In::PRIMARY)?.value else {
        return None;
    };
    let [d, m, s] = parts.get(..3)? else {
        return None;
    };
    let value = d.to_f64() + m.to_f64() / 60.0 + s.to_f64() / 3600.0;
    let sign = match &exif.get_field(reference, In::PRIMARY)?.value {
        Value::Ascii(v) if v.first().and_then(|r| r.first()) == Some(&negative) => -1.0,
        _ => 1.0,
    };
    value.is_finite().then_some(sign * value)
}

fn gps(exif: &exif::Exif) -> Option<Point> {
    let lat = degrees(exif, Tag::GPSLatitude, Tag::GPSLatitudeRef, b'S')?;
    let lon = degrees(exif, Tag::GPSLongitude, Tag::GPSLongitudeRef, b'W')?;
    // 0,0 is what broken GPS chips write; nobody reports a hazard in the Gulf of Guinea.
    if lat == 0.0 && lon == 0.0 {
        return None;
    }
    Point::new(lat, lon).ok()
}

fn ascii(exif: &exif::Exif, tag: Tag) -> Option<&[u8]> {
    match &exif.get_field(tag, In::PRIMARY)?.value {
        Value::Ascii(v) => v.first().map(Vec::as_slice),
        _ => None,
    }
}

fn taken_at(exif: &exif::Exif) -> Option<OffsetDateTime> {
    let raw = ascii(exif, Tag::DateTimeOriginal).or_else(|| ascii(exif, Tag::DateTime))?;
    let mut dt = exif::DateTime::from_ascii(raw).ok()?;
    if let Some(offset) = ascii(exif, Tag::OffsetTimeOriginal) {
        let _ = dt.parse_offset(offset);
    }
    let date =
        Date::from_calendar_date(i32::from(dt.year), Month::try_from(dt.month).ok()?, dt.day)
            .ok()?;
    let clock = Time::from_hms(dt.hour, dt.minute, dt.second).ok()?;
    let minutes = i32::from(dt.offset.unwrap_or(8 * 60));
    let offset = UtcOffset::from_whole_seconds(minutes * 60).ok()?;
    Some(PrimitiveDateTime::new(date, clock).assume_offset(offset))
}
