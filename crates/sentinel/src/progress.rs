//! Progress on the terminal for the long commands (demo build, exports, moves),
//! on standard error so standard output stays the command's answer.

use indicatif::{ProgressBar, ProgressStyle};

/// A bar for `len` steps of `what`.
pub fn bar(len: u64, what: &str) -> ProgressBar {
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template("{msg:>14} [{bar:40}] {pos}/{len} ({per_sec}, {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    pb.set_message(what.to_owned());
    pb
}

/// A running count of rows when the total is not known in advance.
pub fn counter(what: &str) -> ProgressBar {
    let pb = ProgressBar::new_spinner();
    pb.set_style(
        ProgressStyle::with_template("{spinner} {msg} {pos} rows ({per_sec}, {elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    pb.set_message(what.to_owned());
    pb
}

/// The city's offset from UTC, shared by `serve` and `stats`.
#[derive(clap::Args, Clone, Copy)]
pub struct OffsetArg {
    /// The city's offset from UTC in hours: analysis counts days, weeks and months
    /// in it (China: 8, all year).
    #[arg(
        long,
        env = "SENTINEL_UTC_OFFSET",
        default_value_t = 8,
        allow_hyphen_values = true
    )]
    utc_offset: i8,
}

impl OffsetArg {
    /// As a `time` offset.
    pub fn offset(&self) -> anyhow::Result<time::UtcOffset> {
        use anyhow::Context;
        time::UtcOffset::from_hms(self.utc_offset, 0, 0)
            .context("--utc-offset must be between -25 and 25 hours")
    }
}
