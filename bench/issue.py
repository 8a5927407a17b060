"""Issuing credentials in-process: build, sign (eddsa-rdfc-2022, RDFC-1.0 canonicalisation),
store, status entry and audit event, as a ratio to a bare Ed25519 signature of the same JSON;
and certificate PDFs as a ratio to WeasyPrint rendering a plain one-page document, both in the
same run (`python bench/run.py issue [--count N]`)."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

from bench.common import ROOT, scratch_env


def run(options: argparse.Namespace) -> dict[str, float]:
    count = int(getattr(options, "count", 0) or 200)
    with scratch_env() as env:
        done = subprocess.run(
            [sys.executable, "-m", "bench.credentials_data", "issue", str(count)],
            cwd=ROOT, env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode:
            sys.exit(f"building the data failed:\n{done.stderr[-3000:]}")
    data = json.loads(done.stdout.strip().splitlines()[-1])
    issued_per_s = data["issued"] / data["issue_seconds"]
    signs_per_s = data["issued"] / data["sign_seconds"]
    print(f"   issuance: {issued_per_s:10.1f} credentials/s ({data['issued']} issued)")
    print(f" bare sign : {signs_per_s:10.1f} Ed25519 signatures/s of the same JSON")
    print(f"certificate: {1 / data['pdf_median']:10.2f} PDFs/s (median of 10)")
    print(f"plain page : {1 / data['plain_median']:10.2f} PDFs/s (median of 10)")
    return {
        "sign_slowdown": round(signs_per_s / issued_per_s, 2),
        "pdf_slowdown": round(data["pdf_median"] / data["plain_median"], 2),
        "issued_per_s": round(issued_per_s, 1),
    }
