"""Revocation through a W3C Bitstring Status List: the encoding, the random index, the signed
list credential, revoking (audited, idempotent), and the independent verifier's view of it."""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from assessment.audit.services import verify_chain
from assessment.models import AuditEvent
from credentials import keys, status
from credentials.models import Credential, StatusList
from credentials.services import revoke_credential, stored_document
from credentials.signing import did_document_resolver, verify_credential
from tests.credentials.helpers import competent, issued, verify_independently

# --- the bitstring ---------------------------------------------------------------------------


def test_index_zero_is_the_left_most_bit_of_the_first_byte() -> None:
    bits = status.set_bit(status.empty_bits(16), 0)
    assert bits == b"\x80\x00"
    assert status.set_bit(status.empty_bits(16), 15) == b"\x00\x01"
    assert status.get_bit(bits, 0)
    assert not status.get_bit(bits, 1)
    assert status.set_bit(bits, 0, False) == b"\x00\x00"


def test_the_encoded_list_is_multibase_base64url_of_gzip() -> None:
    bits = status.set_bit(status.empty_bits(131_072), 94_567)
    encoded = status.encode(bits)

    assert encoded.startswith("u")
    assert "=" not in encoded
    raw = gzip.decompress(base64.urlsafe_b64decode(encoded[1:] + "=" * (-len(encoded[1:]) % 4)))
    assert raw == bits
    assert status.decode(encoded) == bits
    assert len(encoded) < 200  # a mostly empty list compresses to almost nothing


@pytest.mark.parametrize(
    ("encoded", "message"),
    [
        ("zabc", "multibase"),
        ("u!!!", "base64url"),
        ("u" + base64.urlsafe_b64encode(b"not gzip").decode(), "GZIP"),
    ],
)
def test_a_bad_encoded_list_is_refused_with_a_reason(encoded: str, message: str) -> None:
    with pytest.raises(status.StatusListError, match=message):
        status.decode(encoded)


def test_a_gzip_bomb_is_refused() -> None:
    bomb = status.encode(bytes(4 * 1024 * 1024))
    with pytest.raises(status.StatusListError, match="inflates"):
        status.decode(bomb, max_bytes=1024 * 1024)


def test_an_index_outside_the_list_is_refused() -> None:
    with pytest.raises(status.StatusListError, match="outside"):
        status.get_bit(status.empty_bits(8), 8)


# --- issuing with a status entry ---------------------------------------------------------------


