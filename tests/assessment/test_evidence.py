"""assessment/evidence/services.py: sniffing, names, storing with SHA-256, withdrawal, photo
previews and the staging area of resumable uploads."""

from __future__ import annotations

import hashlib
import io
import os
import struct
import time
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.http import Http404
from PIL import ExifTags, Image

from assessment.audit.services import verify_chain
from assessment.evidence import services as files
from assessment.models import Attempt, AuditEvent, Evidence, Item, Task

# Sample content -------------------------------------------------------------------------------


def png_bytes(size: tuple[int, int] = (40, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def jpeg_with_gps(size: tuple[int, int] = (400, 200), orientation: int = 1) -> bytes:
    """A photo taken in Sydney, rotated by its EXIF orientation tag."""
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = "PhoneCo"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "S"
    gps[ExifTags.GPS.GPSLatitude] = (33.0, 52.0, 4.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (151.0, 12.0, 26.0)
    out = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(out, "JPEG", exif=exif)
    return out.getvalue()


def mp4_bytes(payload: int = 4096) -> bytes:
    ftyp = struct.pack(">I", 24) + b"ftypisom" + b"\0\0\2\0" + b"isomavc1"
    return ftyp + struct.pack(">I", 8 + payload) + b"mdat" + os.urandom(payload)


def office_bytes(folder: str, *, macros: bool = False) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("_rels/.rels", "<Relationships/>")
        archive.writestr(f"{folder}/main.xml", "<doc/>")
        if macros:
            archive.writestr(f"{folder}/vbaProject.bin", b"\0\1")
    return out.getvalue()


def plain_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("notes.txt", "hello")
    return out.getvalue()


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 120
MZ = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 120
SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
)


# Fixtures -------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _private_storage(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "media")},
        },
    }
    settings.EVIDENCE_STAGING_DIR = tmp_path / "media" / "uploads-partial"


def make_attempt(learner: Any, cohort: Any, *, status: str = Attempt.Status.DRAFT) -> Attempt:
    unit = cohort.course.units.order_by("course_units__position").first()
    task, _ = Task.objects.get_or_create(
        unit=unit, key="show-your-work", defaults={"title": "Show your work", "kind": "project"}
    )
    Item.objects.get_or_create(
        task=task, key="photo", defaults={"kind": "long_answer", "prompt": "A photo of it"}
    )
    number = Attempt.objects.filter(task=task, learner=learner, cohort=cohort).count() + 1
    return Attempt.objects.create(
        task=task, learner=learner, cohort=cohort, status=status, number=number
    )


@pytest.fixture
def attempt(learner: Any, cohort: Any) -> Attempt:
    return make_attempt(learner, cohort)


# Sniffing -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (png_bytes(), "image/png"),
        (jpeg_with_gps(), "image/jpeg"),
        (mp4_bytes(), "video/mp4"),
        (PDF, "application/pdf"),
        (office_bytes("word"), files.DOCX),
        (office_bytes("xl"), files.XLSX),
        (office_bytes("ppt"), files.PPTX),
        (b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 64, "audio/wav"),
        ("Notes from the site visit, 3 Nov. Temperature 38°C.\n".encode(), "text/plain"),
    ],
)
def test_it_sniffs_accepted_types_from_the_content(content: bytes, expected: str) -> None:
    assert files.sniff(io.BytesIO(content)) == expected


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (ELF, "is a program"),
        (MZ, "is a program"),
        (plain_zip(), "zip archive"),
        (office_bytes("word", macros=True), "macros"),
        (SVG, "SVG drawings can carry scripts"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "SVG drawings"),
        (b"<!doctype html><script>alert(1)</script>", "HTML and XML"),
        (b"\x00\x01\x02\x03garbage" * 50, "not one of the accepted types"),
    ],
)
def test_it_refuses_other_content_with_a_clear_message(content: bytes, words: str) -> None:
    with pytest.raises(files.UnsupportedFileType) as refused:
        files.sniff(io.BytesIO(content))
    assert words in refused.value.messages[0]


