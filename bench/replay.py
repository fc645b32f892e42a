#!/usr/bin/env python3
"""Replay benchmark: the embedded engine against promtool + Prometheus.

Writes a recording of a load test with at least a million samples (Summit's
shape: request counters, latency histograms, queue gauges over many pods),
then measures, on the same SLOs and window:

  * summit-slo verify --replay FILE          (parse + evaluate in memory)
  * promtool tsdb create-blocks-from openmetrics FILE, starting Prometheus on
    the blocks, and summit-slo verify against it

and prints wall time and peak memory (RSS) of each. Run from the repository
root after `cargo build --release`:

    python3 bench/replay.py [--pods N]
"""

import argparse
import json
import os
import random
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

END = 1796379000
BINARY = os.path.join("target", "release", "summit-slo")
SLOS = """
service: bench
slos:
  - name: latency-p95
    indicator:
      latency: {histogram: bench_request_duration_seconds, selector: '{job="bench"}', quantile: 0.95}
    objective: "< 250ms"
    by: [route]
  - name: availability
    indicator:
      ratio: {errors: 'bench_requests_total{code="500"}', total: bench_requests_total, selector: '{job="bench"}'}
    objective: "< 1%"
    sustained: {step: 1m}
  - name: throughput
    indicator: {rate: {counter: bench_requests_total, selector: '{job="bench"}'}}
    objective: ">= 100/s"
  - name: queue-peak
    indicator: {gauge: {metric: bench_queue_depth, selector: '{job="bench"}'}}
    objective: "< 5000"
    by: [pod]
"""
BOUNDS = ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf"]


def write_recording(path, pods, scrapes):
    rng = random.Random(2026)
    samples = 0
    start = END - scrapes * 15 + 5
    times = [start + 15 * i for i in range(scrapes)]
    with open(path, "w") as out:
        for pod in range(pods):
            for route in ("query", "mutation"):
                for code in ("200", "500"):
                    value = rng.randint(0, 10_000)
                    for t in times:
                        value += rng.randint(0, 30) if code == "200" else rng.randint(0, 1)
                        out.write(f'bench_requests_total{{job="bench",pod="p{pod}",route="{route}",code="{code}"}} {value} {t}\n')
                        samples += 1
        for pod in range(pods):
            for route in ("query", "mutation"):
                counts = [0] * len(BOUNDS)
                rows = [[] for _ in BOUNDS]
                for t in times:
                    n = rng.randint(10, 40)
                    for _ in range(n):
                        latency = rng.random() ** 3
                        for i, bound in enumerate(BOUNDS):
                            if bound == "+Inf" or latency <= float(bound):
                                counts[i] += 1
                    for i, bound in enumerate(BOUNDS):
                        rows[i].append(f'bench_request_duration_seconds_bucket{{job="bench",pod="p{pod}",route="{route}",le="{bound}"}} {counts[i]} {t}\n')
                for row in rows:
                    out.writelines(row)
                    samples += len(row)
        for pod in range(pods):
            depth = rng.randint(0, 100)
            for t in times:
                depth = max(0, depth + rng.randint(-20, 20))
                out.write(f'bench_queue_depth{{job="bench",pod="p{pod}"}} {depth} {t}\n')
                samples += 1
        out.write("# EOF\n")
    return samples


def measure(command, **kwargs):
    """Runs a command; returns (seconds, peak RSS in MiB of the command)."""
    started = time.monotonic()
    process = subprocess.Popen(command, **kwargs)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.monotonic() - started
    if os.waitstatus_to_exitcode(status) not in (0, 1, 2):
        sys.exit(f"{command[0]} failed with {status}")
    return elapsed, usage.ru_maxrss / 1024


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=200)
    parser.add_argument("--scrapes", type=int, default=400, help="scrapes 15s apart")
    arguments = parser.parse_args()
    if not os.path.exists(BINARY):
        sys.exit("build first: cargo build --release")

    work = tempfile.mkdtemp(prefix="summit-slo-bench.")
    try:
        recording = os.path.join(work, "recording.om")
        samples = write_recording(recording, arguments.pods, arguments.scrapes)
        slos = os.path.join(work, "slos.yaml")
        with open(slos, "w") as out:
            out.write(SLOS)
        size = os.path.getsize(recording) / 2**20
        window = ["--start", "2026-12-04T10:00:00Z", "--end", "2026-12-04T10:10:00Z"]
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}

        replay_time, replay_memory = measure(
            [BINARY, "verify", "--slos", slos, "--replay", recording, "--format", "json"] + window, **quiet
        )

        data = os.path.join(work, "data")
        backfill_time, backfill_memory = measure(
            ["promtool", "tsdb", "create-blocks-from", "openmetrics", recording, data], **quiet
        )
        port = free_port()
        config = os.path.join(work, "prometheus.yml")
        with open(config, "w") as out:
            out.write("global:\n  scrape_interval: 15s\n")
        started = time.monotonic()
        server = subprocess.Popen(
            ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={data}",
             "--storage.tsdb.retention.time=100y", f"--web.listen-address=127.0.0.1:{port}"],
            **quiet,
        )
        url = f"http://127.0.0.1:{port}"
        while True:
            try:
                urllib.request.urlopen(url + "/-/ready", timeout=1)
                break
            except OSError:
                time.sleep(0.05)
        startup_time = time.monotonic() - started
        query_time, _ = measure(
            [BINARY, "verify", "--slos", slos, "--prometheus", url, "--settle", "0s",
             "--scrape-interval", "15s", "--format", "json"] + window, **quiet
        )
        with open(f"/proc/{server.pid}/status") as status:
            prometheus_memory = next(
                int(line.split()[1]) / 1024 for line in status if line.startswith("VmHWM:")
            )
        server.terminate()
        server.wait()

        served_total = backfill_time + startup_time + query_time
        print(f"recording: {samples:,} samples, {size:.0f} MiB, {arguments.pods} pods")
        print()
        print("| path | wall time | peak memory |")
        print("|---|---|---|")
        print(f"| summit-slo verify --replay | {replay_time:.2f} s | {replay_memory:.0f} MiB |")
        print(f"| promtool backfill | {backfill_time:.2f} s | {backfill_memory:.0f} MiB |")
        print(f"| Prometheus start on the blocks | {startup_time:.2f} s | {prometheus_memory:.0f} MiB (server) |")
        print(f"| summit-slo verify against it | {query_time:.2f} s | |")
        print(f"| backfill + start + verify | {served_total:.2f} s | |")
        print()
        print(f"replay is {served_total / replay_time:.1f}x faster than backfill + Prometheus")
        if replay_time >= served_total:
            sys.exit("replay was not faster")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
