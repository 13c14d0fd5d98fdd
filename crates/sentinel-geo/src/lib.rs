//! Pure geometry for Sentinel. Nothing here does I/O or knows about HTTP or SQL.
//!
//! Chinese phone map SDKs report positions in GCJ-02 (Amap, Tencent) or BD-09
//! (Baidu). Sentinel stores every position as WGS-84, so conversion happens once,
//! at the boundary, through [`Point::from_crs`].

pub mod import;
pub mod jurisdiction;
pub mod layers;
pub mod synthetic;

pub use jurisdiction::{Jurisdiction, JurisdictionIndex, Level};

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A coordinate reference system a client may send positions in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Crs {
    /// GPS datum; what Sentinel stores.
    #[default]
    Wgs84,
    /// The obfuscated datum mandated for maps in mainland China.
    Gcj02,
    /// Baidu's further offset of GCJ-02.
    Bd09,
}

impl FromStr for Crs {
    type Err = GeoError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s
            .trim()
            .to_ascii_lowercase()
            .replace(['-', '_'], "")
            .as_str()
        {
            "wgs84" | "epsg4326" => Ok(Crs::Wgs84),
            "gcj02" => Ok(Crs::Gcj02),
            "bd09" | "bd09ll" => Ok(Crs::Bd09),
            _ => Err(GeoError::UnknownCrs(s.to_owned())),
        }
    }
}

impl fmt::Display for Crs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Crs::Wgs84 => "wgs84",
            Crs::Gcj02 => "gcj02",
            Crs::Bd09 => "bd09",
        })
    }
}

/// Why a position was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum GeoError {
    /// Latitude is NaN, infinite or outside [-90, 90].
    #[error("latitude must be a number between -90 and 90")]
    InvalidLatitude,
    /// Longitude is NaN, infinite or outside [-180, 180].
    #[error("longitude must be a number between -180 and 180")]
    InvalidLongitude,
    /// The `crs` names no system we know.
    #[error("unknown coordinate system {0:?}; use wgs84, gcj02 or bd09")]
    UnknownCrs(String),
}

/// A validated WGS-84 position. Only [`Point::new`] and [`Point::from_crs`] make one,
/// so every `Point` in the system is finite and in range.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Point {
    lat: f64,
    lon: f64,
}

impl Point {
    /// A WGS-84 point, refused when out of range or not finite.
    pub fn new(lat: f64, lon: f64) -> Result<Self, GeoError> {
        if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
            return Err(GeoError::InvalidLatitude);
        }
        if !lon.is_finite() || !(-180.0..=180.0).contains(&lon) {
            return Err(GeoError::InvalidLongitude);
        }
        Ok(Point { lat, lon })
    }

    /// A point given in `crs`, converted to WGS-84. Outside mainland China the
    /// Chinese datums coincide with WGS-84, so those positions pass unchanged.
    pub fn from_crs(lat: f64, lon: f64, crs: Crs) -> Result<Self, GeoError> {
        let given = Point::new(lat, lon)?;
        let (lon, lat) = match crs {
            Crs::Wgs84 => return Ok(given),
            Crs::Gcj02 => coordtransform::gcj02_to_wgs84(lon, lat),
            Crs::Bd09 => coordtransform::bd09_to_wgs84(lon, lat),
        };
        Point::new(lat, lon)
    }

    /// Latitude in degrees.
    pub fn lat(&self) -> f64 {
        self.lat
    }

    /// Longitude in degrees.
    pub fn lon(&self) -> f64 {
        self.lon
    }

    /// This point expressed in another datum (for clients that draw on Chinese maps).
    pub fn to_crs(&self, crs: Crs) -> (f64, f64) {
        let (lon, lat) = match crs {
            Crs::Wgs84 => (self.lon, self.lat),
            Crs::Gcj02 => coordtransform::wgs84_to_gcj02(self.lon, self.lat),
            Crs::Bd09 => coordtransform::wgs84_to_bd09(self.lon, self.lat),
        };
        (lat, lon)
    }

    /// Great-circle distance in metres (haversine on a mean-radius sphere).
    pub fn distance_m(&self, other: &Point) -> f64 {
        const R: f64 = 6_371_008.8;
        let (p1, p2) = (self.lat.to_radians(), other.lat.to_radians());
        let dp = p2 - p1;
        let dl = (other.lon - self.lon).to_radians();
        let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
        2.0 * R * a.sqrt().asin()
    }
}

/// A lon/lat box, as in `bbox=minLon,minLat,maxLon,maxLat`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BBox {
    /// West edge.
    pub min_lon: f64,
    /// South edge.
    pub min_lat: f64,
    /// East edge.
    pub max_lon: f64,
    /// North edge.
    pub max_lat: f64,
}

