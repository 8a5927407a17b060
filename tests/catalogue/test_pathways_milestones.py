"""Milestone credentials: issued automatically, once, when a learner's new credential meets a
step with a milestone, and the pathway's milestone goal once every counted step is met;
signed and verifiable like every other credential."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from catalogue.models import Pathway
from credentials.models import Credential
from credentials.services import stored_document
from credentials.services.milestones import issue_milestone_credential
from credentials.signals import credential_issued
from credentials.signing import did_document_resolver, verify_credential
from delivery.services import enrol_learner
from tests.catalogue.pathway_world import achievement, milestone, pathway
from tests.credentials.helpers import issued, verify_independently
from tests.factories import assessable_unit


@pytest.fixture(autouse=True)
def _host(settings: Any) -> None:
    settings.PUBLIC_URL = "https://flipside.example:8000"
    settings.CREDENTIALS_HOST = ""


@pytest.fixture
def world(cohort: Any, learner: Any) -> dict[str, Any]:
    enrol_learner(learner, cohort)
    first = assessable_unit(course=cohort.course)["unit"]
    second = assessable_unit(course=cohort.course)["unit"]
    basics = milestone("Infection control basics", "IC-BASICS")
    goal = milestone("Ready for the care floor", "IC-READY")
    made = pathway(
        "ic",
        goal,
        [
            {"key": "basics", "achievements": [achievement(first)], "milestone": basics},
            {"key": "lead", "achievements": [achievement(second)], "after": ["basics"]},
        ],
    )
    return {"first": first, "second": second, "basics": basics, "goal": goal, "pathway": made}


def held(learner: Any, milestone_achievement: Any) -> list[Credential]:
    return list(Credential.objects.filter(learner=learner, achievement=milestone_achievement))


def test_reaching_a_step_issues_its_milestone_once(
    world: dict[str, Any],
    learner: Any,
    cohort: Any,
    assessor: Any,
    client: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        unit_credential = issued(learner, world["first"], cohort, assessor)

    [reached] = held(learner, world["basics"])
    assert reached.outcome_id == unit_credential.outcome_id
    document = stored_document(reached)
    assert document["credentialSubject"]["achievement"]["achievementType"] == "Badge"
    assert document["credentialSubject"]["achievement"]["name"] == "Infection control basics"
    did_json = client.get("/.well-known/did.json").json()
    result = verify_credential(document, resolve_key=did_document_resolver(did_json))
    assert result.verified, result.failure
    assert held(learner, world["goal"]) == []  # the second step is not met yet

    # The signal again, and the service called directly: still one.
    with django_capture_on_commit_callbacks(execute=True):
        credential_issued.send(sender=Credential, credential=unit_credential)
    again = issue_milestone_credential(learner, world["basics"], reached_by=unit_credential)
    assert again == reached
    assert len(held(learner, world["basics"])) == 1


def test_the_milestone_goal_follows_the_last_step(
    world: dict[str, Any],
    learner: Any,
    cohort: Any,
    assessor: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        issued(learner, world["first"], cohort, assessor)
    with django_capture_on_commit_callbacks(execute=True):
        issued(learner, world["second"], cohort, assessor)

    assert len(held(learner, world["basics"])) == 1
    assert len(held(learner, world["goal"])) == 1


def test_an_unpublished_pathway_issues_nothing(
    world: dict[str, Any],
    learner: Any,
    cohort: Any,
    assessor: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    Pathway.objects.update(published=False)
    with django_capture_on_commit_callbacks(execute=True):
        issued(learner, world["first"], cohort, assessor)
    assert held(learner, world["basics"]) == []


def test_only_milestones_are_issued_this_way(
    world: dict[str, Any], learner: Any, other_learner: Any, cohort: Any, assessor: Any
) -> None:
    unit_credential = issued(learner, world["first"], cohort, assessor)
    with pytest.raises(ValueError, match="not a milestone"):
        issue_milestone_credential(
            learner, achievement(world["second"]), reached_by=unit_credential
        )
    with pytest.raises(ValueError, match="learner's own"):
        issue_milestone_credential(other_learner, world["basics"], reached_by=unit_credential)
    assert held(other_learner, world["basics"]) == []


def test_a_milestone_credential_verifies_with_digital_bazaars_verifier(
    world: dict[str, Any],
    learner: Any,
    cohort: Any,
    assessor: Any,
    tmp_path: Path,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        issued(learner, world["first"], cohort, assessor)
    [reached] = held(learner, world["basics"])
    path = tmp_path / "milestone.json"
    path.write_text(reached.document)

    returncode, output = verify_independently(path, tmp_path)

    assert returncode == 0, json.dumps(output)
    assert output["verified"] is True
