"""The floors every page is measured against, and the trivial view.

- `floor_vs_stock`: our floor page (bench/urls.py: signed in, the whole middleware stack and
  every context processor, the base layout with nothing in it) against the same page in a bare
  Django project with only contrib apps (bench/stock/), both served by gunicorn as deployed and
  measured in interleaved rounds of the same run: the stock floor's requests/s over ours, so
  1.3 means our middleware and context processors make the least page 30% slower. Aim: 1.3.
- `floor_p95_ms`, `stock_p95_ms`: their p95 latency at 32 concurrent connections.
- `floor_slowdown`: the trivial view (`/healthz`, no session, no template) over our floor.
- `trivial_rps`, `daphne_rps`, `wsgi_rps`: requests/s of the trivial view under one daphne
  process and under gunicorn (a worker per core), as before the floor existed.
"""

from __future__ import annotations

import argparse
import statistics

from bench.common import (
    FLOOR_PATH,
    STOCK_APP,
    STOCK_SETTINGS,
    TRIVIAL_PATH,
    Page,
    against_floor,
    child_json,
    load,
    page_env,
    require_wrk,
    round_settings,
    serve,
)


def run(options: argparse.Namespace) -> dict[str, float]:
    require_wrk()
    rounds, seconds = round_settings(options)
    trivial = {}
    with page_env() as env:
        ours = child_json(env, "bench.data", "floor")
        stock_env = {**env, "DJANGO_SETTINGS_MODULE": STOCK_SETTINGS}
        stock = child_json(stock_env, "bench.stock.data")
        for kind in ("daphne", "gunicorn"):
            with serve(kind, env) as base:
                result = load(
                    base + TRIVIAL_PATH, duration=options.duration, connections=options.connections
                )
            print(
                f"trivial view, {kind:>8}: {result.rps:8.0f} req/s  p50 {result.p50_ms:6.1f} ms  "
                f"p95 {result.p95_ms:6.1f} ms  p99 {result.p99_ms:6.1f} ms  errors {result.errors}"
            )
            trivial[kind] = result.rps
        print(f"gunicorn / daphne: {trivial['gunicorn'] / trivial['daphne']:.1f}x")
        # Both servers up at once, loaded in turn: an idle one costs the other nothing.
        with (
            serve("gunicorn", env) as base,
            serve("gunicorn", stock_env, app=STOCK_APP) as stock_base,
        ):
            floor = Page(
                "floor",
                base + FLOOR_PATH,
                {"Cookie": ours["cookie"]},
                floor_url=stock_base + FLOOR_PATH,
                floor_headers={"Cookie": stock["cookie"]},
                floor_label="stock",
            )
            against_floor(
                [floor],
                trivial_url=base + TRIVIAL_PATH,
                rounds=rounds,
                seconds=seconds,
                connections=options.connections,
            )
    return {
        "floor_vs_stock": round(statistics.median(floor.vs_floor), 2),
        "floor_p95_ms": round(statistics.median(floor.p95_ms), 1),
        "stock_p95_ms": round(statistics.median(floor.floor_p95_ms), 1),
        "floor_slowdown": round(statistics.median(floor.slowdown), 2),
        "trivial_rps": round(trivial["gunicorn"]),
        "daphne_rps": round(trivial["daphne"]),
        "wsgi_rps": round(trivial["gunicorn"]),
    }
