#!/usr/bin/env python
"""Benchmarks: `python bench/run.py NAME [--duration S]`, or `python bench/run.py all [--quick]`.

Each benchmark is a module `bench/<NAME>.py` with `run(options) -> dict[str, float]`. It prints
its own figures as it goes; this runner prints the last line `NAME: metric=value ...`, which
later benchmarks and notes quote. Figures are ratios against a baseline measured in the same
run, because these machines are shared and noisy: an absolute time means little.

`all` runs every benchmark of the table below, each in its own process, and ends with one
table of figure, aim, value and whether it is met; a benchmark that fails or leaves a figure
out shows so in the table, and the others still run. bench/README.md says how to read it.
"""

from __future__ import annotations

import argparse
import importlib
import operator
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"


def main() -> None:
    # Run inside the project's virtual environment whichever python started us.
    if VENV_PYTHON.exists() and Path(sys.prefix).resolve() != (ROOT / ".venv").resolve():
        os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), *sys.argv])  # noqa: S606
    # The project, not bench/ (Python puts a script's own folder first), is where imports
    # start: bench/queue.py would otherwise stand in for the standard library's `queue`.
    sys.path[0] = str(ROOT)

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", help="benchmark name, e.g. baseline, or all")
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per measurement")
    parser.add_argument(
        "--connections", type=int, default=32, help="open HTTP connections (pages: p95 at 32)"
    )
    parser.add_argument(
        "--rounds", type=int, default=5, help="pages: interleaved rounds against the floor"
    )
    parser.add_argument("--size-mib", type=int, default=1024, help="upload: file size in MiB")
    parser.add_argument("--count", type=int, default=200, help="issue: credentials to issue")
    parser.add_argument("--minutes", type=float, default=10.0, help="soak: how long to run")
    parser.add_argument(
        "--think", type=float, default=8.0, help="soak: a person's mean pause between clicks (s)"
    )
    parser.add_argument("--records", type=int, default=0, help="export: records to export")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="all: shorter loads, fewer rounds, smaller uploads and exports (a smoke run)",
    )
    options = parser.parse_args()
    if options.name == "all":
        sys.exit(run_all(options))

    try:
        module = importlib.import_module(f"bench.{options.name}")
    except ModuleNotFoundError:
        available = sorted(
            p.stem
            for p in (ROOT / "bench").glob("*.py")
            if p.stem not in {"run", "common", "__init__"} and not p.stem.endswith("data")
        )
        sys.exit(f"no benchmark {options.name!r}; available: {', '.join(available)}")
    figures = module.run(options)
    print(f"{options.name}: " + " ".join(f"{k}={_fmt(v)}" for k, v in figures.items()))


# What `all` runs, in order, and the aims (issue 19) it checks. A figure with no aim is shown
# beside them for reading (p95 latencies at 32 connections), never judged.
BENCHMARKS = [
    "baseline",
    "queue",
    "dashboard",
    "records",
    "verify",
    "issue",
    "export",
    "live",
    "upload",
    "playlist",
]


@dataclass(frozen=True)
class Aim:
    benchmark: str
    figure: str
    text: str  # as the table shows it
    met: Callable[[float], bool] | None = None


def _at_most(limit: float) -> Callable[[float], bool]:
    return lambda value: operator.le(value, limit)


def _below(limit: float) -> Callable[[float], bool]:
    return lambda value: operator.lt(value, limit)


def _at_least(limit: float) -> Callable[[float], bool]:
    return lambda value: operator.ge(value, limit)


AIMS = [
    Aim("baseline", "floor_vs_stock", "<= 1.3", _at_most(1.3)),
    Aim("baseline", "floor_p95_ms", "(p95 ms)"),
    Aim("baseline", "stock_p95_ms", "(p95 ms)"),
    Aim("queue", "queue_vs_floor", "<= 3", _at_most(3)),
    Aim("queue", "queue_p95_ms", "(p95 ms)"),
    Aim("queue", "marking_vs_floor", "<= 3", _at_most(3)),
    Aim("queue", "marking_p95_ms", "(p95 ms)"),
    Aim("dashboard", "dashboard_vs_floor", "<= 5", _at_most(5)),
    Aim("dashboard", "dashboard_p95_ms", "(p95 ms)"),
    Aim("dashboard", "grid_vs_floor", "<= 5", _at_most(5)),
    Aim("dashboard", "grid_p95_ms", "(p95 ms)"),
    Aim("records", "search_vs_floor", "<= 3", _at_most(3)),
    Aim("records", "search_p95_ms", "(p95 ms)"),
    Aim("records", "record_vs_floor", "<= 3", _at_most(3)),
    Aim("records", "record_p95_ms", "(p95 ms)"),
    Aim("verify", "page_vs_floor", "<= 3", _at_most(3)),
    Aim("verify", "page_p95_ms", "(p95 ms)"),
    Aim("issue", "sign_slowdown", "<= 50", _at_most(50)),
    Aim("issue", "pdf_slowdown", "<= 1.5", _at_most(1.5)),
    Aim("export", "export_vs_zip", ">= 0.3", _at_least(0.3)),
    Aim("export", "export_mem_mib", "< 300", _below(300)),
    Aim("live", "join_slowdown_1000", "<= 5", _at_most(5)),
    Aim("live", "slowdown_1000", "<= 3", _at_most(3)),
    Aim("live", "lost", "= 0", lambda value: value == 0),
    Aim("upload", "upload_vs_tus", ">= 1.5", _at_least(1.5)),
    Aim("upload", "upload_mem_mib", "< 64", _below(64)),
    Aim("playlist", "catalogue_vs_floor", "<= 3 (issue 16)", _at_most(3)),
    Aim("playlist", "pathway_vs_floor", "<= 3 (issue 16)", _at_most(3)),
    Aim("playlist", "playlist_vs_floor", "<= 3 (issue 16)", _at_most(3)),
]
# A figure a benchmark gives as this was not measured: its page does not exist yet.
NOT_MEASURED = "n/a"

