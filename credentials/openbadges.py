"""Build Open Badges 3.0 `OpenBadgeCredential` JSON (VC Data Model 2.0 + OB 3.0.3 context).

Pure: plain values in, a dict out; no ORM, no settings. Signing happens afterwards
(credentials/signing.py), and nothing may change the document after it is signed.
"""

from __future__ import annotations

import calendar
import hashlib
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from credentials.jsonld import OB_V3P0_CONTEXT_URL, VC_V2_CONTEXT_URL

CONTEXT = [VC_V2_CONTEXT_URL, OB_V3P0_CONTEXT_URL]
CREDENTIAL_TYPE = ["VerifiableCredential", "OpenBadgeCredential"]

# C0 controls except tab, LF, CR; DEL; C1 controls.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def clean_text(value: str) -> str:
    """Text safe to sign and show: control characters other than tab and newlines removed."""
    return _CONTROL.sub("", value)


def format_datetime(value: datetime) -> str:
    """XSD dateTime in UTC with a `Z`; refuses naive datetimes."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("datetimes in credentials must be timezone-aware")
    return value.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def add_months(value: datetime, months: int) -> datetime:
    """`value` plus whole calendar months, clamped to the month's end (31 Jan + 1: 28/29 Feb)."""

    month_index = value.month - 1 + months
    year, month = value.year + month_index // 12, month_index % 12 + 1
    day = min(value.day, calendar.monthrange(year, month)[1])
    return value.replace(year=year, month=month, day=day)


def new_salt() -> str:
    return secrets.token_hex(16)


def identity_hash(email: str, salt: str) -> str:
    """OB 3.0 hashed identity: "sha256$" + hex SHA-256 of the identity followed by the salt."""
    digest = hashlib.sha256((email.strip().lower() + salt).encode("utf-8")).hexdigest()
    return f"sha256${digest}"


@dataclass(frozen=True)
class Issuer:
    id: str
    name: str
    url: str = ""
    email: str = ""
    image: str = ""


@dataclass(frozen=True)
class AchievementData:
    id: str
    name: str
    description: str
    criteria_narrative: str
    human_code: str
    achievement_type: str  # OB 3.0 AchievementType, e.g. "Competency", "Certificate"
    image: str = ""
    # (name, url, code, framework, target type) of what the achievement aligns to, e.g. the
    # unit of competency on the national register.
    alignments: tuple[Alignment, ...] = ()


@dataclass(frozen=True)
class Alignment:
    name: str
    url: str
    code: str = ""
    framework: str = ""
    target_type: str = ""  # an OB 3.0 AlignmentTargetType, e.g. "ceasn:Competency"


@dataclass(frozen=True)
class CredentialData:
    id: str
    issuer: Issuer
    achievement: AchievementData
    learner_email: str
    salt: str
    subject_id: str
    valid_from: datetime
    valid_until: datetime | None = None
    evidence: list[dict[str, str]] = field(default_factory=list)
    credential_status: dict[str, str] | None = None


def _alignment(alignment: Alignment) -> dict[str, Any]:
    result: dict[str, Any] = {
        "type": ["Alignment"],
        "targetName": clean_text(alignment.name),
        "targetUrl": alignment.url,
    }
    if alignment.code:
        result["targetCode"] = clean_text(alignment.code)
    if alignment.framework:
        result["targetFramework"] = clean_text(alignment.framework)
    if alignment.target_type:
        result["targetType"] = alignment.target_type
    return result


def build_credential(data: CredentialData) -> dict[str, Any]:
    """The unsigned OpenBadgeCredential for `data`."""
    issuer: dict[str, Any] = {
        "id": data.issuer.id,
        "type": ["Profile"],
        "name": clean_text(data.issuer.name),
    }
    if data.issuer.url:
        issuer["url"] = data.issuer.url
    if data.issuer.email:
        issuer["email"] = data.issuer.email
    if data.issuer.image:
        issuer["image"] = {"id": data.issuer.image, "type": "Image"}
    achievement = data.achievement
    document: dict[str, Any] = {
        "@context": list(CONTEXT),
        "id": data.id,
        "type": list(CREDENTIAL_TYPE),
        "issuer": issuer,
        "validFrom": format_datetime(data.valid_from),
        "name": clean_text(achievement.name),
        "credentialSubject": {
            "id": data.subject_id,
            "type": ["AchievementSubject"],
            "identifier": [
                {
                    "type": "IdentityObject",
                    "identityHash": identity_hash(data.learner_email, data.salt),
                    "identityType": "emailAddress",
                    "hashed": True,
                    "salt": data.salt,
                }
            ],
            "achievement": {
                "id": achievement.id,
                "type": ["Achievement"],
                "achievementType": achievement.achievement_type,
                "name": clean_text(achievement.name),
                "description": clean_text(achievement.description or achievement.name),
                "criteria": {"narrative": clean_text(achievement.criteria_narrative)},
                "humanCode": clean_text(achievement.human_code),
            },
        },
    }
    built = document["credentialSubject"]["achievement"]
    if achievement.image:
        built["image"] = {
            "id": achievement.image,
            "type": "Image",
            "caption": clean_text(f"Badge for {achievement.name}"),
        }
    if achievement.alignments:
        built["alignment"] = [_alignment(alignment) for alignment in achievement.alignments]
    if data.valid_until is not None:
        document["validUntil"] = format_datetime(data.valid_until)
    if data.credential_status is not None:
        document["credentialStatus"] = dict(data.credential_status)
    if data.evidence:
        document["evidence"] = [
            {
                "type": ["Evidence"],
                **{key: clean_text(value) for key, value in item.items()},
            }
            for item in data.evidence
        ]
    return document
