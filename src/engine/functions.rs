//! PromQL's functions over samples, with the engine's own rules: which
//! samples a range holds, how `rate` and `increase` extrapolate and treat
//! counter resets, how `histogram_quantile` interpolates, and what each
//! `*_over_time` does with NaN. These follow Prometheus 2.x, the engine the
//! differential tests compare against.

/// A sample: Unix milliseconds and a value.
pub type Point = (i64, f64);

/// Extrapolated change over a range, as `rate`, `increase` and `delta`
/// compute it. `None` when fewer than two samples fall in the range.
///
/// The change between the first and last sample (plus, for counters, every
/// value lost at a reset) is stretched towards the range's edges: all the
/// way when the first or last sample lies within 1.1 average intervals of
/// its edge, else by half an interval. A counter is never extrapolated
/// below zero.
pub fn extrapolated_change(
    points: &[Point],
    range_start: i64,
    range_end: i64,
    counter: bool,
    per_second: bool,
) -> Option<f64> {
    if points.len() < 2 {
        return None;
    }
    let (first_time, first_value) = points[0];
    let (last_time, last_value) = points[points.len() - 1];
    let mut change = last_value - first_value;
    if counter {
        for pair in points.windows(2) {
            if pair[1].1 < pair[0].1 {
                change += pair[0].1;
            }
        }
    }

    let mut to_start = (first_time - range_start) as f64 / 1000.0;
    let to_end = (range_end - last_time) as f64 / 1000.0;
    let sampled = (last_time - first_time) as f64 / 1000.0;
    let average_gap = sampled / (points.len() - 1) as f64;

    // The zero point of a counter bounds how far back it can be stretched.
    if counter && change > 0.0 && first_value >= 0.0 {
        let to_zero = sampled * (first_value / change);
        if to_zero < to_start {
            to_start = to_zero;
        }
    }

    let threshold = average_gap * 1.1;
    let mut stretched = sampled;
    stretched += if to_start < threshold {
        to_start
    } else {
        average_gap / 2.0
    };
    stretched += if to_end < threshold {
        to_end
    } else {
        average_gap / 2.0
    };

    let mut factor = stretched / sampled;
    if per_second {
        factor /= (range_end - range_start) as f64 / 1000.0;
    }
    Some(change * factor)
}

/// The largest value; a NaN is replaced by any later value.
pub fn max_over_time(points: &[Point]) -> f64 {
    points.iter().skip(1).fold(points[0].1, |max, &(_, value)| {
        if value > max || max.is_nan() {
            value
        } else {
            max
        }
    })
}

/// The smallest value; a NaN is replaced by any later value.
pub fn min_over_time(points: &[Point]) -> f64 {
    points.iter().skip(1).fold(points[0].1, |min, &(_, value)| {
        if value < min || min.is_nan() {
            value
        } else {
            min
        }
    })
}

/// The mean, computed incrementally as Prometheus does.
pub fn avg_over_time(points: &[Point]) -> f64 {
    let mut mean = 0.0_f64;
    let mut count = 0.0_f64;
    for &(_, value) in points {
        count += 1.0;
        if mean.is_infinite()
            && (value.is_finite() || (value.is_infinite() && (mean > 0.0) == (value > 0.0)))
        {
            continue;
        }
        mean += value / count - mean / count;
    }
    mean
}

/// The sum with Neumaier's compensation, as Prometheus sums.
pub fn sum_over_time(points: &[Point]) -> f64 {
    compensated_sum(points.iter().map(|&(_, value)| value))
}

/// A sum with Neumaier's compensation.
pub fn compensated_sum(values: impl Iterator<Item = f64>) -> f64 {
    let (mut sum, mut compensation) = (0.0_f64, 0.0_f64);
    for value in values {
        let total = sum + value;
        if sum.abs() >= value.abs() {
            compensation += (sum - total) + value;
        } else {
            compensation += (value - total) + sum;
        }
        sum = total;
    }
    if sum.is_infinite() {
        sum
    } else {
        sum + compensation
    }
}

/// The quantile `q` of a classic histogram's cumulative buckets
/// `(upper bound, count)`.
///
/// Buckets are sorted and merged by bound and forced monotonic; the top
/// bucket must be +Inf. The rank is found by linear interpolation within
/// its bucket, from 0 for the lowest bucket when its bound is positive. A
/// rank in the +Inf bucket gives the second-highest bound. No observations,
/// fewer than two buckets, or no +Inf bucket give NaN.
pub fn histogram_quantile(q: f64, buckets: &mut Vec<(f64, f64)>) -> f64 {
    if q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    if buckets.is_empty() {
        return f64::NAN;
    }
    buckets.sort_by(|left, right| left.0.total_cmp(&right.0));
    if buckets[buckets.len() - 1].0 != f64::INFINITY {
        return f64::NAN;
    }
    coalesce(buckets);
    ensure_monotonic(buckets);
    if buckets.len() < 2 {
        return f64::NAN;
    }
    let observations = buckets[buckets.len() - 1].1;
    if observations == 0.0 {
        return f64::NAN;
    }
    let mut rank = q * observations;
    // The first bucket (excluding +Inf) whose count reaches the rank.
    let index = buckets[..buckets.len() - 1]
        .iter()
        .position(|&(_, count)| count >= rank)
        .unwrap_or(buckets.len() - 1);
    if index == buckets.len() - 1 {
        return buckets[buckets.len() - 2].0;
    }
    if index == 0 && buckets[0].0 <= 0.0 {
        return buckets[0].0;
    }
    let (end, mut count) = buckets[index];
    let mut start = 0.0;
    if index > 0 {
        start = buckets[index - 1].0;
        count -= buckets[index - 1].1;
        rank -= buckets[index - 1].1;
    }
    start + (end - start) * (rank / count)
}

