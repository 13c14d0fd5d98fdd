//! Tile addresses and Web Mercator arithmetic.

/// Tile coordinate units per side (the MVT default).
pub const EXTENT: u32 = 4096;
/// Deepest zoom served.
pub const MAX_ZOOM: u8 = 20;
/// The Mercator limit: beyond it there are no tiles.
const MAX_LAT: f64 = 85.051_128_779_806_59;

/// Why a tile address is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TileError {
    /// Zoom outside 0..=MAX_ZOOM.
    #[error("zoom {0} is outside 0 to {MAX_ZOOM}")]
    Zoom(u32),
    /// x or y outside the zoom's grid.
    #[error("tile {x}/{y} does not exist at zoom {z} (0 to {max})")]
    Outside {
        /// Zoom.
        z: u8,
        /// Column.
        x: u32,
        /// Row.
        y: u32,
        /// Largest index at this zoom.
        max: u32,
    },
}

/// One XYZ tile (the slippy-map scheme: y grows southward).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TileId {
    /// Zoom.
    pub z: u8,
    /// Column.
    pub x: u32,
    /// Row.
    pub y: u32,
}

impl TileId {
    /// Checks an address.
    pub fn new(z: u32, x: u32, y: u32) -> Result<Self, TileError> {
        if z > u32::from(MAX_ZOOM) {
            return Err(TileError::Zoom(z));
        }
        let z8 = z as u8;
        let n = 1u32 << z;
        if x >= n || y >= n {
            return Err(TileError::Outside {
                z: z8,
                x,
                y,
                max: n - 1,
            });
        }
        Ok(TileId { z: z8, x, y })
    }

    /// Tiles per side at this zoom.
    pub fn scale(&self) -> f64 {
        f64::from(1u32 << self.z)
    }

    /// The tile's box in normalised Mercator units (0..1, y southward), grown by
    /// `buffer` tile units on each side.
    pub fn mercator_box(&self, buffer: f64) -> ([f64; 2], [f64; 2]) {
        let s = self.scale();
        let b = buffer / f64::from(EXTENT);
        (
            [(f64::from(self.x) - b) / s, (f64::from(self.y) - b) / s],
            [
                (f64::from(self.x) + 1.0 + b) / s,
                (f64::from(self.y) + 1.0 + b) / s,
            ],
        )
    }

    /// Normalised Mercator to this tile's integer coordinates.
    pub fn to_tile(&self, mx: f64, my: f64) -> (f64, f64) {
        let s = self.scale();
        let e = f64::from(EXTENT);
        (
            (mx * s - f64::from(self.x)) * e,
            (my * s - f64::from(self.y)) * e,
        )
    }

    /// The tile's box in degrees: (min_lon, min_lat, max_lon, max_lat).
    pub fn lonlat_box(&self, buffer: f64) -> (f64, f64, f64, f64) {
        let ([x0, y0], [x1, y1]) = self.mercator_box(buffer);
        let (w, n) = unproject(x0, y0);
        let (e, s) = unproject(x1, y1);
        (w, s, e, n)
    }
}

/// Longitude and latitude (degrees) to normalised Mercator (0..1, y southward).
pub fn project(lon: f64, lat: f64) -> (f64, f64) {
    let lat = lat.clamp(-MAX_LAT, MAX_LAT).to_radians();
    let x = (lon + 180.0) / 360.0;
    let y = (1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / std::f64::consts::PI) / 2.0;
    (x, y)
}

/// Normalised Mercator back to longitude and latitude.
pub fn unproject(x: f64, y: f64) -> (f64, f64) {
    let lon = x * 360.0 - 180.0;
    let n = std::f64::consts::PI * (1.0 - 2.0 * y);
    let lat = n.sinh().atan().to_degrees();
    (lon, lat)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_checked() {
        assert!(TileId::new(0, 0, 0).is_ok());
        assert!(TileId::new(21, 0, 0).is_err());
        assert_eq!(
            TileId::new(2, 4, 0).unwrap_err().to_string(),
            "tile 4/0 does not exist at zoom 2 (0 to 3)"
        );
    }

    #[test]
    fn projection_round_trips_and_matches_known_tiles() {
        let (x, y) = project(115.985, 36.44);
        let (lon, lat) = unproject(x, y);
        assert!((lon - 115.985).abs() < 1e-9 && (lat - 36.44).abs() < 1e-9);
        // Liaocheng lies in z12 tile 3367/1602 (the slippy-map formula, computed separately).
        assert_eq!(((x * 4096.0) as u32, (y * 4096.0) as u32), (3367, 1602));
    }
}
