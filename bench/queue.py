"""The assessor's marking queue and marking page, with 20,000 attempts waiting across 50 cohorts
(the assessor marks 10 of them), as requests/s against the trivial view in the same run.

Aim (issue 4): each within 5x of the trivial view, with a fixed query count.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

from bench.common import ROOT, load, require_wrk, scratch_env, serve, trivial_rps


def run(options: argparse.Namespace) -> dict[str, float]:
    require_wrk()
    with scratch_env() as env:
        built = subprocess.run(
            [sys.executable, "-m", "bench.data", "queue"],
            cwd=ROOT, env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        data = json.loads(built.stdout.strip().splitlines()[-1])
        baseline = trivial_rps(env, duration=options.duration, connections=options.connections)
        print(f"trivial view: {baseline:8.0f} req/s")
        cookie = {"Cookie": f"{data['cookie_name']}={data['session']}"}
        results = {}
        with serve("gunicorn", env) as base:
            for name, path in [("queue", data["queue_path"]), ("marking", data["mark_path"])]:
                result = load(
                    base + path,
                    duration=options.duration,
                    connections=options.connections,
                    headers=cookie,
                )
                if result.errors:
                    sys.exit(f"{name}: {result.errors} failed requests")
                results[name] = result.rps
                queries = data["queue_queries" if name == "queue" else "mark_queries"]
                print(
                    f"{name:>12}: {result.rps:8.1f} req/s  p50 {result.p50_ms:6.1f} ms  "
                    f"p99 {result.p99_ms:6.1f} ms  {queries} queries  "
                    f"slowdown {baseline / result.rps:.1f}x"
                )
    return {
        "queue_slowdown": round(baseline / results["queue"], 2),
        "marking_slowdown": round(baseline / results["marking"], 2),
        "queue_queries": data["queue_queries"],
    }