def test_it_refuses_an_empty_file() -> None:
    with pytest.raises(files.EmptyFile):
        files.sniff(io.BytesIO(b""))


def test_it_refuses_a_program_from_its_first_bytes_alone() -> None:
    with pytest.raises(files.UnsupportedFileType):
        files.check_start(MZ)
    files.check_start(b"PK\x03\x04 the rest of a zip")  # decided on completion
    files.check_start(mp4_bytes()[:8192])


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\lena\\Desktop\\site photo.jpg", "site photo.jpg"),
        ("report\x00\n\r.pdf", "report.pdf"),
        ("invoice\u202egpj.exe", "invoicegpj.exe"),
        ("  ..hidden  name .txt", "hidden name .txt"),
        ("..", "evidence"),
        ("", "evidence"),
        ("a" * 300 + ".mp4", "a" * 196 + ".mp4"),
    ],
)
def test_it_cleans_names_for_display(given: str, shown: str) -> None:
    assert files.clean_name(given) == shown


# Storing --------------------------------------------------------------------------------------


def test_it_stores_a_file_with_its_hash_type_and_audit_event(
    attempt: Attempt, learner: Any
) -> None:
    content = mp4_bytes(50_000)
    item = attempt.task.items.get()

    added = files.add_evidence(
        attempt,
        uploaded_by=learner,
        name="../clip.pdf",
        content=ContentFile(content),
        item=item,
    )

    added.refresh_from_db()
    assert added.original_name == "clip.pdf"
    assert added.content_type == "video/mp4"  # the content decides, not the name
    assert added.size == len(content)
    assert added.sha256 == hashlib.sha256(content).hexdigest()
    assert added.item == item
    assert added.uploaded_by == learner
    assert added.file.name.startswith("evidence/")
    assert "clip" not in added.file.name
    with added.file.open("rb") as stored:
        assert stored.read() == content
    event = AuditEvent.objects.get(action="evidence.added")
    assert event.object_id == str(added.pk)
    assert event.learner == learner
    assert event.unit == attempt.task.unit
    assert '"sha256":"' + added.sha256 in event.payload
    assert verify_chain().ok


def test_it_never_overwrites_a_stored_file(attempt: Attempt, learner: Any) -> None:
    first = files.add_evidence(attempt, uploaded_by=learner, name="a.pdf", content=ContentFile(PDF))
    second = files.add_evidence(
        attempt, uploaded_by=learner, name="a.pdf", content=ContentFile(PDF)
    )
    assert first.file.name != second.file.name
    assert default_storage.exists(first.file.name)
    assert default_storage.exists(second.file.name)


def test_it_moves_a_staged_file_into_local_storage(
    attempt: Attempt, learner: Any, tmp_path: Path
) -> None:
    staged = files.staging_dir() / "x.part"
    staged.write_bytes(PDF)

    added = files.add_evidence(attempt, uploaded_by=learner, name="a.pdf", content=staged)

    assert not staged.exists()
    assert added.file.open("rb").read() == PDF


@pytest.mark.parametrize("content", [b"", ELF, SVG])
def test_it_refuses_bad_files_and_stores_nothing(
    attempt: Attempt, learner: Any, content: bytes
) -> None:
    with pytest.raises(ValidationError):
        files.add_evidence(
            attempt, uploaded_by=learner, name="report.pdf", content=ContentFile(content)
        )
    assert not Evidence.objects.exists()
    assert not AuditEvent.objects.exists()
    assert not default_storage.exists("evidence")


def test_it_refuses_a_file_over_the_limit(attempt: Attempt, learner: Any, settings: Any) -> None:
    settings.EVIDENCE_MAX_BYTES = 1000
    with pytest.raises(files.FileTooLarge, match="over the 1000 bytes limit"):
        files.add_evidence(
            attempt, uploaded_by=learner, name="a.mp4", content=ContentFile(mp4_bytes(2000))
        )
    assert not Evidence.objects.exists()


