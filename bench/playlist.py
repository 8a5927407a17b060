"""The public catalogue's search, a pathway's map and the learner's playlist (issue 16), each
against the floor page in the same run, over a provider with 2,000 units, 400 courses and 150
pathways and a learner holding 120 credentials (bench/playlist_data.py).

Aim (issue 16): each within 3x the floor (`catalogue_vs_floor`, `pathway_vs_floor`,
`playlist_vs_floor`: the floor's requests/s over the page's, the same learner signed in on
both), with a fixed query count. A page whose URL name does not exist yet (`catalogue:pathway`,
`catalogue:playlist`) is not measured and its figure is `n/a`: the same script measures it once
the page is built. The last line holds the three ratios only; p95, slowdowns and query counts
are printed above it. How the rounds run: bench/README.md.
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
    require_wrk,
    round_settings,
    serve,
)

NAMES = ("catalogue", "pathway", "playlist")


def run(options: argparse.Namespace) -> dict[str, float | str]:
    require_wrk()
    rounds, seconds = round_settings(options)
    with page_env() as env:
        data = child_json(env, "bench.playlist_data")
        cookie = {"Cookie": data["cookie"]}
        with serve("gunicorn", env) as base:
            pages = [
                Page(name, base + data[f"{name}_path"], cookie, base + FLOOR_PATH)
                for name in NAMES
                if data[f"{name}_path"]
            ]
            against_floor(
                pages,
                trivial_url=base + TRIVIAL_PATH,
                rounds=rounds,
                seconds=seconds,
                connections=options.connections,
            )
    measured = {page.name: page.figures() for page in pages}
    for name in NAMES:
        if name in measured:
            figures = measured[name]
            print(
                f"{name}: p95 {figures[f'{name}_p95_ms']} ms, slowdown "
                f"{figures[f'{name}_slowdown']}x, queries {data[f'{name}_queries']}"
            )
        else:
            print(f"{name}: n/a (no such page yet)")
    return {
        f"{name}_vs_floor": measured[name][f"{name}_vs_floor"] if name in measured else "n/a"
        for name in NAMES
    }
