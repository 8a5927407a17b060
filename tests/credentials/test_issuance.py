"""Issuing Open Badges 3.0 credentials: schema-valid, verifiable by us and by Digital Bazaar's
verifier against our DID document, stored exactly as signed, and issued once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from django.db import connection

from assessment import services as assessment_services
from assessment.marking import services as marking
from assessment.models import AuditEvent, Outcome
from credentials import keys
from credentials.models import Achievement, Credential, SigningKey
from credentials.services import (
    achievement_for_course,
    achievement_for_unit,
    issue_unit_credential,
    stored_document,
)
from credentials.signing import did_document_resolver, verify_credential
from delivery.models import Course
from delivery.services import enrol_learner
from tests.credentials.helpers import competent, issued, verify_independently
from tests.factories import assessable_unit

# Outcome, achievement with its unit, existing credential, issuer profile, status list and its
# count, a free index, the key, the credential and its audit event (the chain's last hash, the
# event); the course's units, the learner locked and their outcomes (is a skill set complete?);
# the learner's credential in force for the unit (one unit, one credential: issue 16);
# and the transaction's statements, with a savepoint around the insert (a duplicate is caught).
# On PostgreSQL the audit chain also takes its advisory lock (assessment/audit.py).
QUERIES_PER_CREDENTIAL = {"sqlite": 19, "postgresql": 20}

SCHEMA_PATH = (
    Path(__file__).resolve().parents[2]
    / "credentials"
    / "schema"
    / "ob_v3p0_achievementcredential_schema.json"
)


def test_it_issues_a_schema_valid_open_badge(
    learner: Any, unit: Any, cohort: Any, assessor: Any, schema_validator: Any
) -> None:
    document = stored_document(issued(learner, unit, cohort, assessor))

    errors = sorted(schema_validator.iter_errors(document), key=str)
    assert errors == [], [error.message for error in errors]
    assert document["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert document["issuer"]["id"] == "did:web:flipside.example%3A8000"
    assert document["credentialSubject"]["achievement"]["humanCode"] == unit.code
    assert document["validFrom"].endswith("Z")
    assert "\x07" not in json.dumps(document)
    assert (
        "Respond to an emergency"
        in document["credentialSubject"]["achievement"]["criteria"]["narrative"]
    )
    identifier = document["credentialSubject"]["identifier"][0]
    assert identifier["identityHash"].startswith("sha256$")
    assert learner.email not in json.dumps(document)
    # The schema is live, not vacuous: it refuses a credential without a subject.
    broken = {key: value for key, value in document.items() if key != "credentialSubject"}
    assert not schema_validator.is_valid(broken)


def test_it_verifies_against_our_did_document(
    learner: Any, unit: Any, cohort: Any, assessor: Any, client: Any
) -> None:
    document = stored_document(issued(learner, unit, cohort, assessor))
    did_json = client.get("/.well-known/did.json").json()

    result = verify_credential(document, resolve_key=did_document_resolver(did_json))

    assert result.verified, result.failure
    assert [check.name for check in result.checks][-1] == "signature"


def test_it_is_verified_by_digital_bazaars_verifier(
    learner: Any, unit: Any, cohort: Any, assessor: Any, tmp_path: Path
) -> None:
    credential = tmp_path / "credential.json"
    credential.write_text(issued(learner, unit, cohort, assessor).document)

    returncode, output = verify_independently(credential, tmp_path)

    assert returncode == 0, output
    assert output["verified"] is True
    assert output["statuses"] == [{"purpose": "revocation", "set": False, "verified": True}]


def test_it_stores_the_bytes_it_signed(
    learner: Any, unit: Any, cohort: Any, assessor: Any, monkeypatch: Any
) -> None:
    from credentials.services import proofs

    signed_documents: list[dict[str, Any]] = []
    sign = proofs.sign_credential

    def spy(*args: Any, **kwargs: Any) -> dict[str, Any]:
        signed_documents.append(sign(*args, **kwargs))
        return signed_documents[-1]

    monkeypatch.setattr(proofs, "sign_credential", spy)
    credential = issued(learner, unit, cohort, assessor)
    credential.refresh_from_db()

    # The first issue also signs the new, empty status list; keep the badge's signing only.
    signed_documents = [d for d in signed_documents if "OpenBadgeCredential" in d["type"]]
    assert len(signed_documents) == 1
    assert (
        credential.document.encode()
        == json.dumps(signed_documents[0], ensure_ascii=False, separators=(",", ":")).encode()
    )
    assert json.loads(credential.document) == signed_documents[0]


def test_issuing_takes_a_pinned_number_of_queries(
    learner: Any,
    other_learner: Any,
    unit: Any,
    cohort: Any,
    assessor: Any,
    django_assert_max_num_queries: Any,
) -> None:
    """A unit's next credential (its achievement, the status list and the key exist): each row
    it needs read once, written in one transaction with its audit event. A query added per
    credential shows here first."""
    issued(learner, unit, cohort, assessor)
    outcome = competent(other_learner, unit, cohort, assessor)

    with django_assert_max_num_queries(QUERIES_PER_CREDENTIAL[connection.vendor]):
        credential = issue_unit_credential(outcome.pk)

    assert credential is not None
    assert credential.learner == other_learner


def test_it_issues_once_when_run_twice(learner: Any, unit: Any, cohort: Any, assessor: Any) -> None:
    outcome = competent(learner, unit, cohort, assessor)

    first = issue_unit_credential(outcome.pk)
    second = issue_unit_credential(outcome.pk)

    assert first == second
    assert Credential.objects.filter(outcome=outcome).count() == 1
    assert AuditEvent.objects.filter(action="credential.issued").count() == 1


def test_it_returns_the_existing_credential_when_a_concurrent_worker_won(
    learner: Any, unit: Any, cohort: Any, assessor: Any, monkeypatch: Any
) -> None:
    outcome = competent(learner, unit, cohort, assessor)
    winner = issue_unit_credential(outcome.pk)
    # The other worker read "no credential yet" before the winner committed.
    real_filter = Credential.objects.filter

    def stale_filter(*args: Any, **kwargs: Any) -> Any:
        return real_filter(pk=-1) if "outcome" in kwargs else real_filter(*args, **kwargs)

    monkeypatch.setattr(Credential.objects, "filter", stale_filter)
    loser = issue_unit_credential(outcome.pk)

    assert loser == winner
    assert Credential.objects.count() == 1


def test_it_issues_nothing_for_an_outcome_that_is_not_competent(
    learner: Any, unit: Any, cohort: Any, assessor: Any
) -> None:
    outcome = competent(learner, unit, cohort, assessor, code=Outcome.Code.NOT_YET_COMPETENT)

    assert issue_unit_credential(outcome.pk) is None
    assert issue_unit_credential(999_999) is None
    assert not Credential.objects.exists()


def test_it_issues_nothing_for_a_superseded_outcome(
    learner: Any, unit: Any, cohort: Any, assessor: Any
) -> None:
    first = competent(learner, unit, cohort, assessor)
    Outcome.objects.create(
        learner=learner, unit=unit, cohort=cohort, code="30", recorded_by=assessor, supersedes=first
    )

    assert issue_unit_credential(first.pk) is None


def test_it_issues_the_course_credential_with_the_last_unit(
    learner: Any, unit: Any, cohort: Any, assessor: Any, schema_validator: Any
) -> None:
    course = cohort.course
    course.validity_months = 36
    course.save()
    units = [course_unit.unit for course_unit in course.course_units.order_by("position")]
    assert unit in units
    assert len(units) > 1
    course_achievement = achievement_for_course(course)

    for each in units[:-1]:
        issued(learner, each, cohort, assessor)
        assert not Credential.objects.filter(achievement=course_achievement).exists()
    issued(learner, units[-1], cohort, assessor)

    course_credential = Credential.objects.get(achievement=course_achievement)
    # It names the outcome that completed the set, which keeps it to one per completion.
    assert course_credential.outcome == Outcome.objects.get(learner=learner, unit=units[-1])
    document = stored_document(course_credential)
    assert list(schema_validator.iter_errors(document)) == []
    assert document["credentialSubject"]["achievement"]["humanCode"] == course.code
    assert course_credential.valid_until is not None
    assert "validUntil" in document
    assert verify_credential(
        document, resolve_key=did_document_resolver(keys.did_document())
    ).verified


def test_it_gives_no_course_credential_for_a_single_unit_course(
    learner: Any, cohort: Any, assessor: Any
) -> None:
    cohort.course.kind = Course.Kind.UNIT
    cohort.course.save()
    enrol_learner(learner, cohort)
    unit = assessable_unit(course=cohort.course)["unit"]

    issued(learner, unit, cohort, assessor)

    assert Credential.objects.count() == 1


def test_it_makes_one_achievement_per_unit_and_course(unit: Any, cohort: Any) -> None:
    assert achievement_for_unit(unit, cohort.course) == achievement_for_unit(unit)
    assert achievement_for_course(cohort.course) == achievement_for_course(cohort.course)
    assert Achievement.objects.count() == 2


def test_it_keeps_retired_keys_published_after_rotation(
    learner: Any, unit: Any, cohort: Any, assessor: Any, tmp_path: Path
) -> None:
    old = issued(learner, unit, cohort, assessor)
    old_key = SigningKey.objects.get()

    new_key = keys.rotate_signing_key()

    old_key.refresh_from_db()
    assert old_key.retired_at is not None
    assert list(SigningKey.objects.active()) == [new_key]
    document = keys.did_document()
    did = "did:web:flipside.example%3A8000"
    assert document["id"] == did
    assert document["assertionMethod"] == [
        f"{did}#{old_key.public_multikey}",
        f"{did}#{new_key.public_multikey}",
    ]
    assert {method["controller"] for method in document["verificationMethod"]} == {did}
    assert verify_credential(
        stored_document(old), resolve_key=did_document_resolver(document)
    ).verified
    other_unit = assessable_unit(course=cohort.course)["unit"]
    new = issued(learner, other_unit, cohort, assessor)
    assert new.signing_key == new_key


def test_it_encrypts_the_private_key_at_rest(db: None) -> None:
    key = keys.active_signing_key()
    raw = keys.private_key_of(key).private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())

    stored = bytes(SigningKey.objects.get().encrypted_private_key)
    assert raw not in stored
    assert raw.hex().encode() not in stored
    assert stored.startswith(b"gAAAAA")  # a Fernet token


def test_it_refuses_the_private_key_with_another_secret(db: None, settings: Any) -> None:
    from cryptography.fernet import InvalidToken

    key = keys.active_signing_key()
    settings.CREDENTIALS_KEY_SECRET = "another secret"

    with pytest.raises(InvalidToken):
        keys.private_key_of(key)


def test_it_issues_after_record_outcome_commits(
    learner: Any,
    cohort: Any,
    assessor: Any,
    django_capture_on_commit_callbacks: Any,
    client_for: Any,
) -> None:
    enrol_learner(learner, cohort)
    written = assessable_unit(course=cohort.course, items=1)
    attempt = assessment_services.start_attempt(learner, written["task"], cohort)
    assessment_services.save_answers(attempt, learner=learner, answers={"q1": "My answer"})
    assessment_services.submit_attempt(attempt, learner=learner, declared=True)
    marking.mark_attempt(
        attempt,
        assessor=assessor,
        judgements=[marking.ItemJudgement("q1", "S", "")],
        feedback="Well done.",
        declared=True,
        version=attempt.version,
    )

    with django_capture_on_commit_callbacks(execute=True):
        outcome = marking.record_outcome(
            learner, written["unit"], cohort, code="20", recorded_by=assessor
        )

    credential = Credential.objects.get(outcome=outcome)
    assert credential.learner == learner
    event = AuditEvent.objects.get(action="credential.issued")
    assert event.object_id == str(credential.pk)
    # Embedded mode runs the task in-process: the wallet shows it on the next page load.
    wallet = client_for(learner).get("/credentials/wallet/").content.decode()
    assert f"/credentials/{credential.public_id}/" in wallet


def test_the_receiver_enqueues_the_task_after_record_outcome(
    learner: Any,
    cohort: Any,
    assessor: Any,
    django_capture_on_commit_callbacks: Any,
    monkeypatch: Any,
) -> None:
    from credentials.tasks import issue_credentials_for_outcome

    enqueued: list[int] = []
    monkeypatch.setattr(issue_credentials_for_outcome, "delay", enqueued.append)
    enrol_learner(learner, cohort)
    written = assessable_unit(course=cohort.course, items=1)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        outcome = marking.record_outcome(
            learner, written["unit"], cohort, code="30", recorded_by=assessor,
            justification="Did not attend the practical.",
        )  # fmt: skip
        assert enqueued == []
    for callback in callbacks:
        callback()

    assert enqueued == [outcome.pk]
    assert not Credential.objects.exists()  # and the task would issue nothing for NYC


def test_a_unit_credential_takes_the_validity_of_the_cohorts_course(
    learner: Any, unit: Any, cohort: Any, assessor: Any
) -> None:
    cohort.course.validity_months = 36
    cohort.course.save()

    credential = issued(learner, unit, cohort, assessor)

    assert credential.valid_until is not None
    assert credential.valid_until.year == credential.valid_from.year + 3
    assert stored_document(credential)["validUntil"].endswith("Z")


def test_a_tampered_stored_credential_no_longer_verifies(
    learner: Any, unit: Any, cohort: Any, assessor: Any
) -> None:
    document = stored_document(issued(learner, unit, cohort, assessor))
    document["credentialSubject"]["achievement"]["name"] = "Something grander"

    result = verify_credential(document, resolve_key=did_document_resolver(keys.did_document()))

    assert result.failure is not None
    assert result.failure.name == "signature"


def test_without_an_issuer_profile_the_provider_is_the_issuer(
    learner: Any, unit: Any, cohort: Any, assessor: Any, settings: Any
) -> None:
    settings.PROVIDER_NAME = "Riverbend Training College"
    issuer = stored_document(issued(learner, unit, cohort, assessor))["issuer"]
    assert issuer["name"] == "Riverbend Training College"
    assert issuer["url"] == "https://flipside.example:8000"
