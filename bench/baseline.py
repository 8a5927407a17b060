"""Requests/s of a trivial view (`/healthz`, the full middleware stack, no database) under one
daphne process and under gunicorn with a worker per core, side by side.

The figure for the topology that serves pages (gunicorn; daphne carries only WebSockets) is
`trivial_rps`, which every later benchmark divides its own requests/s by.
"""

from __future__ import annotations

import argparse

from bench.common import TRIVIAL_PATH, load, require_wrk, scratch_env, serve


def run(options: argparse.Namespace) -> dict[str, float]:
    require_wrk()
    figures = {}
    with scratch_env() as env:
        for kind in ("daphne", "gunicorn"):
            with serve(kind, env) as base:
                result = load(
                    base + TRIVIAL_PATH, duration=options.duration, connections=options.connections
                )
            print(
                f"{kind:>8}: {result.rps:8.0f} req/s  p50 {result.p50_ms:6.1f} ms  "
                f"p99 {result.p99_ms:6.1f} ms  errors {result.errors}"
            )
            figures[kind] = result.rps
    print(f"gunicorn / daphne: {figures['gunicorn'] / figures['daphne']:.1f}x")
    return {
        "trivial_rps": round(figures["gunicorn"]),
        "daphne_rps": round(figures["daphne"]),
        "wsgi_rps": round(figures["gunicorn"]),
    }