def test_it_refuses_a_submitted_attempt_unless_told_otherwise(
    learner: Any, assessor: Any, cohort: Any
) -> None:
    submitted = make_attempt(learner, cohort, status=Attempt.Status.SUBMITTED)
    with pytest.raises(ValidationError, match="has been submitted"):
        files.add_evidence(submitted, uploaded_by=learner, name="a.pdf", content=ContentFile(PDF))

    # An assessor's observation photo goes to an attempt that is not the learner's draft.
    photo = files.add_evidence(
        submitted,
        uploaded_by=assessor,
        name="observed.png",
        content=ContentFile(png_bytes()),
        require_draft=False,
    )
    assert photo.uploaded_by == assessor


def test_it_refuses_an_item_of_another_task(attempt: Attempt, learner: Any) -> None:
    other_task = Task.objects.create(
        unit=attempt.task.unit, key="other", title="Other", kind="written"
    )
    stranger = Item.objects.create(task=other_task, key="q", kind="short_answer", prompt="?")
    with pytest.raises(ValidationError, match="another task"):
        files.add_evidence(
            attempt, uploaded_by=learner, name="a.pdf", content=ContentFile(PDF), item=stranger
        )
    with pytest.raises(ValidationError, match="no such question"):
        files.find_item(attempt, "nope")
    # By id only: a key is never guessed at (see test_task_evidence for an all-digit key).
    with pytest.raises(ValidationError, match="no such question"):
        files.find_item(attempt, "photo")
    assert files.find_item(attempt, str(attempt.task.items.get().pk)) == attempt.task.items.get()
    assert files.find_item(attempt, "") is None


def test_it_withdraws_a_file_from_a_draft_and_keeps_it(attempt: Attempt, learner: Any) -> None:
    added = files.add_evidence(attempt, uploaded_by=learner, name="a.pdf", content=ContentFile(PDF))

    files.withdraw_evidence(added, by=learner)

    added.refresh_from_db()
    assert added.withdrawn_at is not None
    assert default_storage.exists(added.file.name)
    assert list(files.active_evidence(attempt)) == []
    assert AuditEvent.objects.filter(action="evidence.withdrawn", object_id=added.pk).exists()
    with pytest.raises(ValidationError, match="already removed"):
        files.withdraw_evidence(added, by=learner)


def test_it_refuses_to_withdraw_from_a_submitted_attempt(attempt: Attempt, learner: Any) -> None:
    added = files.add_evidence(attempt, uploaded_by=learner, name="a.pdf", content=ContentFile(PDF))
    Attempt.objects.filter(pk=attempt.pk).update(status=Attempt.Status.SUBMITTED)
    with pytest.raises(ValidationError, match="has been submitted"):
        files.withdraw_evidence(added, by=learner)
    added.refresh_from_db()
    assert added.withdrawn_at is None


# Previews -------------------------------------------------------------------------------------


def test_it_strips_location_from_the_preview_and_keeps_the_original(
    attempt: Attempt, learner: Any
) -> None:
    photo = jpeg_with_gps(size=(400, 200), orientation=6)

    added = files.add_evidence(
        attempt, uploaded_by=learner, name="site.jpg", content=ContentFile(photo)
    )

    with added.file.open("rb") as original:
        kept = original.read()
    assert kept == photo
    original_exif = Image.open(io.BytesIO(kept)).getexif()
    assert original_exif.get_ifd(ExifTags.IFD.GPSInfo)[ExifTags.GPS.GPSLatitudeRef] == "S"

    assert added.preview
    assert added.thumbnail
    with added.preview.open("rb") as stored:
        preview = Image.open(io.BytesIO(stored.read()))
    assert preview.format == "JPEG"
    assert not preview.getexif()
    assert not preview.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    assert "exif" not in preview.info
    assert "xmp" not in preview.info
    assert preview.size == (200, 400)  # turned upright, since its orientation tag is gone
    with added.thumbnail.open("rb") as stored:
        thumbnail = Image.open(io.BytesIO(stored.read()))
    assert thumbnail.format == "JPEG"
    assert max(thumbnail.size) <= files.THUMBNAIL_PX
    assert not thumbnail.getexif()


