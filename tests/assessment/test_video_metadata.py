"""Viewing copies of phone videos without where they were recorded
(assessment/evidence/video.py, and how assessment/evidence/services.py stores and serves them)."""

from __future__ import annotations

import hashlib
import io
import logging
import os
import struct
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from assessment.evidence import services as files
from assessment.evidence import video
from assessment.models import Attempt
from tests.assessment.test_evidence import make_attempt

LOCATION = b"+27.5916+086.5640/"
ISO6709_KEY = b"com.apple.quicktime.location.ISO6709"
# Where the moov box starts in phone_mp4(): after the 32-byte ftyp.
M = 32


# Building MP4 files -----------------------------------------------------------------------------


def box(kind: bytes, payload: bytes = b"", *, large: bool = False) -> bytes:
    if large:  # size == 1: a 64-bit size follows the type
        return struct.pack(">I4sQ", 1, kind, 16 + len(payload)) + payload
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def full_box(kind: bytes, payload: bytes, version: int = 0) -> bytes:
    return box(kind, struct.pack(">I", version << 24) + payload)


def udta_with_location() -> bytes:
    # ©xyz: a 16-bit text length, a 16-bit language, then ISO 6709 text.
    xyz = box(b"\xa9xyz", struct.pack(">HH", len(LOCATION), 0x15C7) + LOCATION)
    return box(b"udta", xyz + box(b"\xa9too", struct.pack(">HH", 6, 0) + b"Phone1"))


def quicktime_meta() -> bytes:
    """moov/meta as an iPhone writes it: hdlr 'mdta', keys, and an ilst with the value."""
    hdlr = full_box(b"hdlr", b"\0\0\0\0mdta" + b"\0" * 12 + b"\0")
    keys = full_box(b"keys", struct.pack(">I", 1) + box(b"mdta", ISO6709_KEY))
    value = box(b"data", struct.pack(">II", 1, 0) + b"+27.5916+086.5640+8850.000/")
    ilst = box(b"ilst", box(struct.pack(">I", 1), value))
    return box(b"meta", hdlr + keys + ilst)


def trak(chunk_offsets: list[int], *, large_stbl: bool = False) -> bytes:
    tkhd = full_box(b"tkhd", b"\0" * 80)
    stco = full_box(b"stco", struct.pack(">I", len(chunk_offsets)) + b"".join(
        struct.pack(">I", o) for o in chunk_offsets
    ))  # fmt: skip
    stsz = full_box(b"stsz", struct.pack(">II", 0, len(chunk_offsets)) + b"\0\0\0\x10" * len(
        chunk_offsets
    ))  # fmt: skip
    stbl = box(b"stbl", full_box(b"stsd", struct.pack(">I", 0)) + stsz + stco, large=large_stbl)
    minf = box(b"minf", stbl)
    mdia = box(b"mdia", full_box(b"mdhd", b"\0" * 20) + minf)
    track_udta = box(b"udta", box(b"\xa9xyz", struct.pack(">HH", len(LOCATION), 0) + LOCATION))
    return box(b"trak", tkhd + mdia + track_udta)


def phone_mp4(
    *, moov_last: bool = False, large_mdat: bool = False, brand: bytes = b"isom"
) -> bytes:
    """ftyp, moov{mvhd, udta{©xyz}, meta{keys, ilst}, trak{..., stco, udta{©xyz}}}, mdat, with
    stco pointing at real chunks in mdat (the offsets must still be right in the copy)."""
    ftyp = box(b"ftyp", brand + b"\0\0\2\0isomiso2avc1mp41")
    samples = [bytes([i]) * 16 for i in range(1, 5)]
    mdat_payload = b"".join(samples)
    mdat_header = 16 if large_mdat else 8

    def build(offsets: list[int]) -> bytes:
        mvhd = full_box(b"mvhd", b"\0" * 96)
        return box(b"moov", mvhd + udta_with_location() + quicktime_meta() + trak(offsets))

    dummy = build([0] * len(samples))
    mdat_start = len(ftyp) + (0 if moov_last else len(dummy))
    offsets = [mdat_start + mdat_header + 16 * i for i in range(len(samples))]
    moov = build(offsets)
    mdat = box(b"mdat", mdat_payload, large=large_mdat)
    return ftyp + mdat + moov if moov_last else ftyp + moov + mdat


def stco_offsets(data: bytes) -> list[int]:
    """Every chunk offset of every stco box, found by its type (as a player's parser would)."""
    found = []
    at = data.find(b"stco")
    while at != -1:
        (count,) = struct.unpack(">I", data[at + 8 : at + 12])
        found += [
            struct.unpack(">I", data[at + 12 + 4 * i : at + 16 + 4 * i])[0] for i in range(count)
        ]
        at = data.find(b"stco", at + 4)
    return found


