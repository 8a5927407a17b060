"""The learner's dashboard (5 courses x 200 resources) and the trainer's grid (500 learners x
50 modules), each as requests/s against the trivial view measured in the same run.

Aim (issue 3): dashboard within 5x of the trivial view, the 500-learner grid within 20x.
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
            [sys.executable, "-m", "bench.data", "dashboard"],
            cwd=ROOT, env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        data = json.loads(built.stdout.strip().splitlines()[-1])
        baseline = trivial_rps(env, duration=options.duration, connections=options.connections)
        print(f"trivial view: {baseline:8.0f} req/s")
        results = {}
        with serve("gunicorn", env) as base:
            for name, path, session in [
                ("dashboard", data["dashboard_path"], data["learner_session"]),
                ("grid", data["grid_path"], data["trainer_session"]),
            ]:
                cookie = f"{data['cookie_name']}={session}"
                result = load(
                    base + path,
                    duration=options.duration,
                    connections=options.connections,
                    headers={"Cookie": cookie},
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
        "dashboard_slowdown": round(baseline / results["dashboard"], 2),
        "grid_slowdown": round(baseline / results["grid"], 2),
        "dashboard_queries": data["dashboard_queries"],
        "grid_queries": data["grid_queries"],
    }
