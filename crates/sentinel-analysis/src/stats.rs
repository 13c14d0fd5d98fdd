//! Significance tests for counts.
//!
//! Two counts of reports over two periods are two Poisson counts. Given their sum
//! `n`, the current count is binomial with `p = t1 / (t1 + t0)` (the share of the
//! exposure, in days, that the current period has), so the exact test of equal
//! rates is a binomial test: the conditional test of Przyborowski and Wilenski.
//! The two-sided p-value sums the probabilities of every outcome no more likely
//! than the observed one, as SciPy's `binomtest` does; the fixtures in
//! `tests/fixtures` were computed with SciPy and the tests compare against them.

use serde::Serialize;
use statrs::distribution::{Binomial, Discrete, DiscreteCDF};

/// Relative tolerance when comparing probabilities, as SciPy uses.
const RERR: f64 = 1.0 + 1e-7;

/// The two-sided p-value of the exact conditional test that two Poisson counts,
/// `current` over `t1` units of exposure and `previous` over `t0`, have the same
/// rate. 1 when there is nothing to compare.
pub fn rate_test(current: u64, t1: f64, previous: u64, t0: f64) -> f64 {
    let n = current + previous;
    if n == 0 || t1 <= 0.0 || t0 <= 0.0 {
        return 1.0;
    }
    binom_two_sided(current, n, t1 / (t1 + t0))
}

/// The one-sided p-value that `current` over `t1` is a higher rate than
/// `baseline` over `t0`: P(X ≥ current) for X ~ Binomial(n, p).
pub fn rate_test_greater(current: u64, t1: f64, baseline: u64, t0: f64) -> f64 {
    let n = current + baseline;
    if n == 0 || current == 0 || t1 <= 0.0 || t0 <= 0.0 {
        return 1.0;
    }
    let p = t1 / (t1 + t0);
    let Ok(b) = Binomial::new(p, n) else {
        return 1.0;
    };
    // sf(k) = P(X > k), so P(X >= current) = sf(current - 1).
    b.sf(current - 1).clamp(0.0, 1.0)
}

/// SciPy's two-sided binomial test: the probability of every outcome whose
/// probability is at most the observed one's.
fn binom_two_sided(k: u64, n: u64, p: f64) -> f64 {
    if p <= 0.0 || p >= 1.0 {
        return 1.0;
    }
    let Ok(b) = Binomial::new(p, n) else {
        return 1.0;
    };
    let d = b.pmf(k);
    let mean = p * n as f64;
    let kf = k as f64;
    let pmf = |x: i64| {
        if x < 0 || x > n as i64 {
            0.0
        } else {
            b.pmf(x as u64)
        }
    };
    let cdf = |x: i64| if x < 0 { 0.0 } else { b.cdf(x as u64) };
    // sf(x) = P(X > x).
    let sf = |x: i64| if x < 0 { 1.0 } else { b.sf(x as u64) };
    let pval = if kf == mean {
        1.0
    } else if kf < mean {
        // The outcomes above the mode as unlikely as k: -pmf rises from the mode to n.
        let ix = search(|x| -pmf(x), -d * RERR, mean.ceil() as i64, n as i64);
        let y = n as i64 - ix + i64::from(d * RERR == pmf(ix));
        cdf(k as i64) + sf(n as i64 - y)
    } else {
        // The outcomes below the mode as unlikely as k: pmf rises from 0 to the mode.
        let ix = search(pmf, d * RERR, 0, mean.floor() as i64);
        let y = ix + 1;
        cdf(y - 1) + sf(k as i64 - 1)
    };
    pval.clamp(0.0, 1.0)
}

/// SciPy's `_binary_search_for_binom_tst`: for `a` ascending on [lo, hi], the
/// index i with a(i) <= d < a(i + 1) (which may be lo - 1).
fn search(a: impl Fn(i64) -> f64, d: f64, mut lo: i64, mut hi: i64) -> i64 {
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let v = a(mid);
        if v < d {
            lo = mid + 1;
        } else if v > d {
            hi = mid - 1;
        } else {
            return mid;
        }
    }
    if a(lo) <= d { lo } else { lo - 1 }
}

