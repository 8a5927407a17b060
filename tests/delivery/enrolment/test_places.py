"""A learner asks for a place: enrolled at once, asked for approval, put on the waiting list,
or refused in words with nothing changed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from assessment.models import AuditEvent
from delivery.enrolment import services
from delivery.models import Course, Enrolment, EnrolmentRequest, WaitingListEntry
from delivery.signals import learner_enrolled
from tests.delivery.enrolment.conftest import make_intake, make_learner
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def rows() -> tuple[int, int, int]:
    return (
        Enrolment.objects.count(),
        EnrolmentRequest.objects.count(),
        WaitingListEntry.objects.count(),
    )


def refused(learner: Any, cohort: Any, words: str) -> None:
    before = rows()
    with pytest.raises(ValidationError) as error:
        services.request_place(learner, cohort)
    assert words in " ".join(error.value.messages)
    assert rows() == before


def test_it_enrols_at_once_in_an_open_intake_and_says_so_on_commit(
    intake: Any, applicant: Any, django_capture_on_commit_callbacks: Any
) -> None:
    heard = []
    learner_enrolled.connect(
        lambda **kw: heard.append(kw["enrolment"]), weak=False, dispatch_uid="t"
    )
    try:
        with django_capture_on_commit_callbacks(execute=True):
            outcome = services.request_place(applicant, intake)
    finally:
        learner_enrolled.disconnect(dispatch_uid="t")
    assert outcome.kind == "enrolled"
    assert outcome.enrolment is not None
    assert outcome.enrolment.status == "active"
    assert heard == [outcome.enrolment]


def test_a_rolling_intake_starts_now(applicant: Any) -> None:
    cohort = make_intake(rolling=True)
    outcome = services.request_place(applicant, cohort)
    assert "You can start now." in outcome.message


def test_it_refuses_enrolling_twice(intake: Any, applicant: Any) -> None:
    services.request_place(applicant, intake)
    refused(applicant, intake, "You are already enrolled in this intake.")


def test_it_refuses_a_second_intake_of_the_same_course(intake: Any, applicant: Any) -> None:
    services.request_place(applicant, intake)
    other = make_intake(course=intake.course, name="Later intake")
    refused(applicant, other, "already enrolled in")


def test_it_refuses_a_closed_course(applicant: Any) -> None:
    refused(applicant, make_intake(enrolment=Course.Enrolling.CLOSED), "closed to enrolment")


def test_it_refuses_before_and_after_the_window(applicant: Any) -> None:
    now = timezone.now()
    early = make_intake(enrol_opens_at=now + timedelta(days=2))
    refused(applicant, early, "Enrolment in this intake opens on")
    late = make_intake(
        enrol_opens_at=now - timedelta(days=9), enrol_closes_at=now - timedelta(days=1)
    )
    refused(applicant, late, "Enrolment in this intake closed on")


def test_it_refuses_without_a_usi(intake: Any) -> None:
    refused(make_learner(usi=False), intake, "Unique Student Identifier")


def test_it_refuses_without_a_prerequisite(applicant: Any) -> None:
    cohort = make_intake()
    first_aid = make_intake().course
    cohort.course.prerequisites.add(first_aid)
    refused(applicant, cohort, f"you need a current credential for {first_aid.code}")


def test_it_refuses_an_unlisted_intake(applicant: Any) -> None:
    refused(applicant, make_intake(listed=False), "not open for enrolment")


def test_a_full_intake_puts_learners_on_its_waiting_list_in_order() -> None:
    cohort = make_intake(places=1)
    first, second, third = (make_learner() for _ in range(3))
    assert services.request_place(first, cohort).kind == "enrolled"
    waiting = services.request_place(second, cohort)
    assert waiting.kind == "waiting"
    assert "number 1" in waiting.message
    assert "number 2" in services.request_place(third, cohort).message
    refused(second, cohort, "already on this intake's waiting list")


def withdraw(learner: Any, cohort: Any, **kwargs: Any) -> Any:
    enrolment = Enrolment.objects.get(learner=learner, cohort=cohort)
    admin = UserFactory(is_superuser=True)
    return services.withdraw(enrolment, by=admin, reason=kwargs.get("reason", "Moved away."))


def test_a_freed_place_is_offered_to_the_first_waiting_by_email(
    django_capture_on_commit_callbacks: Any,
) -> None:
    cohort = make_intake(places=1)
    first, second, third = (make_learner() for _ in range(3))
    for learner in (first, second, third):
        services.request_place(learner, cohort)
    with django_capture_on_commit_callbacks(execute=True):
        withdraw(first, cohort)
    offer = WaitingListEntry.objects.get(learner=second)
    assert offer.status == "offered"
    assert WaitingListEntry.objects.get(learner=third).status == "waiting"
    offered_mail = [m for m in mail.outbox if second.email in m.to]
    assert offered_mail
    assert "is yours to take" in offered_mail[0].subject
    # The offer holds the place: nobody else can take it.
    assert services.request_place(make_learner(), cohort).kind == "waiting"
    services.accept_offer(offer)
    assert Enrolment.objects.get(learner=second, cohort=cohort).status == "active"


def test_an_offer_not_taken_in_time_passes_on() -> None:
    cohort = make_intake(places=1)
    first, second, third = (make_learner() for _ in range(3))
    for learner in (first, second, third):
        services.request_place(learner, cohort)
    withdraw(first, cohort)
    offer = WaitingListEntry.objects.get(learner=second)
    assert services.expire_offers() == 0  # not yet
    with time_machine.travel(timezone.now() + timedelta(days=3, minutes=1)):
        with pytest.raises(ValidationError, match="expired"):
            services.accept_offer(offer)
        assert services.expire_offers() == 1
        assert services.expire_offers() == 0  # a second run finds nothing
    offer.refresh_from_db()
    assert offer.status == "expired"
    assert WaitingListEntry.objects.get(learner=third).status == "offered"


def test_a_declined_offer_passes_on() -> None:
    cohort = make_intake(places=1)
    first, second, third = (make_learner() for _ in range(3))
    for learner in (first, second, third):
        services.request_place(learner, cohort)
    withdraw(first, cohort)
    services.decline_offer(WaitingListEntry.objects.get(learner=second))
    assert WaitingListEntry.objects.get(learner=third).status == "offered"


def test_a_withdrawn_learners_pending_offer_is_cancelled_and_passes_on() -> None:
    """Bad input: the learner withdrawn from the course holds an offer in another intake of
    it; the offer goes to the next learner, and accepting it afterwards is refused."""
    full = make_intake(places=1)
    current = make_intake(course=full.course, name="Current intake", places=5)
    holder, waiting_learner, withdrawn_learner = (make_learner() for _ in range(3))
    services.request_place(holder, full)
    services.request_place(waiting_learner, full)
    # Staff put the learner in the current intake too (enrolled in one, waiting on another).
    services.request_place(withdrawn_learner, current)
    entry = WaitingListEntry.objects.create(learner=withdrawn_learner, cohort=full)
    entry.joined_at = timezone.now() - timedelta(days=1)  # first in line
    entry.save()
    withdraw(holder, full)
    entry.refresh_from_db()
    assert entry.status == "offered"
    withdraw(withdrawn_learner, current, reason="No longer employed by the sponsor.")
    entry.refresh_from_db()
    assert entry.status == "left"
    assert WaitingListEntry.objects.get(learner=waiting_learner).status == "offered"
    before = rows()
    with pytest.raises(ValidationError, match="no longer offered"):
        services.accept_offer(entry)
    assert rows() == before


def test_leaving_the_list_with_an_offer_passes_it_on() -> None:
    cohort = make_intake(places=1)
    first, second, third = (make_learner() for _ in range(3))
    for learner in (first, second, third):
        services.request_place(learner, cohort)
    withdraw(first, cohort)
    services.leave_waiting_list(WaitingListEntry.objects.get(learner=second))
    assert WaitingListEntry.objects.get(learner=third).status == "offered"


def test_approval_courses_record_a_request_staff_decide(
    applicant: Any, django_capture_on_commit_callbacks: Any
) -> None:
    cohort = make_intake(enrolment=Course.Enrolling.APPROVAL)
    outcome = services.request_place(applicant, cohort)
    assert outcome.kind == "requested"
    refused(applicant, cohort, "already asked")
    admin = UserFactory(is_superuser=True)
    with pytest.raises(ValidationError, match="Say why"):
        services.decide_request(outcome.request, by=admin, approve=False, reason="  ")
    with django_capture_on_commit_callbacks(execute=True):
        services.decide_request(
            outcome.request, by=admin, approve=False, reason="You need a current first-aid card."
        )
    request = EnrolmentRequest.objects.get()
    assert (request.status, request.decided_by) == ("declined", admin)
    assert "You need a current first-aid card." in mail.outbox[-1].body
    assert not Enrolment.objects.exists()
    with pytest.raises(ValidationError, match="already declined"):
        services.decide_request(request, by=admin, approve=True)


def test_approval_enrols(applicant: Any, django_capture_on_commit_callbacks: Any) -> None:
    cohort = make_intake(enrolment=Course.Enrolling.APPROVAL)
    request = services.request_place(applicant, cohort).request
    with django_capture_on_commit_callbacks(execute=True):
        services.decide_request(request, by=UserFactory(), approve=True)
    assert Enrolment.objects.get(learner=applicant).status == "active"
    assert "is approved" in mail.outbox[-1].body


def test_withdrawal_and_transfer_need_a_reason_and_are_audited(applicant: Any) -> None:
    cohort = make_intake()
    later = make_intake(course=cohort.course, name="Later")
    enrolment = services.request_place(applicant, cohort).enrolment
    staff = UserFactory(is_superuser=True)
    with pytest.raises(ValidationError, match="Say why"):
        services.transfer(enrolment, later, by=staff, reason="")
    assert not AuditEvent.objects.filter(action__startswith="enrolment.").exists()
    moved = services.transfer(enrolment, later, by=staff, reason="Shift work changed.")
    enrolment.refresh_from_db()
    assert (enrolment.status, enrolment.transferred_to) == ("withdrawn", moved)
    event = AuditEvent.objects.get(action="enrolment.transferred")
    assert (event.actor_id, event.learner_id) == (staff.pk, applicant.pk)
    assert "Shift work changed." in event.payload
    services.withdraw(moved, by=staff, reason="Left the course.")
    assert AuditEvent.objects.filter(action="enrolment.withdrawn").count() == 1


def test_transfer_only_within_the_course_and_into_a_place(applicant: Any) -> None:
    cohort = make_intake()
    enrolment = services.request_place(applicant, cohort).enrolment
    staff = UserFactory(is_superuser=True)
    with pytest.raises(ValidationError, match="same course"):
        services.transfer(enrolment, make_intake(), by=staff, reason="x")
    full = make_intake(course=cohort.course, name="Full", places=0)
    with pytest.raises(ValidationError, match="is full"):
        services.transfer(enrolment, full, by=staff, reason="x")
    enrolment.refresh_from_db()
    assert enrolment.status == "active"
