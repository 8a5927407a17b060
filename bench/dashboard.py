"""The learner's dashboard (5 courses x 200 resources) and the trainer's grid (500 learners x
50 modules), each against the floor page in the same run.

Aim (issue 19): each within 5x the floor (`dashboard_vs_floor`, `grid_vs_floor`: the floor's
requests/s over the page's, the same person signed in on both), with its p95 at 32 concurrent
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
        data = child_json(env, "bench.data", "dashboard")
        with serve("gunicorn", env) as base:
            pages = [
                Page(
                    "dashboard",
                    base + data["dashboard_path"],
                    {"Cookie": data["learner_cookie"]},
                    base + FLOOR_PATH,
                ),
                Page(
                    "grid",
                    base + data["grid_path"],
                    {"Cookie": data["trainer_cookie"]},
                    base + FLOOR_PATH,
                ),
            ]
            against_floor(
                pages,
                trivial_url=base + TRIVIAL_PATH,
                rounds=rounds,
                seconds=seconds,
                connections=options.connections,
            )
    print(f"queries: dashboard {data['dashboard_queries']}, grid {data['grid_queries']}")
    return page_figures(
        pages, dashboard_queries=data["dashboard_queries"], grid_queries=data["grid_queries"]
    )