# --quick: enough to see every benchmark run and every figure come out, not to judge an aim.
QUICK = {"duration": 6.0, "rounds": 3, "size_mib": 256, "records": 50, "count": 100}
QUICK_ENV = {"BENCH_LIVE_SIZES": "1000"}
# A benchmark still running after this long is stopped and shown as failed.
TIMEOUT_S = {False: 3600, True: 1200}


def run_all(options: argparse.Namespace) -> int:
    """Run every benchmark in its own process (a crash or sys.exit stops only that one), echo
    its output, and print the table of figures against their aims."""
    settings = {
        "duration": options.duration,
        "connections": options.connections,
        "rounds": options.rounds,
        "size_mib": options.size_mib,
        "count": options.count,
        "records": options.records,
    }
    env = dict(os.environ)
    if options.quick:
        settings.update(QUICK)
        env.update({k: v for k, v in QUICK_ENV.items() if k not in env})
    args: list[str] = []
    for name, value in settings.items():
        if value:
            args += [f"--{name.replace('_', '-')}", f"{value:g}"]
    outcomes: dict[str, tuple[str, dict[str, str]]] = {}
    started = time.monotonic()
    for name in BENCHMARKS:
        print(f"\n=== {name} ===", flush=True)
        outcomes[name] = _run_one(name, args, env, TIMEOUT_S[options.quick])
    minutes = (time.monotonic() - started) / 60
    print(f"\n=== all: {minutes:.1f} min{', --quick' if options.quick else ''} ===")
    for name in BENCHMARKS:
        status, figures = outcomes[name]
        line = " ".join(f"{k}={v}" for k, v in figures.items())
        print(f"{name}: {line}" if status == "ok" else f"{name}: {status}")
    print()
    print(_table(outcomes))
    return 0


def _run_one(
    name: str, args: list[str], env: dict[str, str], timeout: float
) -> tuple[str, dict[str, str]]:
    """`ok` and the figures of its last line, or what went wrong and the figures it gave."""
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "run.py"), name, *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its servers too are stopped on a timeout
    )
    timed_out = threading.Event()

    def stop() -> None:
        timed_out.set()
        os.killpg(process.pid, signal.SIGTERM)

    timer = threading.Timer(timeout, stop)
    timer.start()
    last: str | None = None
    assert process.stdout is not None  # noqa: S101 - piped above
    for line in process.stdout:
        print(line, end="", flush=True)
        if line.startswith(f"{name}: "):
            last = line
    code = process.wait()
    timer.cancel()
    figures = dict(re.findall(r"(\w+)=(\S+)", last)) if last else {}
    if timed_out.is_set():
        return f"stopped after {timeout / 60:.0f} min", figures
    if code:
        return f"failed (exit {code})", figures
    return "ok", figures


def _table(outcomes: dict[str, tuple[str, dict[str, str]]]) -> str:
    rows = [("figure", "aim", "value", "met")]
    for aim in AIMS:
        status, figures = outcomes.get(aim.benchmark, ("not run", {}))
        value = figures.get(aim.figure)
        if value is None:
            rows.append((aim.figure, aim.text, "-", status if status != "ok" else "missing"))
            continue
        if aim.met is None:
            verdict = "-"
        elif value == NOT_MEASURED:
            verdict = "no page yet"
        else:
            try:
                verdict = "yes" if aim.met(float(value)) else "NO"
            except ValueError:
                verdict = "unreadable"
        if status != "ok":
            verdict += f" ({status})"
        rows.append((aim.figure, aim.text, value, verdict))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in lines)


def _fmt(value: float | str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value))
    return f"{value:.2f}"


if __name__ == "__main__":
    main()
