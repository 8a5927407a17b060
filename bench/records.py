"""The auditor's search and record pages over 20,000 attempts (5,000 learners, 50 cohorts), each
against the floor page in the same run. Signed in as an auditor, so each request, the floor's
too, also writes its audit event, as in production.

Aim (issue 19): each within 3x the floor (`search_vs_floor`, `record_vs_floor`: the floor's
requests/s over the page's, the same auditor signed in on both), with its p95 at 32 concurrent
connections. `*_slowdown` is the older figure against the trivial view, kept beside them.
How the rounds run: bench/README.md.
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
        data = child_json(env, "bench.records_data")
        cookie = {"Cookie": data["cookie"]}
        with serve("gunicorn", env) as base:
            pages = [
                Page("search", base + data["search_path"], cookie, base + FLOOR_PATH),
                Page("record", base + data["record_path"], cookie, base + FLOOR_PATH),
            ]
            against_floor(
                pages,
                trivial_url=base + TRIVIAL_PATH,
                rounds=rounds,
                seconds=seconds,
                connections=options.connections,
            )
    print(f"queries: search {data['search_queries']}, record {data['record_queries']}")
    return page_figures(
        pages, search_queries=data["search_queries"], record_queries=data["record_queries"]
    )
