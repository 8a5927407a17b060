"""The media volume fills up under uploads: nothing already received is lost, and the upload
resumes once space is freed (a fault scenario of `python bench/run.py faults`).

A real gunicorn, as deployed for uploads (README "How it runs"), stores its media on a small
tmpfs this test mounts (root only: locally it is skipped otherwise; in CI, which runs as root,
it fails instead). The rest of the disk is taken by a filler file, as another upload or a log
would, and removed again to free the space.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.client
import os
import subprocess
from collections.abc import Callable, Iterator
from http.cookies import SimpleCookie
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

from assessment import services as assessment
from assessment.models import Evidence
from delivery.roles import Role
from delivery.services import enrol_learner
from tests.conftest import need_service
from tests.factories import CohortFactory, UserFactory, assessable_unit
from tests.helpers import EVENT_WAIT
from tests.integration.test_faults import CSRF, cookies_for, tally
from tests.servers import Server, free_port, start, stop, wait_until

MIB = 1024 * 1024
VOLUME_MIB = 16
OUT_OF_SPACE = (
    "The server is out of space; your upload is kept and can resume once space is freed. "
    "Try again later."
)
FORM_OUT_OF_SPACE = "The server is out of space, so the file was not saved. Try again later."


@contextlib.contextmanager
def small_volume(path: Path) -> Iterator[Path]:
    """A VOLUME_MIB tmpfs mounted at `path`, unmounted afterwards."""
    if os.geteuid() != 0:
        need_service("needs root to mount a small tmpfs as the media folder")
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={VOLUME_MIB}m,mode=0755", "tmpfs", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode:
        need_service(f"could not mount a tmpfs: {mounted.stderr.strip()}")
    try:
        yield path
    finally:
        if subprocess.run(["umount", str(path)], check=False).returncode:
            subprocess.run(["umount", "-l", str(path)], check=False)


def fill(volume: Path, *, leave: int) -> Path:
    """Take all the free space of `volume` but `leave` bytes, with a file of its own."""
    filler = volume / "filler.bin"
    free = os.statvfs(volume)
    left = free.f_bavail * free.f_frsize - leave
    block = os.urandom(MIB)
    with filler.open("wb") as out:
        while left > 0:
            left -= out.write(block[: min(left, MIB)])
    return filler


@pytest.fixture
def full_disk_server(service_env: dict[str, str], tmp_path: Path) -> Iterator[tuple[Server, Path]]:
    """gunicorn with VAR_DIR of its own, whose media folder is the small volume; static
    files are the session's (a symlink)."""
    var = tmp_path / "var"
    var.mkdir()
    (var / "static").symlink_to(Path(service_env["VAR_DIR"]) / "static")
    with small_volume(var / "media") as media:
        port = free_port()
        env = {**service_env, "VAR_DIR": str(var), "WEB_CONCURRENCY": "1", "WEB_THREADS": "2"}
        env.pop("EVIDENCE_STAGING_DIR", None)  # on the volume: MEDIA_ROOT/uploads-partial
        args = ["-m", "gunicorn", "config.wsgi:application", "--config", "config/gunicorn.py",
                "--bind", f"127.0.0.1:{port}"]  # fmt: skip
        log = tmp_path / "gunicorn.log"
        server = Server(start(args, env, log), log, f"http://127.0.0.1:{port}", port)

        def answers() -> bool:
            with contextlib.suppress(OSError):
                return send(server, "GET", "/healthz")[0] == 200
            return False

        wait_until(answers, server, "gunicorn")
        try:
            yield server, media
        finally:
            stop(server)


