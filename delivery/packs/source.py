"""Where a pack's bytes come from: a directory or a zip, behind one small interface.

Nothing is ever extracted to disk: files are read member by member, so a hostile name
(`../../etc/passwd`, `/tmp/x`) can do nothing but be reported.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import IO

from delivery.packs.problems import PACK_FILE, PackError
from delivery.packs.reader import safe_pack_path


class PackSource:
    """The files of one pack, by their path relative to pack.yaml."""

    name: str

    def size(self, path: str) -> int | None:
        """Size in bytes, or None when the pack has no such file."""
        raise NotImplementedError

    def open(self, path: str) -> IO[bytes]:
        raise NotImplementedError


class DirectorySource(PackSource):
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.name = root.name or str(root)

    def _file(self, path: str) -> Path | None:
        # resolve() follows symbolic links, so a link pointing out of the pack is outside it.
        candidate = (self.root / path).resolve()
        if not candidate.is_relative_to(self.root) or not candidate.is_file():
            return None
        return candidate

    def size(self, path: str) -> int | None:
        found = self._file(path)
        return found.stat().st_size if found is not None else None

    def open(self, path: str) -> IO[bytes]:
        found = self._file(path)
        if found is None:
            raise FileNotFoundError(path)
        return found.open("rb")


class ZipSource(PackSource):
    def __init__(self, archive: zipfile.ZipFile, name: str) -> None:
        self.archive = archive
        self.name = name
        self.members: dict[str, zipfile.ZipInfo] = {}
        problems = []
        for info in archive.infolist():
            safe = safe_pack_path(info.filename)
            if safe is None:
                problems.append(
                    f"{name}: member {info.filename} has an unsafe name "
                    "(absolute, or with '..' or '\\'); nothing was imported"
                )
            elif info.flag_bits & 0x1:
                problems.append(f"{name}: member {info.filename} is encrypted")
            elif not info.is_dir():
                self.members[safe] = info
        if problems:
            raise PackError(problems)
        if PACK_FILE not in self.members:
            nested = sorted(p for p in self.members if PurePosixPath(p).name == PACK_FILE)
            hint = (
                f" (found {nested[0]}: zip the folder's contents, not the folder)" if nested else ""
            )
            raise PackError(f"{name}: no {PACK_FILE} at the root of the zip{hint}")

    def size(self, path: str) -> int | None:
        info = self.members.get(path)
        return info.file_size if info is not None else None

    def open(self, path: str) -> IO[bytes]:
        return self.archive.open(self.members[path])


@contextmanager
def open_source(path: Path) -> Iterator[PackSource]:
    """The pack at `path`: a directory holding pack.yaml, that pack.yaml itself, or a zip."""
    if path.is_dir():
        if not (path / PACK_FILE).is_file():
            raise PackError(f"{path}: no {PACK_FILE} in this directory")
        yield DirectorySource(path)
    elif path.is_file() and path.name == PACK_FILE:
        yield DirectorySource(path.parent)
    elif path.is_file() and zipfile.is_zipfile(path):
        try:
            archive = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise PackError(f"{path.name}: not a readable zip ({exc})") from None
        with archive:
            yield ZipSource(archive, path.name)
    elif path.exists():
        raise PackError(f"{path}: not a directory, a {PACK_FILE} or a zip file")
    else:
        raise PackError(f"{path}: no such file or directory")
