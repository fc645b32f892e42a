//! The floor for `summit-slo verify`: the same PromQL sent by a bare
//! concurrent HTTP client, so the benchmark can tell the time Prometheus
//! needs to answer from the time summit-slo adds around it.
//!
//! It reads queries in the form `summit-slo compile` prints them (one query
//! a line; `#` comments and blank lines are skipped), sends each once as an
//! instant query at `--time` with at most `--concurrency` in flight, reads
//! every answer to its end and checks that it is a 200. Nothing is parsed or
//! judged: whatever `verify` spends beyond this is its own cost. It prints
//! one JSON line: `queries`, `errors`, `bytes`, `elapsed_ms`.
//!
//! ```sh
//! summit-slo compile --slos bench.yaml > queries.promql
//! cargo run --release --example floor -- --prometheus http://127.0.0.1:9090 \
//!     --time 1796379000 --concurrency 8 queries.promql
//! ```

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// What the command line asked for.
struct Options {
    prometheus: String,
    time: String,
    concurrency: usize,
    queries: String,
}

fn main() -> ExitCode {
    let options = match parse_options(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(problem) => {
            eprintln!("floor: {problem}");
            eprintln!(
                "usage: floor --prometheus URL --time UNIX_SECONDS [--concurrency N] QUERIES_FILE"
            );
            return ExitCode::from(3);
        }
    };

    let queries = match read_queries(&options.queries) {
        Ok(queries) => queries,
        Err(problem) => {
            eprintln!("floor: cannot read {}: {problem}", options.queries);
            return ExitCode::from(3);
        }
    };

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(problem) => {
            eprintln!("floor: cannot start the async runtime: {problem}");
            return ExitCode::from(3);
        }
    };
    match runtime.block_on(send_all(&options, queries)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(problem) => {
            eprintln!("floor: {problem}");
            ExitCode::from(1)
        }
    }
}

fn parse_options(mut arguments: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut prometheus = None;
    let mut time = None;
    let mut concurrency = 8;
    let mut queries = None;
    while let Some(argument) = arguments.next() {
        let mut value = |name: &str| {
            arguments
                .next()
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match argument.as_str() {
            "--prometheus" => prometheus = Some(value("--prometheus")?),
            "--time" => time = Some(value("--time")?),
            "--concurrency" => {
                concurrency = value("--concurrency")?
                    .parse()
                    .map_err(|_| "--concurrency takes a positive whole number".to_string())?;
            }
            other if other.starts_with("--") => return Err(format!("unknown flag {other}")),
            other => queries = Some(other.to_string()),
        }
    }
    Ok(Options {
        prometheus: prometheus.ok_or("--prometheus is required")?,
        time: time.ok_or("--time is required")?,
        concurrency: concurrency.max(1),
        queries: queries.ok_or("the queries file is required")?,
    })
}

/// The queries of a `summit-slo compile` listing, in order.
fn read_queries(path: &str) -> std::io::Result<Vec<String>> {
    let text = std::fs::read_to_string(path)?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_string)
        .collect())
}

/// Sends every query, at most `concurrency` at once, and prints the totals.
async fn send_all(options: &Options, queries: Vec<String>) -> Result<(), String> {
    // Plain HTTP needs no TLS, but the client is built with rustls and
    // wants a provider chosen before it is built.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .build()
        .map_err(|problem| format!("cannot set up HTTP: {problem}"))?;
    let endpoint = format!("{}/api/v1/query", options.prometheus.trim_end_matches('/'));
    let permits = Arc::new(Semaphore::new(options.concurrency));
    let count = queries.len();

    let started = Instant::now();
    let mut tasks = JoinSet::new();
    for query in queries {
        let client = client.clone();
        let endpoint = endpoint.clone();
        let permits = permits.clone();
        let time = options.time.clone();
        tasks.spawn(async move {
            let _permit = permits
                .acquire_owned()
                .await
                .expect("the semaphore is never closed");
            send_one(&client, &endpoint, &query, &time).await
        });
    }
    let mut errors = 0;
    let mut bytes = 0;
    while let Some(finished) = tasks.join_next().await {
        match finished {
            Ok(Ok(size)) => bytes += size,
            Ok(Err(problem)) => {
                errors += 1;
                eprintln!("floor: {problem}");
            }
            Err(problem) => return Err(format!("a query task stopped: {problem}")),
        }
    }
    let elapsed = started.elapsed();

    println!(
        "{{\"queries\": {count}, \"errors\": {errors}, \"bytes\": {bytes}, \"elapsed_ms\": {:.3}}}",
        elapsed.as_secs_f64() * 1000.0
    );
    if errors > 0 {
        return Err(format!("{errors} of {count} queries failed"));
    }
    Ok(())
}

/// One instant query, read to its end; the body's size when it is a 200.
async fn send_one(
    client: &reqwest::Client,
    endpoint: &str,
    query: &str,
    time: &str,
) -> Result<usize, String> {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("query", query)
        .append_pair("time", time)
        .finish();
    let response = client
        .post(endpoint)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .map_err(|problem| format!("cannot send a query: {problem}"))?;
    let status = response.status();
    let body = response
        .bytes()
        .await
        .map_err(|problem| format!("the answer was cut off: {problem}"))?;
    if !status.is_success() {
        return Err(format!(
            "HTTP {status}: {}",
            String::from_utf8_lossy(&body[..body.len().min(200)])
        ));
    }
    Ok(body.len())
}
