"""Soak: many learners and assessors for minutes on the services mode, watching errors and memory.

`python bench/run.py soak [--minutes 10]` starts, on loopback only, the services mode as
deployed: gunicorn with config/gunicorn.py (pages, forms, uploads), daphne (WebSockets), a
Celery worker, a Redis of its own (a `redis-server` on a free port, so no other user of the
machine's Redis is touched) and a fresh PostgreSQL database (`<DATABASE_URL's name>_soak`,
dropped at the end). Then 200 learners and 10 assessors work as people do, with think times:
learners open their dashboard, course and resources, start a task, save drafts, upload a file
over tus, submit; assessors open the queue and mark what was submitted; 100 of the learners
and their trainer sit in one live room (chat, questions, votes, acknowledgements).

Every process's resident memory (RSS) is sampled; growth is measured from the end of the
warm-up (a fifth of the run, at most two minutes) to the end. Last line:
`soak: requests=<n> errors=<n> p95_ms=<n> rss_growth_mib=<n>` (the largest growth of any one
process). Aims: no errors; growth under 32 MiB.

Not part of `make test`: it runs for minutes by design.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
LEARNERS = 200
ASSESSORS = 10
IN_ROOM = 100
COHORTS = 4
TASKS = 12  # per course: more than a learner finishes in ten minutes
CSRF = "soakcsrf" * 4  # a 32-character secret: cookie and header agree, as Django checks


# Processes ----------------------------------------------------------------------------------


def die_with_parent() -> None:
    """Child processes end with the soak even if it is killed (Linux PR_SET_PDEATHSIG)."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Service:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


def launch(name: str, args: list[str], env: dict[str, str], folder: Path) -> Service:
    log = folder / f"{name}.log"
    with log.open("wb") as out:
        popen = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,
        )  # fmt: skip
    return Service(name, popen, log)


def wait_for(check: Any, service: Service, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if service.popen.poll() is not None:
            sys.exit(f"{service.name} exited:\n{service.tail()}")
        if time.monotonic() > deadline:
            sys.exit(f"{service.name} did not start within {timeout:g} s:\n{service.tail()}")
        time.sleep(0.2)


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310
            return bool(response.status == 200)
    except OSError:
        return False


def stop(services: list[Service]) -> None:
    for service in services:
        if service.popen.poll() is None:
            service.popen.terminate()
    for service in services:
        try:
            service.popen.wait(timeout=20)
        except subprocess.TimeoutExpired:
            service.popen.kill()
            service.popen.wait(timeout=10)


def fresh_database(url: str) -> str:
    """A new, empty database beside the one DATABASE_URL names, for this run alone."""
    import psycopg

    parts = urllib.parse.urlsplit(url)
    name = parts.path.strip("/") + "_soak"
    admin = urllib.parse.urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    return urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))


def drop_database(url: str) -> None:
    import psycopg

    parts = urllib.parse.urlsplit(url)
    admin = urllib.parse.urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{parts.path.strip("/")}" WITH (FORCE)')


