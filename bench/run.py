#!/usr/bin/env python
"""Benchmarks: `python bench/run.py NAME [--duration S]`.

Each benchmark is a module `bench/<NAME>.py` with `run(options) -> dict[str, float]`. It prints
its own figures as it goes; this runner prints the last line `NAME: metric=value ...`, which
later benchmarks and notes quote. Figures are ratios against a baseline measured in the same
run, because these machines are shared and noisy: an absolute time means little.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
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
    parser.add_argument("name", help="benchmark name, e.g. baseline")
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per measurement")
    parser.add_argument("--connections", type=int, default=16, help="open HTTP connections")
    parser.add_argument("--size-mib", type=int, default=1024, help="upload: file size in MiB")
    parser.add_argument("--count", type=int, default=200, help="issue: credentials to issue")
    parser.add_argument("--minutes", type=float, default=10.0, help="soak: how long to run")
    parser.add_argument(
        "--think", type=float, default=8.0, help="soak: a person's mean pause between clicks (s)"
    )
    options = parser.parse_args()

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


def _fmt(value: float) -> str:
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value))
    return f"{value:.2f}"


if __name__ == "__main__":
    main()
