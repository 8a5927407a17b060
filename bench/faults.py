"""Faults: kill, cut off and break the real services under work, and count what was lost.

`python bench/run.py faults` runs the fault scenarios, which are integration tests
(tests/integration/test_faults.py, a Redis restart under a live room in
tests/integration/test_faults_redis.py, and the Celery worker killed with SIGKILL in the middle of
issuing a credential in tests/integration/test_credentials_worker.py, the media volume filling
up under uploads in tests/integration/test_faults_disk.py, which mounts a tmpfs and so needs
root) against PostgreSQL
(DATABASE_URL, default the Makefile's) and Redis (REDIS_URL), with real daphne and Celery
worker processes. A missing service fails the run (CI=1), it is never skipped. Each scenario
records what it lost and what it did twice; a scenario survived when its test passed.
Last line: `faults: scenarios=<n> survived=<n> lost=<n> duplicated=<n>`.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = [
    "tests/integration/test_faults.py",
    "tests/integration/test_faults_redis.py",
    "tests/integration/test_faults_disk.py",
    "tests/integration/test_credentials_worker.py::"
    "test_a_worker_killed_mid_issue_leaves_exactly_one_credential",
]


def run(options: argparse.Namespace) -> dict[str, float]:
    env = dict(os.environ)
    env.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/flipside")
    env.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
    env["CI"] = "1"  # a missing service fails the scenario instead of skipping it
    with tempfile.TemporaryDirectory(prefix="flipside-faults-") as tmp:
        report = Path(tmp) / "faults.xml"
        subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
             f"--junitxml={report}", "-o", "junit_family=xunit1", *SCENARIOS],
            cwd=ROOT, env=env, check=False,
        )  # fmt: skip
        if not report.exists():
            sys.exit("faults: pytest wrote no report")
        cases = ET.parse(report).getroot().iter("testcase")  # noqa: S314 - our own file
        scenarios = survived = lost = duplicated = 0
        for case in cases:
            scenarios += 1
            failed = any(child.tag in {"failure", "error", "skipped"} for child in case)
            figures = {p.get("name"): int(p.get("value") or 0) for p in case.iter("property")}
            survived += not failed
            lost += figures.get("lost", 0)
            duplicated += figures.get("duplicated", 0)
            print(
                f"  {'survived' if not failed else 'FAILED  '} {case.get('name')}: "
                f"lost={figures.get('lost', '-')} duplicated={figures.get('duplicated', '-')}"
            )
    return {"scenarios": scenarios, "survived": survived, "lost": lost, "duplicated": duplicated}
