//! Fuzzing of everything that reads outside input: SLO files (native,
//! OpenSLO, Sloth), quantities, Alertmanager webhooks, Prometheus answers,
//! gate matchers, recordings and hand-written PromQL. Each target starts
//! from the checked-in corpus in `fuzz/corpus/<target>/` (files, or one
//! seed per line for `.txt`), mutates it (flipped, inserted, deleted and
//! duplicated bytes, tokens that parsers trip on, truncation) or makes up
//! bytes, and must answer every input with a value or an error: no panic,
//! and no input taking longer than a second.
//!
//! `SUMMIT_SLO_FUZZ_CASES` sets the inputs per target (default 1,000, a few
//! seconds in all); a failing input proptest finds is kept in
//! `proptest-regressions/tests/fuzz.txt` and replayed first from then on.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

/// Fragments that parsers of these formats meet at their edges.
const TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    "\"",
    "'",
    ":",
    ",",
    "\n",
    "\r\n",
    "\t",
    " ",
    "\\",
    "-",
    "---",
    "#",
    "NaN",
    "+Inf",
    "-Inf",
    "1e309",
    "-0",
    "0x1p3",
    "%",
    "ms",
    "µs",
    "/s",
    "<",
    ">=",
    "==",
    "=~",
    "!~",
    "${window}",
    "{{.window}}",
    "&anchor",
    "*anchor",
    "<<: *anchor",
    "!!binary",
    "null",
    "true",
    "\u{feff}",
    "\u{0}",
    "é",
    "🦀",
    "9999999999999999999999",
    "0001-01-01T00:00:00Z",
    "[600s]",
    "offset 5m",
    "by (le)",
    "# EOF",
    "# TYPE x counter",
    "le=\"+Inf\"",
];

/// One mutation: what, where, and a byte that parameterises it.
type Mutation = (u8, u32, u8);

fn corpus(target: &str) -> Vec<Vec<u8>> {
    let directory = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&directory)
        .unwrap_or_else(|error| panic!("{}: {error}", directory.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .collect();
    paths.sort();
    let mut seeds = Vec::new();
    for path in paths {
        let bytes = std::fs::read(&path).expect("a corpus file");
        if path.extension().is_some_and(|extension| extension == "txt") {
            seeds.extend(
                bytes
                    .split(|byte| *byte == b'\n')
                    .filter(|line| !line.is_empty())
                    .map(<[u8]>::to_vec),
            );
        } else {
            seeds.push(bytes);
        }
    }
    assert!(!seeds.is_empty(), "{} holds no seeds", directory.display());
    seeds
}

fn mutate(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for &(kind, position, byte) in mutations {
        let at = if bytes.is_empty() {
            0
        } else {
            position as usize % (bytes.len() + 1)
        };
        match kind % 6 {
            0 if at < bytes.len() => bytes[at] ^= byte | 1,
            1 => bytes.insert(at, byte),
            2 if at < bytes.len() => {
                bytes.remove(at);
            }
            3 => bytes.truncate(at),
            4 => {
                let token = TOKENS[byte as usize % TOKENS.len()].as_bytes();
                bytes.splice(at..at, token.iter().copied());
            }
            _ => {
                let end = (at + byte as usize).min(bytes.len());
                let copy = bytes[at..end].to_vec();
                bytes.splice(at..at, copy);
            }
        }
    }
    bytes
}

/// Runs `target` on mutated seeds and on made-up bytes.
fn fuzz(name: &str, target: impl Fn(&[u8])) {
    let seeds = corpus(name);
    let cases = std::env::var("SUMMIT_SLO_FUZZ_CASES")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(1_000);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::SourceParallel("proptest-regressions"),
        )),
        source_file: Some(file!()),
        ..Config::default()
    });
    let seeded = (
        0..seeds.len(),
        prop::collection::vec(any::<Mutation>(), 0..12),
    )
        .prop_map(move |(index, mutations)| mutate(seeds[index].clone(), &mutations));
    let made_up = prop::collection::vec(any::<u8>(), 0..512);
    let inputs = prop_oneof![4 => seeded, 1 => made_up];
    runner
        .run(&inputs, |input| {
            let started = Instant::now();
            target(&input);
            let took = started.elapsed();
            prop_assert!(
                took < Duration::from_secs(1),
                "{name}: {took:?} on {:?}",
                String::from_utf8_lossy(&input)
            );
            Ok(())
        })
        .unwrap_or_else(|failure| panic!("{name}: {failure}"));
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn spec_loader() {
    fuzz("spec", |bytes| {
        let _ = summit_slo::spec::load_text(Path::new("fuzz.yaml"), &text(bytes));
    });
}

#[test]
fn quantity_parser() {
    fuzz("quantity", |bytes| {
        let text = text(bytes);
        let _ = summit_slo::spec::quantity::Threshold::parse(&text);
        let _ = summit_slo::spec::quantity::parse_quantity(&text);
    });
}

#[test]
fn webhook_decoder() {
    fuzz("webhook", |bytes| {
        let _ = summit_slo::serve::payload::parse(bytes);
    });
}

#[test]
fn prometheus_response_decoder() {
    fuzz("response", |bytes| {
        let _ = summit_slo::prometheus::decode_query(bytes);
    });
}

#[test]
fn gate_matcher_parser() {
    fuzz("matcher", |bytes| {
        let _ = summit_slo::serve::gate::GateMatcher::parse(&text(bytes));
    });
}

#[test]
fn recording_reader() {
    fuzz("exposition", |bytes| {
        let _ = summit_slo::engine::Engine::from_text(&text(bytes), "fuzz.om");
    });
}

#[test]
fn promql_subset_parser() {
    fuzz("promql", |bytes| {
        let _ = summit_slo::compile::expr::parse(&text(bytes));
    });
}
