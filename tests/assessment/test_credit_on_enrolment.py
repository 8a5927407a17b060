"""Credit on enrolment (issue 16): a learner who enrols in a course holding one of its units
already is credited with it at once, in words, audited, once; their task list says so; no
second credential is issued for it; staff pages name no assessor for it."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from assessment.marking.credit import credit_held_units
from assessment.models import AuditEvent, Outcome
from credentials.models import Credential
from credentials.services import issue_unit_credential
from delivery.models import Enrolment
from delivery.services import enrol_learner
from tests.credentials.helpers import competent
from tests.credentials.stacking import Stack, make_stack
from tests.factories import TaskFactory


@pytest.fixture
def stack(learner: Any, assessor: Any) -> Stack:
    made = make_stack(learner, assessor)
    TaskFactory(unit=made.hltinf006, title="Hand hygiene quiz")
    TaskFactory(unit=made.hltinf007, title="Outbreak plan")
    return made


def text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def enrol(learner: Any, cohort: Any, capture: Any) -> Enrolment:
    with capture(execute=True):
        return enrol_learner(learner, cohort)


def test_enrolling_with_a_unit_held_elsewhere_credits_it_in_words(
    stack: Stack,
    learner: Any,
    assessor: Any,
    django_capture_on_commit_callbacks: Any,
    client_for: Any,
) -> None:
    held = competent(learner, stack.hltinf006, stack.intake_006, assessor)
    unit_credential = issue_unit_credential(held.pk)

    enrol(learner, stack.skill_set_intake, django_capture_on_commit_callbacks)

    credit = Outcome.objects.get(cohort=stack.skill_set_intake)
    assert credit.unit == stack.hltinf006
    assert credit.code == Outcome.Code.CREDIT_TRANSFER
    assert credit.recorded_by is None
    day = timezone.localtime(held.recorded_at)
    assert credit.justification == (
        f"Competent in HLTINF006 on {day.day} {day:%b %Y} in Infection control, March intake; "
        "credited automatically on enrolment"
    )
    event = AuditEvent.objects.get(action="outcome.credited")
    assert event.object_id == str(credit.pk)
    assert event.actor is None
    assert event.learner == learner
    # One unit, one credential: the credit issues nothing new, HLTINF007 is still to do.
    assert list(Credential.objects.filter(learner=learner)) == [unit_credential]
    page = text(
        client_for(learner)
        .get(f"/assess/cohorts/{stack.skill_set_intake.pk}/tasks/")
        .content.decode()
    )
    assert "Competent by credit transfer" in page
    assert "Competent in HLTINF006 on" in page
    assert page.count("Not needed") == 1  # the credited unit's task; HLTINF007's is to do


def test_crediting_again_credits_nothing_more(
    stack: Stack, learner: Any, assessor: Any, django_capture_on_commit_callbacks: Any
) -> None:
    competent(learner, stack.hltinf006, stack.intake_006, assessor)
    enrolment = enrol(learner, stack.skill_set_intake, django_capture_on_commit_callbacks)

    assert credit_held_units(enrolment.pk) == []
    enrol(learner, stack.skill_set_intake, django_capture_on_commit_callbacks)  # enrolled twice

    assert Outcome.objects.filter(cohort=stack.skill_set_intake).count() == 1
    assert AuditEvent.objects.filter(action="outcome.credited").count() == 1


def test_a_unit_not_competent_elsewhere_or_under_way_here_is_not_credited(
    stack: Stack, learner: Any, assessor: Any
) -> None:
    competent(learner, stack.hltinf006, stack.intake_006, assessor, code="30")
    competent(learner, stack.hltinf007, stack.intake_007, assessor)
    enrolment = Enrolment.objects.create(learner=learner, cohort=stack.skill_set_intake)
    competent(learner, stack.hltinf007, stack.skill_set_intake, assessor, code="30")

    assert credit_held_units(enrolment.pk) == []
    assert Outcome.objects.filter(code="60").count() == 0


def test_a_withdrawn_enrolment_is_credited_nothing(
    stack: Stack, learner: Any, assessor: Any
) -> None:
    competent(learner, stack.hltinf006, stack.intake_006, assessor)
    enrolment = Enrolment.objects.create(
        learner=learner, cohort=stack.skill_set_intake, status=Enrolment.Status.WITHDRAWN
    )

    assert credit_held_units(enrolment.pk) == []
    assert credit_held_units(999_999) == []
    assert not Outcome.objects.filter(code="60").exists()


def test_credits_completing_a_skill_set_issue_no_second_credential(
    stack: Stack, learner: Any, assessor: Any, django_capture_on_commit_callbacks: Any
) -> None:
    for unit, cohort in ((stack.hltinf006, stack.intake_006), (stack.hltinf007, stack.intake_007)):
        issue_unit_credential(competent(learner, unit, cohort, assessor).pk)
    before = set(Credential.objects.values_list("pk", flat=True))
    assert len(before) == 3  # two units and the skill set they stack into

    enrol(learner, stack.skill_set_intake, django_capture_on_commit_callbacks)

    assert Outcome.objects.filter(cohort=stack.skill_set_intake, code="60").count() == 2
    assert set(Credential.objects.values_list("pk", flat=True)) == before


def test_staff_pages_and_exports_say_credited_automatically(
    stack: Stack,
    learner: Any,
    assessor: Any,
    auditor: Any,
    django_capture_on_commit_callbacks: Any,
    client_for: Any,
) -> None:
    competent(learner, stack.hltinf006, stack.intake_006, assessor)
    enrol(learner, stack.skill_set_intake, django_capture_on_commit_callbacks)
    url = f"/assess/records/{stack.skill_set_intake.pk}/{learner.pk}/{stack.hltinf006.pk}/"

    page = text(client_for(auditor).get(url).content.decode())

    assert "Credit transfer recorded" in page
    assert "automatically (credited on enrolment)" in page
    assert "None" not in page
    response = client_for(auditor).get("/assess/records/outcomes.csv")
    csv = b"".join(response.streaming_content).decode()
    [credited] = [line for line in csv.splitlines() if ",60," in line]
    assert credited.endswith(",Credited automatically")


BEFORE = [("assessment", "0012_record_pdfs"), ("delivery", "0006_catalogue_and_intakes")]


def migrate(targets: list[tuple[str, str]] | None = None) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets or executor.loader.graph.leaf_nodes())
    return executor


@pytest.mark.django_db(transaction=True)
def test_an_upgrade_keeps_every_outcome_and_who_recorded_it() -> None:
    executor = migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    users = old.get_model("auth", "User")
    course = old.get_model("delivery", "Course").objects.create(code="HLTSS00065", title="SS")
    unit = old.get_model("delivery", "Unit").objects.create(code="HLTINF006", title="Infection")
    cohort = old.get_model("delivery", "Cohort").objects.create(
        course=course, name="Nov", starts_on=timezone.localdate()
    )
    assessor = users.objects.create(username="asha")
    learner = users.objects.create(username="lena")
    old.get_model("assessment", "Outcome").objects.create(
        learner=learner, unit=unit, cohort=cohort, code="20", recorded_by=assessor
    )

    migrate()

    outcome = Outcome.objects.get()
    assert (outcome.code, outcome.recorded_by_id) == ("20", assessor.pk)
    Outcome.objects.create(learner_id=learner.pk, unit_id=unit.pk, cohort_id=cohort.pk, code="60")
    assert Outcome.objects.filter(recorded_by__isnull=True).count() == 1