def clean(data: bytes) -> tuple[bytes, video.CleaningPlan]:
    out = io.BytesIO()
    plan = video.clean_copy(io.BytesIO(data), out, len(data))
    return out.getvalue(), plan


# The pure module ------------------------------------------------------------------------------


@pytest.mark.parametrize("moov_last", [False, True])
def test_it_neutralises_location_boxes_without_moving_a_byte(moov_last: bool) -> None:
    original = phone_mp4(moov_last=moov_last)
    kept = bytes(original)
    assert LOCATION in original
    assert ISO6709_KEY in original

    copy, plan = clean(original)

    assert original == kept
    assert len(copy) == len(original)
    assert plan.neutralised == ["moov/udta", "moov/meta", "moov/trak/udta"]
    assert stco_offsets(copy) == stco_offsets(original)
    # Each chunk offset still points at its sample, so the copy plays as the original.
    for i, offset in enumerate(stco_offsets(copy)):
        assert copy[offset : offset + 16] == bytes([i + 1]) * 16
    assert_only_the_boxes_differ(original, copy, plan)
    # The place is gone from the bytes themselves, not only from what a parser reaches.
    for secret in (LOCATION, b"+27.5916+086.5640+8850.000/", ISO6709_KEY, b"\xa9xyz"):
        assert secret in original
        assert secret not in copy
    for offset in plan.offsets:
        assert copy[offset : offset + 4] == b"free"
    # No reader that walks the boxes reaches the location any more.
    assert _reachable_types(copy) >= {b"ftyp", b"moov", b"mvhd", b"trak", b"stco", b"mdat"}
    assert not _reachable_types(copy) & {b"udta", b"meta", b"\xa9xyz", b"keys", b"ilst"}
    assert {b"udta", b"meta", b"\xa9xyz", b"keys"} <= _reachable_types(original)


def assert_only_the_boxes_differ(original: bytes, copy: bytes, plan: video.CleaningPlan) -> None:
    """Outside the neutralised boxes the copy is the original; each of them keeps its size
    fields, says `free`, and holds zeros."""
    pos = 0
    for box in plan.boxes:
        start = box.type_at - 4
        assert copy[pos:start] == original[pos:start]
        assert copy[start : box.type_at] == original[start : box.type_at]  # the size
        assert copy[box.type_at : box.type_at + 4] == b"free"
        assert copy[box.type_at + 4 : box.zeros_from] == original[box.type_at + 4 : box.zeros_from]
        assert copy[box.zeros_from : box.end] == bytes(box.end - box.zeros_from)
        pos = box.end
    assert copy[pos:] == original[pos:]


def _reachable_types(data: bytes) -> set[bytes]:
    """The box types a parser descending into known containers reaches."""
    containers = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"udta", b"meta", b"ilst"}
    seen: set[bytes] = set()

    def walk(start: int, end: int) -> None:
        pos = start
        while pos + 8 <= end:
            size, kind = struct.unpack(">I4s", data[pos : pos + 8])
            header = 8
            if size == 1:
                (size,) = struct.unpack(">Q", data[pos + 8 : pos + 16])
                header = 16
            seen.add(kind)
            if kind in containers:  # `meta` as QuickTime writes it: no version and flags
                walk(pos + header, pos + size)
            pos += size

    walk(0, len(data))
    return seen


def test_it_reads_64_bit_sizes_and_a_last_box_to_the_end_of_the_file() -> None:
    original = phone_mp4(large_mdat=True)
    copy, plan = clean(original)
    assert plan.neutralised == ["moov/udta", "moov/meta", "moov/trak/udta"]
    assert stco_offsets(copy) == stco_offsets(original)
    for i, offset in enumerate(stco_offsets(copy)):
        assert copy[offset : offset + 16] == bytes([i + 1]) * 16

    # size == 0: the last box runs to the end of the file (a recording stopped by the camera).
    to_end = phone_mp4(moov_last=True)
    moov_at = to_end.rindex(b"moov") - 4
    to_end = to_end[:moov_at] + b"\0\0\0\0" + to_end[moov_at + 4 :]
    copy, plan = clean(to_end)
    assert len(copy) == len(to_end)
    assert plan.neutralised == ["moov/udta", "moov/meta", "moov/trak/udta"]
    assert_only_the_boxes_differ(to_end, copy, plan)
    assert LOCATION not in copy
    assert stco_offsets(copy) == stco_offsets(to_end)

    # A large-size stbl inside a track is walked past too.
    moov = box(b"moov", box(b"udta", b"x" * 10) + trak([0], large_stbl=True))
    data = box(b"ftyp", b"isom\0\0\0\0") + moov
    _, plan = clean(data)
    assert plan.neutralised == ["moov/udta", "moov/trak/udta"]


