"""Typed readers for environment variables.

Settings come only from the environment, so a typo in a deployment must stop start-up with one
line that names the variable, rather than run with a silently wrong value. Each reader raises
`EnvError`; the entry points (`manage.py`, `config/asgi.py`, `config/wsgi.py`, `config/celery.py`)
turn it into that one line with `exit_on_env_error()`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


class EnvError(ImproperlyConfigured):
    """A variable is set to a value we cannot use."""

    def __init__(self, name: str, problem: str) -> None:
        self.name = name
        super().__init__(f"{name}: {problem}")


class Env:
    """Reads one mapping (normally `os.environ`), so tests can pass their own."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self.environ = os.environ if environ is None else environ

    def is_set(self, name: str) -> bool:
        return bool(self.environ.get(name, "").strip())

    def string(self, name: str, default: str = "") -> str:
        return self.environ.get(name, default).strip() or default

    def boolean(self, name: str, default: bool = False) -> bool:
        if name not in self.environ:
            return default
        raw = self.environ[name].strip().lower()
        if raw in _TRUE:
            return True
        if raw in _FALSE:
            return False
        raise EnvError(name, f"expected true/false (1/0, yes/no, on/off), got {raw!r}")

    def integer(self, name: str, default: int, *, minimum: int | None = None) -> int:
        raw = self.environ.get(name, "").strip()
        if not raw:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise EnvError(name, f"expected a whole number, got {raw!r}") from None
        if minimum is not None and value < minimum:
            raise EnvError(name, f"must be at least {minimum}, got {value}")
        return value

    def strings(self, name: str, default: list[str] | None = None) -> list[str]:
        raw = self.environ.get(name, "").strip()
        if not raw:
            return list(default or [])
        return [part.strip() for part in raw.split(",") if part.strip()]

    def origin(self, name: str) -> str:
        """An origin, `scheme://host[:port]` (http or https, no path), without a trailing
        slash; "" when unset. A path, query or fragment is refused: absolute URLs are built by
        appending a path to it."""
        raw = self.string(name)
        if not raw:
            return ""
        parts = urlsplit(raw)
        if parts.scheme not in {"http", "https"}:
            raise EnvError(name, f"expected http://host[:port] or https://host[:port], got {raw!r}")
        if not parts.hostname:
            raise EnvError(name, f"the host is missing in {raw!r}")
        try:
            parts.port  # noqa: B018 - evaluating it validates it
        except ValueError:
            raise EnvError(name, "the port is not a number") from None
        if parts.path.strip("/") or parts.query or parts.fragment or parts.username:
            raise EnvError(name, f"expected only scheme, host and port, got {raw!r}")
        return f"{parts.scheme}://{parts.netloc.lower()}"

    def database(self, name: str) -> dict[str, Any] | None:
        """A PostgreSQL connection from a URL, or None when the variable is unset."""
        raw = self.string(name)
        if not raw:
            return None
        parts = urlsplit(raw)
        if parts.scheme not in {"postgres", "postgresql", "pgsql"}:
            raise EnvError(
                name,
                f"expected postgres://user:password@host:port/name, got scheme {parts.scheme!r}",
            )
        try:
            port = parts.port
        except ValueError:
            raise EnvError(name, "the port is not a number") from None
        if not parts.hostname and not parts.path.strip("/"):
            raise EnvError(name, "expected postgres://user:password@host:port/name")
        if not parts.path.strip("/"):
            raise EnvError(name, "the URL names no database (add /name after the host)")
        del port
        try:
            config = dj_database_url.parse(raw, conn_max_age=60, conn_health_checks=True)
        except ValueError as exc:
            raise EnvError(name, str(exc)) from None
        return dict(config)

    def redis_url(self, name: str) -> str | None:
        raw = self.string(name)
        if not raw:
            return None
        parts = urlsplit(raw)
        if parts.scheme not in {"redis", "rediss"}:
            raise EnvError(name, f"expected redis://host:port/db, got scheme {parts.scheme!r}")
        try:
            parts.port  # noqa: B018 - evaluating it validates it
        except ValueError:
            raise EnvError(name, "the port is not a number") from None
        if not parts.hostname:
            raise EnvError(name, "expected redis://host:port/db, the host is missing")
        db = parts.path.strip("/")
        if db and not db.isdigit():
            raise EnvError(name, f"the database must be a number, got {db!r}")
        return raw


@contextmanager
def exit_on_env_error() -> Iterator[None]:
    """Stop the process with one line naming the variable, instead of a traceback."""
    try:
        yield
    except EnvError as exc:
        sys.exit(f"flipside: configuration error: {exc}")