def test_it_makes_previews_once(attempt: Attempt, learner: Any) -> None:
    added = files.add_evidence(
        attempt, uploaded_by=learner, name="a.png", content=ContentFile(png_bytes())
    )
    assert added.preview
    assert files.make_previews(added.pk) is False  # idempotent: a retried task does nothing
    pdf = files.add_evidence(attempt, uploaded_by=learner, name="a.pdf", content=ContentFile(PDF))
    assert files.make_previews(pdf.pk) is False
    assert not pdf.preview


def test_it_keeps_an_upload_whose_preview_fails(attempt: Attempt, learner: Any) -> None:
    broken = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200  # a PNG signature, then nothing Pillow can read
    added = files.add_evidence(
        attempt, uploaded_by=learner, name="a.png", content=ContentFile(broken)
    )
    assert added.pk
    assert not added.preview


# Staging --------------------------------------------------------------------------------------


class Cut:
    """A request body that breaks after `n` bytes, as a dropped connection does."""

    def __init__(self, data: bytes, n: int) -> None:
        self.stream, self.left = io.BytesIO(data[:n]), n

    def read(self, size: int = -1) -> bytes:
        chunk = self.stream.read(size)
        if not chunk:
            raise OSError("client went away")
        return chunk


def test_it_keeps_what_arrived_before_a_connection_dropped(attempt: Attempt, learner: Any) -> None:
    content = mp4_bytes(30_000)
    upload = files.start_upload(attempt, owner=learner, name="clip.mp4", length=len(content))

    files.append_to_upload(
        upload, user=learner, offset=0, stream=Cut(content, 10_000), length=len(content)
    )

    assert files.access_upload(learner, upload.id).offset == 10_000
    rest = io.BytesIO(content[10_000:])
    done = files.append_to_upload(
        upload, user=learner, offset=10_000, stream=rest, length=len(content) - 10_000
    )
    assert done.complete
    assert Evidence.objects.get(pk=done.evidence_id).sha256 == hashlib.sha256(content).hexdigest()
    assert not upload.part_path.exists()
    assert files.access_upload(learner, upload.id).offset == len(content)


def test_it_lets_one_request_at_a_time_write_an_upload(attempt: Attempt, learner: Any) -> None:
    import fcntl

    upload = files.start_upload(attempt, owner=learner, name="clip.mp4", length=100)
    with upload.part_path.open("ab") as holder:
        fcntl.flock(holder, fcntl.LOCK_EX)
        with pytest.raises(files.UploadBusy):
            files.append_to_upload(
                upload, user=learner, offset=0, stream=io.BytesIO(b"x" * 10), length=10
            )


def test_it_hides_an_upload_from_anyone_but_its_owner(
    attempt: Attempt, learner: Any, other_learner: Any
) -> None:
    upload = files.start_upload(attempt, owner=learner, name="clip.mp4", length=100)
    with pytest.raises(Http404):
        files.access_upload(other_learner, upload.id)
    for bad in ("../../etc/passwd", "x" * 32 + "/..", "short"):
        with pytest.raises(Http404):
            files.access_upload(learner, bad)


def test_it_purges_abandoned_uploads(attempt: Attempt, learner: Any) -> None:
    old = files.start_upload(attempt, owner=learner, name="old.mp4", length=100)
    fresh = files.start_upload(attempt, owner=learner, name="new.mp4", length=100)
    long_ago = time.time() - 8 * 86400
    for path in (old.part_path, old.info_path):
        os.utime(path, (long_ago, long_ago))

    assert files.purge_stale_uploads(older_than=timedelta(days=7)) == 1

    assert not old.part_path.exists()
    assert not old.info_path.exists()
    assert fresh.part_path.exists()