def test_it_neutralises_file_level_metadata_and_xmp() -> None:
    xmp = box(b"uuid", video.XMP_UUID + b"<x:xmpmeta>GPSLatitude</x:xmpmeta>")
    other_uuid = box(b"uuid", b"\x11" * 16 + b"vendor data")
    large_meta = box(b"meta", b"\0" * 4 + b"GPSCoordinates", large=True)  # a 64-bit size
    data = phone_mp4() + large_meta + xmp + other_uuid
    copy, plan = clean(data)
    assert plan.neutralised[-2:] == ["meta", "uuid"]
    assert_only_the_boxes_differ(data, copy, plan)
    assert b"GPS" not in copy
    xmp_at = len(data) - len(other_uuid) - len(xmp)
    assert copy[xmp_at + 4 : xmp_at + 8] == b"free"
    other_at = len(data) - len(other_uuid)
    assert copy[other_at:] == other_uuid  # a vendor's own uuid box is left alone


@pytest.mark.parametrize(
    ("damage", "words"),
    [
        (lambda d: d[: len(d) - 10], "runs past the end of the file"),  # cut short
        (lambda d: d[:100], "past the end"),  # cut in the middle of the moov
        (lambda d: box(b"ftyp", b"isom\0\0\0\0") + box(b"mdat", b"x" * 64), "no moov"),
        (lambda d: d[:M] + struct.pack(">I", 4) + d[M + 4 :], "declares 4 bytes"),
        (lambda d: d[:M] + b"\0\0\0\1moov" + b"\xff" * 8 + d[M + 16 :], "past the end"),
        # mvhd (108 bytes) and 4 more, where the next child's header needs 8
        (lambda d: d[:M] + struct.pack(">I", 120) + d[M + 4 :], "stray bytes"),
        (lambda d: d[:M] + struct.pack(">I", 150) + d[M + 4 :], "past the end of its parent"),
    ],
)
def test_it_refuses_to_clean_a_damaged_file(damage: Any, words: str) -> None:
    with pytest.raises(video.CorruptMedia, match=words):
        clean(damage(phone_mp4()))


@pytest.mark.parametrize("kernel_copy", [True, False])
def test_it_copies_between_files_in_the_kernel_or_through_a_buffer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kernel_copy: bool
) -> None:
    original = phone_mp4() + box(b"free", b"\0" * (3 * 1024 * 1024))
    source = tmp_path / "in.mp4"
    source.write_bytes(original)
    copied: list[int] = []
    real = os.copy_file_range

    def copy_file_range(*args: Any) -> int:
        if not kernel_copy:
            raise OSError(18, "Invalid cross-device link")  # what older kernels say
        copied.append(n := real(*args))
        return n

    monkeypatch.setattr(video.os, "copy_file_range", copy_file_range)
    with source.open("rb") as src, (tmp_path / "out.mp4").open("w+b") as dst:
        plan = video.clean_copy(src, dst, len(original))

    copy = (tmp_path / "out.mp4").read_bytes()
    assert len(copy) == len(original)
    zeroed = sum(box.end - box.zeros_from + 4 for box in plan.boxes)
    assert (sum(copied) == len(original) - zeroed) if kernel_copy else not copied
    assert stco_offsets(copy) == stco_offsets(original)
    assert [copy[o : o + 4] for o in plan.offsets] == [b"free"] * 3
    assert_only_the_boxes_differ(original, copy, plan)
    assert source.read_bytes() == original


# Stored and served -----------------------------------------------------------------------------


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


@pytest.fixture
def attempt(learner: Any, cohort: Any) -> Attempt:
    return make_attempt(learner, cohort)


def test_it_stores_a_viewing_copy_of_a_phone_video_and_keeps_the_original(
    attempt: Attempt, learner: Any
) -> None:
    original = phone_mp4()

    added = files.add_evidence(
        attempt, uploaded_by=learner, name="site-walk.mp4", content=ContentFile(original)
    )

    assert added.content_type == "video/mp4"
    assert added.sha256 == hashlib.sha256(original).hexdigest()
    with added.file.open("rb") as stored:
        assert stored.read() == original
    assert added.preview
    assert added.preview.name != added.file.name
    assert not added.thumbnail
    with added.preview.open("rb") as stored:
        copy = stored.read()
    assert len(copy) == len(original)
    assert stco_offsets(copy) == stco_offsets(original)
    assert not _reachable_types(copy) & {b"\xa9xyz", b"keys", b"ilst"}
    assert LOCATION not in copy
    assert ISO6709_KEY not in copy
    assert files.make_previews(added.pk) is False  # made once
    assert not list(files.staging_dir().glob("viewing-*"))


