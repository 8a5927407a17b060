"""Moving the issuer to a new host: every list and credential signed again as the new did:web,
with the URLs they carry moved (docs/moving-host.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.db import transaction
from django.utils import timezone

from assessment.audit.services import record_event
from credentials import keys
from credentials.documents import dump_document, stored_document
from credentials.models import Credential, StatusList
from credentials.services.certificates import queue_certificate
from credentials.services.proofs import sign_as_issuer
from credentials.services.status_lists import sign_status_list
from delivery.links import public_origin


@dataclass(frozen=True)
class IssuerMove:
    """What `move_issuer_host` re-signed (or, in a dry run, would re-sign)."""

    to: str
    moved_from: frozenset[str]
    status_lists: int
    credentials: int


def _rehome(value: Any, *, dids: dict[str, str], origins: dict[str, str]) -> Any:
    """`value` with every old issuer DID (and its key ids, `did#key`) and every URL on an old
    origin rewritten to the new ones; the proof is left out (it is made again)."""
    if isinstance(value, dict):
        return {
            key: _rehome(item, dids=dids, origins=origins)
            for key, item in value.items()
            if key != "proof"
        }
    if isinstance(value, list):
        return [_rehome(item, dids=dids, origins=origins) for item in value]
    if isinstance(value, str):
        for old, new in dids.items():
            if value == old or value.startswith(old + "#"):
                return new + value[len(old) :]
        for old, new in origins.items():
            if value == old or value.startswith(old + "/"):
                return new + value[len(old) :]
    return value


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def move_issuer_host(*, dry_run: bool = False) -> IssuerMove:
    """Re-sign every status list and credential recorded under another issuer DID as the
    issuer this process is configured for, with every URL they carry moved to PUBLIC_URL.

    The procedure for moving a deployment to a new host (docs/moving-host.md): run it once
    with the new settings. One transaction, rows locked; each credential keeps its id path,
    dates, subject and status index, gets a new proof by the active key, an audit event
    (`credential.moved`), and its certificate rendered again after commit. Copies held
    elsewhere (downloaded JSON, baked badges, PDFs) still name the old issuer. Idempotent:
    a second run finds nothing to move.
    """
    new_did = keys.configured_issuer_did()
    new_origin = public_origin()
    now = timezone.now()
    with transaction.atomic():
        lists = list(StatusList.objects.select_for_update().exclude(issuer_id=new_did))
        credentials = list(
            Credential.objects.select_for_update(of=("self",))
            .select_related("achievement", "learner")
            .exclude(issuer_id=new_did)
        )
        moved_from = frozenset(
            issuer
            for issuer in [*(sl.issuer_id for sl in lists), *(c.issuer_id for c in credentials)]
            if issuer
        )
        result = IssuerMove(new_did, moved_from, len(lists), len(credentials))
        if dry_run:
            return result
        for status_list in lists:
            status_list.issuer_id = new_did
            status_list.document = ""  # published again at its URL on the new origin
            sign_status_list(status_list, now=now)
        for credential in credentials:
            document = stored_document(credential)
            issuer = document.get("issuer")
            old_did = str(issuer.get("id", "") if isinstance(issuer, dict) else issuer)
            old_origin = _origin_of(str(document.get("id", "")))
            moved = _rehome(document, dids={old_did: new_did}, origins={old_origin: new_origin})
            signed, signing_key = sign_as_issuer(moved, issuer_id=new_did, now=now)
            credential.document = dump_document(signed)
            credential.issuer_id = new_did
            credential.signing_key = signing_key
            credential.save(update_fields=["document", "issuer_id", "signing_key"])
            record_event(
                "credential.moved",
                credential,
                actor=None,
                learner=credential.learner,
                unit=credential.achievement.unit,
                data={"public_id": str(credential.public_id), "from": old_did, "to": new_did},
            )
        transaction.on_commit(lambda: _render_again([c.pk for c in credentials]))
    return result


def _render_again(credential_ids: list[int]) -> None:
    for pk in credential_ids:
        queue_certificate(pk, force=True)