@contextlib.contextmanager
def services_mode(folder: Path) -> Iterator[dict[str, Any]]:
    redis_server = shutil.which("redis-server")
    if not redis_server:
        sys.exit("soak needs redis-server (Debian: apt-get install redis-server)")
    base_url = os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/flipside"
    if not base_url.startswith(("postgres://", "postgresql://")):
        sys.exit("soak runs on PostgreSQL: set DATABASE_URL=postgres://...")
    database = fresh_database(base_url)
    started: list[Service] = []
    try:
        redis_port = free_port()
        redis = launch(
            "redis",
            [redis_server, "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(folder)],
            dict(os.environ), folder,
        )  # fmt: skip
        started.append(redis)
        env = {k: v for k, v in os.environ.items() if k not in {"DJANGO_ALLOW_ASYNC_UNSAFE"}}
        env.update(
            {
                "DATABASE_URL": database,
                "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
                "DEBUG": "false",
                "SECRET_KEY": "soak-only-" + "x" * 40,
                "ALLOWED_HOSTS": "127.0.0.1,localhost",
                "VAR_DIR": str(folder / "var"),
                "LOG_LEVEL": "WARNING",
                "PYTHONUNBUFFERED": "1",
                "DJANGO_SETTINGS_MODULE": "config.settings",
            }
        )
        wait_for(lambda: b"Ready to accept" in redis.log.read_bytes(), redis)
        for command in ("migrate", "collectstatic"):
            quietly = [command, "--no-input", "-v", "0"]
            subprocess.run([sys.executable, "manage.py", *quietly], cwd=ROOT, env=env, check=True)
        data = json.loads(
            subprocess.run(
                [sys.executable, "-m", "bench.soak", "data"],
                cwd=ROOT, env=env, check=True, capture_output=True, text=True,
            ).stdout.splitlines()[-1]
        )  # fmt: skip
        web_port, ws_port = free_port(), free_port()
        gunicorn = launch(
            "gunicorn",
            [sys.executable, "-m", "gunicorn", "config.wsgi:application",
             "--config", str(ROOT / "config" / "gunicorn.py"),
             "--bind", f"127.0.0.1:{web_port}", "--log-level", "warning"],
            env, folder,
        )  # fmt: skip
        started.append(gunicorn)
        daphne = launch(
            "daphne",
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(ws_port),
             "config.asgi:application"],
            env, folder,
        )  # fmt: skip
        started.append(daphne)
        worker = launch(
            "celery",
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo",
             "--loglevel=WARNING", "--hostname=soak@%h", "--without-gossip", "--without-mingle"],
            env, folder,
        )  # fmt: skip
        started.append(worker)
        wait_for(lambda: answers(f"http://127.0.0.1:{web_port}/healthz"), gunicorn)
        wait_for(lambda: answers(f"http://127.0.0.1:{ws_port}/healthz"), daphne)
        yield {
            "data": data,
            "web_port": web_port,
            "ws_port": ws_port,
            "services": {s.name: s for s in started},
        }
    finally:
        stop(list(reversed(started)))
        drop_database(database)


# Data: run as `python -m bench.soak data` in the soak's environment ------------------------


def build_data() -> dict[str, Any]:
    import datetime as dt

    import django

    django.setup()
    from django.test import Client
    from django.utils import timezone

    from delivery.models import Cohort
    from delivery.roles import Role
    from delivery.services import enrol_learner
    from tests.factories import (
        CohortFactory,
        CourseFactory,
        ModuleFactory,
        ResourceFactory,
        UserFactory,
        assessable_unit,
    )
    from tests.live.factories import LiveSessionFactory

    def cookie(user: Any) -> str:
        client = Client()
        client.force_login(user)
        return str(client.cookies["sessionid"].value)

    today = timezone.localdate()
    assessors = [
        UserFactory(username=f"soak-assessor{i}", roles=[Role.ASSESSOR]) for i in range(ASSESSORS)
    ]
    trainer = UserFactory(username="soak-trainer", roles=[Role.TRAINER])
    cohorts: list[dict[str, Any]] = []
    for c in range(COHORTS):
        course = CourseFactory(units=0, title=f"Soak course {c}")
        cohort: Cohort = CohortFactory(
            course=course,
            starts_on=today - dt.timedelta(days=30),
            ends_on=today + dt.timedelta(days=90),
            trainers=[trainer],
            assessors=assessors,
        )
        tasks = [assessable_unit(course=course, items=2)["task"].pk for _ in range(TASKS)]
        module = ModuleFactory(course=course)
        resources = [
            ResourceFactory(module=module, kind="text", body="Read this. " * 200).pk
            for _ in range(5)
        ]
        cohorts.append({"id": cohort.pk, "tasks": tasks, "resources": resources, "obj": cohort})
    # (the cohort objects stay here; learners carry only ids and cookies)
    learners = []
    for i in range(LEARNERS):
        user = UserFactory(username=f"soak-learner{i}", roles=[Role.LEARNER])
        home = cohorts[i % COHORTS]
        enrol_learner(user, home["obj"])
        learners.append({"cohort": home["id"], "tasks": home["tasks"],
                         "resources": home["resources"], "cookie": cookie(user)})  # fmt: skip
    session = LiveSessionFactory(
        cohort=cohorts[0]["obj"],
        created_by=trainer,
        starts_at=timezone.now() - dt.timedelta(minutes=5),
        ends_at=timezone.now() + dt.timedelta(hours=3),
    )
    # The room is the first cohort's: the first 100 learners sit in it, those from other
    # cohorts enrolled in the first one too (a learner may take two courses).
    users = {u.username: u for u in type(trainer).objects.filter(username__startswith="soak-l")}
    for i, learner in enumerate(learners[:IN_ROOM]):
        learner["in_room"] = True
        if learner["cohort"] != cohorts[0]["id"]:
            enrol_learner(users[f"soak-learner{i}"], cohorts[0]["obj"])
    return {
        "learners": learners,
        "assessors": [cookie(a) for a in assessors],
        "trainer": cookie(trainer),
        "session": session.pk,
    }