def test_it_serves_assessors_the_viewing_copy_and_shows_it_on_the_marking_page(
    attempt: Attempt, learner: Any, assessor: Any, client_for: Any
) -> None:
    original = phone_mp4()
    added = files.add_evidence(
        attempt, uploaded_by=learner, name="walk.mov", content=ContentFile(original)
    )
    client = client_for(assessor)
    url = reverse("assessment:evidence_preview", args=[added.pk])

    response = client.get(url)

    assert response.status_code == 200
    assert response["Content-Type"] == "video/mp4"
    assert response["Content-Disposition"] == 'inline; filename="walk.mov"'
    body = b"".join(response.streaming_content)
    assert len(body) == len(original)
    assert LOCATION not in body
    assert ISO6709_KEY not in body
    part = client.get(url, headers={"Range": "bytes=0-99"})
    assert part.status_code == 206
    assert b"".join(part.streaming_content) == body[:100]

    html = _render_item(added)
    assert f'<video controls preload="metadata" src="{url}">' in html
    assert "original as uploaded" in html


def test_it_keeps_a_damaged_video_without_a_viewing_copy_and_says_so(
    attempt: Attempt, learner: Any, caplog: Any
) -> None:
    damaged = phone_mp4()[:-10]
    with caplog.at_level(logging.WARNING, logger="assessment.evidence"):
        added = files.add_evidence(
            attempt, uploaded_by=learner, name="cut.mp4", content=ContentFile(damaged)
        )

    assert added.pk
    assert added.sha256 == hashlib.sha256(damaged).hexdigest()
    assert not added.preview
    assert "gets no viewing copy" in caplog.text
    assert not list(files.staging_dir().glob("viewing-*"))
    html = _render_item(added)
    assert "<video" not in html
    assert "could not be checked for location data" in html
    assert reverse("assessment:evidence", args=[added.pk]) in html


def _render_item(evidence: Any) -> str:
    from django.template.loader import render_to_string

    return render_to_string("assessment/_evidence_item.html", {"evidence": evidence})


def test_it_gives_an_m4a_recording_a_viewing_copy_too(attempt: Attempt, learner: Any) -> None:
    recording = phone_mp4(brand=b"M4A ")

    added = files.add_evidence(
        attempt, uploaded_by=learner, name="interview.m4a", content=ContentFile(recording)
    )

    assert added.content_type == "audio/mp4"
    assert added.preview
    with added.preview.open("rb") as stored:
        assert not _reachable_types(stored.read()) & {b"\xa9xyz", b"keys"}
    url = reverse("assessment:evidence_preview", args=[added.pk])
    assert f'<audio controls preload="metadata" src="{url}">' in _render_item(added)


def test_it_plays_other_recordings_as_uploaded(attempt: Attempt, learner: Any) -> None:
    """WebM, MP3, Ogg and WAV have no location boxes we know how to neutralise; they are shown
    as they were uploaded, as before."""
    webm = bytes.fromhex("1a45dfa3") + b"\x42\x82\x84webm" + b"\0" * 64
    added = files.add_evidence(
        attempt, uploaded_by=learner, name="clip.webm", content=ContentFile(webm)
    )
    assert added.content_type == "video/webm"
    assert not added.preview
    url = reverse("assessment:evidence", args=[added.pk])
    assert f'<video controls preload="metadata" src="{url}">' in _render_item(added)


def test_it_plays_the_viewing_copy_on_the_marking_page(
    client_for: Any, learner: Any, assessor: Any, cohort: Any, written: dict[str, Any]
) -> None:
    from assessment import services

    draft = services.start_attempt(learner, written["task"], cohort)
    clean_video = files.add_evidence(
        draft, uploaded_by=learner, name="walk.mp4", content=ContentFile(phone_mp4())
    )
    damaged = files.add_evidence(
        draft, uploaded_by=learner, name="cut.mp4", content=ContentFile(phone_mp4()[:-10])
    )
    services.save_answers(draft, learner=learner, answers={"q1": "Wash hands", "q2": "Gloves"})
    attempt = services.submit_attempt(draft, learner=learner, declared=True)

    html = client_for(assessor).get(f"/assess/attempts/{attempt.pk}/mark/").content.decode()

    viewing = reverse("assessment:evidence_preview", args=[clean_video.pk])
    assert f'<video controls preload="metadata" src="{viewing}">' in html
    for original in (clean_video, damaged):
        assert f'src="{reverse("assessment:evidence", args=[original.pk])}"' not in html
    assert html.count("could not be checked for location data") == 1
