"""Verifying a credential someone hands us: JSON text, or a badge image with one baked in.

Every step is a `Finding` with its reason in words, because the verify page is for a stranger
(an employer, a regulator) who needs to know *why* a credential fails, not a stack trace. Bad
input of any kind is a failed finding, never an exception.

Keys resolve offline: our own `did:web` from our DID document, and `did:key` from the key
itself. Another issuer's `did:web` would need a fetch from their site, which this endpoint does
not do (it would let anyone make us send requests); the finding says so.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any, Literal

from django.utils import timezone
from django.utils.formats import date_format
from jsonschema import Draft201909Validator
from pypdf import PdfReader

from credentials import baking, jsontext, keys, status
from credentials.models import Credential, StatusList
from credentials.signing import (
    KeyResolutionError,
    did_document_resolver,
    did_key_resolver,
    verify_credential,
)
from delivery.links import public_origin

SCHEMA_PATH = Path(__file__).with_name("schema") / "ob_v3p0_achievementcredential_schema.json"
CREDENTIAL_TYPES = {"OpenBadgeCredential", "AchievementCredential"}
Level = Literal["pass", "fail", "warn"]
Verdict = Literal["valid", "invalid", "revoked", "expired", "not_yet_valid"]


@dataclass(frozen=True)
class Finding:
    name: str
    level: Level
    reason: str

    @property
    def ok(self) -> bool:
        return self.level != "fail"


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    credential: dict[str, Any] | None = None
    verdict: Verdict = "invalid"
    revocation_reason: str = ""
    # The credential's dates as read, for the page to show in the provider's zone.
    valid_from: datetime | None = None
    valid_until: datetime | None = None

    @property
    def verified(self) -> bool:
        return self.verdict == "valid"

    def add(self, name: str, level: Level, reason: str) -> None:
        self.findings.append(Finding(name, level, reason))

    def as_json(self) -> dict[str, Any]:
        return {
            "verified": self.verified,
            "status": self.verdict,
            "checks": [
                {"check": f.name, "result": f.level, "reason": f.reason} for f in self.findings
            ],
        }


@cache
def _schema_validator() -> Draft201909Validator:
    return Draft201909Validator(json.loads(SCHEMA_PATH.read_text()))


PDF_SIGNATURE = b"%PDF-"
# The name credentials/certificate.py attaches the signed credential under (not imported from
# there: that would load WeasyPrint into every process that verifies).
ATTACHMENT_NAME = "credential.json"


class NotACertificate(ValueError):
    """A PDF that does not carry a credential as our certificates do."""


def credential_in_pdf(data: bytes, *, max_bytes: int = baking.MAX_IMAGE_BYTES) -> str:
    """The credential JSON text attached to a certificate PDF (as `credential.json`, the way
    credentials/certificate.py attaches it); `NotACertificate` saying why not."""
    try:
        reader = PdfReader(io.BytesIO(data))
        attachments = reader.attachments
        found = attachments.get(ATTACHMENT_NAME)
    except Exception as exc:  # a hostile PDF can fail anywhere in the parser: say so, not 500
        raise NotACertificate(f"this PDF cannot be read ({type(exc).__name__})") from None
    if not found:
        names = ", ".join(sorted(attachments)[:5]) or "none"
        raise NotACertificate(
            f"this PDF carries no credential (no attachment named {ATTACHMENT_NAME}; "
            f"attachments: {names})"
        )
    raw = found[0]
    if len(raw) > max_bytes:
        raise NotACertificate("the credential attached to this PDF is too large")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise NotACertificate("the credential attached to this PDF is not UTF-8 text") from None


def _parse(data: bytes, report: Report) -> dict[str, Any] | None:
    text: str
    if data.startswith(PDF_SIGNATURE):
        try:
            text = credential_in_pdf(data)
        except NotACertificate as exc:
            report.add("format", "fail", str(exc))
            return None
        report.add(
            "format", "pass", f"a certificate PDF, carrying a credential as {ATTACHMENT_NAME}"
        )
    elif data.startswith(baking.PNG_SIGNATURE) or data.lstrip()[:5] in (
        b"<?xml",
        b"<svg ",
        b"<svg\n",
    ):
        try:
            text = baking.unbake(data)
        except baking.BakingError as exc:
            report.add("format", "fail", str(exc))
            return None
        report.add("format", "pass", "a credential was found baked in the image")
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            report.add("format", "fail", "not UTF-8 text, nor a PNG or SVG badge image")
            return None
    try:
        document = jsontext.loads(text)
    except jsontext.TooDeep as exc:
        report.add("format", "fail", f"refused: the JSON is {exc}")
        return None
    except json.JSONDecodeError as exc:
        report.add("format", "fail", f"not valid JSON: {exc.msg}")
        return None
    if not isinstance(document, dict):
        report.add("format", "fail", "the JSON is not an object (a credential is one)")
        return None
    report.add("format", "pass", "well-formed JSON")
    return document


def _types(document: dict[str, Any], report: Report) -> bool:
    types = document.get("type")
    types = types if isinstance(types, list) else [types]
    if "VerifiableCredential" not in types or not CREDENTIAL_TYPES & set(types):
        report.add("type", "fail", "not an Open Badges 3.0 credential (type OpenBadgeCredential)")
        return False
    report.add("type", "pass", "an Open Badges 3.0 credential")
    return True


def _schema(document: dict[str, Any], report: Report) -> None:
    errors = sorted(_schema_validator().iter_errors(document), key=lambda e: list(e.path))
    if errors:
        first = errors[0]
        where = "/".join(str(part) for part in first.absolute_path) or "the credential"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        report.add("schema", "fail", f"{where}: {first.message}{more}")
    else:
        report.add("schema", "pass", "valid against the official OB 3.0 JSON Schema")


def _resolver(issuer_id: str) -> Any:
    own = keys.configured_issuer_did()
    if issuer_id == own:
        return did_document_resolver(keys.did_document())
    if issuer_id.startswith("did:key:"):
        return did_key_resolver

    def unresolvable(method: str) -> Any:
        raise KeyResolutionError(
            f"issuer {issuer_id} is not this provider and not a did:key; its keys would have "
            "to be fetched from the issuer, which this service does not do"
        )

    return unresolvable


def _proof(document: dict[str, Any], report: Report) -> bool:
    issuer = document.get("issuer")
    issuer_id = issuer.get("id") if isinstance(issuer, dict) else issuer
    if not isinstance(issuer_id, str) or not issuer_id:
        report.add("issuer", "fail", "the credential names no issuer id")
        return False
    result = verify_credential(document, resolve_key=_resolver(issuer_id))
    for check in result.checks:
        report.add(check.name, "pass" if check.ok else "fail", check.reason)
    return result.verified


def _parse_date(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _day(moment: datetime) -> str:
    """A date as the public page shows it: in the provider's time zone."""
    return date_format(timezone.localtime(moment), "j F Y")


