"""Start-up in each mode, run as a separate process exactly as an operator would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

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


def test_the_stale_migrations_check_finds_nothing(tmp_path: Path) -> None:
    result = run(
        ["manage.py", "makemigrations", "--check", "--dry-run"], {"DEBUG": "true"}, tmp_path
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_gunicorn_serves_with_the_deployed_settings_on_a_socket_per_worker(
    tmp_path: Path,
) -> None:
    """config/gunicorn.py as the README runs it: it loads, serves, and gives each worker its
    own listening socket (reuse_port), so the kernel spreads connections across workers."""
    import socket
    import time
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
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
    server = subprocess.Popen(
        [*command, "config.wsgi:application", "--bind", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    assert r.status == 200
                    break
            except OSError:
                assert server.poll() is None, server.stderr.read() if server.stderr else ""
                assert time.monotonic() < deadline, "gunicorn did not answer"
                time.sleep(0.2)
        workers = []
        while len(workers) < 2 and time.monotonic() < deadline:
            children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text()
            workers = [int(pid) for pid in children.split()]
            time.sleep(0.1)
        assert len(workers) == 2

        def listening_inodes(pid: int) -> set[str]:
            sockets = set()
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                try:
                    target = os.readlink(fd)
                except FileNotFoundError:  # closed meanwhile
                    continue
                if target.startswith("socket:["):
                    sockets.add(target.removeprefix("socket:[").rstrip("]"))
            return sockets & _listening(port)

        first, second = (listening_inodes(pid) for pid in workers)
        assert first
        assert second
        assert not first & second  # each worker its own socket
    finally:
        server.terminate()
        server.wait(timeout=30)


def _listening(port: int) -> set[str]:
    """The inodes of the TCP sockets listening on `port` (state 0A in /proc/net/tcp)."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1].endswith(f":{port:04X}") and fields[3] == "0A":
            found.add(fields[9])
    return found
