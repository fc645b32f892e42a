//! The embedded engine against a real Prometheus on the same data: every
//! fixture recording, and randomly generated ones (counter resets, gaps,
//! sparse series, empty windows, histograms in seconds and milliseconds),
//! are queried both ways and must agree to 1e-9 relative, with the same
//! verdicts from `verify`.

mod support;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use summit_slo::compile::Query;
use summit_slo::engine::Engine;
use support::{Prometheus, SloFiles, root, verify_json};

type Answer = Vec<support::SeriesPoints>;

const END: i64 = 1_796_379_000;

fn same(left: f64, right: f64) -> bool {
    if left.is_nan() || right.is_nan() {
        return left.is_nan() && right.is_nan();
    }
    if left.is_infinite() || right.is_infinite() {
        return left == right;
    }
    (left - right).abs() <= 1e-9 * left.abs().max(right.abs()).max(1e-300)
}

fn embedded(engine: &Engine, query: &str, time: i64, range: Option<(i64, i64)>) -> Answer {
    let query = Query::written(query.to_string());
    let at = |seconds: i64| jiff::Timestamp::from_second(seconds).expect("valid time");
    let result = match range {
        None => engine.instant(&query, at(time)),
        Some((start, step)) => engine.range(
            &query,
            at(start),
            at(time),
            std::time::Duration::from_secs(step as u64),
        ),
    }
    .unwrap_or_else(|error| panic!("{}: {error}", query.text));
    let mut answer: Answer = match result.data {
        summit_slo::prometheus::ResultData::Vector(samples) => samples
            .into_iter()
            .map(|sample| (sorted(sample.labels), vec![(sample.time, sample.value)]))
            .collect(),
        summit_slo::prometheus::ResultData::Scalar(sample) => {
            vec![(Vec::new(), vec![(sample.time, sample.value)])]
        }
        summit_slo::prometheus::ResultData::Matrix(series) => series
            .into_iter()
            .map(|series| (sorted(series.labels), series.points))
            .collect(),
        summit_slo::prometheus::ResultData::String(_) => panic!("string result"),
    };
    answer.sort_by(|left, right| left.0.cmp(&right.0));
    answer
}

fn sorted(labels: BTreeMap<String, String>) -> Vec<(String, String)> {
    labels.into_iter().collect()
}

fn reference(prometheus: &Prometheus, query: &str, time: i64, range: Option<(i64, i64)>) -> Answer {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    form.append_pair("query", query);
    let path = match range {
        None => {
            form.append_pair("time", &time.to_string());
            format!("/api/v1/query?{}", form.finish())
        }
        Some((start, step)) => {
            form.append_pair("start", &start.to_string());
            form.append_pair("end", &time.to_string());
            form.append_pair("step", &step.to_string());
            format!("/api/v1/query_range?{}", form.finish())
        }
    };
    let mut answer = prometheus.series(&path);
    answer.sort_by(|left, right| left.0.cmp(&right.0));
    answer
}

