//! Vector tiles for the command map, rendered from memory.
//!
//! [`ReportIndex`] keeps every report as a small record in an R-tree over Web
//! Mercator coordinates; the server fills it at start and keeps it current from
//! the change feed. A tile is a range query plus encoding: one point per report at
//! high zoom, H3 hexagon counts (and their centroids, for a heatmap) below it.
//! [`render_layer`] turns an imported layer's GeoJSON features into a tile, clipped
//! to the tile and its buffer.
//!
//! No I/O: callers hand records in and get bytes out.

mod layers;
mod points;
mod reports;
mod tile;

pub use layers::render_layer;
pub use reports::{Filter, POINT_ZOOM, PointRecord, ReportIndex, hex_resolution};
pub use tile::{EXTENT, MAX_ZOOM, TileError, TileId};
