"""Start-up in each mode, run as a separate process exactly as an operator would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import EVENT_WAIT

# Each test starts its own process with its own settings; the suite's database plays no part.
pytestmark = pytest.mark.own_processes

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION_LIKE = {
    "SECRET_KEY": "k" * 30 + "-a-long-random-production-secret-" + "z" * 20,
    "DEBUG": "false",
    "ALLOWED_HOSTS": "flipside.example.edu.au",
    "DATABASE_URL": "postgres://flipside@db.internal:5432/flipside",
    "REDIS_URL": "redis://cache.internal:6379/0",
    "SECURE_SSL_REDIRECT": "true",
    "TRUST_X_FORWARDED_PROTO": "true",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "true",
    "SECURE_HSTS_PRELOAD": "true",
    "PUBLIC_URL": "https://flipside.example.edu.au",
    "PROVIDER_RTO_CODE": "91234",
}

SHOW_MODE = """
import django, json
from django.conf import settings
django.setup()
print(json.dumps({
    "db": settings.DATABASES["default"]["ENGINE"],
    "db_name": str(settings.DATABASES["default"]["NAME"]),
    "journal": settings.DATABASES["default"].get("OPTIONS", {}).get("init_command", ""),
    "layer": settings.CHANNEL_LAYERS["default"]["BACKEND"],
    "eager": settings.CELERY_TASK_ALWAYS_EAGER,
    "broker": settings.CELERY_BROKER_URL,
    "cache": settings.CACHES["default"]["BACKEND"],
    "email": settings.EMAIL_BACKEND,
    "storage": settings.STORAGES["default"]["BACKEND"],
    "secure_cookies": settings.SESSION_COOKIE_SECURE and settings.CSRF_COOKIE_SECURE,
}))
"""

# Everything a developer's shell might have set that changes the mode under test.
_MODE_VARIABLES = {
    "PUBLIC_URL",
    "CREDENTIALS_HOST",
    "PROVIDER_RTO_CODE",
    "DATABASE_URL",
    "REDIS_URL",
    "DEBUG",
    "SECRET_KEY",
    "AWS_STORAGE_BUCKET_NAME",
    "EMAIL_HOST",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
}


def run(args: list[str], env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in _MODE_VARIABLES}
    base.update({"DJANGO_SETTINGS_MODULE": "config.settings", "VAR_DIR": str(tmp_path / "var")})
    base.update(env)
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=base, capture_output=True, text=True, timeout=60
    )


def test_it_runs_embedded_when_nothing_is_set(tmp_path: Path) -> None:
    result = run(["-c", SHOW_MODE], {"DEBUG": "true"}, tmp_path)
    assert result.returncode == 0, result.stderr
    mode = json.loads(result.stdout)
    assert mode["db"] == "django.db.backends.sqlite3"
    assert mode["db_name"] == str(tmp_path / "var" / "flipside.sqlite3")
    assert "journal_mode=WAL" in mode["journal"]
    assert mode["layer"] == "channels.layers.InMemoryChannelLayer"
    assert mode["eager"] is True
    assert mode["email"] == "django.core.mail.backends.console.EmailBackend"
    assert mode["storage"] == "django.core.files.storage.FileSystemStorage"


def test_it_uses_the_services_when_given(tmp_path: Path) -> None:
    result = run(
        ["-c", SHOW_MODE],
        {
            "SECRET_KEY": "s" * 50,
            "DATABASE_URL": "postgres://u@db:5432/flipside",
            "REDIS_URL": "redis://cache:6379/3",
            "AWS_STORAGE_BUCKET_NAME": "evidence",
        },
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    mode = json.loads(result.stdout)
    assert mode["db"] == "django.db.backends.postgresql"
    assert mode["layer"] == "channels_redis.core.RedisChannelLayer"
    assert mode["eager"] is False
    assert mode["broker"] == "redis://cache:6379/3"
    assert mode["cache"] == "django.core.cache.backends.redis.RedisCache"
    assert mode["storage"] == "storages.backends.s3.S3Storage"
    assert mode["secure_cookies"] is True


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DATABASE_URL", "mysql://db/flipside"),
        ("REDIS_URL", "redis://cache:port/0"),
        ("DEBUG", "sometimes"),
        ("SECURE_COOKIES", "perhaps"),
        ("PUBLIC_URL", "learn.example.edu.au"),
        ("PUBLIC_URL", "https://learn.example.edu.au/flipside"),
        ("PUBLIC_URL", "ftp://learn.example.edu.au"),
    ],
)
def test_it_stops_with_one_line_naming_a_bad_variable(
    tmp_path: Path, variable: str, value: str
) -> None:
    result = run(["manage.py", "check"], {"SECRET_KEY": "s" * 50, variable: value}, tmp_path)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"flipside: configuration error: {variable}: ")


@pytest.mark.parametrize("command", [["check"], ["makemigrations", "--check"], ["migrate"]])
def test_it_requires_a_secret_key_outside_debug(tmp_path: Path, command: list[str]) -> None:
    result = run(["manage.py", *command], {"DEBUG": "false"}, tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "flipside: configuration error: SECRET_KEY: must be set when DEBUG is off"
    )


def test_it_passes_the_deployment_checklist_when_configured_for_production(
    tmp_path: Path,
) -> None:
    result = run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"], PRODUCTION_LIKE, tmp_path
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_it_fails_the_deployment_checklist_with_debug_on(tmp_path: Path) -> None:
    """The check above can fail: the same variables with DEBUG on are refused."""
    result = run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        {**PRODUCTION_LIKE, "DEBUG": "true"},
        tmp_path,
    )
    assert result.returncode != 0
    assert "security.W018" in result.stderr + result.stdout


def test_the_deployment_checklist_refuses_a_production_start_without_public_url(
    tmp_path: Path,
) -> None:
    without = {k: v for k, v in PRODUCTION_LIKE.items() if k != "PUBLIC_URL"}
    result = run(["manage.py", "check", "--deploy"], without, tmp_path)
    assert result.returncode != 0
    assert "flipside.E001" in result.stderr + result.stdout
    assert "PUBLIC_URL is not set" in result.stderr + result.stdout


def test_a_deployment_from_before_public_url_still_starts_with_a_warning(tmp_path: Path) -> None:
    """Set only CREDENTIALS_HOST, as before: links stay https://<that host>, as its credentials
    already say; the checklist warns but does not refuse."""
    legacy = {k: v for k, v in PRODUCTION_LIKE.items() if k != "PUBLIC_URL"}
    legacy["CREDENTIALS_HOST"] = "flipside.example.edu.au"
    result = run(["manage.py", "check", "--deploy"], legacy, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "flipside.W001" in result.stderr + result.stdout
    shown = run(
        ["-c", "import django; from django.conf import settings; django.setup(); "
         "from credentials.keys import credentials_host; "
         "print(settings.PUBLIC_URL, credentials_host())"],
        legacy,
        tmp_path,
    )  # fmt: skip
    assert shown.stdout.split() == ["https://flipside.example.edu.au", "flipside.example.edu.au"]


@pytest.mark.parametrize(
    ("env", "public_url", "did_host"),
    [
        ({}, "http://127.0.0.1:8000", "127.0.0.1:8000"),
        ({"PUBLIC_URL": "http://localhost:8102/"}, "http://localhost:8102", "localhost:8102"),
        ({"PUBLIC_URL": "https://Learn.Example.edu.au"}, "https://learn.example.edu.au",
         "learn.example.edu.au"),
        ({"PUBLIC_URL": "https://new.example", "CREDENTIALS_HOST": "old.example"},
         "https://new.example", "old.example"),
    ],
)  # fmt: skip
def test_the_did_web_host_follows_public_url_unless_overridden(
    tmp_path: Path, env: dict[str, str], public_url: str, did_host: str
) -> None:
    shown = run(
        ["-c", "import django; from django.conf import settings; django.setup(); "
         "from credentials.keys import credentials_host; "
         "print(settings.PUBLIC_URL, credentials_host())"],
        {"DEBUG": "true", **env},
        tmp_path,
    )  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.split() == [public_url, did_host]


def test_make_run_serves_and_links_the_same_address() -> None:
    """`make run` tells the app the address it serves, so links on the demo are live."""
    dry = subprocess.run(
        ["make", "-n", "run", "HOST=10.1.2.3", "PORT=9001"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    daphne = [line for line in dry.stdout.splitlines() if "daphne" in line]
    seed = [line for line in dry.stdout.splitlines() if "seed_demo" in line]
    assert len(daphne) == 1, dry.stdout
    assert len(seed) == 1, dry.stdout
    assert "PUBLIC_URL=http://10.1.2.3:9001 " in daphne[0]
    assert "-b 10.1.2.3 -p 9001" in daphne[0]
    assert "PUBLIC_URL=http://10.1.2.3:9001 " in seed[0]


def test_the_stale_migrations_check_finds_nothing(tmp_path: Path) -> None:
    result = run(
        ["manage.py", "makemigrations", "--check", "--dry-run"], {"DEBUG": "true"}, tmp_path
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _gunicorn(tmp_path: Path, bind: str) -> subprocess.Popen[str]:
    """gunicorn with config/gunicorn.py as the README runs it, two workers, on the embedded
    default in a scratch folder (migrated)."""
    migrated = run(["manage.py", "migrate", "-v", "0"], {"DEBUG": "true"}, tmp_path)
    assert migrated.returncode == 0, migrated.stderr
    env = {k: v for k, v in os.environ.items() if k not in _MODE_VARIABLES}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "VAR_DIR": str(tmp_path / "var"),
            "DEBUG": "true",
            "WEB_CONCURRENCY": "2",
        }
    )
    command = [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.py"]
    return subprocess.Popen(
        [*command, "config.wsgi:application", "--bind", bind],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _healthz(connect: Any, server: subprocess.Popen[str]) -> None:
    """Wait until /healthz answers 200 over a fresh connection from `connect()`."""
    import time

    deadline = time.monotonic() + EVENT_WAIT
    while True:
        try:
            with connect() as sock:
                sock.sendall(b"GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n")
                answer = sock.recv(64)
            assert answer.startswith(b"HTTP/1.0 200") or answer.startswith(b"HTTP/1.1 200"), answer
            return
        except OSError:
            assert server.poll() is None, server.stderr.read() if server.stderr else ""
            assert time.monotonic() < deadline, "gunicorn did not answer"
            time.sleep(0.2)


def _listening_sockets_of_workers(
    server: subprocess.Popen[str], listening: set[str]
) -> list[set[str]]:
    """For each of the two workers, the inodes of its sockets among `listening`."""
    import time

    workers: list[int] = []
    deadline = time.monotonic() + EVENT_WAIT
    while len(workers) < 2 and time.monotonic() < deadline:
        children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text()
        workers = [int(pid) for pid in children.split()]
        time.sleep(0.1)
    assert len(workers) == 2
    found = []
    for pid in workers:
        sockets = set()
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except FileNotFoundError:  # closed meanwhile
                continue
            if target.startswith("socket:["):
                sockets.add(target.removeprefix("socket:[").rstrip("]"))
        found.append(sockets & listening)
    return found


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_gunicorn_serves_with_the_deployed_settings_on_a_socket_per_worker(
    tmp_path: Path,
) -> None:
    """On TCP each worker listens on its own socket (reuse_port), so the kernel spreads
    connections across workers."""
    import socket

    port = _free_port()
    server = _gunicorn(tmp_path, f"127.0.0.1:{port}")
    try:
        _healthz(lambda: socket.create_connection(("127.0.0.1", port), timeout=2), server)
        first, second = _listening_sockets_of_workers(server, _listening_tcp(port))
        assert first
        assert second
        assert not first & second  # each worker its own socket
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_gunicorn_on_a_unix_socket_shares_it_between_workers(tmp_path: Path) -> None:
    """A socket per worker would leave one worker reachable: each would replace the file."""
    import socket

    path = tmp_path / "web.sock"
    server = _gunicorn(tmp_path, f"unix:{path}")

    def connect() -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(2)
        sock.connect(str(path))
        return sock

    try:
        _healthz(connect, server)
        first, second = _listening_sockets_of_workers(server, _listening_unix(path))
        assert first
        assert first == second  # the one socket, in both
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_gunicorn_refuses_an_address_already_in_use(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = _gunicorn(tmp_path, f"127.0.0.1:{port}")
        try:
            _, errors = server.communicate(timeout=30)
        finally:
            server.kill()
    assert server.returncode != 0
    assert f"127.0.0.1:{port} is already in use" in errors


def _listening_tcp(port: int) -> set[str]:
    """The inodes of the TCP sockets listening on `port` (state 0A in /proc/net/tcp)."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1].endswith(f":{port:04X}") and fields[3] == "0A":
            found.add(fields[9])
    return found


def _listening_unix(path: Path) -> set[str]:
    """The inodes of the Unix sockets listening at `path` (flag 00010000: __SO_ACCEPTCON)."""
    found = set()
    for line in Path("/proc/net/unix").read_text().splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 8 and fields[7] == str(path) and fields[3] == "00010000":
            found.add(fields[6])
    return found


def test_gunicorn_names_a_bad_thread_count_in_one_line(tmp_path: Path) -> None:
    result = run(
        ["-m", "gunicorn", "-c", "config/gunicorn.py", "config.wsgi:application"],
        {"DEBUG": "true", "WEB_THREADS": "many"},
        tmp_path,
    )
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "flipside: configuration error: WEB_THREADS: expected a whole number, got 'many'"
    )
