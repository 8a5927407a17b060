"""The certificate PDF: a statement of attainment for one credential, PDF/A-3b and tagged, with
the signed credential JSON attached so that the paper copy carries the proof.

`certificate_data` reads the database once; `render_certificate` is pure (data in, bytes out),
so the bench and the tests can render without a credential row.

WeasyPrint fetches through `StaticAssetsURLFetcher` only: files under the project's own
static/fonts and static/credentials, and the data: URIs this module made itself. No network, no
other file. Learner-provided text reaches the template as data, escaped by Django, so a name such
as `<img src="file:///etc/passwd">` is printed, never fetched.
"""

from __future__ import annotations

import logging
import threading
from base64 import b64encode
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import segno
from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone
from weasyprint import CSS, HTML, Attachment
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

from credentials.documents import credential_url, stored_document
from credentials.openbadges import clean_text

if TYPE_CHECKING:
    from credentials.models import Credential

logger = logging.getLogger(__name__)


class _WithoutSubsetterNotice(logging.Filter):
    """Drops WeasyPrint's per-document notice that fontTools subsets fonts (HarfBuzz-Subset is a
    system library we do not require): it would log a warning for every certificate."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "instead of HarfBuzz-Subset" not in str(record.msg)


logging.getLogger("weasyprint").addFilter(_WithoutSubsetterNotice())

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
ALLOWED_DIRS = (STATIC_DIR / "fonts", STATIC_DIR / "credentials")
STYLESHEET = STATIC_DIR / "credentials" / "certificate.css"
TEMPLATE = "credentials/certificate.html"
CREDENTIAL_MEDIA_TYPE = "application/vc+ld+json"
ATTACHMENT_NAME = "credential.json"
_CONTENT_TYPES = {".ttf": "font/ttf", ".css": "text/css", ".svg": "image/svg+xml"}
_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


class URLRefused(ValueError):
    """The certificate asked for a resource outside its allow-list."""


class StaticAssetsURLFetcher(URLFetcher):
    """A WeasyPrint URL fetcher that serves only our own static assets and our own data: URIs.

    `file:` URLs are served when the resolved path is a file under one of `ALLOWED_DIRS`
    (symlinks and `..` resolved first); `data:` URIs only when `allow_data_uri` registered them.
    Everything else (http, https, ftp, other files) raises `URLRefused`, which WeasyPrint logs
    and skips. `requested` lists every URL asked for, for tests and logs.
    """

    def __init__(self, allowed_dirs: tuple[Path, ...] = ALLOWED_DIRS) -> None:
        super().__init__(allowed_protocols=("file", "data"), allow_redirects=False)
        self._allowed_dirs = tuple(path.resolve() for path in allowed_dirs)
        self._data_uris: dict[str, tuple[bytes, str]] = {}
        self.requested: list[str] = []

    def allow_data_uri(self, data: bytes, media_type: str) -> str:
        """A `data:` URI for `data` that this fetcher (and no other) will serve."""
        uri = f"data:{media_type};base64,{b64encode(data).decode('ascii')}"
        self._data_uris[uri] = (data, media_type)
        return uri

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
        logger.warning("certificate: refused to fetch %.200s", url)
        raise URLRefused(f"refused to fetch {url[:200]!r}: not one of the certificate's assets")


@dataclass(frozen=True)
class CertificateUnit:
    code: str
    title: str


@dataclass(frozen=True)
class CertificateData:
    """Everything printed on a certificate, and the signed JSON it carries."""

    provider_name: str
    learner_name: str
    achievement_name: str
    human_code: str
    is_course: bool
    units: tuple[CertificateUnit, ...]
    issued_at: datetime
    valid_until: datetime | None
    credential_id: str
    verification_url: str
    document: str  # the signed credential JSON, exactly as stored
    # The provider's code on the national register; an RTO shows it on every certification.
    rto_code: str = ""


def _display_name(user: Any) -> str:
    return str(user.get_full_name() or user.get_username())


def certificate_data(credential: Credential) -> CertificateData:
    """What `render_certificate` prints for `credential`; reads the achievement's unit, or every
    unit of its course in order. The provider's name is the issuer's name as signed."""
    achievement = credential.achievement
    course, unit = achievement.course, achievement.unit
    if course is not None:
        course_units = course.course_units.select_related("unit").order_by("position", "id")
        units = tuple(CertificateUnit(cu.unit.code, cu.unit.title) for cu in course_units)
    elif unit is not None:
        units = (CertificateUnit(unit.code, unit.title),)
    else:  # a pathway's milestone: it names no unit of its own
        units = ()
    issuer = stored_document(credential).get("issuer", {})
    provider_name = issuer.get("name", "") if isinstance(issuer, dict) else ""
    return CertificateData(
        provider_name=str(provider_name),
        learner_name=_display_name(credential.learner),
        achievement_name=achievement.name,
        human_code=achievement.human_code,
        is_course=course is not None,
        units=units,
        # The date the learner attained it (the outcome), which is when it is valid from;
        # a credential re-issued later still states the date of attainment.
        issued_at=credential.valid_from,
        valid_until=credential.valid_until,
        credential_id=str(credential.public_id),
        verification_url=credential_url(credential.public_id),
        document=credential.document,
        rto_code=str(settings.PROVIDER_RTO_CODE),
    )


def qr_code(url: str) -> segno.QRCode:
    """The QR code of `url`: a regular QR code, at least error level M (segno raises the level
    when the version allows it at no cost)."""
    return segno.make(url, error="m", micro=False)


def qr_svg(url: str) -> str:
    """The QR code of `url` as inline SVG (no size: the stylesheet sizes it), with its quiet
    zone, in the certificate's ink."""
    return str(
        qr_code(url).svg_inline(
            scale=1, border=4, dark="#10212f", light="#ffffff", omitsize=True, svgclass="qr"
        )
    )


