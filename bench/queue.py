"""The assessor's marking queue and marking page, with 20,000 attempts waiting across 50 cohorts
(the assessor marks 10 of them), as requests/s against the trivial view in the same run.

Aim (issue 4): each within 5x of the trivial view, with a fixed query count.

Both pages are read from the database on every visit (no page cache since issue 19), so wrk's
repeated visits measure what every assessor's visit costs. `queue_queries` and `mark_queries`
are a visit's query counts.

Each page is divided by the trivial view measured on the same server just before and after it;
the pages are measured in nine rounds of quarter-length loads and the median ratio is
the figure (every round is printed), because these shared machines' speed swings twofold from
one few-second window to the next, for the trivial view as much as for any page.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

from bench.common import ROOT, TRIVIAL_PATH, Load, load, require_wrk, scratch_env, serve


def run(options: argparse.Namespace) -> dict[str, float]:
    require_wrk()
    with scratch_env() as env:
        built = subprocess.run(
            [sys.executable, "-m", "bench.data", "queue"],
            cwd=ROOT, env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        data = json.loads(built.stdout.strip().splitlines()[-1])
        cookie = {"Cookie": f"{data['cookie_name']}={data['session']}; {data['csrf_cookie']}"}
        with serve("gunicorn", env) as base:
            # The trivial view on the same server just before and just after each page, so a
            # neighbour's load that comes and goes weighs on both sides of the ratio; each
            # figure is the median of nine rounds of short loads.
            ratios: dict[str, list[float]] = {"queue": [], "marking": []}
            seconds = max(options.duration / 4, 2)
            trivial = [_load(base + TRIVIAL_PATH, seconds, options.connections)]
            for _ in range(9):
                for name, path in [("queue", data["queue_path"]), ("marking", data["mark_path"])]:
                    result = _load(base + path, seconds, options.connections, cookie)
                    trivial.append(_load(base + TRIVIAL_PATH, seconds, options.connections))
                    baseline = (trivial[-2].rps + trivial[-1].rps) / 2
                    ratios[name].append(baseline / result.rps)
                    queries = data["queue_queries" if name == "queue" else "mark_queries"]
                    print(
                        f"{name:>8}: {result.rps:8.1f} req/s  "
                        f"p50 {result.p50_ms:6.1f} ms  p99 {result.p99_ms:6.1f} ms  "
                        f"{queries} queries  trivial view {baseline:6.0f} req/s  "
                        f"slowdown {ratios[name][-1]:.1f}x"
                    )
    return {
        "queue_slowdown": round(statistics.median(ratios["queue"]), 2),
        "marking_slowdown": round(statistics.median(ratios["marking"]), 2),
        "queue_queries": data["queue_queries"],
    }


def _load(
    url: str, seconds: float, connections: int, headers: dict[str, str] | None = None
) -> Load:
    result = load(url, duration=seconds, connections=connections, headers=headers)
    if result.errors:
        sys.exit(f"{url}: {result.errors} failed requests")
    return result