# The load ------------------------------------------------------------------------------------


@dataclass
class Tally:
    requests: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)
    problems: dict[str, int] = field(default_factory=dict)
    ws_messages: int = 0
    submitted: int = 0
    marked: int = 0
    uploads: int = 0

    def error(self, what: str) -> None:
        self.errors += 1
        self.problems[what] = self.problems.get(what, 0) + 1
        if self.problems[what] <= 3:
            print(f"  error: {what}", flush=True)


class Http:
    """One browser: its cookies, a fresh loopback connection per request (as browsers do once
    gunicorn's keep-alive has lapsed between clicks)."""

    def __init__(self, port: int, session: str, tally: Tally) -> None:
        self.port = port
        self.cookies = {"sessionid": session, "csrftoken": CSRF}
        self.tally = tally

    async def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        expect: tuple[int, ...] = (200,),
    ) -> tuple[int, dict[str, str], bytes]:
        lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}", "Connection: close"]
        lines.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        if method not in {"GET", "HEAD"}:
            lines.append(f"X-CSRFToken: {CSRF}")
            lines.append(f"Content-Length: {len(body)}")
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        started = time.monotonic()
        self.tally.requests += 1
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", self.port), 60
            )
            try:
                writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
                await writer.drain()
                raw = await asyncio.wait_for(reader.read(), 120)
            finally:
                writer.close()
                with contextlib.suppress(Exception):
                    await writer.wait_closed()
        except (OSError, TimeoutError) as exc:
            self.tally.error(f"{method} {_shape(path)}: {type(exc).__name__}")
            return 0, {}, b""
        self.tally.latencies.append(time.monotonic() - started)
        head, _, content = raw.partition(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split()[1]) if len(status_line.split()) > 1 else 0
        response_headers: dict[str, str] = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            response_headers[name.strip().lower()] = value.strip()
            if name.strip().lower() == "set-cookie":
                self._remember(value)
        if response_headers.get("transfer-encoding") == "chunked":
            content = _unchunk(content)
        if status not in expect:
            self.tally.error(f"{method} {_shape(path)}: HTTP {status}")
        return status, response_headers, content

    def _remember(self, header: str) -> None:
        pair, *attributes = header.split(";")
        name, _, value = pair.strip().partition("=")
        expired = any(a.strip().lower() in {"max-age=0"} for a in attributes)
        if name in {"sessionid", "csrftoken"} and (expired or not value):
            return  # the soak's own
        if expired or not value:
            self.cookies.pop(name, None)
        else:
            self.cookies[name] = value


def _shape(path: str) -> str:
    return re.sub(r"\d+", "<n>", path.split("?")[0])