impl FromStr for BBox {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts: Vec<f64> = s
            .split(',')
            .map(|p| p.trim().parse::<f64>())
            .collect::<Result<_, _>>()
            .map_err(|_| "bbox must be four numbers: minLon,minLat,maxLon,maxLat".to_owned())?;
        let [min_lon, min_lat, max_lon, max_lat] = parts[..] else {
            return Err("bbox must be four numbers: minLon,minLat,maxLon,maxLat".to_owned());
        };
        Point::new(min_lat, min_lon).map_err(|e| e.to_string())?;
        Point::new(max_lat, max_lon).map_err(|e| e.to_string())?;
        if min_lon > max_lon || min_lat > max_lat {
            return Err("bbox minimum must not exceed its maximum".to_owned());
        }
        Ok(BBox {
            min_lon,
            min_lat,
            max_lon,
            max_lat,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Reference pairs published with the widely used coordtransform library
    // (wandergis/coordtransform README), input (lon 116.404, lat 39.915).
    const GCJ_TO_WGS: ((f64, f64), (f64, f64)) = (
        (39.915, 116.404),
        (39.913_595_718_498_36, 116.397_755_500_830_61),
    );
    const BD_TO_GCJ: ((f64, f64), (f64, f64)) = (
        (39.915, 116.404),
        (39.908_656_739_576_31, 116.397_627_291_193_15),
    );

    #[test]
    fn gcj02_reference_pair_converts_to_wgs84_within_a_metre() {
        let ((glat, glon), (wlat, wlon)) = GCJ_TO_WGS;
        let p = Point::from_crs(glat, glon, Crs::Gcj02).unwrap();
        let want = Point::new(wlat, wlon).unwrap();
        // The published value comes from the one-step inverse; ours is refined, so
        // they agree to within a metre rather than exactly.
        assert!(
            p.distance_m(&want) < 1.0,
            "off by {} m",
            p.distance_m(&want)
        );
    }

    #[test]
    fn bd09_reference_pair_converts_through_gcj02() {
        let ((blat, blon), (glat, glon)) = BD_TO_GCJ;
        let via_gcj = Point::from_crs(glat, glon, Crs::Gcj02).unwrap();
        let direct = Point::from_crs(blat, blon, Crs::Bd09).unwrap();
        assert!(
            direct.distance_m(&via_gcj) < 1.0,
            "off by {} m",
            direct.distance_m(&via_gcj)
        );
    }

    #[test]
    fn known_forward_transform_matches_published_value() {
        // The value documented with the reference implementation.
        let p = Point::new(39.915, 116.404).unwrap();
        let (lat, lon) = p.to_crs(Crs::Gcj02);
        assert!((lon - 116.410_244_499_169_38).abs() < 1e-9);
        assert!((lat - 39.916_404_281_501_64).abs() < 1e-9);
    }

    #[test]
    fn bd09_is_offset_from_gcj02_by_roughly_the_documented_amount() {
        // Baidu's offset from GCJ-02 is about 0.0065 lon / 0.006 lat near Beijing.
        let p = Point::new(39.915, 116.404).unwrap();
        let (glat, glon) = p.to_crs(Crs::Gcj02);
        let (blat, blon) = p.to_crs(Crs::Bd09);
        assert!((blon - glon - 0.0065).abs() < 0.002, "{}", blon - glon);
        assert!((blat - glat - 0.006).abs() < 0.002, "{}", blat - glat);
        let back = Point::from_crs(blat, blon, Crs::Bd09).unwrap();
        assert!(back.distance_m(&p) < 0.5);
    }

    #[test]
    fn outside_china_chinese_datums_are_identity() {
        let p = Point::from_crs(51.5, -0.12, Crs::Gcj02).unwrap();
        assert_eq!((p.lat(), p.lon()), (51.5, -0.12));
    }

    #[test]
    fn out_of_range_and_nan_are_refused() {
        assert_eq!(Point::new(f64::NAN, 0.0), Err(GeoError::InvalidLatitude));
        assert_eq!(Point::new(91.0, 0.0), Err(GeoError::InvalidLatitude));
        assert_eq!(Point::new(0.0, 180.5), Err(GeoError::InvalidLongitude));
        assert_eq!(
            Point::new(0.0, f64::INFINITY),
            Err(GeoError::InvalidLongitude)
        );
        assert!("mercator".parse::<Crs>().is_err());
        assert_eq!("GCJ-02".parse::<Crs>(), Ok(Crs::Gcj02));
    }

    #[test]
    fn bbox_parses_and_refuses_nonsense() {
        let b: BBox = "115.5,36.2,116.5,36.8".parse().unwrap();
        assert_eq!(b.max_lat, 36.8);
        assert!("1,2,3".parse::<BBox>().is_err());
        assert!("3,2,1,4".parse::<BBox>().is_err());
        assert!("a,b,c,d".parse::<BBox>().is_err());
    }

    proptest::proptest! {
        #[test]
        fn gcj02_round_trip_is_sub_metre_across_china(lat in 18.0f64..53.0, lon in 74.0f64..134.0) {
            let p = Point::new(lat, lon).unwrap();
            let (glat, glon) = p.to_crs(Crs::Gcj02);
            // At the edge of the region mask a shifted point can fall outside it and
            // is then (rightly) left alone; the round trip is promised inside.
            proptest::prop_assume!(coordtransform::is_in_gcj02_region(lon, lat) && coordtransform::is_in_gcj02_region(glon, glat));
            let back = Point::from_crs(glat, glon, Crs::Gcj02).unwrap();
            proptest::prop_assert!(back.distance_m(&p) < 0.5);
        }
    }
}