def format_date(value: date) -> str:
    """ "29 November 2026": Australian order, English month names whatever the locale."""
    return f"{value.day} {_MONTHS[value.month - 1]} {value.year}"


def _local_date(value: datetime) -> date:
    return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()


def certificate_html(data: CertificateData) -> str:
    """The certificate as HTML, from templates/credentials/certificate.html."""
    issued_on = _local_date(data.issued_at)
    expires_on = _local_date(data.valid_until) if data.valid_until else None
    context = {
        "provider_name": clean_text(data.provider_name),
        "rto_code": clean_text(data.rto_code),
        "learner_name": clean_text(data.learner_name),
        "achievement_name": clean_text(data.achievement_name),
        "human_code": clean_text(data.human_code),
        "is_course": data.is_course,
        "units": [
            CertificateUnit(clean_text(unit.code), clean_text(unit.title)) for unit in data.units
        ],
        "many_units": len(data.units) > 6,
        "issued_on": format_date(issued_on),
        "issued_on_iso": issued_on.isoformat(),
        "expires_on": format_date(expires_on) if expires_on else "",
        "credential_id": data.credential_id,
        "verification_url": data.verification_url,
        "qr_svg": qr_svg(data.verification_url),  # our own markup, from segno: not user text
        "attachment_name": ATTACHMENT_NAME,
    }
    return render_to_string(TEMPLATE, context)


class _Assets(threading.local):
    """Per thread: the stylesheet with its fonts, loaded once (WeasyPrint's font configuration
    is not shared between threads)."""

    font_config: FontConfiguration | None = None
    stylesheet: CSS | None = None


_assets = _Assets()


def _stylesheet() -> tuple[CSS, FontConfiguration]:
    if _assets.stylesheet is None or _assets.font_config is None:
        font_config = FontConfiguration()
        _assets.stylesheet = CSS(
            filename=str(STYLESHEET),
            font_config=font_config,
            url_fetcher=StaticAssetsURLFetcher(),
        )
        _assets.font_config = font_config
    return _assets.stylesheet, _assets.font_config


def render_certificate(
    data: CertificateData, *, url_fetcher: StaticAssetsURLFetcher | None = None
) -> bytes:
    """The certificate PDF for `data`: A4 landscape, PDF/A-3b, tagged, `lang="en-AU"`, with
    `credential.json` (the signed JSON, byte for byte) attached as its source data."""
    fetcher = url_fetcher or StaticAssetsURLFetcher()
    stylesheet, font_config = _stylesheet()
    attachment = Attachment(
        url=fetcher.allow_data_uri(data.document.encode("utf-8"), CREDENTIAL_MEDIA_TYPE),
        url_fetcher=fetcher,
        name=ATTACHMENT_NAME,
        description="The signed Open Badges 3.0 credential (Verifiable Credential) this "
        "certificate shows",
        created=data.issued_at,
        modified=data.issued_at,
        relationship="Source",
    )
    html = HTML(
        string=certificate_html(data),
        base_url=str(STATIC_DIR / "credentials") + "/",
        url_fetcher=fetcher,
    )
    pdf: bytes = html.write_pdf(
        stylesheets=[stylesheet],
        font_config=font_config,
        attachments=[attachment],
        pdf_variant="pdf/a-3b",
        pdf_tags=True,
    )
    return pdf


def render_certificate_pdf(credential: Credential) -> bytes:
    """The certificate PDF of `credential` (see `render_certificate`)."""
    return render_certificate(certificate_data(credential))
