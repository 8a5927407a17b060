from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from delivery.models import Cohort, ContentPack, Course, Enrolment, Resource, ResourceProgress
from delivery.roles import Role, roles_of


@pytest.mark.django_db
def test_it_seeds_the_sample_packs_and_can_run_again(
    settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.DEBUG = True
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", stdout=out)
    progress_before = ResourceProgress.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", stdout=out)

    assert set(ContentPack.objects.values_list("key", flat=True)) == {
        "infection-control",
        "first-aid",
    }
    skill_set = Course.objects.get(code="HLTSS00065")
    assert skill_set.kind == Course.Kind.SKILL_SET
    assert skill_set.units.count() == 2
    assert Course.objects.get(code="HLTAID011").validity_months == 36
    assert Resource.objects.filter(module__course=skill_set).exists()
    # The two demo cohorts, and the four intakes the catalogue offers.
    assert Cohort.objects.count() == 6
    assert Enrolment.objects.count() == 8 + 5  # the demo learners, five classmates
    assert ResourceProgress.objects.count() == progress_before > 0
    users = {u.username: u for u in get_user_model().objects.all()}
    for role in Role:
        assert any(role in roles_of(u) for u in users.values()), role
    assert users["learner"].check_password("flipside-demo")
    assert "learner    Lena Nguyen (learner)" in out.getvalue()
    assert "already imported" in out.getvalue()
    assert "the e-mailed link: http://127.0.0.1:8000/assess/report/" in out.getvalue()


@pytest.mark.django_db
def test_it_shows_every_state_a_page_can_show_once(
    settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """Through the demo_seeded signal, the apps above delivery add their parts, each once."""
    from assessment.models import Attempt, AuditorGrant, Outcome, Task, ThirdPartyRequest
    from assessment.services import task_availability
    from credentials.models import Credential
    from live.models import LiveSession

    settings.DEBUG = True
    counts = []
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            call_command("seed_demo", stdout=StringIO())
        counts.append(
            [m.objects.count() for m in (Attempt, Outcome, Credential, LiveSession, AuditorGrant)]
        )
    assert counts[0] == counts[1]

    users = {u.username: u for u in get_user_model().objects.all()}
    skill_set = Cohort.objects.get(course__code="HLTSS00065", name="Demo cohort")
    first_aid = Cohort.objects.get(course__code="HLTAID011", name="First aid, weekend class")
    assert set(Task.objects.values_list("kind", flat=True)) == {
        "quiz", "written", "observation", "third_party_report"
    }  # fmt: skip

    def state(username: str, key: str) -> list[tuple[str, str]]:
        return list(
            Attempt.objects.filter(learner=users[username], task__key=key)
            .order_by("number")
            .values_list("status", "result")
        )

    # Liam: HLTINF006 all Satisfactory but the quiz, which waits; a supervisor's link is open.
    assert state("learner2", "written-questions") == [("marked", "S")]
    assert state("learner2", "practical-observation") == [("marked", "S")]
    assert state("learner2", "basics-quiz") == [("submitted", "")]
    written = Attempt.objects.get(learner=users["learner2"], task__key="written-questions")
    assert written.evidence.filter(item__evidence_required=True).exists()
    request = ThirdPartyRequest.objects.get()
    assert (request.attempt.learner, request.used_at) == (users["learner2"], None)
    # Several attempts wait in the assessor's queue.
    assert Attempt.objects.awaiting_marking().for_assessor(users["assessor"]).count() >= 3
    # Mia: Not Satisfactory with a comment, so a resubmission is open; a draft in progress.
    assert state("learner3", "basics-quiz") == [("marked", "NS")]
    quiz = Task.objects.get(key="basics-quiz")
    assert task_availability(users["learner3"], quiz, skill_set).open
    assert state("learner3", "written-questions") == [("draft", "")]
    # Noah has not started: the skill set's tasks are locked, and say why.
    locked = task_availability(users["learner4"], quiz, skill_set)
    assert not locked.open
    assert locked.reason.startswith("Opens when you finish")
    # Competent by credit transfer and by RPL, and Lena's credentials.
    outcomes = {(o.learner.username, o.unit.code): o.code for o in Outcome.objects.current()}
    assert outcomes[("learner3", "HLTINF007")] == Outcome.Code.CREDIT_TRANSFER
    assert outcomes[("learner4", "HLTAID011")] == Outcome.Code.RPL_GRANTED
    assert outcomes[("learner", "HLTINF006")] == Outcome.Code.COMPETENT
    assert Credential.objects.filter(learner=users["learner"], revoked_at__isnull=True).exists()
    assert Credential.objects.filter(learner=users["learner4"]).exists()  # issued for RPL
    # The auditor's grant; a session ended with attendance, one scheduled, one open now.
    grant = AuditorGrant.objects.get(auditor=users["auditor"])
    assert set(grant.courses.values_list("code", flat=True)) == {"HLTSS00065", "HLTAID011"}
    ended = LiveSession.objects.get(ended_at__isnull=False)
    assert {(a.user.username, a.late) for a in ended.attendance.all()} >= {
        ("learner", False),
        ("learner3", True),
    }
    assert all(a.seconds > 0 for a in ended.attendance.all())
    assert LiveSession.objects.filter(ended_at__isnull=True, cohort=skill_set).count() == 2
    assert first_aid.enrolments.count() == 4


@pytest.mark.django_db
def test_it_refuses_to_seed_published_logins_with_debug_off() -> None:
    with pytest.raises(CommandError, match="published password"):
        call_command("seed_demo", stdout=StringIO())
    assert not get_user_model().objects.exists()