/// Compares one query both ways; returns how many values were compared.
fn compare(
    prometheus: &Prometheus,
    engine: &Engine,
    query: &str,
    time: i64,
    range: Option<(i64, i64)>,
) -> usize {
    let expected = reference(prometheus, query, time, range);
    let actual = embedded(engine, query, time, range);
    let context = format!("{query} at {time} (range {range:?})");
    let labels = |answer: &Answer| {
        answer
            .iter()
            .map(|(labels, _)| labels.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        labels(&actual),
        labels(&expected),
        "label sets differ for {context}"
    );
    let mut compared = 0;
    for ((labels, actual), (_, expected)) in actual.iter().zip(&expected) {
        assert_eq!(
            actual.len(),
            expected.len(),
            "points differ for {labels:?} in {context}"
        );
        for (actual, expected) in actual.iter().zip(expected) {
            assert!(
                (actual.0 - expected.0).abs() < 1e-6,
                "times differ in {context}"
            );
            assert!(
                same(actual.1, expected.1),
                "{labels:?} in {context}: engine {} vs prometheus {}",
                actual.1,
                expected.1
            );
            compared += 1;
        }
    }
    compared
}

/// The queries the compiler emits for every kind, plus the functions a
/// hand-written query may use, over one metric family set.
fn queries(prefix: &str, selector: &str) -> Vec<String> {
    let s = selector;
    let mut list = Vec::new();
    for range in ["600s", "90s", "60s"] {
        list.extend([
            format!("sum(rate({prefix}requests_total{s}[{range}]))"),
            format!("sum by (code) (increase({prefix}requests_total{s}[{range}]))"),
            format!("increase({prefix}requests_total{s}[{range}])"),
            format!("rate({prefix}requests_total{s}[{range}])"),
            format!("delta({prefix}queue_depth{s}[{range}])"),
            format!("max(max_over_time({prefix}queue_depth{s}[{range}]))"),
            format!("min(min_over_time({prefix}queue_depth{s}[{range}]))"),
            format!("max(avg_over_time({prefix}queue_depth{s}[{range}]))"),
            format!("max(last_over_time({prefix}queue_depth{s}[{range}]))"),
            format!("sum(count_over_time({prefix}queue_depth{s}[{range}]))"),
            format!("sum_over_time({prefix}queue_depth{s}[{range}])"),
        ]);
        for histogram in ["latency_seconds", "latency_milliseconds"] {
            for quantile in ["0.5", "0.95", "0.99"] {
                list.push(format!(
                    "histogram_quantile({quantile}, sum by (le) (increase({prefix}{histogram}_bucket{s}[{range}])))"
                ));
            }
            list.push(format!(
                "sum by (le) (increase({prefix}{histogram}_bucket{s}[{range}]))"
            ));
        }
    }
    let errors = format!("{prefix}requests_total{{code=\"500\",{}", &s[1..]);
    list.extend([
        format!("(sum(increase({errors}[600s])) or vector(0)) / sum(increase({prefix}requests_total{s}[600s]))"),
        format!("(sum by (pod) (increase({errors}[600s])) or 0 * sum by (pod) (increase({prefix}requests_total{s}[600s]))) / sum by (pod) (increase({prefix}requests_total{s}[600s]))"),
        format!("sum(increase({prefix}latency_seconds_sum{s}[600s])) / sum(increase({prefix}latency_seconds_count{s}[600s]))"),
        format!("scalar(sum(increase({prefix}requests_total{s}[600s]))) * 2"),
        format!("sum(rate({prefix}requests_total{s}[600s])) > bool 1"),
        format!("max without (pod) (max_over_time({prefix}queue_depth{s}[600s]))"),
        format!("{prefix}queue_depth{s}"),
        format!("sum(increase({prefix}requests_total{s}[600s])) + (sum(min_over_time({prefix}requests_total{s}[600s]) unless last_over_time({prefix}requests_total{s}[660s] offset 540s)) or vector(0))"),
        format!("sum by (pod) (min_over_time({prefix}requests_total{s}[600s]) unless last_over_time({prefix}requests_total{s}[660s] offset 540s))"),
    ]);
    list
}

fn recording_queries() -> Vec<String> {
    let mut list = vec![
        r#"histogram_quantile(0.95, sum by (le) (increase(graphql_request_duration_seconds_bucket{job="summit-api",operation!="IntrospectionQuery"}[600s])))"#.to_string(),
        r#"histogram_quantile(0.95, sum by (le, operation) (increase(graphql_request_duration_seconds_bucket[600s])))"#.to_string(),
        r#"(sum(increase(graphql_requests_total{status="error"}[600s])) or vector(0)) / sum(increase(graphql_requests_total[600s]))"#.to_string(),
        r#"sum by (cmd) (increase(redis_commands_duration_seconds_total[600s])) / sum by (cmd) (increase(redis_commands_total[600s]))"#.to_string(),
        r#"max by (queue) (max_over_time(summit_worker_queue_depth[600s]))"#.to_string(),
        r#"sum(increase(summit_worker_dead_letter_messages_total[600s]))"#.to_string(),
        r#"min(min_over_time(locust_users[600s]))"#.to_string(),
        r#"histogram_quantile(0.95, sum by (le) (increase(summit_neo4j_query_duration_milliseconds_bucket{query="path_3hop"}[600s])))"#.to_string(),
        r#"sum(rate(redis_commands_processed_total[600s]))"#.to_string(),
    ];
    list.extend(queries("http_", "{job=\"checkout\"}"));
    list.extend([
        r#"histogram_quantile(0.95, sum by (le) (increase(http_request_duration_seconds_bucket{job="checkout"}[600s])))"#.to_string(),
        r#"sum(increase(http_request_duration_seconds_bucket{job="checkout",le=~"1|1\\.0"}[600s])) / sum(increase(http_request_duration_seconds_count{job="checkout"}[600s]))"#.to_string(),
        r#"max(last_over_time(k6_http_req_failed_rate{testid="rel-42"}[600s]))"#.to_string(),
        r#"sum(increase(checkout_requests_good_total[600s])) / sum(increase(checkout_requests_total[600s]))"#.to_string(),
    ]);
    list
}

const FIXTURES: [&str; 16] = [
    "release-pass",
    "release-fail",
    "release-warn",
    "no-traffic",
    "counter-reset",
    "low-load",
    "checkout-no-errors",
    "checkout-idle-histogram",
    "checkout-le-normalised",
    "checkout-60s-scrape",
    "checkout-slices",
    "checkout-slices-empty",
    "checkout-few-events",
    "k6-stopped",
    "checkout-good-exceeds-total",
    "checkout-nonmonotonic-buckets",
];

#[test]
fn every_fixture_recording_gives_prometheus_values() {
    let mut compared = 0;
    for name in FIXTURES {
        let prometheus = Prometheus::start(&[name]);
        let engine = Engine::load(&support::fixture(name)).expect("fixtures load");
        for query in recording_queries() {
            for time in [END, END - 180, END + 420] {
                compared += compare(&prometheus, &engine, &query, time, None);
            }
            compared += compare(&prometheus, &engine, &query, END, Some((END - 600, 30)));
        }
    }
    assert!(compared > 5_000, "only {compared} values compared");
}

#[test]
fn every_fixture_gives_the_same_verdicts_both_ways() {
    let slos = SloFiles::new(CHECKOUT_SLOS);
    for name in FIXTURES {
        let prometheus = Prometheus::start(&[name]);
        let fixture = support::fixture(name);
        let replay = fixture.to_str().expect("UTF-8");
        for directory in [root().join("slos"), slos.path().to_path_buf()] {
            // The same interval for both: a replay would otherwise read it
            // from the samples and judge short ranges more strictly.
            let interval = ["--scrape-interval", "15s"];
            let served = verify_json(&prometheus.url, &directory, &interval);
            let replayed = verify_json(
                "http://127.0.0.1:9",
                &directory,
                &["--replay", replay, "--scrape-interval", "15s"],
            );
            assert_verdicts_match(name, &served, &replayed);
        }
    }
}

fn assert_verdicts_match(name: &str, served: &support::Run, replayed: &support::Run) {
    assert_eq!(
        served.code, replayed.code,
        "{name}: exit codes\n{}\n{}",
        served.stderr, replayed.stderr
    );
    let (served, replayed) = (served.json(), replayed.json());
    let slos = served["slos"].as_array().expect("slos");
    for (left, right) in slos.iter().zip(replayed["slos"].as_array().expect("slos")) {
        let what = format!("{name}/{}", left["name"]);
        assert_eq!(left["verdict"], right["verdict"], "{what}");
        assert_eq!(left["reason"], right["reason"], "{what}");
        match (left["value"].as_f64(), right["value"].as_f64()) {
            (Some(left), Some(right)) => assert!(same(left, right), "{what}: {left} vs {right}"),
            (left, right) => assert_eq!(left, right, "{what}"),
        }
        assert_eq!(left["value_text"], right["value_text"], "{what}");
    }
}

const CHECKOUT_SLOS: &str = r#"
service: checkout
slos:
  - name: availability
    indicator:
      ratio: {errors: 'http_requests_total{code=~"5.."}', total: http_requests_total, selector: '{job="checkout"}'}
    objective: "< 1%"
  - name: availability-sustained
    indicator:
      ratio: {errors: 'http_requests_total{code=~"5.."}', total: http_requests_total, selector: '{job="checkout"}'}
    objective: "< 1%"
    sustained: {step: 1m}
  - name: throughput
    indicator: {rate: {counter: http_requests_total, selector: '{job="checkout"}'}}
    objective: ">= 1/s"
  - name: latency-p95
    indicator:
      latency: {histogram: http_request_duration_seconds, selector: '{job="checkout"}', quantile: 0.95}
    objective: "< 800ms"
  - name: fast-share
    indicator:
      latency: {histogram: http_request_duration_seconds, selector: '{job="checkout"}', threshold: 1s}
    objective: ">= 90%"
  - name: k6-failures
    indicator: {gauge: {metric: k6_http_req_failed_rate, aggregate: last}}
    objective: "< 0.01"
  - name: good-share
    indicator: {ratio: {good: checkout_requests_good_total, total: checkout_requests_total}}
    objective: ">= 99%"
"#;

/// A small seeded generator, so a failing case can be replayed exactly.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn below(&mut self, limit: u64) -> u64 {
        self.next() % limit
    }
}