def send(
    server: Server, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> tuple[int, http.client.HTTPMessage, bytes]:
    """One request on its own connection. A server may answer before it has read the whole
    body (a refusal): what is left unsent is dropped and the answer read."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=EVENT_WAIT)
    try:
        conn.putrequest(method, path)
        for name, value in (headers or {}).items():
            conn.putheader(name, value)
        if method in {"POST", "PATCH"}:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            conn.send(body)
        response = conn.getresponse()
        return response.status, response.headers, response.read()
    finally:
        conn.close()


def pdf(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.django_db(transaction=True)
def test_uploads_onto_a_full_disk_say_so_lose_nothing_and_resume_once_space_is_freed(
    full_disk_server: tuple[Server, Path], record_property: Callable[[str, object], None]
) -> None:
    server, media = full_disk_server
    learner = UserFactory(username="disk-uploader", roles=[Role.LEARNER])
    cohort = CohortFactory()
    enrol_learner(learner, cohort)
    task = assessable_unit(course=cohort.course, items=1)["task"]
    attempt = assessment.start_attempt(learner, task, cohort)
    signed_in = {"Cookie": cookies_for(learner), "X-CSRFToken": CSRF}
    page = f"/assess/cohorts/{cohort.pk}/tasks/{task.pk}/"
    filler = fill(media, leave=MIB)

    # Without JavaScript: two files in one form, the second larger than the space left.
    small = b"%PDF-1.4\n" + os.urandom(256 * 1024)
    large = b"%PDF-1.4\n" + os.urandom(3 * MIB)
    form = encode_multipart(
        BOUNDARY,
        {"next": page, "file": [pdf("small.pdf", small), pdf("large.pdf", large)]},
    )
    status, headers, _ = send(
        server, "POST", f"/assess/uploads/attempts/{attempt.pk}/form", form,
        {**signed_in, "Content-Type": MULTIPART_CONTENT, "Referer": server.url + page},
    )  # fmt: skip
    assert status == 302, server.output()[-3000:]
    assert headers["Location"] == server.url + page  # back where the form was
    cookie = SimpleCookie(headers["Set-Cookie"])
    status, _, shown = send(
        server, "GET", page, headers={"Cookie": f"{signed_in['Cookie']}; messages="
                                                f"{cookie['messages'].value}"},
    )  # fmt: skip
    assert status == 200
    assert b"Added small.pdf." in shown
    assert FORM_OUT_OF_SPACE.encode() in shown
    assert list(Evidence.objects.values_list("original_name", flat=True)) == ["small.pdf"]
    stored = [p for p in (media / "evidence").rglob("*") if p.is_file()]
    assert len(stored) == 1  # nothing left of large.pdf
    assert digest(stored[0]) == hashlib.sha256(small).hexdigest()

    # With JavaScript: a tus upload of 6 MiB in parts of 1 MiB, until the disk is full.
    data = b"%PDF-1.4\n" + os.urandom(6 * MIB - 9)
    tus = {**signed_in, "Tus-Resumable": "1.0.0"}
    status, headers, _ = send(
        server, "POST", f"/assess/uploads/attempts/{attempt.pk}/", b"",
        {**tus, "Upload-Length": str(len(data)),
         "Upload-Metadata": "filename " + base64.b64encode(b"video-notes.pdf").decode()},
    )  # fmt: skip
    assert status == 201
    url = headers["Location"]
    offset = 0
    while offset < len(data):
        part = {**tus, "Upload-Offset": str(offset),
                "Content-Type": "application/offset+octet-stream"}  # fmt: skip
        status, headers, answer = send(server, "PATCH", url, data[offset : offset + MIB], part)
        if status != 204:
            break
        offset = int(headers["Upload-Offset"])
    assert status == 507, answer
    assert answer.decode() == OUT_OF_SPACE
    assert not Evidence.objects.filter(original_name="video-notes.pdf").exists()
    status, headers, _ = send(server, "HEAD", url, headers=tus)
    assert status == 200
    kept = int(headers["Upload-Offset"])
    assert offset < kept < len(data)  # the part that hit the full disk kept what it wrote

    # Space is freed; the client carries on where it stopped, as tus-js-client does.
    filler.unlink()
    offset = kept
    while offset < len(data):
        part = {**tus, "Upload-Offset": str(offset),
                "Content-Type": "application/offset+octet-stream"}  # fmt: skip
        status, headers, answer = send(server, "PATCH", url, data[offset : offset + MIB], part)
        assert status == 204, answer
        offset = int(headers["Upload-Offset"])

    recorded = dict(Evidence.objects.values_list("original_name", "sha256"))
    expected = {
        "small.pdf": hashlib.sha256(small).hexdigest(),
        "video-notes.pdf": hashlib.sha256(data).hexdigest(),
    }
    lost = sum(recorded.get(name) != sha for name, sha in expected.items())
    duplicated = Evidence.objects.count() - len(recorded)
    tally(record_property, lost=lost, duplicated=duplicated)
    assert recorded == expected
    assert duplicated == 0
    upload = Evidence.objects.get(original_name="video-notes.pdf")
    assert digest(media / upload.file.name) == hashlib.sha256(data).hexdigest()
