"""Build the learner's Comprehensive Learner Record: a 1EdTech CLR 2.0 `ClrCredential` (a W3C
Verifiable Credential, VC Data Model 2.0) whose `ClrSubject` carries the learner's Open Badges
3.0 credentials exactly as they were signed, the achievements they attest, and how those
achievements stack (`Association`s: a unit `isPartOf` the skill set it was credited to).

Pure: plain values in, a dict out; signing happens afterwards (services/proofs.py). The
embedded credentials keep their own proofs, so each still verifies on its own, and the record's
proof covers them all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from credentials.jsonld import CLR_V2P0_CONTEXT_URL, OB_V3P0_CONTEXT_URL, VC_V2_CONTEXT_URL
from credentials.openbadges import Issuer, clean_text, format_datetime, identity_hash

CONTEXT = [VC_V2_CONTEXT_URL, CLR_V2P0_CONTEXT_URL, OB_V3P0_CONTEXT_URL]
CREDENTIAL_TYPE = ["VerifiableCredential", "ClrCredential"]


@dataclass(frozen=True)
class RecordData:
    id: str
    issuer: Issuer
    name: str
    description: str
    learner_email: str
    salt: str
    subject_id: str
    valid_from: datetime
    # The learner's signed OpenBadgeCredentials, as parsed from the stored JSON.
    credentials: list[dict[str, Any]] = field(default_factory=list)
    # (unit achievement id, course achievement id) pairs: the unit is part of the course.
    parts: list[tuple[str, str]] = field(default_factory=list)


def _issuer(issuer: Issuer) -> dict[str, Any]:
    result: dict[str, Any] = {"id": issuer.id, "type": ["Profile"], "name": clean_text(issuer.name)}
    if issuer.url:
        result["url"] = issuer.url
    if issuer.email:
        result["email"] = issuer.email
    return result


def build_record(data: RecordData) -> dict[str, Any]:
    """The unsigned ClrCredential for `data`."""
    achievements: dict[str, dict[str, Any]] = {}
    for credential in data.credentials:
        achievement = credential["credentialSubject"]["achievement"]
        achievements.setdefault(achievement["id"], achievement)
    subject: dict[str, Any] = {
        "id": data.subject_id,
        "type": ["ClrSubject"],
        "identifier": [
            {
                "type": "IdentityObject",
                "identityHash": identity_hash(data.learner_email, data.salt),
                "identityType": "emailAddress",
                "hashed": True,
                "salt": data.salt,
            }
        ],
        "achievement": list(achievements.values()),
        "verifiableCredential": list(data.credentials),
    }
    associations = [
        {
            "type": "Association",
            "associationType": "isPartOf",
            "sourceId": source,
            "targetId": target,
        }
        for source, target in data.parts
        if source in achievements and target in achievements
    ]
    if associations:
        subject["association"] = associations
    return {
        "@context": list(CONTEXT),
        "id": data.id,
        "type": list(CREDENTIAL_TYPE),
        "issuer": _issuer(data.issuer),
        "name": clean_text(data.name),
        "description": clean_text(data.description),
        "validFrom": format_datetime(data.valid_from),
        "credentialSubject": subject,
    }
