"""The public verification page and the signed JSON of a credential, each against the floor
page in the same run (both are cached until the credential's status changes).

Aim (issue 19): the page within 3x the floor (`page_vs_floor`: the floor's requests/s over the
page's), with its p95 at 32 concurrent connections. The page is public and fetched without a
session; the floor is by definition a signed-in page (the credential's holder), so a ratio
below 1 means the cached public page costs less than the least a signed-in page does.
`*_slowdown` is the older figure against the trivial view, kept beside them.
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
        data = child_json(env, "bench.credentials_data", "verify")
        signed_in = {"Cookie": data["cookie"]}
        with serve("gunicorn", env) as base:
            pages = [
                Page("page", base + data["page_path"], {}, base + FLOOR_PATH, signed_in),
                Page("json", base + data["json_path"], {}, base + FLOOR_PATH, signed_in),
            ]
            against_floor(
                pages,
                trivial_url=base + TRIVIAL_PATH,
                rounds=rounds,
                seconds=seconds,
                connections=options.connections,
            )
    return page_figures(pages)
