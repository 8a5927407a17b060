"""Bulk export of assessment records (`python bench/run.py export [--count N] [--quick]`, 1,000
records with 3,000 evidence files unless a count is given, 50 with --quick): the export job's
total time, records/s, its process's peak memory, and its archive throughput (bytes of archive
per second) as a ratio to `zip -r` of the same evidence files, all measured in this run.

Twice: warm, with every record's PDF stored as a deployment has them (rendered in the
background when each record changed, before the export starts: `prerender`, timed on its
own), so the export packs stored files; and cold, with nothing stored, so the export renders
every PDF, in parallel (records/stored.py). `export_vs_zip` and `export_mem_mib` are the warm
run's, `export_cold_vs_zip` and `export_cold_mem_mib` the cold run's.

Each job runs in a child process of its own (as it would in a worker), so its peak RSS is the
job's: `*_mem_mib` is that process's high-water mark (`ru_maxrss`), imports, fonts and all.
The cold run's render processes are forks of it (pages shared until written) and are measured
apart: `export_pool_mem_mib` is the largest one's peak RSS, shared pages counted.
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
QUICK_RECORDS = 50
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
    if getattr(options, "quick", False):
        return QUICK_RECORDS
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
        pre = _child(env, "prerender")
        print(
            f"prerender : {pre['seconds']:8.1f} s: {pre['rendered']} PDFs rendered and stored in "
            f"{pre['processes']} processes, as the background jobs would have (not in the figures)"
        )
        warm = _child(env, "export", str(data["auditor"]))
        cold = _child(env, "export", str(data["auditor"]), "cold")

        evidence = Path(data["evidence_dir"])
        with tempfile.TemporaryDirectory(prefix="bench-zip-") as tmp:
            out = Path(tmp) / "evidence.zip"
            started = time.perf_counter()
            subprocess.run(
                [zip_tool, "-r", "-q", str(out), evidence.name], cwd=evidence.parent, check=True
            )
            zip_seconds = time.perf_counter() - started
            zip_bytes = out.stat().st_size

    zip_throughput = zip_bytes / zip_seconds
    for name, job in (("warm", warm), ("cold", cold)):
        throughput = job["archive_bytes"] / job["seconds"]
        job["vs_zip"] = throughput / zip_throughput
        print(
            f"export {name}: {job['seconds']:8.1f} s for {job['records']} records "
            f"({job['stored_before']} PDFs stored before), "
            f"{job['records'] / job['seconds']:.1f} records/s, archive "
            f"{job['archive_bytes'] / 2**20:.1f} MiB ({throughput / 2**20:.2f} MiB/s)"
        )
        growth = job["peak_rss_mib"] - job["rss_before_mib"]
        print(
            f"memory {name}: peak RSS {job['peak_rss_mib']:.0f} MiB (ru_maxrss of the job's "
            f"process), {job['rss_before_mib']:.0f} MiB before the job, growth {growth:.0f} MiB"
            + (
                f"; largest of {job['processes']} render processes {job['pool_peak_rss_mib']:.0f}"
                " MiB"
                if name == "cold"
                else ""
            )
        )
    print(
        f"zip -r    : {zip_seconds:8.1f} s for {zip_bytes / 2**20:.1f} MiB "
        f"({zip_throughput / 2**20:.2f} MiB/s) of the same evidence files"
    )
    return {
        "export_vs_zip": round(warm["vs_zip"], 3),
        "export_mem_mib": round(warm["peak_rss_mib"]),
        "export_cold_vs_zip": round(cold["vs_zip"], 3),
        "export_cold_mem_mib": round(cold["peak_rss_mib"]),
        "export_pool_mem_mib": round(cold["pool_peak_rss_mib"]),
        "records_per_s": round(warm["records"] / warm["seconds"], 1),
        "cold_records_per_s": round(cold["records"] / cold["seconds"], 1),
    }
