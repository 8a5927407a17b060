"""Viewing copies of phone videos (and M4A audio) without the place they were recorded.

MP4, QuickTime (MOV), 3GP and M4A files are ISO base media files (ISO/IEC 14496-12): a sequence
of boxes ("atoms"), each a 32-bit big-endian size and a four-character type, some of them
containers of more boxes. Phones write where a recording was made as metadata boxes:

- `moov/udta/©xyz` (ISO 6709 text such as `+27.5916+086.5640/`: Android, older iPhones), the 3GPP
  `moov/udta/loci`, and XMP packets kept in `udta`;
- `moov/meta` with `keys`/`ilst` (QuickTime metadata: iPhones write
  `com.apple.quicktime.location.ISO6709` there);
- the same two boxes under a track (`moov/trak/udta`, `moov/trak/meta`), and a file-level `meta`
  or XMP `uuid` box.

The viewing copy is a byte-for-byte copy in which each of those boxes becomes a `free` box (one
every reader skips) of the same size: `free` written over its type, zeros over its content.
Nothing moves, so the sample tables' absolute chunk offsets (`stco`/`co64`) stay right and the
copy plays exactly as the original, at the same size, while the place is gone from its bytes.
That is why the copy is made this way rather than by rewriting the movie without those boxes
(which needs every chunk offset recomputed, and ffmpeg). Copies are streamed in constant memory.

Limits: location kept in the media data itself (a GoPro GPS telemetry track, a timed-metadata
track) is not touched; WebM, MP3, Ogg and WAV are not ISO base media files and get no copy.

Pure: no ORM and no storage; assessment/evidence/previews.py stores the copy.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO

# Types whose content we can walk; what filetype reports for them.
ISO_BMFF_TYPES = frozenset({"video/mp4", "video/quicktime", "audio/mp4"})

# Boxes that only hold metadata and are replaced by `free` wherever we look for them.
METADATA_BOXES = frozenset({b"udta", b"meta"})
# XMP packets in a `uuid` box (Adobe's registered UUID), which can carry GPS tags.
XMP_UUID = bytes.fromhex("be7acfcb97a942e89c71999491e3afac")
# Containers we descend into (from the top level, `moov`), and which of their children we
# descend into in turn.
_DESCEND: dict[bytes, frozenset[bytes]] = {b"moov": frozenset({b"trak"}), b"trak": frozenset()}
FREE = b"free"
_COPY_BYTES = 1024 * 1024


class CorruptMedia(ValueError):
    """The file's box structure is broken or cut short, so it cannot be cleaned with certainty
    (and a browser would most likely not play it either)."""


@dataclass(frozen=True)
class Neutralised:
    """One metadata box of the original, as the copy has it: `free` written over its type at
    `type_at`, zeros from `zeros_from` (after its size fields) to `end`."""

    path: str
    type_at: int
    zeros_from: int
    end: int


@dataclass
class CleaningPlan:
    """Where the copy differs from the original, in file order (the boxes never nest: we do
    not look inside a box we neutralise)."""

    size: int
    boxes: list[Neutralised] = field(default_factory=list)

    @property
    def offsets(self) -> list[int]:
        return [box.type_at for box in self.boxes]

    @property
    def neutralised(self) -> list[str]:
        return [box.path for box in self.boxes]


@dataclass(frozen=True)
class _Box:
    offset: int
    type: bytes
    header: int  # bytes before the payload: size, type, large size, uuid
    end: int
    usertype: bytes = b""

    @property
    def sizes(self) -> int:
        """The bytes of its size fields and type (what stays as it is, but the type)."""
        return self.header - len(self.usertype)

    @property
    def name(self) -> str:
        return self.type.decode("latin-1")


def _read_exactly(source: IO[bytes], n: int) -> bytes:
    data = source.read(n)
    if len(data) != n:
        raise CorruptMedia("the file ends in the middle of a box header")
    return data


def _boxes(source: IO[bytes], start: int, end: int, *, top: bool) -> Iterator[_Box]:
    """The boxes between `start` and `end`, reading only their headers (payloads are skipped
    by seeking). A size of 1 means a 64-bit size follows; 0 means "to the end" (of the file, or
    of the parent). Anything that does not add up raises CorruptMedia."""
    pos = start
    while pos < end:
        if end - pos < 8:
            if top:
                # A few bytes of padding after the last box hold no box; a player ignores them.
                return
            raise CorruptMedia(f"{end - pos} stray bytes at {pos}")
        source.seek(pos)
        size, kind = struct.unpack(">I4s", _read_exactly(source, 8))
        header = 8
        if size == 1:
            (size,) = struct.unpack(">Q", _read_exactly(source, 8))
            header = 16
        elif size == 0:
            size = end - pos
        usertype = b""
        if kind == b"uuid":
            usertype = _read_exactly(source, 16)
            header += 16
        if size < header:
            raise CorruptMedia(f"a {kind!r} box at {pos} declares {size} bytes")
        if pos + size > end:
            where = "the file" if top else "its parent box"
            raise CorruptMedia(f"a {kind!r} box at {pos} runs past the end of {where}")
        yield _Box(pos, kind, header, pos + size, usertype)
        pos += size


def plan_cleaning(source: IO[bytes], size: int) -> CleaningPlan:
    """Find the metadata boxes of a seekable ISO base media file of `size` bytes, reading box
    headers only. Raises CorruptMedia for a broken or truncated structure, or one without a
    `moov` box (the movie header every player needs)."""
    plan = CleaningPlan(size=size)
    movies = 0

    def walk(start: int, end: int, path: str, descend: frozenset[bytes], *, top: bool) -> None:
        nonlocal movies
        for box in _boxes(source, start, end, top=top):
            here = f"{path}/{box.name}" if path else box.name
            if box.type in METADATA_BOXES or (box.type == b"uuid" and box.usertype == XMP_UUID):
                plan.boxes.append(
                    Neutralised(here, box.offset + 4, box.offset + box.sizes, box.end)
                )
            elif box.type in descend:
                movies += box.type == b"moov"
                walk(box.offset + box.header, box.end, here, _DESCEND[box.type], top=False)

    walk(0, size, "", frozenset({b"moov"}), top=True)
    if not movies:
        raise CorruptMedia("there is no moov box (the file is cut short or is not a movie)")
    return plan


def _copy_range(source: IO[bytes], target: IO[bytes], count: int) -> None:
    """Copy `count` bytes from the current position of `source` to `target`: in the kernel
    when both are files on this machine (os.copy_file_range: no bytes pass through Python, and
    a file system that can share blocks, such as XFS or Btrfs, does not copy them at all),
    through a 1 MiB buffer otherwise."""
    try:
        src, dst = source.fileno(), target.fileno()
    except (AttributeError, OSError, ValueError):
        src = dst = -1
    if src >= 0:
        target.flush()
        source_pos, target_pos = source.tell(), target.tell()
        left = count
        try:
            while left:
                copied = os.copy_file_range(src, dst, left, source_pos, target_pos)
                if not copied:
                    break
                source_pos, target_pos, left = (
                    source_pos + copied,
                    target_pos + copied,
                    left - copied,
                )
        except OSError:
            pass  # e.g. across file systems on older kernels: finish through the buffer
        source.seek(source_pos)
        target.seek(target_pos)
        count = left
    while count:
        chunk = source.read(min(_COPY_BYTES, count))
        if not chunk:
            raise CorruptMedia("the file is shorter than it was")
        target.write(chunk)
        count -= len(chunk)


def _zeros(target: IO[bytes], count: int) -> None:
    block = bytes(min(_COPY_BYTES, count))
    while count:
        count -= target.write(block[: min(len(block), count)])


def write_clean_copy(source: IO[bytes], target: IO[bytes], plan: CleaningPlan) -> None:
    """Copy `source` to `target` (both seekable, positioned anywhere) in constant memory, with
    each box of `plan` turned into a `free` box of the same size and nothing but zeros in it,
    so not even a search of the raw bytes finds what it held. The copy has the same size."""
    source.seek(0)
    target.seek(0)
    pos = 0
    for box in plan.boxes:
        _copy_range(source, target, box.type_at - pos)
        target.write(FREE)
        source.seek(box.type_at + len(FREE))
        _copy_range(source, target, box.zeros_from - box.type_at - len(FREE))  # a 64-bit size
        _zeros(target, box.end - box.zeros_from)
        source.seek(box.end)
        pos = box.end
    _copy_range(source, target, plan.size - pos)
    target.flush()


def clean_copy(source: IO[bytes], target: IO[bytes], size: int) -> CleaningPlan:
    """Plan, then write, the viewing copy of `source` into `target`; CorruptMedia when the
    file cannot be cleaned (nothing useful is written then)."""
    plan = plan_cleaning(source, size)
    write_clean_copy(source, target, plan)
    return plan


def duration(source: IO[bytes], size: int) -> float | None:
    """The movie's length in seconds from its `moov/mvhd` box (timescale and duration), or None
    when the file has none or it cannot be read: a length we cannot read is not a refusal."""
    try:
        for box in _boxes(source, 0, size, top=True):
            if box.type != b"moov":
                continue
            for child in _boxes(source, box.offset + box.header, box.end, top=False):
                if child.type != b"mvhd":
                    continue
                source.seek(child.offset + child.header)
                version = _read_exactly(source, 4)[0]
                if version == 1:
                    _, _, scale, length = struct.unpack(">QQIQ", _read_exactly(source, 28))
                else:
                    _, _, scale, length = struct.unpack(">IIII", _read_exactly(source, 16))
                return length / scale if scale and length != 0xFFFFFFFF else None
            return None
    except CorruptMedia:
        return None
    return None