def heic_with_gps(size: tuple[int, int] = (320, 160)) -> bytes:
    """An iPhone-style HEIC photo taken in Sydney (written with pillow-heif)."""
    exif = Image.Exif()
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "S"
    gps[ExifTags.GPS.GPSLatitude] = (33.0, 52.0, 4.0)
    out = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(out, "HEIF", exif=exif.tobytes())
    return out.getvalue()


def test_it_gives_a_heic_photo_a_jpeg_viewing_copy_without_location(
    attempt: Attempt, learner: Any, client_for: Any
) -> None:
    photo = heic_with_gps()
    added = files.add_evidence(
        attempt, uploaded_by=learner, name="IMG_0042.HEIC", content=ContentFile(photo)
    )
    assert added.content_type == "image/heic"
    with added.file.open("rb") as original:
        assert original.read() == photo
    with added.preview.open("rb") as stored:
        preview = Image.open(io.BytesIO(stored.read()))
    assert preview.format == "JPEG"
    assert not preview.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    response = client_for(learner).get(f"/assess/evidence/{added.pk}/preview")
    assert response["Content-Type"] == "image/jpeg"
    assert 'filename="IMG_0042.jpg"' in response["Content-Disposition"]


# Hashing as the bytes arrive ------------------------------------------------------------------


def _upload_in_parts(upload: Any, learner: Any, content: bytes, cuts: list[int]) -> Any:
    done = upload
    for start, end in zip([0, *cuts], [*cuts, len(content)], strict=True):
        done = files.append_to_upload(
            upload,
            user=learner,
            offset=start,
            stream=io.BytesIO(content[start:end]),
            length=end - start,
        )
    return done


