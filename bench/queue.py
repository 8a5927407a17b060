"""The assessor's marking queue and marking page, with 20,000 attempts waiting across 50 cohorts
(the assessor marks 10 of them), as requests/s against the trivial view in the same run.

Aim (issue 4): each within 5x of the trivial view, with a fixed query count.

Both pages are cached until something on them changes (assessment.views), and wrk asks for the
same page again and again, so `queue_slowdown` and `marking_slowdown` are the pages served from
the cache: an assessor's visits between two changes. The first visit after a change renders the
page; a second server with the caches off (MARKING_*_CACHE_SECONDS=0) measures that, printed
above the last line as `uncached`. `queue_queries` is the rendering visit's count.

Each page is divided by the trivial view measured on the same server just before and after it;
the cached pages are measured in nine rounds of quarter-length loads and the median ratio is
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
        uncached_env = {
            **env,
            "MARKING_QUEUE_CACHE_SECONDS": "0",
            "MARKING_PAGE_CACHE_SECONDS": "0",
        }
        slowdown: dict[str, float] = {}
        for label, server_env, rounds in [("uncached", uncached_env, 1), ("cached", env, 9)]:
            with serve("gunicorn", server_env) as base:
                # The trivial view on the same server just before and just after each page, so
                # a neighbour's load that comes and goes weighs on both sides of the ratio; the
                # cached pages, as the figures that matter, take the median of nine rounds of
                # short loads.
                ratios: dict[str, list[float]] = {"queue": [], "marking": []}
                seconds = options.duration if rounds == 1 else max(options.duration / 4, 2)
                trivial = [_load(base + TRIVIAL_PATH, seconds, options.connections)]
                for _ in range(rounds):
                    for name, path in [
                        ("queue", data["queue_path"]),
                        ("marking", data["mark_path"]),
                    ]:
                        result = _load(base + path, seconds, options.connections, cookie)
                        trivial.append(_load(base + TRIVIAL_PATH, seconds, options.connections))
                        baseline = (trivial[-2].rps + trivial[-1].rps) / 2
                        ratios[name].append(baseline / result.rps)
                        key = "queue_queries" if name == "queue" else "mark_queries"
                        queries = data[key] if label == "uncached" else data[key + "_cached"]
                        print(
                            f"{label:>8} {name:>8}: {result.rps:8.1f} req/s  "
                            f"p50 {result.p50_ms:6.1f} ms  p99 {result.p99_ms:6.1f} ms  "
                            f"{queries} queries  trivial view {baseline:6.0f} req/s  "
                            f"slowdown {ratios[name][-1]:.1f}x"
                        )
                for name, values in ratios.items():
                    slowdown[f"{name}_{label}"] = statistics.median(values)
        print(
            f"uncached: queue_slowdown={slowdown['queue_uncached']:.2f} "
            f"marking_slowdown={slowdown['marking_uncached']:.2f}"
        )
    return {
        "queue_slowdown": round(slowdown["queue_cached"], 2),
        "marking_slowdown": round(slowdown["marking_cached"], 2),
        "queue_queries": data["queue_queries"],
    }


def _load(
    url: str, seconds: float, connections: int, headers: dict[str, str] | None = None
) -> Load:
    result = load(url, duration=seconds, connections=connections, headers=headers)
    if result.errors:
        sys.exit(f"{url}: {result.errors} failed requests")
    return result
