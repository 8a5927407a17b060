"""N learners in one live session over real WebSockets; the trainer sends 20 messages.

Figures (issue 6), for N = 50, 300 and 1,000 (`BENCH_LIVE_SIZES` to change, e.g. "50,300"):
- connect time for all N (handshake, sign-in check, attendance, the state snapshot);
- p50 / p95 of the time until *every* learner has a message, over the 20 messages (each sent
  once the previous one has reached everyone, so the figure is fan-out, not queueing);
- deliveries/s (learners x messages over the time from the first send to the last delivery);
- memory per 1,000 idle connections (growth of the daphne process's RSS, scaled);
- messages lost (a learner that has not had a message 10 s after it was sent): must be 0.

Ours: one daphne process (config.asgi) with the Redis channel layer, a scratch SQLite database,
the trainer's `chat` command through the room consumer and the hub (live/hub.py). Baseline, same
run, same clients: a minimal server on the `websockets` library that relays the trainer's text
to every other socket with `websockets.broadcast`. Both servers run in their own process; the
clients run here. Redis: REDIS_URL, else redis://127.0.0.1:6379/14.

Last line (issue 19): `live: slowdown_1000=<p95 ours / p95 baseline at N=1,000>
join_slowdown_1000=<connect time for all 1,000, ours / baseline> lost=<n>`, then the earlier
figures `slowdown_300=<p95 ours / p95 baseline> p95_ms_300=<n> p95_ms_1000=<n>`. Aims: joins
within 5x, fan-out within 3x, nothing lost.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import ROOT, free_port, scratch_env

# `python bench/run.py` puts bench/ first on sys.path, where bench/queue.py would stand in for
# the standard library's `queue` that redis and websockets import.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
if str(getattr(sys.modules.get("queue"), "__file__", "")).startswith(str(_HERE)):
    del sys.modules["queue"]

MESSAGES = 20
DAPHNE_APP = ["config.asgi:application"]
LOSS_TIMEOUT = 10.0
CONNECT_CONCURRENCY = 50
# A loaded server drops a handshake now and then (daphne's handshake timeout); the page tries
# again with backoff, and the join time counts those tries.
CONNECT_ATTEMPTS = 8

SETUP = """
import json, sys
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.sessions.backends.cache import SessionStore as CacheStore
from django.conf import settings
from importlib import import_module
from datetime import timedelta
from django.utils import timezone
from delivery.models import Course, Cohort, Enrolment
from live.models import LiveSession

n = int(sys.argv[-1]) if sys.argv[-1].isdigit() else 0
User = get_user_model()
store = import_module(settings.SESSION_ENGINE).SessionStore
course = Course.objects.create(code="BENCH1", title="Bench course")
trainer = User.objects.create(username="bench-trainer", first_name="Bench", last_name="Trainer")
trainer.groups.add(Group.objects.get(name="trainer"))
cohort = Cohort.objects.create(course=course, name="Bench cohort", starts_on=timezone.now().date())
cohort.trainers.add(trainer)
learners = User.objects.bulk_create(
    User(username=f"bench-learner-{i}", first_name="Learner", last_name=str(i)) for i in range(N)
)
Group.objects.get(name="learner").user_set.add(*learners)
Enrolment.objects.bulk_create(Enrolment(learner=u, cohort=cohort) for u in learners)
now = timezone.now()
session = LiveSession.objects.create(
    cohort=cohort, title="Bench session", starts_at=now - timedelta(minutes=5),
    ends_at=now + timedelta(hours=3), created_by=trainer,
)
session.trainers.add(trainer)

