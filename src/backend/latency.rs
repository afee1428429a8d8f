//! A response-time histogram per member, kept with atomics so that recording costs a few
//! relaxed additions on the request path; the metrics endpoint reads it when scraped.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the buckets, in seconds (Prometheus' default buckets).
pub const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Counts of observations per bucket (not cumulative), plus the `+Inf` bucket and the sum.
#[derive(Debug, Default)]
pub struct LatencyHistogram {
    buckets: [AtomicU64; BUCKETS.len() + 1],
    sum_micros: AtomicU64,
}

/// A consistent-enough reading of a [`LatencyHistogram`] (each number read once).
#[derive(Debug, Clone, PartialEq)]
pub struct LatencySnapshot {
    /// Sum of the observations, seconds.
    pub sum: f64,
    /// Number of observations.
    pub count: u64,
    /// `(upper bound, count in that bucket alone)` per bucket, the last one `+Inf` written as
    /// `f64::MAX` (what prometheus-client's histogram encoder takes and accumulates).
    pub buckets: Vec<(f64, u64)>,
}

impl LatencyHistogram {
    /// Records one response time.
    pub fn observe(&self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        let index = BUCKETS
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(BUCKETS.len());
        self.buckets[index].fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    /// The counts now.
    pub fn snapshot(&self) -> LatencySnapshot {
        let buckets: Vec<(f64, u64)> = BUCKETS
            .iter()
            .copied()
            .chain(std::iter::once(f64::MAX))
            .zip(&self.buckets)
            .map(|(bound, count)| (bound, count.load(Ordering::Relaxed)))
            .collect();
        let count = buckets.iter().map(|(_, n)| n).sum();
        LatencySnapshot {
            sum: self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6,
            count,
            buckets,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observations_land_in_their_bucket_and_add_up() {
        let h = LatencyHistogram::default();
        for ms in [1, 5, 7, 300, 20_000] {
            h.observe(Duration::from_millis(ms));
        }
        let s = h.snapshot();
        assert_eq!(s.count, 5);
        assert!((s.sum - 20.313).abs() < 1e-9, "{}", s.sum);
        let at = |bound: f64| s.buckets.iter().find(|(b, _)| *b == bound).map(|(_, c)| *c);
        assert_eq!(at(0.005), Some(2));
        assert_eq!(at(0.01), Some(1));
        assert_eq!(at(0.25), Some(0));
        assert_eq!(at(0.5), Some(1));
        assert_eq!(at(10.0), Some(0));
        assert_eq!(at(f64::MAX), Some(1));
        assert_eq!(s.buckets.len(), BUCKETS.len() + 1);
    }
}
