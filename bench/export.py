"""Bulk export of assessment records (`python bench/run.py export [--count N]`, 1,000 records
with 3,000 evidence files unless a count is given): the export job's total time, records/s, its
process's peak memory, and its archive throughput (bytes of archive per second) as a ratio to
`zip -r` of the same evidence files, both measured in this run.

The job runs in a child process of its own (as it would in a worker), so its peak RSS is the
job's: `export_mem_mib` is that process's high-water mark (`ru_maxrss`), imports, fonts and all.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import ROOT, scratch_env

DEFAULT_RECORDS = 1000
# bench/run.py's --count defaults to 200 for the issue benchmark; that default means "ours".
RUN_PY_DEFAULT_COUNT = 200


def _child(env: dict[str, str], *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.export_data", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode:
        sys.exit(f"bench.export_data {args[0]} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _records(options: argparse.Namespace) -> int:
    explicit = getattr(options, "records", None)
    if explicit:
        return int(explicit)
    count = int(getattr(options, "count", 0) or 0)
    return count if count and count != RUN_PY_DEFAULT_COUNT else DEFAULT_RECORDS


def run(options: argparse.Namespace) -> dict[str, float]:
    zip_tool = shutil.which("zip")
    if not zip_tool:
        sys.exit("the export benchmark compares with `zip -r`: apt-get install zip")
    records = _records(options)
    with scratch_env({"LOG_LEVEL": "WARNING"}) as env:
        data = _child(env, "build", str(records))
        print(
            f"data      : {data['records']} records, {data['files']} evidence files, "
            f"{data['evidence_bytes'] / 2**20:.1f} MiB"
        )
        job = _child(env, "export", str(data["auditor"]))

        evidence = Path(data["evidence_dir"])
        with tempfile.TemporaryDirectory(prefix="bench-zip-") as tmp:
            out = Path(tmp) / "evidence.zip"
            started = time.perf_counter()
            subprocess.run(
                [zip_tool, "-r", "-q", str(out), evidence.name], cwd=evidence.parent, check=True
            )
            zip_seconds = time.perf_counter() - started
            zip_bytes = out.stat().st_size

    records_per_s = job["records"] / job["seconds"]
    export_throughput = job["archive_bytes"] / job["seconds"]
    zip_throughput = zip_bytes / zip_seconds
    growth = job["peak_rss_mib"] - job["rss_before_mib"]
    print(
        f"export    : {job['seconds']:8.1f} s for {job['records']} records, "
        f"{records_per_s:.1f} records/s, archive {job['archive_bytes'] / 2**20:.1f} MiB "
        f"({export_throughput / 2**20:.2f} MiB/s)"
    )
    print(
        f"memory    : peak RSS {job['peak_rss_mib']:.0f} MiB (ru_maxrss of the job's process), "
        f"{job['rss_before_mib']:.0f} MiB before the job, growth {growth:.0f} MiB"
    )
    print(
        f"zip -r    : {zip_seconds:8.1f} s for {zip_bytes / 2**20:.1f} MiB "
        f"({zip_throughput / 2**20:.2f} MiB/s) of the same evidence files"
    )
    return {
        "export_mem_mib": round(job["peak_rss_mib"]),
        "export_vs_zip": round(export_throughput / zip_throughput, 3),
        "records_per_s": round(records_per_s, 1),
    }
