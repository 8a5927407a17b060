"""Shared pieces for benchmarks: start a server the way production does, load it with wrk, and
measure pages against the floor page in interleaved rounds (`against_floor`)."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TRIVIAL_PATH = "/healthz"
# The floor page (bench/urls.py, bench/stock/urls.py): signed in, the base layout and nothing else.
FLOOR_PATH = "/bench/floor/"
# Settings that serve the floor page beside the app's own pages.
PAGE_SETTINGS = "bench.settings"
STOCK_SETTINGS = "bench.stock.settings"
STOCK_APP = "bench.stock.wsgi:application"
P95_SCRIPT = Path(__file__).resolve().parent / "p95.lua"


@dataclass
class Load:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    p95_ms: float = float("nan")


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


def _command(kind: str, port: int, app: str = "config.wsgi:application") -> list[str]:
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
            sys.executable, "-m", "gunicorn", app,
            "--config", str(ROOT / "config" / "gunicorn.py"),
            "--bind", f"127.0.0.1:{port}", "--log-level", "warning",
        ]  # fmt: skip
    raise ValueError(kind)


@contextmanager
def serve(kind: str, env: dict[str, str], app: str = "config.wsgi:application") -> Iterator[str]:
    """Start `daphne` (one process, ASGI) or `gunicorn` (a worker per core, WSGI; `app` is the
    WSGI application, the stock project's for the stock floor)."""
    port = free_port()
    fd, name = tempfile.mkstemp(prefix=f"bench-{kind}-", suffix=".log")
    log = Path(name)
    with os.fdopen(fd, "wb") as out:
        process = subprocess.Popen(
            _command(kind, port, app), cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
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
    url: str,
    *,
    duration: float,
    connections: int,
    headers: dict[str, str] | None = None,
    warm_up: bool = True,
) -> Load:
    """Drive `url` with wrk from its own process on loopback; a short warm-up is discarded.
    wrk's script (bench/p95.lua) prints the latency percentiles, p95 among them."""
    wrk = require_wrk()
    # wrk gives up on a response after 2 s by default and counts it failed: a page at 32
    # connections on a loaded machine can wait that long in line, which is slow, not failed.
    args = [wrk, "-t", "2", "-c", str(connections), "--latency", "--timeout", "30s"]
    args += ["-s", str(P95_SCRIPT)]
    for name, value in (headers or {}).items():
        args += ["-H", f"{name}: {value}"]
    if warm_up:
        subprocess.run([*args, "-d", "1s", url], capture_output=True, check=True)
        settle(url)
    out = subprocess.run(
        [*args, "-d", f"{duration:g}s", url], capture_output=True, text=True, check=True
    ).stdout
    settle(url)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors += int(non_2xx.group(1)) if non_2xx else 0
    percentiles = {
        int(p): int(us) / 1000 for p, us in re.findall(r"bench-percentile (\d+) (\d+)", out)
    }
    return Load(
        rps=rps,
        p50_ms=percentiles.get(50, _latency(out, "50%")),
        p99_ms=percentiles.get(99, _latency(out, "99%")),
        errors=errors,
        p95_ms=percentiles.get(95, float("nan")),
    )


def settle(url: str, *, fast_s: float = 0.25, limit_s: float = 60) -> None:
    """Wait until the server behind `url` has finished the requests a load left behind.

    When wrk stops, the requests its connections had sent are still queued in the server's
    workers (a slow page at 32 connections leaves seconds of them): a load started then would
    wait behind them and measure the last page, not its own. The trivial view answers fast
    only once the queue has drained; four fast answers in a row (new connections, so both
    workers' sockets are reached) mean it has."""
    split = urllib.parse.urlsplit(url)
    probe = f"{split.scheme}://{split.netloc}{TRIVIAL_PATH}"
    deadline = time.monotonic() + limit_s
    fast = 0
    while fast < 4 and time.monotonic() < deadline:
        started = time.monotonic()
        try:
            with urllib.request.urlopen(probe, timeout=limit_s):  # noqa: S310 - loopback only
                pass
        except OSError:
            fast = 0
            time.sleep(0.1)
            continue
        fast = fast + 1 if time.monotonic() - started < fast_s else 0


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


# Pages against the floor ------------------------------------------------------------------


@contextmanager
def page_env() -> Iterator[dict[str, str]]:
    """A scratch environment whose server also serves the floor page (bench/settings.py)."""
    with scratch_env({"DJANGO_SETTINGS_MODULE": PAGE_SETTINGS}) as env:
        yield env


def child_json(env: dict[str, str], *args: str) -> dict[str, Any]:
    """Run `python -m <args>` in the scratch environment (building data in the scratch
    database) and read the JSON line it prints last; a failure stops the benchmark with the
    child's error."""
    done = subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if done.returncode:
        sys.exit(f"{' '.join(args)} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def check_page(url: str, headers: dict[str, str]) -> None:
    """Stop unless `url` answers 200 itself: wrk counts a redirect (to the sign-in page, when
    the session is not accepted) as a success, and would measure the redirect instead."""
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - loopback only
    try:
        with urllib.request.build_opener(_NoRedirect).open(request, timeout=60) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    if status != 200:
        sys.exit(f"{url} answered {status}, not 200: the benchmark would measure the wrong page")


@dataclass
class Page:
    """A page measured against the floor, with the same signed-in browser (`headers`)."""

    name: str
    url: str
    headers: dict[str, str]
    floor_url: str
    floor_headers: dict[str, str] | None = None  # the page's own headers unless given
    floor_label: str = "floor"  # what the round lines call the floor
    vs_floor: list[float] = field(default_factory=list)
    slowdown: list[float] = field(default_factory=list)
    p95_ms: list[float] = field(default_factory=list)
    floor_p95_ms: list[float] = field(default_factory=list)
    rps: list[float] = field(default_factory=list)

    def figures(self, prefix: str | None = None) -> dict[str, float]:
        """Medians over the rounds: `<page>_vs_floor`, `<page>_p95_ms`, `<page>_slowdown`."""
        name = prefix or self.name
        return {
            f"{name}_vs_floor": round(statistics.median(self.vs_floor), 2),
            f"{name}_p95_ms": round(statistics.median(self.p95_ms), 1),
            f"{name}_slowdown": round(statistics.median(self.slowdown), 2),
        }


def against_floor(
    pages: list[Page], *, trivial_url: str, rounds: int, seconds: float, connections: int
) -> None:
    """Measure each page beside the floor in `rounds` rounds; fills each page's lists.

    A round loads the trivial view (for the `*_slowdown` figures kept from before the floor),
    then for each page the floor and the page back to back, the floor first in even rounds and
    second in odd ones, so a neighbour's load that comes or goes weighs on both sides of a
    ratio and a trend favours neither. A page's figure is the median of its rounds: these
    shared machines' speed swings twofold from one few-second window to the next."""
    for page in pages:
        check_page(page.floor_url, page.floor_headers or page.headers)
        check_page(page.url, page.headers)
    for number in range(rounds):
        first = number == 0
        trivial = _checked(trivial_url, {}, seconds, connections, first)
        for page in pages:
            floor_headers = page.floor_headers or page.headers
            order = [("floor", page.floor_url, floor_headers), ("page", page.url, page.headers)]
            if number % 2:
                order.reverse()
            results = {
                which: _checked(url, headers, seconds, connections, first)
                for which, url, headers in order
            }
            floor, result = results["floor"], results["page"]
            page.vs_floor.append(floor.rps / result.rps)
            page.slowdown.append(trivial.rps / result.rps)
            page.p95_ms.append(result.p95_ms)
            page.floor_p95_ms.append(floor.p95_ms)
            page.rps.append(result.rps)
            print(
                f"round {number + 1}/{rounds} {page.name:>10}: {result.rps:7.1f} req/s "
                f"p95 {result.p95_ms:7.1f} ms | {page.floor_label} {floor.rps:6.1f} req/s "
                f"p95 {floor.p95_ms:6.1f} ms | trivial {trivial.rps:6.0f} req/s | "
                f"vs floor {page.vs_floor[-1]:5.2f}x  slowdown {page.slowdown[-1]:5.2f}x",
                flush=True,
            )
    for page in pages:
        print(
            f"{page.name}: vs {page.floor_label} median {statistics.median(page.vs_floor):.2f}x "
            f"over {rounds} rounds (from {min(page.vs_floor):.2f}x to {max(page.vs_floor):.2f}x)"
        )


def _checked(
    url: str, headers: dict[str, str], seconds: float, connections: int, warm_up: bool
) -> Load:
    result = load(url, duration=seconds, connections=connections, headers=headers, warm_up=warm_up)
    if result.errors:
        sys.exit(f"{url}: {result.errors} failed requests")
    if not result.rps:
        sys.exit(f"{url}: no request answered in {seconds:g} s (use a longer --duration)")
    return result


def round_settings(options: Any) -> tuple[int, float]:
    """Rounds and seconds per load for the page benchmarks, from bench/run.py's options."""
    rounds = int(getattr(options, "rounds", 0) or 5)
    return rounds, float(max(round(float(options.duration) / 2), 1))


def page_figures(pages: list[Page], **extra: float) -> dict[str, float]:
    """The last line's figures: every `<page>_vs_floor` first, then each page's p95 and its
    `*_slowdown` against the trivial view, then `extra` (query counts)."""
    figures = [page.figures() for page in pages]
    ordered: dict[str, float] = {}
    for suffix in ("_vs_floor", "_p95_ms", "_slowdown"):
        for page_figures_ in figures:
            ordered.update({k: v for k, v in page_figures_.items() if k.endswith(suffix)})
    return {**ordered, **extra}
