"""A credential's signed JSON as stored, and the public URLs credentials name.

Below the services and the certificate alike: both read a stored document and print or sign
these URLs, so neither has to import the other for them.
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

from delivery.links import absolute_url

if TYPE_CHECKING:
    from credentials.models import Credential, StatusList


def credential_url(public_id: uuid.UUID) -> str:
    """The credential's id: its public page, which also serves the JSON to those who ask."""
    return absolute_url(f"/credentials/{public_id}")


def status_list_url(status_list: StatusList) -> str:
    return absolute_url(f"/credentials/status/{status_list.pk}")


def site_url(path: str) -> str:
    return absolute_url(path)


def stored_document(credential: Credential) -> dict[str, Any]:
    """The signed credential as a dict, parsed from the JSON stored byte for byte as signed."""
    result: dict[str, Any] = json.loads(credential.document)
    return result


def dump_document(document: dict[str, Any]) -> str:
    """The JSON text stored (and served) for a signed document: compact, UTF-8 as is."""
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))
