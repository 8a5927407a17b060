"""The assessor's marking queue and marking page, with 20,000 attempts waiting across 50 cohorts
(the assessor marks 10 of them), as requests/s against the trivial view in the same run.

Aim (issue 4): each within 5x of the trivial view, with a fixed query count.

Both pages are cached until something on them changes (assessment.views), and wrk asks for the
same page again and again, so `queue_slowdown` and `marking_slowdown` are the pages served from
the cache: an assessor's visits between two changes. The first visit after a change renders the
page; a second server with the caches off (MARKING_*_CACHE_SECONDS=0) measures that, printed
above the last line as `uncached`. `queue_queries` is the rendering visit's count.
"""

from __future__ import annotations

import argparse
import json
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
        cookie = {"Cookie": f"{data['cookie_name']}={data['session']}"}
        uncached_env = {
            **env,
            "MARKING_QUEUE_CACHE_SECONDS": "0",
            "MARKING_PAGE_CACHE_SECONDS": "0",
        }
        slowdown: dict[str, float] = {}
        for label, server_env in [("uncached", uncached_env), ("cached", env)]:
            with serve("gunicorn", server_env) as base:
                # The trivial view on the same server just before and just after each page, so
                # a neighbour's load that comes and goes weighs on both sides of the ratio.
                trivial = [_load(base + TRIVIAL_PATH, options)]
                for name, path in [("queue", data["queue_path"]), ("marking", data["mark_path"])]:
                    result = _load(base + path, options, headers=cookie)
                    trivial.append(_load(base + TRIVIAL_PATH, options))
                    baseline = (trivial[-2].rps + trivial[-1].rps) / 2
                    slowdown[f"{name}_{label}"] = baseline / result.rps
                    key = "queue_queries" if name == "queue" else "mark_queries"
                    queries = data[key] if label == "uncached" else data[key + "_cached"]
                    print(
                        f"{label:>8} {name:>8}: {result.rps:8.1f} req/s  "
                        f"p50 {result.p50_ms:6.1f} ms  p99 {result.p99_ms:6.1f} ms  "
                        f"{queries} queries  trivial view {baseline:6.0f} req/s  "
                        f"slowdown {slowdown[f'{name}_{label}']:.1f}x"
                    )
        print(
            f"uncached: queue_slowdown={slowdown['queue_uncached']:.2f} "
            f"marking_slowdown={slowdown['marking_uncached']:.2f}"
        )
    return {
        "queue_slowdown": round(slowdown["queue_cached"], 2),
        "marking_slowdown": round(slowdown["marking_cached"], 2),
        "queue_queries": data["queue_queries"],
    }


def _load(url: str, options: argparse.Namespace, headers: dict[str, str] | None = None) -> Load:
    result = load(url, duration=options.duration, connections=options.connections, headers=headers)
    if result.errors:
        sys.exit(f"{url}: {result.errors} failed requests")
    return result
