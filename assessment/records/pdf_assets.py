"""What assessment's PDFs may fetch: the project's bundled fonts, and data: URIs we made.

WeasyPrint resolves every URL a document names (images, stylesheets, fonts, attachments)
through its URL fetcher. `AssetsURLFetcher` serves files under `ALLOWED_DIRS` (symlinks and `..`
resolved first) and the data: URIs registered with `allow_data_uri`; anything else (http,
https, other files, data: URIs someone else wrote) raises `URLRefused`, which WeasyPrint logs
and skips. So learner text that reaches a PDF, even as markup, can fetch nothing. The same
rules as the certificate's fetcher (credentials/certificate.py), which assessment may not
import.
"""

from __future__ import annotations

import logging
from base64 import b64encode
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from weasyprint.urls import URLFetcher, URLFetcherResponse

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parents[2] / "static"
FONTS_DIR = STATIC_DIR / "fonts"
ALLOWED_DIRS = (FONTS_DIR,)
_CONTENT_TYPES = {".ttf": "font/ttf", ".css": "text/css"}


class URLRefused(ValueError):
    """A PDF asked for a resource outside its allow-list."""


class AssetsURLFetcher(URLFetcher):
    """A WeasyPrint URL fetcher for our own static assets and our own data: URIs only.

    `requested` lists every URL asked for, refused or not, for tests and logs.
    """

    def __init__(self, allowed_dirs: tuple[Path, ...] = ALLOWED_DIRS) -> None:
        super().__init__(allowed_protocols=("file", "data"), allow_redirects=False)
        self._allowed_dirs = tuple(path.resolve() for path in allowed_dirs)
        self._data_uris: dict[str, tuple[bytes, str]] = {}
        self.requested: list[str] = []

    def allow_data_uri(self, data: bytes, media_type: str) -> str:
        """A data: URI for `data` that this fetcher (and no other) will serve."""
        uri = f"data:{media_type};base64,{b64encode(data).decode('ascii')}"
        self._data_uris[uri] = (data, media_type)
        return uri

    def data_uris(self) -> tuple[tuple[bytes, str], ...]:
        """Every data: URI registered so far, as (data, media type): for another fetcher (in
        another process) to serve the same ones."""
        return tuple(self._data_uris.values())

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        self.requested.append(url)
        if url in self._data_uris:
            body, media_type = self._data_uris[url]
            return URLFetcherResponse(url, body, {"Content-Type": media_type})
        parts = urlsplit(url)
        if parts.scheme == "file" and parts.netloc in {"", "localhost"}:
            path = Path(unquote(parts.path)).resolve()
            if path.is_file() and any(path.is_relative_to(folder) for folder in self._allowed_dirs):
                content_type = _CONTENT_TYPES.get(path.suffix, "application/octet-stream")
                return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": content_type})
        logger.warning("record PDF: refused to fetch %.200s", url)
        raise URLRefused(f"refused to fetch {url[:200]!r}: not one of the PDF's assets")


class _WithoutSubsetterNotice(logging.Filter):
    """Drops WeasyPrint's per-document notice that fontTools subsets fonts (HarfBuzz-Subset is a
    system library we do not require): it would log a warning for every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "instead of HarfBuzz-Subset" not in str(record.msg)


logging.getLogger("weasyprint").addFilter(_WithoutSubsetterNotice())