def test_a_credential_carries_a_random_index_in_a_signed_list(
    learner: Any, unit: Any, cohort: Any, assessor: Any
) -> None:
    credential = issued(learner, unit, cohort, assessor)
    entry = stored_document(credential)["credentialStatus"]
    status_list = StatusList.objects.get()

    assert entry == {
        "id": f"https://flipside.example:8000/credentials/status/{status_list.pk}"
        f"#{credential.status_index}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": str(credential.status_index),
        "statusListCredential": f"https://flipside.example:8000/credentials/status/{status_list.pk}",
    }
    assert status_list.size >= 131_072
    list_document = json.loads(status_list.document)
    assert list_document["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert list_document["issuer"] == "did:web:flipside.example%3A8000"
    assert verify_credential(
        list_document, resolve_key=did_document_resolver(keys.did_document())
    ).verified


def test_indexes_are_drawn_at_random_not_in_order(learner: Any, cohort: Any, assessor: Any) -> None:
    from delivery.services import enrol_learner
    from tests.factories import assessable_unit

    enrol_learner(learner, cohort)
    indexes = []
    for _ in range(6):
        made = assessable_unit(course=cohort.course)["unit"]
        indexes.append(issued(learner, made, cohort, assessor).status_index)

    assert len(set(indexes)) == 6
    assert indexes != sorted(indexes) or max(indexes) > 1000


def test_a_full_half_of_the_list_starts_a_new_list(
    learner: Any, unit: Any, cohort: Any, assessor: Any, monkeypatch: Any
) -> None:
    first = issued(learner, unit, cohort, assessor)
    monkeypatch.setattr(StatusList, "DEFAULT_SIZE", 16)
    StatusList.objects.update(size=2)  # one allocated of two: half full

    from delivery.services import enrol_learner  # noqa: F401 - enrolled by the unit fixture
    from tests.factories import assessable_unit

    second = issued(learner, assessable_unit(course=cohort.course)["unit"], cohort, assessor)

    assert second.status_list_id != first.status_list_id
    assert StatusList.objects.count() == 2


# --- revoking ---------------------------------------------------------------------------------


def test_revoking_sets_the_bit_re_signs_the_list_and_audits(
    learner: Any, unit: Any, cohort: Any, assessor: Any, administrator: Any
) -> None:
    credential = issued(learner, unit, cohort, assessor)
    before = StatusList.objects.get().document

    assert revoke_credential(credential, by=administrator, reason="Issued in error\x07.")

    status_list = StatusList.objects.get()
    credential.refresh_from_db()
    assert credential.revoked_at is not None
    assert credential.revocation_reason == "Issued in error."
    assert credential.revoked_by == administrator
    assert credential.status == Credential.Status.REVOKED
    assert status_list.document != before
    encoded = json.loads(status_list.document)["credentialSubject"]["encodedList"]
    assert status.get_bit(status.decode(encoded), credential.status_index)
    event = AuditEvent.objects.get(action="credential.revoked")
    assert event.actor == administrator
    assert json.loads(event.payload)["data"]["reason"] == "Issued in error."
    assert verify_chain().ok


def test_revoking_twice_is_harmless(
    learner: Any, unit: Any, cohort: Any, assessor: Any, administrator: Any
) -> None:
    credential = issued(learner, unit, cohort, assessor)
    assert revoke_credential(credential, by=administrator, reason="First reason")
    signed = StatusList.objects.get().document

    assert not revoke_credential(credential, by=administrator, reason="Second reason")

    credential.refresh_from_db()
    assert credential.revocation_reason == "First reason"
    assert StatusList.objects.get().document == signed
    assert AuditEvent.objects.filter(action="credential.revoked").count() == 1


def test_a_revocation_needs_a_reason(
    learner: Any, unit: Any, cohort: Any, assessor: Any, administrator: Any
) -> None:
    credential = issued(learner, unit, cohort, assessor)
    with pytest.raises(ValueError, match="reason"):
        revoke_credential(credential, by=administrator, reason=" \x07 ")
    credential.refresh_from_db()
    assert credential.revoked_at is None


def test_revoking_one_leaves_the_others_bits_alone(
    learner: Any, unit: Any, cohort: Any, assessor: Any, administrator: Any
) -> None:
    from tests.factories import assessable_unit

    kept = issued(learner, unit, cohort, assessor)
    revoked = issued(learner, assessable_unit(course=cohort.course)["unit"], cohort, assessor)
    revoke_credential(revoked, by=administrator, reason="Wrong learner")

    bits = bytes(StatusList.objects.get().bits)
    assert status.get_bit(bits, revoked.status_index)
    assert not status.get_bit(bits, kept.status_index)


def test_the_independent_verifier_reports_a_revoked_credential(
    learner: Any, unit: Any, cohort: Any, assessor: Any, administrator: Any, tmp_path: Path
) -> None:
    credential = issued(learner, unit, cohort, assessor)
    credential_file = tmp_path / "credential.json"
    credential_file.write_text(credential.document)
    returncode, output = verify_independently(credential_file, tmp_path)
    assert returncode == 0, output

    revoke_credential(credential, by=administrator, reason="Wrong learner")
    returncode, output = verify_independently(credential_file, tmp_path)

    assert returncode == 1, output
    assert output["revoked"] is True
    assert output["statuses"] == [{"purpose": "revocation", "set": True, "verified": True}]


def test_an_outcome_superseded_after_issue_issues_nothing_more(
    learner: Any, unit: Any, cohort: Any, assessor: Any
) -> None:
    from assessment.models import Outcome
    from credentials.services import issue_unit_credential

    first = competent(learner, unit, cohort, assessor)
    assert issue_unit_credential(first.pk) is not None
    Outcome.objects.create(
        learner=learner, unit=unit, cohort=cohort, code="30", recorded_by=assessor, supersedes=first
    )

    assert issue_unit_credential(first.pk) is None
    assert Credential.objects.count() == 1
