"""Stacking by unit code across courses (issue 16): a unit counts wherever it was achieved, a
skill set's credential is issued once every unit is held, names the unit credentials it stacks
from in its Open Badges 3.0 content, and still verifies; the same unit twice is one credential."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from assessment.models import AuditEvent, Outcome
from credentials import keys
from credentials.models import Credential, StackedCredit
from credentials.services import (
    achievement_for_course,
    issue_course_credential,
    issue_stacked_credentials,
    issue_unit_credential,
    revoke_credential,
    stored_document,
)
from credentials.signing import did_document_resolver, verify_credential
from tests.credentials.helpers import competent, verify_independently
from tests.credentials.stacking import Stack, make_stack


@pytest.fixture
def stack(learner: Any, assessor: Any) -> Stack:
    return make_stack(learner, assessor)


def earn_006(stack: Stack, learner: Any, assessor: Any) -> Credential | None:
    return issue_unit_credential(competent(learner, stack.hltinf006, stack.intake_006, assessor).pk)


def earn(stack: Stack, learner: Any, assessor: Any) -> tuple[Credential, Credential]:
    first = issue_unit_credential(
        competent(learner, stack.hltinf006, stack.intake_006, assessor).pk
    )
    second = issue_unit_credential(
        competent(learner, stack.hltinf007, stack.intake_007, assessor).pk
    )
    assert first is not None
    assert second is not None
    return first, second


def skill_set_credentials(stack: Stack, learner: Any) -> list[Credential]:
    return list(Credential.objects.filter(learner=learner, achievement__course=stack.skill_set))


def test_it_issues_the_skill_set_from_units_earned_in_two_other_courses(
    stack: Stack, learner: Any, assessor: Any, schema_validator: Any
) -> None:
    first = issue_unit_credential(
        competent(learner, stack.hltinf006, stack.intake_006, assessor).pk
    )
    assert skill_set_credentials(stack, learner) == []

    second = issue_unit_credential(
        competent(learner, stack.hltinf007, stack.intake_007, assessor).pk
    )

    [skill_set] = skill_set_credentials(stack, learner)
    assert first is not None
    assert second is not None
    credits = {c.unit.code: c for c in StackedCredit.objects.filter(course_credential=skill_set)}
    assert set(credits) == {"HLTINF006", "HLTINF007"}
    assert credits["HLTINF006"].unit_credential == first
    assert credits["HLTINF007"].unit_credential == second
    assert credits["HLTINF006"].outcome.cohort == stack.intake_006
    # The larger credential names the credentials it stacks from, and is still a valid badge.
    document = stored_document(skill_set)
    assert list(schema_validator.iter_errors(document)) == []
    evidence_ids = [e.get("id") for e in document["evidence"]]
    assert f"https://flipside.example:8000/credentials/{first.public_id}" in evidence_ids
    assert f"https://flipside.example:8000/credentials/{second.public_id}" in evidence_ids
    stacked = [e for e in document["evidence"] if "id" in e]
    assert [e["genre"] for e in stacked] == ["Credential", "Credential"]
    assert stacked[0]["name"].startswith("HLTINF006 ")
    alignments = document["credentialSubject"]["achievement"]["alignment"]
    unit_urls = {a["targetCode"]: a["targetUrl"] for a in alignments}
    assert unit_urls["HLTINF006"].endswith(f"/achievements/{first.achievement.public_id}")
    assert unit_urls["HLTINF007"].endswith(f"/achievements/{second.achievement.public_id}")
    assert verify_credential(
        document, resolve_key=did_document_resolver(keys.did_document())
    ).verified


def test_the_stacked_credential_is_verified_by_digital_bazaars_verifier(
    stack: Stack, learner: Any, assessor: Any, tmp_path: Path
) -> None:
    earn(stack, learner, assessor)
    [skill_set] = skill_set_credentials(stack, learner)
    path = tmp_path / "skill-set.json"
    path.write_text(skill_set.document)

    returncode, output = verify_independently(path, tmp_path)

    assert returncode == 0, output
    assert output["verified"] is True


def test_running_issuance_again_issues_nothing_more(
    stack: Stack, learner: Any, assessor: Any
) -> None:
    earn(stack, learner, assessor)
    events = AuditEvent.objects.filter(action="credential.issued").count()

    for outcome in Outcome.objects.filter(learner=learner):
        issue_unit_credential(outcome.pk)
    issue_stacked_credentials(learner, stack.hltinf006.pk)
    issue_course_credential(learner, stack.skill_set)

    assert len(skill_set_credentials(stack, learner)) == 1
    assert Credential.objects.filter(learner=learner).count() == 3
    assert AuditEvent.objects.filter(action="credential.issued").count() == events
    assert StackedCredit.objects.count() == 2


def test_a_worker_that_read_before_the_winner_committed_gets_the_winners_credential(
    stack: Stack, learner: Any, assessor: Any, monkeypatch: Any
) -> None:
    """Two completions at once: the learner's row is locked while issuing, and a worker that
    still read "nothing in force" collides on the (outcome, achievement) constraint and gets
    the credential that won."""
    earn(stack, learner, assessor)
    [winner] = skill_set_credentials(stack, learner)
    real_filter = Credential.objects.filter

    def stale_filter(*args: Any, **kwargs: Any) -> Any:
        return real_filter(pk=-1) if "achievement" in kwargs else real_filter(*args, **kwargs)

    monkeypatch.setattr(Credential.objects, "filter", stale_filter)
    loser = issue_course_credential(learner, stack.skill_set)

    assert loser == winner
    assert len(skill_set_credentials(stack, learner)) == 1


def test_the_same_unit_competent_in_two_cohorts_is_one_credential(
    stack: Stack, learner: Any, assessor: Any
) -> None:
    from delivery.services import enrol_learner

    enrol_learner(learner, stack.skill_set_intake)
    first = issue_unit_credential(
        competent(learner, stack.hltinf006, stack.intake_006, assessor).pk
    )
    again = competent(learner, stack.hltinf006, stack.skill_set_intake, assessor)

    assert issue_unit_credential(again.pk) == first
    assert Credential.objects.filter(achievement__unit=stack.hltinf006).count() == 1


@pytest.mark.parametrize("ended", ["expired", "revoked"])
def test_after_expiry_or_revocation_the_same_unit_again_is_a_renewal(
    stack: Stack, learner: Any, assessor: Any, administrator: Any, ended: str
) -> None:
    from delivery.services import enrol_learner

    enrol_learner(learner, stack.skill_set_intake)
    first = issue_unit_credential(
        competent(learner, stack.hltinf006, stack.intake_006, assessor).pk
    )
    assert first is not None
    if ended == "expired":
        Credential.objects.filter(pk=first.pk).update(
            valid_until=timezone.now() - timedelta(days=1)
        )
    else:
        revoke_credential(first, by=administrator, reason="Issued in error")
    again = competent(learner, stack.hltinf006, stack.skill_set_intake, assessor)

    renewal = issue_unit_credential(again.pk)

    assert renewal is not None
    assert renewal != first
    assert renewal.outcome == again


def test_a_skill_set_with_a_unit_not_held_is_not_issued(
    stack: Stack, learner: Any, assessor: Any
) -> None:
    earn_006(stack, learner, assessor)
    nyc = competent(learner, stack.hltinf007, stack.intake_007, assessor, code="30")

    assert issue_unit_credential(nyc.pk) is None
    assert skill_set_credentials(stack, learner) == []
    assert issue_course_credential(learner, stack.skill_set) is None


def test_a_credential_shows_what_it_stacks_from_on_its_page(
    stack: Stack, learner: Any, assessor: Any, client: Any
) -> None:
    first, _ = earn(stack, learner, assessor)
    [skill_set] = skill_set_credentials(stack, learner)

    html = client.get(f"/credentials/{skill_set.public_id}/").content.decode()
    page = " ".join(re.sub(r"<[^>]+>", "", html).split())

    issued = timezone.localtime(first.valid_from)
    assert f"HLTINF006 credited from the credential of {issued.day} {issued:%B %Y}" in page
    assert f"/credentials/{first.public_id}/" in html
    assert json.loads(skill_set.document)["credentialSubject"]["achievement"]["humanCode"] == (
        "HLTSS00065"
    )
    assert achievement_for_course(stack.skill_set) == skill_set.achievement


def test_the_stacked_credential_passes_every_check_of_the_verify_page(
    stack: Stack, learner: Any, assessor: Any, client: Any
) -> None:
    earn(stack, learner, assessor)
    [skill_set] = skill_set_credentials(stack, learner)

    response = client.post(
        "/credentials/verify", data=skill_set.document, content_type="application/json"
    )

    result = response.json()
    assert result["verified"] is True, result
    assert all(check["result"] == "pass" for check in result["checks"]), result["checks"]
