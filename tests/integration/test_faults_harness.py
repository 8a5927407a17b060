"""The suite's own servers die with it, even when pytest is killed outright (SIGKILL runs no
teardown): tests/servers.py asks the kernel to signal each one when its parent dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.helpers import EVENT_WAIT
from tests.servers import ROOT, free_port

# A stand-in for a pytest run: starts daphne the way the fixtures do, says its pid, waits.
PARENT = """
import sys, time, django
django.setup()
from pathlib import Path
from tests.servers import start
port, log = sys.argv[1], Path(sys.argv[2])
args = ["-m", "daphne", "-b", "127.0.0.1", "-p", port, "config.asgi:application"]
child = start(args, dict(__import__("os").environ), log)
print(child.pid, flush=True)
time.sleep(600)
"""


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310
            return bool(response.status == 200)
    except OSError:
        return False


@pytest.mark.skipif(sys.platform != "linux", reason="PR_SET_PDEATHSIG is Linux's")
def test_a_server_dies_when_the_test_run_is_killed(
    service_env: dict[str, str], tmp_path: Path
) -> None:
    port = free_port()
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, str(port), str(tmp_path / "daphne.log")],
        cwd=ROOT, env=service_env, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert parent.stdout is not None
        daphne = int(parent.stdout.readline())
        deadline = time.monotonic() + EVENT_WAIT
        while not answers(f"http://127.0.0.1:{port}/healthz"):
            assert time.monotonic() < deadline, (tmp_path / "daphne.log").read_text()
            time.sleep(0.2)

        os.kill(parent.pid, signal.SIGKILL)  # as the OOM killer or `kill -9` would
        parent.wait(EVENT_WAIT)
        deadline = time.monotonic() + EVENT_WAIT
        while alive(daphne) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not alive(daphne), "daphne outlived the killed test run"
        assert not answers(f"http://127.0.0.1:{port}/healthz")
    finally:
        parent.kill()
        parent.wait(EVENT_WAIT)
