"""Real service processes for integration and browser tests.

Each fixture starts the same command an operator runs (daphne, a Celery worker) as a separate
process, pointed at the test database and Redis, and stops it at the end of the session.
PostgreSQL and Redis themselves are the machine's (see README "Tests"): a missing one skips
these tests locally and fails them in CI.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from django.conf import settings
from django.db import connection

from tests.conftest import need_service
from tests.helpers import EVENT_WAIT

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT = EVENT_WAIT  # a busy machine starts a process slowly


@dataclass
class Process:
    popen: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@dataclass
class Server(Process):
    url: str
    port: int


# Redis databases: a server has 16 (0-15) unless configured otherwise. A run of the suite takes
# two: its own (REDIS_URL: the session's daphne and Celery worker, the channel layer, the cache)
# and the one after it, the spare, for tests whose own Celery worker needs a broker that no
# session worker listens on. Under pytest-xdist each worker takes the next two (see
# `xdist_redis_url`), as two workers sharing one database would take each other's tasks, hear
# each other's rooms (live sessions of both test databases have the same ids) and flush each
# other's queues.
REDIS_DATABASES = 16
REDIS_DATABASES_PER_RUN = 2


def redis_database(url: str) -> int:
    return int(urlsplit(url).path.strip("/") or 0)


def with_redis_database(url: str, database: int) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}"))


def xdist_redis_url(url: str, worker: int) -> str:
    """The REDIS_URL of pytest-xdist worker number `worker` (gw0 is 0) when the run was given
    `url`: worker N takes databases base + 2N and base + 2N + 1, so `-n 2` on database 12
    takes 12 to 15. A base that leaves no room fails the run, naming the highest it could be."""
    base = redis_database(url)
    own = base + REDIS_DATABASES_PER_RUN * worker
    if own + REDIS_DATABASES_PER_RUN > REDIS_DATABASES:
        raise pytest.UsageError(
            f"REDIS_URL names database {base}: pytest-xdist worker {worker} would need databases"
            f" {own} and {own + 1}, beyond Redis's {REDIS_DATABASES}. Each worker takes two;"
            f" give a database of {REDIS_DATABASES - REDIS_DATABASES_PER_RUN * (worker + 1)}"
            " or lower, or fewer workers."
        )
    return with_redis_database(url, own)


def spare_redis_url(url: str) -> str:
    """The spare database of the run whose own is `url`'s: the next one (the one before, for
    database 15, as a run without pytest-xdist may be given 15)."""
    own = redis_database(url)
    return with_redis_database(url, own + 1 if own + 1 < REDIS_DATABASES else own - 1)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_setupnodes(config: pytest.Config, specs: list[Any]) -> None:
    """Each pytest-xdist worker gets Redis databases of its own (`xdist_redis_url`), in its
    environment before it starts: Django reads REDIS_URL there into its settings (channel
    layer, cache, Celery broker and results), and the servers it starts inherit them."""
    url = os.environ.get("REDIS_URL")
    if not url:
        return
    for worker, spec in enumerate(specs):
        spec.env["REDIS_URL"] = xdist_redis_url(url, worker)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:
    """In the child before exec: be sent SIGTERM when the test run dies (Linux prctl
    PR_SET_PDEATHSIG). pytest-timeout ends a hung run with os._exit, which runs no fixture
    teardown, and a daphne or Celery worker left behind keeps a session open on the test
    database, so the next run cannot recreate it."""
    import ctypes
    import signal

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1: PR_SET_PDEATHSIG


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    handle = log.open("wb")
    return subprocess.Popen(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
        preexec_fn=_die_with_parent if sys.platform == "linux" else None,
    )


def stop(process: Process) -> None:
    process.popen.terminate()
    try:
        process.popen.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.popen.kill()
        process.popen.wait(timeout=5)


def wait_until(check: Any, process: Process, what: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.popen.poll() is not None:
            pytest.fail(f"{what} exited with {process.popen.returncode}:\n{process.output()}")
        if check():
            return
        time.sleep(0.1)
    stop(process)
    pytest.fail(f"{what} did not start within {START_TIMEOUT}s:\n{process.output()}")


@pytest.fixture(scope="session")
def postgres_url(django_db_setup: None, django_db_blocker: Any) -> str:
    """The URL of the test database pytest-django created, for other processes to share."""
    with django_db_blocker.unblock():
        if connection.vendor != "postgresql":
            need_service("needs PostgreSQL: run with DATABASE_URL=postgres://... (make test)")
        params = connection.settings_dict
    user = params["USER"] or ""
    password = f":{params['PASSWORD']}" if params["PASSWORD"] else ""
    host = params["HOST"] or "127.0.0.1"
    port = params["PORT"] or 5432
    return f"postgres://{user}{password}@{host}:{port}/{params['NAME']}"


@pytest.fixture(scope="session")
def redis_url() -> str:
    url = settings.REDIS_URL
    if not url:
        need_service("needs Redis: run with REDIS_URL=redis://127.0.0.1:6379/12 (make test)")
    try:
        redis.Redis.from_url(url, socket_timeout=2).ping()
    except redis.RedisError as exc:
        need_service(f"needs Redis at {url}: {exc}")
    return url


@pytest.fixture(scope="session")
def service_env(
    postgres_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """Production-like settings for server processes, with static files collected afresh into
    their own folder (so a stale `collectstatic` in the work tree never shows)."""
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env.update(
        {
            "DATABASE_URL": postgres_url,
            "REDIS_URL": redis_url,
            "DEBUG": "false",
            "SECRET_KEY": settings.SECRET_KEY,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "PYTHONUNBUFFERED": "1",
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "VAR_DIR": str(tmp_path_factory.mktemp("var")),
            # Every server process names the same address: daphne serves it, and the worker
            # signs credentials as the issuer that address makes (did:web:host%3Aport).
            "PUBLIC_URL": f"http://127.0.0.1:{free_port()}",
        }
    )
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    return env


@pytest.fixture(scope="session")
def celery_worker(
    service_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Process]:
    """A real `celery worker` process consuming from Redis."""
    from config.celery import app

    app.control.purge()  # nothing left over from an earlier run
    log = tmp_path_factory.mktemp("celery") / "worker.log"
    args = ["-m", "celery", "-A", "config", "worker", "--pool=solo", "--loglevel=INFO"]
    args += ["--hostname=test-worker@%h", "--without-gossip", "--without-mingle"]
    worker = Process(start(args, service_env, log), log)
    wait_until(lambda: " ready." in worker.output(), worker, "the Celery worker")
    yield worker
    stop(worker)


@pytest.fixture(scope="session")
def daphne_server(
    service_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """A real daphne process serving HTTP and WebSockets on a free port."""
    # Absolute links (credentials, shares, e-mails) name the address that serves the app.
    url = service_env["PUBLIC_URL"]
    port = int(url.rsplit(":", 1)[1])
    log = tmp_path_factory.mktemp("daphne") / "daphne.log"
    args = ["-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "config.asgi:application"]
    server = Server(start(args, service_env, log), log, url, port)

    def answers() -> bool:
        try:
            with urllib.request.urlopen(f"{server.url}/healthz", timeout=1) as response:  # noqa: S310
                return response.status == 200
        except OSError:
            return False

    wait_until(answers, server, "daphne")
    yield server
    stop(server)