def _dates(document: dict[str, Any], report: Report, now: datetime) -> Verdict | None:
    valid_from = _parse_date(document.get("validFrom"))
    if valid_from is None:
        report.add("dates", "fail", "validFrom is missing or not a date-time with a time zone")
        return "invalid"
    report.valid_from = valid_from
    if valid_from > now:
        local = timezone.localtime(valid_from)
        report.add("dates", "fail", f"not valid until {date_format(local, 'j F Y, g:i a')}")
        return "not_yet_valid"
    if "validUntil" in document:
        valid_until = _parse_date(document["validUntil"])
        if valid_until is None:
            report.add("dates", "fail", "validUntil is not a date-time with a time zone")
            return "invalid"
        report.valid_until = valid_until
        if valid_until <= now:
            report.add("dates", "fail", f"expired on {_day(valid_until)}")
            return "expired"
        report.add("dates", "pass", f"valid from {_day(valid_from)} until {_day(valid_until)}")
    else:
        report.add("dates", "pass", f"valid from {_day(valid_from)}, with no expiry")
    return None


_OWN_LIST = re.compile(r"^(?P<origin>https?://[^/]+)/credentials/status/(?P<pk>\d+)$")


def _status(document: dict[str, Any], report: Report) -> Verdict | None:
    entry = document.get("credentialStatus")
    if entry is None:
        report.add("status", "warn", "the credential carries no status: it cannot be revoked")
        return None
    entries = entry if isinstance(entry, list) else [entry]
    for item in entries:
        if not isinstance(item, dict) or item.get("type") != status.ENTRY_TYPE:
            report.add("status", "warn", "a status entry of a type we do not read was skipped")
            continue
        url = str(item.get("statusListCredential", ""))
        match = _OWN_LIST.match(url)
        if match is None or match["origin"] != public_origin():
            report.add(
                "status",
                "warn",
                f"status not checked: the list at {url or '(none)'} is not this provider's",
            )
            continue
        status_list = StatusList.objects.filter(pk=int(match["pk"])).first()
        try:
            index = int(str(item.get("statusListIndex")))
            if status_list is None:
                raise status.StatusListError("no such status list")
            revoked = status.get_bit(bytes(status_list.bits), index)
        except (ValueError, status.StatusListError) as exc:
            report.add("status", "fail", f"the status entry cannot be read: {exc}")
            return "invalid"
        if revoked:
            reason = (
                Credential.objects.filter(status_list=status_list, status_index=index)
                .values_list("revocation_reason", flat=True)
                .first()
            ) or ""
            report.revocation_reason = reason
            report.add(
                "status", "fail", "revoked by the issuer" + (f": {reason}" if reason else "")
            )
            return "revoked"
        report.add("status", "pass", "not revoked (checked against the issuer's status list)")
    return None


def verify_submission(data: bytes, *, now: datetime | None = None) -> Report:
    """Verify the credential in `data` (JSON, or a baked PNG or SVG badge) and say why."""
    now = now or timezone.now()
    report = Report()
    document = _parse(data, report)
    if document is None or not _types(document, report):
        return report
    report.credential = document
    _schema(document, report)
    if not _proof(document, report):
        return report
    if any(f.level == "fail" for f in report.findings):
        return report
    dated = _dates(document, report, now)
    revoked = _status(document, report)
    report.verdict = revoked or dated or "valid"
    return report
