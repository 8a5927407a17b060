"""Issuer identity: the did:web id, signing keys encrypted at rest, rotation, the DID document.

The private key is stored Fernet-encrypted with a key derived from `CREDENTIALS_KEY_SECRET`
(falling back to `SECRET_KEY`), so a database dump alone cannot sign credentials.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any
from urllib.parse import quote

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
)
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from credentials.models import SigningKey
from credentials.signing import encode_multikey, generate_private_key
from delivery.links import public_host

DID_CONTEXTS = ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"]


def credentials_host() -> str:
    """The did:web host: `CREDENTIALS_HOST` when set (to keep an earlier host's DID), else the
    host of `PUBLIC_URL`, where /.well-known/did.json is served."""
    return str(getattr(settings, "CREDENTIALS_HOST", "") or "") or public_host()


def configured_issuer_did() -> str:
    """The issuer DID this process is configured to sign as."""
    return issuer_did(credentials_host())


def issuer_did(host: str) -> str:
    """`did:web:<host>`, the port's colon percent-encoded as did:web requires."""
    host = host.strip().lower()
    if not host or "/" in host:
        raise ValueError(f"not a host: {host!r}")
    return "did:web:" + quote(host, safe="")


class IssuerMismatch(RuntimeError):
    """This process is configured as another issuer than the one a list or credential names."""


def check_issuer(stored: str, *, what: str) -> str:
    """The DID to sign `what` as: `stored` (what it was first signed as), provided this process
    is configured as that same issuer. A process started with another PUBLIC_URL or
    CREDENTIALS_HOST must not re-sign an existing list as a different DID: every credential
    pointing at the list would then name an issuer that never signed it."""
    configured = configured_issuer_did()
    if stored and stored != configured:
        override = getattr(settings, "CREDENTIALS_HOST", "") or "unset"
        raise IssuerMismatch(
            f"refusing to sign {what} as {configured}: it belongs to the issuer {stored}. "
            f"This process is configured for {credentials_host()} (PUBLIC_URL="
            f"{settings.PUBLIC_URL}, CREDENTIALS_HOST {override}); start it with the "
            "deployment's settings, or move the issuer to this host with "
            "`manage.py move_issuer_host` (docs/moving-host.md)."
        )
    return configured


def verification_method_id(did: str, key: SigningKey) -> str:
    return f"{did}#{key.public_multikey}"


def _fernet() -> Fernet:
    secret = str(getattr(settings, "CREDENTIALS_KEY_SECRET", "") or settings.SECRET_KEY)
    derived = hashlib.sha256(b"flipside.credentials.signing-key:" + secret.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(derived))


def encrypt_private_key(private_key: Ed25519PrivateKey) -> bytes:
    raw = private_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    return _fernet().encrypt(raw)


def private_key_of(key: SigningKey) -> Ed25519PrivateKey:
    """Decrypt a stored key; `cryptography.fernet.InvalidToken` if the secret changed."""
    raw = _fernet().decrypt(bytes(key.encrypted_private_key))
    return Ed25519PrivateKey.from_private_bytes(raw)


def _new_key() -> SigningKey:
    private_key = generate_private_key()
    return SigningKey.objects.create(
        public_multikey=encode_multikey(private_key.public_key()),
        encrypted_private_key=encrypt_private_key(private_key),
    )


@transaction.atomic
def rotate_signing_key() -> SigningKey:
    """Retire the active key (if any) and create a new active one, in one transaction.

    Retired keys stay in the DID document. The partial unique constraint on active keys makes
    a concurrent rotation fail with `IntegrityError` rather than leave two active keys.
    """
    SigningKey.objects.select_for_update().active().update(retired_at=timezone.now())
    return _new_key()


def active_signing_key() -> SigningKey:
    """The active key, created on first use.

    Read without a lock, so issuers on several workers sign side by side (a row lock here was
    held to the end of each issuing transaction, one issuer at a time, and locked nothing when
    no key existed yet). An issuer that read the key just before a rotation signs with a key
    the DID document still lists, so its credential verifies. Two first uses at once are
    settled by the partial unique constraint on active keys: the loser uses the winner's key.
    """
    key = SigningKey.objects.active().first()
    if key is not None:
        return key
    try:
        with transaction.atomic():
            return _new_key()
    except IntegrityError:  # another worker created the first key just now: use theirs
        return SigningKey.objects.active().get()


def did_document(host: str | None = None) -> dict[str, Any]:
    """The issuer's DID document: every key, retired ones included, as a Multikey
    verification method controlled by the issuer id and usable for `assertionMethod`."""
    did = issuer_did(host or credentials_host())
    methods = [
        {
            "id": verification_method_id(did, key),
            "type": "Multikey",
            "controller": did,
            "publicKeyMultibase": key.public_multikey,
        }
        for key in SigningKey.objects.all()
    ]
    return {
        "@context": DID_CONTEXTS,
        "id": did,
        "verificationMethod": methods,
        "assertionMethod": [method["id"] for method in methods],
    }
