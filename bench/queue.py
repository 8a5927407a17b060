"""The assessor's marking queue and marking page, with 20,000 attempts waiting across 50 cohorts
(the assessor marks 10 of them), each against the floor page in the same run.

Aim (issue 19): each within 3x the floor (`queue_vs_floor`, `marking_vs_floor`: the floor's
requests/s over the page's, the same assessor signed in on both), with its p95 at 32 concurrent
connections; a fixed query count (`queue_queries`, `mark_queries`). `*_slowdown` is the older
figure against the trivial view, kept beside them.

Both pages are read from the database on every visit (no page cache since issue 19), so wrk's
repeated visits measure what every assessor's visit costs. How the rounds run: bench/README.md.
"""

from __future__ import annotations

import argparse

from bench.common import (
    FLOOR_PATH,
    TRIVIAL_PATH,
    Page,
    against_floor,
    child_json,
    page_env,
    page_figures,
    require_wrk,
    round_settings,
    serve,
)


def run(options: argparse.Namespace) -> dict[str, float]:
    require_wrk()
    rounds, seconds = round_settings(options)
    with page_env() as env:
        data = child_json(env, "bench.data", "queue")
        cookie = {"Cookie": data["cookie"]}
        with serve("gunicorn", env) as base:
            pages = [
                Page("queue", base + data["queue_path"], cookie, base + FLOOR_PATH),
                Page("marking", base + data["mark_path"], cookie, base + FLOOR_PATH),
            ]
            against_floor(
                pages,
                trivial_url=base + TRIVIAL_PATH,
                rounds=rounds,
                seconds=seconds,
                connections=options.connections,
            )
    print(f"queries: queue {data['queue_queries']}, marking {data['mark_queries']}")
    return page_figures(
        pages, queue_queries=data["queue_queries"], mark_queries=data["mark_queries"]
    )
