"""Signing a document as the deployment's issuer, with its active key: what issuing, status
lists and moving host all do to produce a proof."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from credentials import keys
from credentials.models import SigningKey
from credentials.signing import sign_credential


def sign_as_issuer(
    document: dict[str, Any], *, issuer_id: str, now: datetime
) -> tuple[dict[str, Any], SigningKey]:
    """`document` with a proof by the active key of `issuer_id`, and that key (credentials
    record which key signed them, so a retired key still explains an old proof)."""
    signing_key: SigningKey = keys.active_signing_key()
    signed = sign_credential(
        document,
        private_key=keys.private_key_of(signing_key),
        verification_method=keys.verification_method_id(issuer_id, signing_key),
        created=now,
    )
    return signed, signing_key
