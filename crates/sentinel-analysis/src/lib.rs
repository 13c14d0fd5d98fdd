//! Analysis (研判): whether things got better, and where.
//!
//! Reports are held as [`Facts`], one column per attribute and rows in day order,
//! so a period is a contiguous slice and a trend over ten million reports is one
//! pass over a few narrow arrays. [`stats`] has the significance tests, [`period`]
//! the calendar of days, weeks, months, quarters and years in the city's time zone.
//! Everything here is pure: the server and the command line load the facts from
//! the store and ask.

mod facts;
mod hotspots;
pub mod period;
mod scores;
pub mod stats;
mod trends;

pub use facts::{
    CELL_RESOLUTION, CategoryInfo, Dimensions, Facts, JurisdictionInfo, Named, ReportFacts,
};
pub use hotspots::{Bucket, Cell, HotspotQuery, RESOLUTIONS, ResolveTimes, cells_geojson};
pub use period::{Period, PeriodKind};
pub use scores::{DepartmentScores, League, Rate, Scores};
pub use stats::Verdict;
pub use trends::{ALPHA, Change, GroupBy, TrendItem, Trends};

/// A question analysis cannot answer as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnalysisError {
    /// Bad parameters; the message says which and why.
    #[error("{0}")]
    BadInput(String),
}