def cookie(user):
    s = store()
    s["_auth_user_id"] = str(user.pk)
    s["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    s["_auth_user_hash"] = user.get_session_auth_hash()
    s.create()
    return s.session_key

print(json.dumps({
    "session": session.pk,
    "trainer": cookie(trainer),
    "learners": [cookie(u) for u in learners],
}))
"""

BASELINE_SERVER = """
import asyncio, sys
from websockets.asyncio.server import serve, broadcast

clients = set()

async def handler(ws):
    if ws.request.path == "/trainer":
        async for message in ws:
            broadcast(clients, message)
        return
    clients.add(ws)
    try:
        await ws.wait_closed()
    finally:
        clients.discard(ws)

async def main():
    async with serve(handler, "127.0.0.1", int(sys.argv[1]), max_queue=None, ping_interval=None):
        print("ready", flush=True)
        await asyncio.Future()

asyncio.run(main())
"""


@dataclass
class Result:
    n: int
    connect_s: float
    p50_ms: float
    p95_ms: float
    deliveries_per_s: float
    mem_mib_per_1000: float
    lost: int
    latencies_ms: list[float] = field(default_factory=list)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def setup_data(env: dict[str, str], n: int) -> dict[str, Any]:
    code = SETUP.replace("range(N)", f"range({n})")
    out = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


@contextmanager
def daphne(env: dict[str, str]) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    port = free_port()
    log = Path(tempfile.mkstemp(prefix="bench-live-daphne-", suffix=".log")[1])
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), *DAPHNE_APP],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                sys.exit(f"daphne exited: {log.read_text()}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    sys.exit(f"daphne did not start: {log.read_text()}")
                time.sleep(0.1)
        yield port, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        errors = [line for line in log.read_text(errors="replace").splitlines() if "ERROR" in line]
        if errors:
            print(f"  daphne logged {len(errors)} errors, e.g. {errors[0][:200]}")
        log.unlink(missing_ok=True)


@contextmanager
def baseline_server() -> Iterator[tuple[int, subprocess.Popen[str]]]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", BASELINE_SERVER, str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None  # noqa: S101
        if process.stdout.readline().strip() != "ready":
            sys.exit("the baseline server did not start")
        yield port, process
    finally:
        process.terminate()
        process.wait(timeout=10)


class Learner:
    """One client socket; records when each message (by index) arrived."""

    def __init__(self, socket: Any, parse: Any) -> None:
        self.socket = socket
        self.parse = parse
        self.arrived: dict[int, float] = {}
        self.task = asyncio.create_task(self.read())

    async def read(self) -> None:
        try:
            async for raw in self.socket:
                index = self.parse(raw)
                if index is not None:
                    self.arrived[index] = time.perf_counter()
        except Exception:  # noqa: S110 - a closed socket just stops recording
            pass


def parse_ours(raw: str | bytes) -> int | None:
    if b'"type":"chat"' not in (raw if isinstance(raw, bytes) else raw.encode()):
        return None
    data = json.loads(raw)
    return int(data["seq"]) - 1  # chat number i carries seq i + 1 in a fresh session


def parse_baseline(raw: str | bytes) -> int | None:
    data = json.loads(raw)
    return int(data["i"])


async def connect_all(
    urls: list[tuple[str, dict[str, str]]], origin: str, parse: Any
) -> list[Learner]:
    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidHandshake

    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    retries: list[str] = []

    async def one(url: str, headers: dict[str, str]) -> Learner:
        async with gate:
            delay = 0.5
            for attempt in range(CONNECT_ATTEMPTS):  # as a page does, with backoff
                try:
                    socket = await connect(
                        url,
                        additional_headers=headers,
                        origin=origin,  # type: ignore[arg-type]
                        open_timeout=60,
                        max_size=None,
                        ping_interval=None,
                    )
                    break
                except (OSError, InvalidHandshake):
                    retries.append(url)
                    if attempt == CONNECT_ATTEMPTS - 1:
                        raise
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 5)
            if parse is parse_ours:
                first = json.loads(await socket.recv())  # the state snapshot: we are in
                assert first["type"] == "state", first  # noqa: S101
            return Learner(socket, parse)

    learners = list(await asyncio.gather(*(one(url, headers) for url, headers in urls)))
    if retries:
        print(f"  {len(retries)} handshakes failed and were retried", flush=True)
    return learners


async def broadcast_round(
    learners: list[Learner], send: Any, *, label: str
) -> tuple[list[float], int, float]:
    """Send MESSAGES messages, each once the previous one reached everyone (or timed out)."""
    latencies = []
    lost = 0
    first_send = time.perf_counter()
    last_arrival = first_send
    for i in range(MESSAGES):
        sent = time.perf_counter()
        await send(i)
        deadline = sent + LOSS_TIMEOUT
        while time.perf_counter() < deadline and not all(i in c.arrived for c in learners):
            await asyncio.sleep(0.001)
        missing = sum(1 for c in learners if i not in c.arrived)
        if missing:
            print(f"  {label}: message {i} missed by {missing} of {len(learners)}", flush=True)
        lost += missing
        arrivals = [c.arrived[i] for c in learners if i in c.arrived]
        if arrivals:
            latencies.append((max(arrivals) - sent) * 1000)
            last_arrival = max(last_arrival, max(arrivals))
    span = max(last_arrival - first_send, 1e-9)
    return latencies, lost, span


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def run_ours(port: int, pid: int, data: dict[str, Any], n: int) -> Result:
    from websockets.asyncio.client import connect

    origin = f"http://127.0.0.1:{port}"
    url = f"ws://127.0.0.1:{port}/ws/live/{data['session']}/"
    trainer = await connect(
        url,
        additional_headers={"Cookie": f"sessionid={data['trainer']}"},
        origin=origin,  # type: ignore[arg-type]
    )
    assert json.loads(await trainer.recv())["type"] == "state"  # noqa: S101
    drain = asyncio.create_task(_drain(trainer))
    before = rss_kib(pid)
    started = time.perf_counter()
    learners = await connect_all(
        [(url, {"Cookie": f"sessionid={cookie}"}) for cookie in data["learners"][:n]],
        origin,
        parse_ours,
    )
    connect_s = time.perf_counter() - started
    await asyncio.sleep(1.0)  # presence settles
    mem = (rss_kib(pid) - before) / 1024 * 1000 / n

    async def send(i: int) -> None:
        await trainer.send(json.dumps({"type": "chat", "text": f"Message {i} from the trainer"}))

    latencies, lost, span = await broadcast_round(learners, send, label="ours")
    await _close(learners)
    drain.cancel()
    await trainer.close()
    return _result(n, connect_s, latencies, lost, span, mem)


async def run_baseline(port: int, pid: int, n: int) -> Result:
    from websockets.asyncio.client import connect

    origin = f"http://127.0.0.1:{port}"
    trainer = await connect(f"ws://127.0.0.1:{port}/trainer")
    before = rss_kib(pid)
    started = time.perf_counter()
    learners = await connect_all(
        [(f"ws://127.0.0.1:{port}/learner", {}) for _ in range(n)], origin, parse_baseline
    )
    connect_s = time.perf_counter() - started
    await asyncio.sleep(0.5)
    mem = (rss_kib(pid) - before) / 1024 * 1000 / n
    # The same size of payload as ours (a chat event with its rendered fragment).
    padding = "x" * 600

    async def send(i: int) -> None:
        await trainer.send(json.dumps({"type": "chat", "i": i, "html": padding}))

    latencies, lost, span = await broadcast_round(learners, send, label="baseline")
    await _close(learners)
    await trainer.close()
    return _result(n, connect_s, latencies, lost, span, mem)


async def _drain(socket: Any) -> None:
    """The trainer's page: reads everything, acknowledges every tenth event, as live.js does."""
    count = 0
    try:
        async for raw in socket:
            data = json.loads(raw)
            if data.get("type") == "error":
                print(f"  trainer got an error: {data}", flush=True)
            if isinstance(data.get("seq"), int):
                count += 1
                if count % 10 == 0:
                    await socket.send(json.dumps({"type": "ack", "seq": data["seq"]}))
    except Exception:  # noqa: S110
        pass


async def _close(learners: list[Learner]) -> None:
    await asyncio.gather(*(c.socket.close() for c in learners), return_exceptions=True)
    for learner in learners:
        learner.task.cancel()


def _result(
    n: int, connect_s: float, latencies: list[float], lost: int, span: float, mem: float
) -> Result:
    delivered = n * MESSAGES - lost
    return Result(
        n,
        connect_s,
        statistics.median(latencies) if latencies else float("nan"),
        percentile(latencies, 0.95),
        delivered / span,
        mem,
        lost,
        latencies,
    )


def show(kind: str, r: Result) -> None:
    print(
        f"  {kind:>8} N={r.n:>5}: connect {r.connect_s:6.2f} s  p50 {r.p50_ms:7.1f} ms  "
        f"p95 {r.p95_ms:7.1f} ms  {r.deliveries_per_s:8.0f} deliveries/s  "
        f"{r.mem_mib_per_1000:6.1f} MiB/1000 idle  lost {r.lost}",
        flush=True,
    )


def run(options: argparse.Namespace) -> dict[str, float]:
    import redis

    redis_url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/14"
    try:
        redis.Redis.from_url(redis_url, socket_timeout=2).ping()
    except redis.RedisError as exc:
        sys.exit(f"bench live needs Redis at {redis_url}: {exc}")
    sizes = [int(s) for s in os.environ.get("BENCH_LIVE_SIZES", "50,300,1000").split(",")]
    ours: dict[int, Result] = {}
    base: dict[int, Result] = {}
    with scratch_env({"REDIS_URL": redis_url, "LOG_LEVEL": "WARNING"}) as env:
        print(f"live: preparing {max(sizes)} learners ...", flush=True)
        data = setup_data(env, max(sizes))
        for n in sizes:
            # A fresh server (and session state) per size, so each starts at sequence 0.
            with daphne(env) as (port, process):
                data_n = data if n == sizes[0] else setup_data_again(env, data, n)
                ours[n] = asyncio.run(run_ours(port, process.pid, data_n, n))
            show("ours", ours[n])
            with baseline_server() as (port, process):
                base[n] = asyncio.run(run_baseline(port, process.pid, n))
            show("baseline", base[n])
    figures: dict[str, float] = {}
    for n in sizes:
        print(
            f"  N={n}: p95 ours/baseline {ours[n].p95_ms / base[n].p95_ms:.2f}x, "
            f"joins ours/baseline {ours[n].connect_s / base[n].connect_s:.2f}x"
        )
    top = 1000 if 1000 in ours else sizes[-1]
    figures["slowdown_1000"] = round(ours[top].p95_ms / base[top].p95_ms, 2)
    figures["join_slowdown_1000"] = round(ours[top].connect_s / base[top].connect_s, 2)
    figures["lost"] = sum(r.lost for r in ours.values()) + sum(r.lost for r in base.values())
    key = 300 if 300 in ours else sizes[0]
    figures["slowdown_300"] = round(ours[key].p95_ms / base[key].p95_ms, 2)
    figures["p95_ms_300"] = round(ours[key].p95_ms)
    figures["p95_ms_1000"] = round(ours[top].p95_ms)
    return figures


def setup_data_again(env: dict[str, str], data: dict[str, Any], n: int) -> dict[str, Any]:
    """A new session for the same cohort (its sequence starts at 0; nobody is in it yet)."""
    code = f"""
import json
from live.models import LiveSession
old = LiveSession.objects.get(pk={data["session"]})
trainers = list(old.trainers.all())
old.pk = None
old.seq = 0
old.save()
old.trainers.set(trainers)
print(json.dumps(old.pk))
"""
    out = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return {**data, "session": json.loads(out.strip().splitlines()[-1])}


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    print(run(argparse.Namespace()))