/// Benjamini–Hochberg adjusted p-values (q-values), in the input order: the false
/// discovery rate controlled when a table tests many rows at once.
pub fn benjamini_hochberg(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p[b].total_cmp(&p[a]));
    let mut out = vec![1.0; m];
    let mut running = 1.0_f64;
    for (i, &idx) in order.iter().enumerate() {
        let rank = (m - i) as f64;
        running = running.min(p[idx] * m as f64 / rank);
        out[idx] = running.min(1.0);
    }
    out
}

/// What a change means, in words a leader can repeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Down, and not plausibly noise.
    SignificantDecline,
    /// Up, and not plausibly noise.
    SignificantIncrease,
    /// Within what chance alone would give.
    NoSignificantChange,
    /// The comparison period lies before the first report: nothing to compare.
    NoComparison,
}

impl Verdict {
    /// The verdict at level `alpha` for a change with (adjusted) p-value `p`.
    pub fn of(change: i64, p: f64, alpha: f64) -> Verdict {
        if p < alpha && change < 0 {
            Verdict::SignificantDecline
        } else if p < alpha && change > 0 {
            Verdict::SignificantIncrease
        } else {
            Verdict::NoSignificantChange
        }
    }

    /// In Chinese.
    pub fn zh(&self) -> &'static str {
        match self {
            Verdict::SignificantDecline => "显著下降",
            Verdict::SignificantIncrease => "显著上升",
            Verdict::NoSignificantChange => "无显著变化",
            Verdict::NoComparison => "无可比数据",
        }
    }

    /// In English.
    pub fn en(&self) -> &'static str {
        match self {
            Verdict::SignificantDecline => "significant decline",
            Verdict::SignificantIncrease => "significant increase",
            Verdict::NoSignificantChange => "no significant change",
            Verdict::NoComparison => "no comparison: the earlier period is before the first report",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9_f64.max(b.abs() * 1e-6)
    }

    /// Reference values from SciPy (see the fixture's header for the command).
    #[test]
    fn the_rate_tests_agree_with_scipy() {
        let text = include_str!("../tests/fixtures/rate_tests.csv");
        let mut rows = 0;
        for line in text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.starts_with("x1"))
        {
            let f: Vec<&str> = line.split(',').collect();
            let x1: u64 = f[0].parse().unwrap();
            let t1: f64 = f[1].parse().unwrap();
            let x0: u64 = f[2].parse().unwrap();
            let t0: f64 = f[3].parse().unwrap();
            let two: f64 = f[4].parse().unwrap();
            let greater: f64 = f[5].parse().unwrap();
            let got = rate_test(x1, t1, x0, t0);
            assert!(close(got, two), "two-sided {line}: got {got}");
            let got = rate_test_greater(x1, t1, x0, t0);
            assert!(close(got, greater), "greater {line}: got {got}");
            rows += 1;
        }
        assert!(rows >= 40, "{rows} fixture rows");
    }

    #[test]
    fn benjamini_hochberg_agrees_with_scipy() {
        let text = include_str!("../tests/fixtures/bh.csv");
        let mut lines = text.lines().filter(|l| !l.starts_with('#'));
        let p: Vec<f64> = lines
            .next()
            .unwrap()
            .split(',')
            .map(|v| v.parse().unwrap())
            .collect();
        let want: Vec<f64> = lines
            .next()
            .unwrap()
            .split(',')
            .map(|v| v.parse().unwrap())
            .collect();
        let got = benjamini_hochberg(&p);
        for (g, w) in got.iter().zip(&want) {
            assert!(close(*g, *w), "{got:?} vs {want:?}");
        }
    }

    #[test]
    fn nothing_to_compare_is_no_evidence() {
        assert_eq!(rate_test(0, 30.0, 0, 30.0), 1.0);
        assert_eq!(rate_test_greater(0, 7.0, 10, 28.0), 1.0);
        assert_eq!(Verdict::of(-5, 0.5, 0.05), Verdict::NoSignificantChange);
        assert_eq!(Verdict::of(-50, 0.001, 0.05), Verdict::SignificantDecline);
    }
}
