"""Retention: what may be purged (outcome older than the policy, no legal hold), that nothing is
deleted without --confirm, what purging keeps (the row, its SHA-256, an audit event), and the
administrator's legal holds and auditor grants, each audited."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from assessment.audit.services import verify_chain
from assessment.evidence.retention import Policy, place_hold, purgeable, release_hold
from assessment.models import AuditEvent, AuditorGrant, Evidence, LegalHold, Outcome


def age(outcome: Outcome, months: int) -> None:
    Outcome.objects.filter(pk=outcome.pk).update(
        recorded_at=timezone.now() - timedelta(days=31 * months)
    )


def run(*args: str) -> str:
    out = StringIO()
    call_command("purge_evidence", *args, stdout=out)
    return out.getvalue()


def test_evidence_younger_than_the_policy_is_kept(assessed: dict[str, Any]) -> None:
    age(assessed["outcome"], 23)
    assert list(purgeable(Policy(evidence_months=24))) == []


def test_listing_deletes_nothing_and_says_how_to_purge(assessed: dict[str, Any]) -> None:
    age(assessed["outcome"], 25)

    out = run()

    assert "2 files" in out
    assert "Nothing was deleted" in out
    assert assessed["evidence"][0].sha256 in out
    for evidence in assessed["evidence"]:
        evidence.refresh_from_db()
        assert evidence.purged_at is None
        assert evidence.file.storage.exists(evidence.file.name)


def test_confirmed_purge_deletes_bytes_keeps_the_record_and_audits(
    assessed: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    age(assessed["outcome"], 25)
    names = [e.file.name for e in assessed["evidence"]]

    with django_capture_on_commit_callbacks(execute=True):
        out = run("--confirm")

    assert "Purged 2 of 2 files" in out
    for evidence, name in zip(assessed["evidence"], names, strict=True):
        evidence.refresh_from_db()
        assert evidence.purged_at is not None
        assert not evidence.file.storage.exists(name)
        assert len(evidence.sha256) == 64  # still known
    events = AuditEvent.objects.filter(action="evidence.purged")
    assert events.count() == 2
    assert {json.loads(e.payload)["data"]["sha256"] for e in events} == {
        e.sha256 for e in assessed["evidence"]
    }
    assert verify_chain().ok
    assert run("--confirm").startswith("Policy:")  # a second run finds nothing
    assert "Purged 0 of 0" in run("--confirm")


def test_a_legal_hold_stops_the_purge_until_released(
    assessed: dict[str, Any], administrator: Any
) -> None:
    age(assessed["outcome"], 40)
    hold = place_hold(assessed["learner"], unit=None, reason="Complaint 2026-17", by=administrator)

    assert "0 files" in run()
    assert "Purged 0 of 0" in run("--confirm")
    assert Evidence.objects.filter(purged_at__isnull=False).count() == 0

    release_hold(hold, by=administrator)
    assert "2 files" in run()
    actions = list(AuditEvent.objects.values_list("action", flat=True))
    assert "legal_hold.placed" in actions
    assert "legal_hold.released" in actions


def test_a_hold_on_one_unit_protects_that_unit_only(
    assessed: dict[str, Any], administrator: Any, other_learner: Any
) -> None:
    age(assessed["outcome"], 40)
    from tests.factories import UnitFactory

    place_hold(assessed["learner"], unit=UnitFactory(), reason="Other unit", by=administrator)
    assert "2 files" in run()
    place_hold(assessed["learner"], unit=assessed["unit"], reason="This unit", by=administrator)
    assert "0 files" in run()


def test_a_corrected_outcome_restarts_the_clock(assessed: dict[str, Any], assessor: Any) -> None:
    age(assessed["outcome"], 40)
    Outcome.objects.create(
        learner=assessed["learner"],
        unit=assessed["unit"],
        cohort=assessed["cohort"],
        code="20",
        recorded_by=assessor,
        supersedes=assessed["outcome"],
        justification="Corrected the date",
    )
    assert "0 files" in run()


def test_a_purged_file_is_shown_as_purged_in_the_record(
    assessed: dict[str, Any], client_for: Any, auditor: Any
) -> None:
    age(assessed["outcome"], 25)
    run("--confirm")
    url = f"/assess/records/{assessed['cohort'].pk}/{assessed['learner'].pk}/{assessed['unit'].pk}/"
    html = client_for(auditor).get(url).content.decode()
    assert "under the retention policy; its SHA-256 is kept" in html


# --- the administrator's pages ----------------------------------------------------------------


def test_an_administrator_grants_an_auditor_access_and_it_is_audited(
    client_for: Any, administrator: Any, auditor: Any, cohort: Any
) -> None:
    now = timezone.now()
    response = client_for(administrator).post(
        "/admin/delivery/auditorgrant/add/",
        {
            "auditor": auditor.pk,
            "starts_at_0": now.date().isoformat(),
            "starts_at_1": "09:00:00",
            "ends_at_0": (now + timedelta(days=14)).date().isoformat(),
            "ends_at_1": "17:00:00",
            "reason": "ASQA audit, ref. 1234",
            "cohorts": [cohort.pk],
        },
    )
    assert response.status_code == 302, response.content.decode()[-3000:]
    grant = AuditorGrant.objects.get()
    assert grant.granted_by == administrator
    assert list(grant.cohorts.all()) == [cohort]
    event = AuditEvent.objects.get(action="auditor_grant.created")
    assert json.loads(event.payload)["data"]["cohorts"] == [cohort.pk]


def test_a_grant_that_ends_before_it_starts_is_refused(
    client_for: Any, administrator: Any, auditor: Any
) -> None:
    now = timezone.now()
    response = client_for(administrator).post(
        "/admin/delivery/auditorgrant/add/",
        {
            "auditor": auditor.pk,
            "starts_at_0": now.date().isoformat(),
            "starts_at_1": "09:00:00",
            "ends_at_0": (now - timedelta(days=1)).date().isoformat(),
            "ends_at_1": "09:00:00",
            "reason": "Backwards",
        },
    )
    assert response.status_code == 200  # the form again, with the error
    assert not AuditorGrant.objects.exists()
    assert not AuditEvent.objects.filter(action="auditor_grant.created").exists()


def test_an_administrator_places_a_legal_hold_in_the_admin(
    client_for: Any, administrator: Any, learner: Any
) -> None:
    response = client_for(administrator).post(
        "/admin/assessment/legalhold/add/", {"learner": learner.pk, "reason": "Appeal pending"}
    )
    assert response.status_code == 302
    hold = LegalHold.objects.get()
    assert hold.placed_by == administrator
    assert AuditEvent.objects.filter(action="legal_hold.placed").count() == 1


@pytest.mark.parametrize("who", ["auditor", "assessor"])
def test_only_administrators_manage_grants_and_holds(
    client_for: Any, request: Any, who: str, learner: Any
) -> None:
    client = client_for(request.getfixturevalue(who))
    response = client.post(
        "/admin/assessment/legalhold/add/", {"learner": learner.pk, "reason": "x"}
    )
    assert response.status_code in {302, 403}
    assert not LegalHold.objects.exists()
