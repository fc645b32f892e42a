#!/usr/bin/env python3
"""Receiver benchmark: `summit-slo serve` under a webhook load from wrk.

Starts the receiver on a free loopback port with a fresh state directory,
then drives POST /webhook/alertmanager with wrk (Debian package `wrk`)
for a fixed time, over a rotating set of notifications in which alerts fire
and resolve, so nearly every request changes the state and is journalled
and fsynced before its answer. A second run sends one notification over
and over (the duplicates Alertmanager's retries and HA peers produce).
Prints requests per second, p50/p99 latency, and the receiver's peak
memory (VmHWM). Run from the repository root after `cargo build --release`:

    python3 bench/serve.py [--seconds 10] [--connections 16]
"""

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

BINARY = os.path.join("target", "release", "summit-slo")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def notification(index, status):
    """Alert `index` of 50, firing or resolved, in a group of its own."""
    name = f"Alert{index % 50}"
    return {
        "receiver": "summit-slo",
        "status": status,
        "version": "4",
        "groupKey": f'{{}}:{{alertname="{name}"}}',
        "truncatedAlerts": 0,
        "externalURL": "http://alertmanager:9093",
        "groupLabels": {"alertname": name},
        "commonLabels": {},
        "commonAnnotations": {},
        "alerts": [
            {
                "status": status,
                "labels": {"alertname": name, "severity": "critical", "service": "summit-api"},
                "annotations": {"summary": f"{name} is {status}"},
                # A new start per round: every firing is a new incident.
                "startsAt": f"2026-12-04T10:{index // 50 % 60:02d}:00Z",
                "endsAt": "2026-12-04T11:00:00Z" if status == "resolved" else "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus:9090/graph",
                "fingerprint": f"{index % 50:016x}",
            }
        ],
    }


def lua_script(bodies):
    quoted = ",\n".join("[==[" + json.dumps(body) + "]==]" for body in bodies)
    return f"""
local bodies = {{
{quoted}
}}
local counter = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  counter = counter + 1
  return wrk.format(nil, "/webhook/alertmanager", nil, bodies[(counter % #bodies) + 1])
end
"""


def run_wrk(url, script_path, seconds, connections):
    output = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", script_path, url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", output, re.MULTILINE))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return rate, latency.get("50"), latency.get("99"), int(errors.group(1)) if errors else 0


def peak_memory(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return line.split(":")[1].strip()
    return "?"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    for tool in ("wrk",):
        if not shutil.which(tool):
            sys.exit(f"{tool} is not installed: apt-get install -y {tool}")
    if not os.path.exists(BINARY):
        sys.exit(f"{BINARY} is missing: cargo build --release")

    with tempfile.TemporaryDirectory() as directory:
        port = free_port()
        receiver = subprocess.Popen(
            [BINARY, "serve", "--listen", f"127.0.0.1:{port}", "--state-dir", os.path.join(directory, "state")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={key: value for key, value in os.environ.items() if not key.startswith("SUMMIT_SLO_")},
        )
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(200):
                try:
                    urllib.request.urlopen(url + "/healthz", timeout=1).read()
                    break
                except OSError:
                    time.sleep(0.05)
            changing = [notification(index, "firing" if (index // 50) % 2 == 0 else "resolved") for index in range(3000)]
            repeated = [notification(0, "firing")]
            results = []
            for label, bodies in (("changing state (journalled)", changing), ("repeated (duplicates)", repeated)):
                script = os.path.join(directory, "load.lua")
                with open(script, "w") as file:
                    file.write(lua_script(bodies))
                results.append((label, run_wrk(url, script, args.seconds, args.connections)))
            gate = json.loads(urllib.request.urlopen(url + "/api/v1/gate").read())
            memory = peak_memory(receiver.pid)
            journal = os.path.getsize(os.path.join(directory, "state", "journal.jsonl"))
        finally:
            receiver.terminate()
            receiver.wait(timeout=30)

    print(f"summit-slo serve, {args.connections} connections, {args.seconds}s per run, wrk -t2")
    for label, (rate, p50, p99, errors) in results:
        print(f"  {label:28} {rate:9.0f} requests/s   p50 {p50:>8}   p99 {p99:>8}   non-2xx {errors}")
    print(f"  peak memory (VmHWM)          {memory}")
    print(f"  journal after the runs       {journal / 1024:.0f} KiB (compacted every 1,000 notifications)")
    print(f"  gate at the end              open={gate['open']}, {gate['firing']} firing, {gate['notifications']} notifications")


if __name__ == "__main__":
    main()