fn coalesce(buckets: &mut Vec<(f64, f64)>) {
    let mut merged: Vec<(f64, f64)> = Vec::with_capacity(buckets.len());
    for &(bound, count) in buckets.iter() {
        match merged.last_mut() {
            Some(last) if last.0 == bound => last.1 += count,
            _ => merged.push((bound, count)),
        }
    }
    *buckets = merged;
}

fn ensure_monotonic(buckets: &mut [(f64, f64)]) {
    let mut max = f64::NEG_INFINITY;
    for bucket in buckets.iter_mut() {
        if bucket.1 > max {
            max = bucket.1;
        } else if bucket.1 < max {
            bucket.1 = max;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_15s(values: &[f64]) -> Vec<Point> {
        values
            .iter()
            .enumerate()
            .map(|(index, value)| (5_000 + 15_000 * index as i64, *value))
            .collect()
    }

    #[test]
    fn increase_extrapolates_to_the_range_edges() {
        // 40 samples from t=5s to 590s, +30 each: raw change 1170 over
        // 585s, stretched by 5s at the start and 10s at the end to 600s.
        let points = every_15s(
            &(0..40)
                .map(|i| 5000.0 + 30.0 * f64::from(i))
                .collect::<Vec<_>>(),
        );
        let increase = extrapolated_change(&points, 0, 600_000, true, false).expect("two samples");
        assert!((increase - 1200.0).abs() < 1e-9, "{increase}");
        let rate = extrapolated_change(&points, 0, 600_000, true, true).expect("two samples");
        assert!((rate - 2.0).abs() < 1e-12, "{rate}");
    }

    #[test]
    fn counter_resets_add_the_value_lost() {
        let points = every_15s(&[100.0, 110.0, 5.0, 15.0]);
        let change = extrapolated_change(&points, 5_000, 50_000, true, false).expect("samples");
        // 15 - 100 + 110 (lost at the reset) = 25 over exactly the range.
        assert!((change - 25.0).abs() < 1e-9, "{change}");
        let gauge = extrapolated_change(&points, 5_000, 50_000, false, false).expect("samples");
        assert!(
            (gauge + 85.0).abs() < 1e-9,
            "a gauge's delta ignores resets: {gauge}"
        );
    }

    #[test]
    fn counters_are_not_extrapolated_below_zero() {
        // A counter starting at 1 that grows by 30 per scrape: the zero
        // point is 0.5s before the first sample, not 5s.
        let points = every_15s(&[1.0, 31.0, 61.0]);
        let increase = extrapolated_change(&points, 0, 35_000, true, false).expect("samples");
        let expected = 60.0 * (30.0 + 0.5 + 0.0) / 30.0;
        assert!(
            (increase - expected).abs() < 1e-9,
            "{increase} vs {expected}"
        );
    }

    #[test]
    fn one_sample_has_no_rate() {
        assert_eq!(
            extrapolated_change(&[(0, 1.0)], 0, 60_000, true, true),
            None
        );
    }

    #[test]
    fn quantiles_interpolate_within_buckets() {
        let mut buckets = vec![
            (0.1, 50.0),
            (0.25, 90.0),
            (0.5, 100.0),
            (f64::INFINITY, 100.0),
        ];
        // Rank 95 lies in (0.25, 0.5]: 0.25 + 0.25 * (5 / 10).
        assert!((histogram_quantile(0.95, &mut buckets) - 0.375).abs() < 1e-12);
        let mut top = vec![(0.1, 10.0), (f64::INFINITY, 100.0)];
        assert_eq!(
            histogram_quantile(0.95, &mut top),
            0.1,
            "the +Inf bucket gives the bound below"
        );
    }

    #[test]
    fn quantiles_are_nan_without_observations_or_inf_bucket() {
        let mut empty = vec![(0.1, 0.0), (f64::INFINITY, 0.0)];
        assert!(histogram_quantile(0.95, &mut empty).is_nan());
        let mut no_inf = vec![(0.1, 5.0), (0.5, 10.0)];
        assert!(histogram_quantile(0.95, &mut no_inf).is_nan());
    }

    #[test]
    fn over_time_functions_skip_nan_like_prometheus() {
        let points = vec![(0, f64::NAN), (1, 3.0), (2, 1.0)];
        assert_eq!(max_over_time(&points), 3.0);
        assert_eq!(min_over_time(&points), 1.0);
        assert!((avg_over_time(&[(0, 1.0), (1, 2.0), (2, 6.0)]) - 3.0).abs() < 1e-12);
        assert_eq!(sum_over_time(&[(0, 0.1), (1, 0.2), (2, 0.3)]), 0.6);
    }
}
