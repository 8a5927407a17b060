"""Bitstring status lists: signing a list's current bits, finding a list with room, and drawing
a credential's index in it."""

from __future__ import annotations

import json
import secrets
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from credentials import keys, status
from credentials.documents import dump_document, status_list_url
from credentials.models import Credential, StatusList
from credentials.services.proofs import sign_as_issuer


def sign_status_list(status_list: StatusList, *, now: datetime | None = None) -> None:
    """Publish the list's current bits as a newly signed `BitstringStatusListCredential`."""
    now = now or timezone.now()
    issuer_id = keys.check_issuer(status_list.issuer_id, what=f"status list {status_list.pk}")
    # Credentials point at the list's URL as first published: keep it.
    list_url = (
        json.loads(status_list.document)["id"]
        if status_list.document
        else status_list_url(status_list)
    )
    unsigned = status.list_credential(
        list_url=list_url,
        issuer_id=issuer_id,
        bits=bytes(status_list.bits),
        valid_from=now,
    )
    signed, _ = sign_as_issuer(unsigned, issuer_id=issuer_id, now=now)
    status_list.document = dump_document(signed)
    status_list.signed_at = now
    status_list.issuer_id = issuer_id
    status_list.save(update_fields=["bits", "document", "signed_at", "issuer_id"])


def status_list_with_room() -> StatusList:
    """The newest list while under half full, else a new, signed, empty one. Two workers may
    both start a new list at once; both lists are valid, so that race is harmless."""
    current = StatusList.objects.order_by("-id").first()
    if current is not None and current.credentials.count() < current.size // 2:
        return current
    with transaction.atomic():
        created = StatusList.objects.create(
            bits=status.empty_bits(StatusList.DEFAULT_SIZE), issuer_id=keys.configured_issuer_did()
        )
        sign_status_list(created)
    return created


def allocate_status_index(status_list: StatusList) -> int:
    """A random unallocated index: a guessable order would let anyone watching the list learn
    when a neighbouring credential was revoked. A concurrent issuer drawing the same index is
    stopped by the unique constraint, and the caller draws again."""
    for _ in range(64):
        index = secrets.randbelow(status_list.size)
        if not Credential.objects.filter(status_list=status_list, status_index=index).exists():
            return index
    raise RuntimeError("status list has no free index")  # unreachable below half full
