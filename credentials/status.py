"""W3C Bitstring Status List v1.0: the bitstring, its encoding, and the list credential.

Pure: bytes and dicts in and out; the models and signing live elsewhere. Index 0 is the
left-most bit of the first byte, as the spec defines, so any conforming verifier reads the
same bit we set.
"""

from __future__ import annotations

import base64
import gzip
import io
from datetime import datetime
from typing import Any

from credentials.jsonld import VC_V2_CONTEXT_URL
from credentials.openbadges import format_datetime

MULTIBASE_BASE64URL = "u"
ENTRY_TYPE = "BitstringStatusListEntry"
LIST_TYPE = "BitstringStatusList"
LIST_CREDENTIAL_TYPE = ["VerifiableCredential", "BitstringStatusListCredential"]
PURPOSE = "revocation"


class StatusListError(ValueError):
    """A status list or an entry that cannot be read."""


def empty_bits(size: int) -> bytes:
    if size <= 0 or size % 8:
        raise StatusListError("a status list is a positive whole number of bytes")
    return bytes(size // 8)


def _locate(bits: bytes, index: int) -> tuple[int, int]:
    if not 0 <= index < len(bits) * 8:
        raise StatusListError(f"status index {index} is outside the list of {len(bits) * 8}")
    return index // 8, 7 - index % 8


def get_bit(bits: bytes, index: int) -> bool:
    byte, shift = _locate(bits, index)
    return bool(bits[byte] >> shift & 1)


def set_bit(bits: bytes, index: int, value: bool = True) -> bytes:
    byte, shift = _locate(bits, index)
    changed = bytearray(bits)
    if value:
        changed[byte] |= 1 << shift
    else:
        changed[byte] &= ~(1 << shift) & 0xFF
    return bytes(changed)


def encode(bits: bytes) -> str:
    """`encodedList`: multibase base64url (no padding) of the GZIP-compressed bitstring.

    `mtime=0` keeps the output a function of the bits alone, so re-signing an unchanged list
    produces the same `encodedList`.
    """
    compressed = gzip.compress(bits, compresslevel=9, mtime=0)
    return MULTIBASE_BASE64URL + base64.urlsafe_b64encode(compressed).decode("ascii").rstrip("=")


def decode(encoded: str, *, max_bytes: int = 16 * 1024 * 1024) -> bytes:
    """The bitstring in an `encodedList`; refuses more than `max_bytes` once inflated, so a
    hostile list cannot exhaust memory (a gzip bomb)."""
    if not encoded.startswith(MULTIBASE_BASE64URL):
        raise StatusListError("encodedList is not multibase base64url (no 'u' prefix)")
    body = encoded[1:]
    try:
        padded = body + "=" * (-len(body) % 4)
        compressed = base64.b64decode(padded, altchars=b"-_", validate=True)
    except ValueError as exc:
        raise StatusListError("encodedList is not base64url") from exc
    try:
        decompressor = gzip.GzipFile(fileobj=io.BytesIO(compressed))
        bits = decompressor.read(max_bytes + 1)
    except (OSError, EOFError) as exc:
        raise StatusListError("encodedList is not GZIP-compressed") from exc
    if len(bits) > max_bytes:
        raise StatusListError("encodedList inflates beyond the size we accept")
    return bits


def entry(list_url: str, index: int) -> dict[str, Any]:
    """The `credentialStatus` of a credential whose bit is `index` in the list at `list_url`."""
    return {
        "id": f"{list_url}#{index}",
        "type": ENTRY_TYPE,
        "statusPurpose": PURPOSE,
        "statusListIndex": str(index),
        "statusListCredential": list_url,
    }


def list_credential(
    *, list_url: str, issuer_id: str, bits: bytes, valid_from: datetime
) -> dict[str, Any]:
    """The unsigned `BitstringStatusListCredential` publishing `bits`."""
    return {
        "@context": [VC_V2_CONTEXT_URL],
        "id": list_url,
        "type": list(LIST_CREDENTIAL_TYPE),
        "issuer": issuer_id,
        "validFrom": format_datetime(valid_from),
        "credentialSubject": {
            "id": f"{list_url}#list",
            "type": LIST_TYPE,
            "statusPurpose": PURPOSE,
            "encodedList": encode(bits),
        },
    }
