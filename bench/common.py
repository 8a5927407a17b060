"""Shared pieces for benchmarks: start a server the way production does, load it with wrk."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TRIVIAL_PATH = "/healthz"


@dataclass
class Load:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


def require_wrk() -> str:
    wrk = shutil.which("wrk")
    if not wrk:
        sys.exit("bench needs the wrk load generator: run `make bench-deps` (apt-get install wrk)")
    return wrk


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(var_dir: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Production-like settings (DEBUG off) on the embedded database in a scratch folder."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(
        {
            "DEBUG": "false",
            "SECRET_KEY": "bench-only-" + "x" * 40,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "VAR_DIR": str(var_dir),
            "LOG_LEVEL": "WARNING",
            "DJANGO_SETTINGS_MODULE": "config.settings",
        }
    )
    env.update(extra or {})
    return env


def prepare(env: dict[str, str]) -> None:
    """Migrate and collect static files, as a deployment does before serving."""
    for command in (
        ["migrate", "--no-input", "-v", "0"],
        ["collectstatic", "--no-input", "-v", "0"],
    ):
        subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True)


@contextmanager
def scratch_env(extra: dict[str, str] | None = None) -> Iterator[dict[str, str]]:
    with tempfile.TemporaryDirectory(prefix="flipside-bench-") as tmp:
        env = server_env(Path(tmp), extra)
        prepare(env)
        yield env


def _command(kind: str, port: int) -> list[str]:
    if kind == "daphne":
        return [
            sys.executable,
            "-m",
            "daphne",
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "config.asgi:application",
        ]
    if kind == "gunicorn":
        # As deployed (README): config/gunicorn.py's workers, threads and sockets.
        return [
            sys.executable, "-m", "gunicorn", "config.wsgi:application",
            "--config", str(ROOT / "config" / "gunicorn.py"),
            "--bind", f"127.0.0.1:{port}", "--log-level", "warning",
        ]  # fmt: skip
    raise ValueError(kind)


@contextmanager
def serve(kind: str, env: dict[str, str]) -> Iterator[str]:
    """Start `daphne` (one process, ASGI) or `gunicorn` (a worker per core, WSGI)."""
    port = free_port()
    fd, name = tempfile.mkstemp(prefix=f"bench-{kind}-", suffix=".log")
    log = Path(name)
    with os.fdopen(fd, "wb") as out:
        process = subprocess.Popen(
            _command(kind, port), cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                sys.exit(f"{kind} exited: {log.read_text()}")
            try:
                with urllib.request.urlopen(base + TRIVIAL_PATH, timeout=1):  # noqa: S310
                    break
            except OSError:
                if time.monotonic() > deadline:
                    sys.exit(f"{kind} did not start: {log.read_text()}")
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.unlink(missing_ok=True)


def load(
    url: str, *, duration: float, connections: int, headers: dict[str, str] | None = None
) -> Load:
    """Drive `url` with wrk from its own process on loopback; a short warm-up is discarded."""
    wrk = require_wrk()
    args = [wrk, "-t", "2", "-c", str(connections), "--latency"]
    for name, value in (headers or {}).items():
        args += ["-H", f"{name}: {value}"]
    subprocess.run([*args, "-d", "1s", url], capture_output=True, check=True)
    out = subprocess.run(
        [*args, "-d", f"{duration:g}s", url], capture_output=True, text=True, check=True
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors += int(non_2xx.group(1)) if non_2xx else 0
    return Load(rps=rps, p50_ms=_latency(out, "50%"), p99_ms=_latency(out, "99%"), errors=errors)


def _latency(out: str, percentile: str) -> float:
    match = re.search(rf"{re.escape(percentile)}\s+([\d.]+)(us|ms|s)\b", out)
    if not match:
        return float("nan")
    value, unit = float(match.group(1)), match.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def trivial_rps(env: dict[str, str], *, duration: float, connections: int) -> float:
    """The baseline every benchmark divides by: the trivial view under the chosen topology
    (gunicorn for pages; see README "How it runs")."""
    with serve("gunicorn", env) as base:
        return load(base + TRIVIAL_PATH, duration=duration, connections=connections).rps