/// A random recording for one case: counters with resets and gaps, a
/// gauge with the odd NaN, histograms in seconds and milliseconds, series
/// that start late, stop early or are sparse, and cases with no samples in
/// the window at all.
fn random_recording(case: usize, random: &mut Random) -> String {
    let mut text = String::new();
    let start = END - 1500;
    let shape = random.below(5);
    let (first, last) = match shape {
        0 => (start, END + 900),
        1 => (END - 400, END + 900),
        2 => (start, END - 250),
        3 => (start, END - 800),
        _ => (start, END + 900),
    };
    let gap = if random.below(4) == 0 { 60_000 } else { 15_000 };
    let mut times = Vec::new();
    let mut time = first * 1000 + random.below(15_000) as i64;
    while time <= last * 1000 {
        if random.unit() > 0.08 {
            times.push(time);
        }
        time += gap as i64 + random.below(4000) as i64 - 2000;
    }

    for pod in ["a", "b"] {
        for code in ["200", "500"] {
            let mut value = random.below(100_000) as f64;
            for &time in &times {
                if random.unit() < 0.04 {
                    value = random.below(50) as f64;
                } else {
                    value += random.below(if code == "200" { 2000 } else { 20 }) as f64;
                }
                let _ = writeln!(
                    text,
                    "r_requests_total{{case=\"{case}\",pod=\"{pod}\",code=\"{code}\"}} {value} {:.3}",
                    time as f64 / 1000.0
                );
            }
        }
    }
    for pod in ["a", "b"] {
        let mut value = random.below(500) as f64;
        for &time in &times {
            value = (value + random.unit() * 100.0 - 50.0).max(0.0);
            let shown = if random.unit() < 0.02 {
                "NaN".to_string()
            } else {
                format!("{value}")
            };
            let _ = writeln!(
                text,
                "r_queue_depth{{case=\"{case}\",pod=\"{pod}\"}} {shown} {:.3}",
                time as f64 / 1000.0
            );
        }
    }
    for (histogram, bounds, scale) in [
        (
            "r_latency_seconds",
            ["0.005", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf"],
            1.0,
        ),
        (
            "r_latency_milliseconds",
            ["5", "50", "100", "250", "500", "1000", "2500", "+Inf"],
            1000.0,
        ),
    ] {
        let mut counts = vec![0.0_f64; bounds.len()];
        let mut sum = 0.0_f64;
        let mut lines: Vec<Vec<String>> = vec![Vec::new(); bounds.len() + 2];
        for &time in &times {
            if random.unit() < 0.03 {
                counts.iter_mut().for_each(|count| *count = 0.0);
                sum = 0.0;
            }
            let observations = random.below(200);
            for _ in 0..observations {
                let seconds = random.unit().powi(3) * 3.0;
                sum += seconds * scale;
                for (index, bound) in bounds.iter().enumerate() {
                    let limit = if *bound == "+Inf" {
                        f64::INFINITY
                    } else {
                        bound.parse::<f64>().expect("bound") / scale
                    };
                    if seconds <= limit {
                        counts[index] += 1.0;
                    }
                }
            }
            let stamp = time as f64 / 1000.0;
            for (index, bound) in bounds.iter().enumerate() {
                lines[index].push(format!(
                    "{histogram}_bucket{{case=\"{case}\",le=\"{bound}\"}} {} {stamp:.3}",
                    counts[index]
                ));
            }
            lines[bounds.len()].push(format!(
                "{histogram}_sum{{case=\"{case}\"}} {sum} {stamp:.3}"
            ));
            lines[bounds.len() + 1].push(format!(
                "{histogram}_count{{case=\"{case}\"}} {} {stamp:.3}",
                counts[bounds.len() - 1]
            ));
        }
        for series in lines {
            for line in series {
                text.push_str(&line);
                text.push('\n');
            }
        }
    }
    text
}

#[test]
fn random_recordings_give_prometheus_values() {
    let mut random = Random(0x5eed_2026_1204);
    let cases = 24;
    let directory = tempfile::tempdir().expect("temp dir");
    let path = directory.path().join("random.om");
    let mut text = String::new();
    for case in 0..cases {
        text.push_str(&random_recording(case, &mut random));
    }
    text.push_str("# EOF\n");
    std::fs::write(&path, &text).expect("written");

    let prometheus = Prometheus::start_with_file(&path);
    let engine = Engine::load(&path).expect("the recording loads");
    let mut compared = 0;
    for case in 0..cases {
        let selector = format!("{{case=\"{case}\"}}");
        for query in queries("r_", &selector) {
            for time in [END, END - 333, END + 450] {
                compared += compare(&prometheus, &engine, &query, time, None);
            }
        }
        let rate = format!("sum(rate(r_requests_total{selector}[60s]))");
        compared += compare(&prometheus, &engine, &rate, END, Some((END - 600, 15)));
    }
    assert!(compared > 5_000, "only {compared} values compared");
}

#[test]
fn gzip_recordings_replay_like_plain_ones() {
    use std::io::Write as _;
    let directory = tempfile::tempdir().expect("temp dir");
    let plain = support::fixture("checkout-slices");
    let gzipped = directory.path().join("checkout-slices.om.gz");
    let mut encoder = flate2::write::GzEncoder::new(
        std::fs::File::create(&gzipped).expect("created"),
        flate2::Compression::fast(),
    );
    encoder
        .write_all(&std::fs::read(&plain).expect("fixture"))
        .expect("compressed");
    encoder.finish().expect("finished");

    let slos = SloFiles::new(CHECKOUT_SLOS);
    let run = |recording: &Path| {
        verify_json(
            "http://127.0.0.1:9",
            slos.path(),
            &["--replay", recording.to_str().expect("UTF-8")],
        )
    };
    let (from_plain, from_gzip) = (run(&plain), run(&gzipped));
    assert_eq!(from_plain.code, from_gzip.code);
    assert_eq!(from_plain.json()["slos"], from_gzip.json()["slos"]);
}