def _unchunk(data: bytes) -> bytes:
    out = bytearray()
    while data:
        size_line, _, rest = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out += rest[:size]
        data = rest[size + 2 :]
    return bytes(out)


def form(fields: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    return urllib.parse.urlencode(fields).encode(), {
        "Content-Type": "application/x-www-form-urlencoded"
    }


class Run:
    def __init__(self, data: dict[str, Any], web: int, ws: int, seconds: float, think: float):
        self.data = data
        self.web = web
        self.ws = ws
        self.until = time.monotonic() + seconds
        self.think = think
        self.tally = Tally()
        self.to_mark: asyncio.Queue[int] = asyncio.Queue()
        self.rng = random.Random(15)
        self.chats_sent = 0
        self.chats_seen: list[int] = []
        self.handshake_retries = 0
        self.in_the_room = 0
        self.most_in_room = 0

    def over(self) -> bool:
        return time.monotonic() >= self.until

    async def pause(self, scale: float = 1.0) -> None:
        await asyncio.sleep(self.rng.uniform(0.5, 1.5) * self.think * scale)

    async def learner(self, me: dict[str, Any]) -> None:
        http = Http(self.web, me["cookie"], self.tally)
        await asyncio.sleep(self.rng.uniform(0, self.think * 2))  # people arrive over time
        for task_id in me["tasks"]:
            if self.over():
                return
            await http.request("GET", "/learn/")
            await self.pause()
            await http.request("GET", f"/learn/courses/{me['cohort']}/")
            await self.pause()
            await http.request("GET", f"/learn/resources/{self.rng.choice(me['resources'])}/")
            await self.pause()
            task = f"/assess/cohorts/{me['cohort']}/tasks/{task_id}/"
            await http.request("POST", task, expect=(302,))
            _, _, page = await http.request("GET", task)
            found = re.search(rb"/assess/attempts/(\d+)/save", page)
            if not found:
                self.tally.error("task page without a draft to save")
                continue
            attempt = int(found.group(1))
            for n in range(3):
                await self.pause()
                body, headers = form({"answer-q1": f"Draft {n} of q1.", "answer-q2": f"q2 {n}"})
                await http.request(
                    "POST", f"/assess/attempts/{attempt}/save", body=body,
                    headers={**headers, "HX-Request": "true"},
                )  # fmt: skip
            await self.pause()
            await self.upload(http, attempt)
            await self.pause()
            body, headers = form(
                {"answer-q1": "Before touching a patient.", "answer-q2": "Gloves.",
                 "declared": "on"}
            )  # fmt: skip
            status, _, _ = await http.request(
                "POST", f"/assess/attempts/{attempt}/submit", body=body, headers=headers,
                expect=(302,),
            )  # fmt: skip
            if status == 302:
                self.tally.submitted += 1
                self.to_mark.put_nowait(attempt)
            await http.request("GET", f"/assess/attempts/{attempt}/")
            await self.pause()
        while not self.over():  # every task done: keep reading
            await http.request("GET", f"/learn/resources/{self.rng.choice(me['resources'])}/")
            await self.pause(2)

    async def upload(self, http: Http, attempt: int) -> None:
        data = b"%PDF-1.4\n" + os.urandom(self.rng.randint(16, 256) * 1024)
        meta = "filename " + __import__("base64").b64encode(b"evidence.pdf").decode()
        tus = {"Tus-Resumable": "1.0.0"}
        status, headers, _ = await http.request(
            "POST", f"/assess/uploads/attempts/{attempt}/",
            headers={**tus, "Upload-Length": str(len(data)), "Upload-Metadata": meta},
            expect=(201,),
        )  # fmt: skip
        if status != 201:
            return
        location = headers["location"]
        await http.request(
            "PATCH", location, body=data, expect=(204,),
            headers={**tus, "Upload-Offset": "0",
                     "Content-Type": "application/offset+octet-stream"},
        )  # fmt: skip
        self.tally.uploads += 1

    async def assessor(self, cookie: str) -> None:
        http = Http(self.web, cookie, self.tally)
        while not self.over():
            await http.request("GET", "/assess/queue/")
            try:
                attempt = await asyncio.wait_for(self.to_mark.get(), self.think * 3)
            except TimeoutError:
                continue
            _, _, page = await http.request("GET", f"/assess/attempts/{attempt}/mark/")
            version = re.search(rb'name="version" value="(\d+)"', page)
            if not version:
                self.tally.error("marking page without a version")
                continue
            await self.pause(0.5)
            body, headers = form(
                {"version": version.group(1).decode(), "declared": "on", "feedback": "Well done.",
                 "result-q1": "S", "comment-q1": "", "result-q2": "S", "comment-q2": ""}
            )  # fmt: skip
            status, _, _ = await http.request(
                "POST", f"/assess/attempts/{attempt}/mark/", body=body, headers=headers,
                expect=(302,),
            )  # fmt: skip
            if status == 302:
                self.tally.marked += 1
            await self.pause(0.5)

    async def in_room(self, cookie: str, trainer: bool) -> None:
        """A page in the room: acknowledges what it is sent and, as static/js/live.js does,
        tries a failed handshake again after 1 s, doubling to 30 s. A page that never gets in,
        or loses its socket once in, counts as an error."""
        from websockets.asyncio.client import connect
        from websockets.exceptions import InvalidHandshake, WebSocketException

        url = f"ws://127.0.0.1:{self.ws}/ws/live/{self.data['session']}/"
        seen = 0
        await asyncio.sleep(self.rng.uniform(0, 60))  # a class arrives over a minute
        delay, entered = 1.0, False
        while not self.over():
            try:
                socket = await connect(
                    url, additional_headers={"Cookie": f"sessionid={cookie}"},
                    origin=f"http://127.0.0.1:{self.ws}", open_timeout=60, max_size=2**22,
                )  # fmt: skip
            except (OSError, TimeoutError, InvalidHandshake):
                self.handshake_retries += 1
                await asyncio.sleep(delay * self.rng.uniform(1, 1.5))
                delay = min(delay * 2, 30)
                continue
            delay, entered = 1.0, True
            self.in_the_room += 1
            self.most_in_room = max(self.most_in_room, self.in_the_room)
            talker = asyncio.create_task(self.talk(socket, trainer))
            try:
                while not self.over():
                    try:
                        raw = await asyncio.wait_for(socket.recv(), 5)
                    except TimeoutError:
                        continue
                    message = json.loads(raw)
                    self.tally.ws_messages += 1
                    if message.get("type") == "chat":
                        seen += 1
                    if message.get("type") == "error":
                        self.tally.error(f"room error {message.get('error')}")
                    if message.get("seq"):
                        await socket.send(json.dumps({"type": "ack", "seq": message["seq"]}))
            except (OSError, WebSocketException) as exc:
                self.tally.error(f"room socket lost: {type(exc).__name__} {exc}"[:120])
            finally:
                self.in_the_room -= 1
                talker.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await talker
                with contextlib.suppress(Exception):
                    await socket.close()
        if not trainer:
            self.chats_seen.append(seen)
        if not entered:
            self.tally.error("a page never got into the room")

    async def talk(self, socket: Any, trainer: bool) -> None:
        while not self.over():
            if trainer:
                await asyncio.sleep(10)
                await socket.send(json.dumps({"type": "chat", "text": "Any questions so far?"}))
                self.chats_sent += 1
            else:
                await asyncio.sleep(self.rng.uniform(60, 180))
                await socket.send(json.dumps({"type": "ask", "text": "Could you say more?"}))
            self.tally.requests += 1

    async def main(self) -> Tally:
        room = [lr for lr in self.data["learners"] if lr.get("in_room")][:IN_ROOM]
        jobs = [self.learner(lr) for lr in self.data["learners"]]
        jobs += [self.assessor(cookie) for cookie in self.data["assessors"]]
        jobs += [self.in_room(lr["cookie"], False) for lr in room]
        jobs.append(self.in_room(self.data["trainer"], True))
        await asyncio.gather(*jobs)
        return self.tally


# Memory ---------------------------------------------------------------------------------------


def tree(pid: int) -> list[int]:
    """A process and all its descendants (gunicorn's workers, Celery's)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo += children.get(current, [])
    return found


def rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def sample(services: dict[str, Service]) -> dict[str, float]:
    figures = {}
    for name, service in services.items():
        for index, pid in enumerate(tree(service.popen.pid)):
            value = rss_mib(pid)
            if value is not None:
                figures[f"{name}[{pid}]" if index else name] = value
    return figures


async def sampler(
    services: dict[str, Service], warm_until: float, until: float, out: dict[str, Any]
) -> None:
    while time.monotonic() < until:
        await asyncio.sleep(5)
        now = sample(services)
        if "warm" not in out and time.monotonic() >= warm_until:
            out["warm"] = now
        out["last"] = now


# Entry points ---------------------------------------------------------------------------------


def run(options: argparse.Namespace) -> dict[str, float]:
    seconds = options.minutes * 60
    with (
        tempfile.TemporaryDirectory(prefix="flipside-soak-") as tmp,
        services_mode(Path(tmp)) as mode,
    ):
        print(
            f"soak: {LEARNERS} learners, {ASSESSORS} assessors, {IN_ROOM} in a live room, "
            f"{options.minutes:g} min against gunicorn + daphne + Celery (PostgreSQL, Redis)",
            flush=True,
        )
        warm = min(120.0, seconds / 5)
        memory: dict[str, Any] = {}
        started = time.monotonic()

        async def everything() -> Tally:
            load = Run(mode["data"], mode["web_port"], mode["ws_port"], seconds, options.think)
            watch = asyncio.create_task(
                sampler(mode["services"], started + warm, started + seconds, memory)
            )
            tally = await load.main()
            await watch
            print(
                f"  room: trainer chats sent {load.chats_sent}; each learner saw between "
                f"{min(load.chats_seen, default=0)} and {max(load.chats_seen, default=0)}; "
                f"{load.handshake_retries} handshakes failed and were tried again; at most "
                f"{load.most_in_room} pages in the room at once",
                flush=True,
            )
            return tally

        tally = asyncio.run(everything())
        for name, service in mode["services"].items():
            if service.popen.poll() is not None:
                tally.error(f"{name} exited during the soak")
            # Kept for reading after the run (the scratch folder goes).
            logs = Path(tempfile.gettempdir()) / "flipside-soak-logs"
            logs.mkdir(exist_ok=True)
            shutil.copy(service.log, logs / service.log.name)
    growth = {
        name: memory["last"][name] - memory["warm"][name]
        for name in memory.get("warm", {})
        if name in memory.get("last", {})
    }
    for name in sorted(growth):
        print(
            f"  rss {name}: {memory['warm'][name]:.1f} -> {memory['last'][name]:.1f} MiB "
            f"({growth[name]:+.1f})"
        )
    latencies = sorted(tally.latencies)
    p95 = latencies[int(len(latencies) * 0.95)] * 1000 if latencies else 0.0
    print(
        f"  submitted {tally.submitted}, marked {tally.marked}, uploads {tally.uploads}, "
        f"room messages received {tally.ws_messages}"
    )
    for what, count in sorted(tally.problems.items()):
        print(f"  {count} x {what}")
    print(f"  service logs: {Path(tempfile.gettempdir()) / 'flipside-soak-logs'}")
    return {
        "requests": tally.requests,
        "errors": tally.errors,
        "p95_ms": round(p95),
        "rss_growth_mib": round(max(growth.values(), default=0.0), 1),
    }


if __name__ == "__main__" and sys.argv[1:] == ["data"]:
    print(json.dumps(build_data()))
