"""The auditor's search and record pages over 20,000 attempts (5,000 learners, 50 cohorts),
requests/s as a ratio to the trivial view in the same run. Signed in as an auditor, so each
request also writes its audit event, as in production."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

from bench.common import ROOT, load, require_wrk, scratch_env, serve, trivial_rps


def run(options: argparse.Namespace) -> dict[str, float]:
    require_wrk()
    with scratch_env() as env:
        done = subprocess.run(
            [sys.executable, "-m", "bench.records_data"],
            cwd=ROOT, env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode:
            sys.exit(f"building the data failed:\n{done.stderr[-3000:]}")
        data = json.loads(done.stdout.strip().splitlines()[-1])
        baseline = trivial_rps(env, duration=options.duration, connections=options.connections)
        print(f"trivial view: {baseline:8.0f} req/s")
        cookie = {"Cookie": f"{data['cookie_name']}={data['session']}"}
        results = {}
        with serve("gunicorn", env) as base:
            for name in ("search", "record"):
                result = load(
                    base + data[f"{name}_path"],
                    duration=options.duration,
                    connections=options.connections,
                    headers=cookie,
                )
                if result.errors:
                    sys.exit(f"{name}: {result.errors} failed requests")
                results[name] = result.rps
                print(
                    f"{name:>12}: {result.rps:8.1f} req/s  p50 {result.p50_ms:6.1f} ms  "
                    f"p99 {result.p99_ms:6.1f} ms  {data[name + '_queries']} queries  "
                    f"slowdown {baseline / result.rps:.1f}x"
                )
    return {
        "search_slowdown": round(baseline / results["search"], 2),
        "record_slowdown": round(baseline / results["record"], 2),
        "search_queries": data["search_queries"],
        "record_queries": data["record_queries"],
    }