def test_it_hashes_an_upload_as_it_arrives_without_reading_it_again(
    attempt: Attempt, learner: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    content = mp4_bytes(3 * files.BUFFER_BYTES + 123)
    upload = files.start_upload(attempt, owner=learner, name="clip.mp4", length=len(content))

    def no_second_pass(fileobj: Any) -> tuple[str, int]:
        raise AssertionError("the staged file was hashed again")

    monkeypatch.setattr(files, "digest", no_second_pass)
    done = _upload_in_parts(upload, learner, content, [10_000, files.BUFFER_BYTES + 5])

    assert Evidence.objects.get(pk=done.evidence_id).sha256 == hashlib.sha256(content).hexdigest()


def test_it_hashes_from_disk_when_another_process_served_a_part(
    attempt: Attempt, learner: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    content = mp4_bytes(200_000)
    upload = files.start_upload(attempt, owner=learner, name="clip.mp4", length=len(content))
    files.append_to_upload(
        upload, user=learner, offset=0, stream=io.BytesIO(content[:50_000]), length=50_000
    )
    # Another web process appends the next part: this process's state is left at 50,000.
    with upload.part_path.open("ab") as staged:
        staged.write(content[50_000:120_000])
    calls = []
    real_digest = files.digest
    monkeypatch.setattr(files, "digest", lambda f: calls.append(1) or real_digest(f))

    done = files.append_to_upload(
        upload,
        user=learner,
        offset=120_000,
        stream=io.BytesIO(content[120_000:]),
        length=len(content) - 120_000,
    )

    assert calls == [1]
    assert Evidence.objects.get(pk=done.evidence_id).sha256 == hashlib.sha256(content).hexdigest()


def test_it_forgets_the_hash_of_a_part_it_could_not_write(
    attempt: Attempt, learner: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    content = mp4_bytes(100_000)
    upload = files.start_upload(attempt, owner=learner, name="clip.mp4", length=len(content))
    files.append_to_upload(
        upload, user=learner, offset=0, stream=io.BytesIO(content[:30_000]), length=30_000
    )
    real_write = os.write
    writes: list[int] = []

    def disk_fills_up(fd: int, data: Any) -> int:
        # The first write lands 1,000 bytes, the next finds the disk full.
        if writes:
            raise OSError(28, "No space left on device")
        writes.append(1)
        return real_write(fd, bytes(data[:1000]))

    monkeypatch.setattr(files.os, "write", disk_fills_up)
    with pytest.raises(OSError, match="No space"):
        files.append_to_upload(
            upload,
            user=learner,
            offset=30_000,
            stream=io.BytesIO(content[30_000:]),
            length=len(content) - 30_000,
        )
    monkeypatch.setattr(files.os, "write", real_write)
    assert files.access_upload(learner, upload.id).offset == 31_000
    calls = []
    real_digest = files.digest
    monkeypatch.setattr(files, "digest", lambda f: calls.append(1) or real_digest(f))

    done = files.append_to_upload(
        upload,
        user=learner,
        offset=31_000,
        stream=io.BytesIO(content[31_000:]),
        length=len(content) - 31_000,
    )

    assert calls == [1]  # the state that had seen bytes the file never got was dropped
    assert Evidence.objects.get(pk=done.evidence_id).sha256 == hashlib.sha256(content).hexdigest()


# Page cache -----------------------------------------------------------------------------------


def test_it_lets_staged_bytes_leave_the_page_cache_behind_the_end(
    attempt: Attempt, learner: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(files, "BUFFER_BYTES", 16 * 1024)
    monkeypatch.setattr(files, "DROP_BEHIND_BYTES", 64 * 1024)
    advised: list[tuple[int, int, int]] = []
    monkeypatch.setattr(
        files.os,
        "posix_fadvise",
        lambda fd, offset, length, advice: advised.append((offset, offset + length, advice)),
        raising=False,
    )
    content = mp4_bytes(400_000)
    first = 150_000

    upload = files.start_upload(attempt, owner=learner, name="clip.mp4", length=len(content))
    files.append_to_upload(
        upload, user=learner, offset=0, stream=io.BytesIO(content[:first]), length=first
    )
    during_first = len(advised)
    done = files.append_to_upload(
        upload,
        user=learner,
        offset=first,
        stream=io.BytesIO(content[first:]),
        length=len(content) - first,
    )

    assert 0 < during_first < len(advised)
    assert {advice for _, _, advice in advised} == {os.POSIX_FADV_DONTNEED}
    # The first page stays (sniffed again on completion); nothing within reach of the end goes.
    assert {start for start, _, _ in advised} == {files.SNIFF_BYTES}
    assert max(end for _, end, _ in advised[:during_first]) <= first - files.DROP_BEHIND_BYTES
    # The second part counts from where the staged file ended, not from its own first byte.
    assert max(end for _, end, _ in advised) > first
    assert max(end for _, end, _ in advised) <= len(content) - files.DROP_BEHIND_BYTES
    assert Evidence.objects.get(pk=done.evidence_id).sha256 == hashlib.sha256(content).hexdigest()


@pytest.mark.parametrize("fadvise", ["refused", "missing"])
def test_it_stores_the_upload_where_the_page_cache_takes_no_advice(
    attempt: Attempt, learner: Any, monkeypatch: pytest.MonkeyPatch, fadvise: str
) -> None:
    monkeypatch.setattr(files, "BUFFER_BYTES", 16 * 1024)
    monkeypatch.setattr(files, "DROP_BEHIND_BYTES", 32 * 1024)
    if fadvise == "missing":  # macOS
        monkeypatch.delattr(files.os, "posix_fadvise", raising=False)
    else:

        def refused(*args: Any) -> None:
            raise OSError(22, "Invalid argument")

        monkeypatch.setattr(files.os, "posix_fadvise", refused, raising=False)
    content = mp4_bytes(200_000)

    upload = files.start_upload(attempt, owner=learner, name="clip.mp4", length=len(content))
    done = _upload_in_parts(upload, learner, content, [70_000])

    evidence = Evidence.objects.get(pk=done.evidence_id)
    assert evidence.sha256 == hashlib.sha256(content).hexdigest()
    assert evidence.size == len(content)
    with evidence.file.open("rb") as stored:
        assert stored.read() == content
