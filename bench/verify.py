"""The public verification page and the signed JSON, requests/s as a ratio to the trivial view
in the same run (aim: slowdown <= 2; both are cached until the credential's status changes)."""

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
            [sys.executable, "-m", "bench.credentials_data", "verify"],
            cwd=ROOT, env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode:
            sys.exit(f"building the data failed:\n{done.stderr[-3000:]}")
        data = json.loads(done.stdout.strip().splitlines()[-1])
        baseline = trivial_rps(env, duration=options.duration, connections=options.connections)
        print(f"trivial view: {baseline:8.0f} req/s")
        results = {}
        with serve("gunicorn", env) as base:
            for name in ("page", "json"):
                result = load(
                    base + data[f"{name}_path"],
                    duration=options.duration,
                    connections=options.connections,
                )
                if result.errors:
                    sys.exit(f"{name}: {result.errors} failed requests")
                results[name] = result.rps
                print(
                    f"{name:>12}: {result.rps:8.1f} req/s  p50 {result.p50_ms:6.1f} ms  "
                    f"p99 {result.p99_ms:6.1f} ms  slowdown {baseline / result.rps:.2f}x"
                )
    return {
        "page_slowdown": round(baseline / results["page"], 2),
        "json_slowdown": round(baseline / results["json"], 2),
    }
