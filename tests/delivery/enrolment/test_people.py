"""An intake's People page: its staff enrol one person, invite, decide requests, withdraw and
transfer, in the app; a trainer of another intake cannot."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from assessment.models import AuditEvent
from delivery.enrolment import services
from delivery.models import Course, Enrolment, EnrolmentRequest, Invitation
from delivery.roles import Role
from tests.delivery.enrolment.conftest import make_intake, make_learner
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
User = get_user_model()


@pytest.fixture
def taught(trainer: Any) -> Any:
    return make_intake(places=50, trainers=[trainer], enrolment=Course.Enrolling.APPROVAL)


@pytest.fixture
def staff(client: Client, trainer: Any) -> Client:
    client.force_login(trainer)
    return client


def people(cohort: Any) -> str:
    return reverse("delivery:cohort_people", args=[cohort.pk])


def test_the_page_keeps_its_query_count_with_many_people(
    staff: Client, taught: Any, django_assert_max_num_queries: Any
) -> None:
    for n in range(40):
        learner = make_learner()
        if n % 2:
            services.request_place(learner, taught)
        else:
            services._enrol(learner, taught)
    services.enrol_person(taught, email="someone.new@example.test", by=UserFactory())
    with django_assert_max_num_queries(16):
        response = staff.get(people(taught))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Waiting for approval (20)" in page
    assert "Enrolled (20)" in page
    assert "someone.new@example.test" in page


def test_a_trainer_of_another_intake_cannot(client: Client, taught: Any) -> None:
    other = UserFactory(roles=[Role.TRAINER])
    make_intake(trainers=[other])
    client.force_login(other)
    assert client.get(people(taught)).status_code == 404
    response = client.post(
        reverse("delivery:cohort_enrol_one", args=[taught.pk]), {"email": "x@example.test"}
    )
    assert response.status_code == 404
    assert not Invitation.objects.exists()


def test_staff_decline_with_a_reason_the_learner_reads(
    staff: Client, taught: Any, django_capture_on_commit_callbacks: Any
) -> None:
    learner = make_learner()
    request = services.request_place(learner, taught).request
    url = reverse("delivery:request_decide", args=[request.pk])
    staff.post(url, {"decision": "decline", "reason": ""})
    request.refresh_from_db()
    assert request.status == "pending"
    with django_capture_on_commit_callbacks(execute=True):
        staff.post(url, {"decision": "decline", "reason": "This intake is for employees only."})
    request.refresh_from_db()
    assert request.status == EnrolmentRequest.Status.DECLINED
    assert "This intake is for employees only." in mail.outbox[-1].body
    staff.force_login(learner)
    page = staff.get(reverse("delivery:my_enrolments")).content.decode()
    assert "This intake is for employees only." in page


def test_staff_enrol_a_learner_with_an_account_at_once(
    staff: Client, taught: Any, django_capture_on_commit_callbacks: Any
) -> None:
    learner = make_learner()
    with django_capture_on_commit_callbacks(execute=True):
        staff.post(
            reverse("delivery:cohort_enrol_one", args=[taught.pk]),
            {"email": learner.email.upper()},
        )
    assert Enrolment.objects.filter(learner=learner, cohort=taught, status="active").exists()
    assert learner.email in mail.outbox[-1].to


def invite(staff: Client, cohort: Any, email: str, capture: Any) -> str:
    with capture(execute=True):
        staff.post(reverse("delivery:cohort_enrol_one", args=[cohort.pk]), {"email": email})
    found = re.search(r"https?://[^/\s]+(/accounts/invitation/\S+/)", mail.outbox[-1].body)
    assert found, mail.outbox[-1].body
    return found.group(1)


def test_an_invitation_signs_up_enrols_once(
    staff: Client, taught: Any, django_capture_on_commit_callbacks: Any
) -> None:
    link = invite(staff, taught, "new.learner@example.test", django_capture_on_commit_callbacks)
    visitor = Client()
    assert visitor.get(link).status_code == 200
    bad = visitor.post(link, {"first_name": "N", "last_name": "L", "password1": "x"})
    assert bad.status_code == 400
    assert not User.objects.filter(email="new.learner@example.test").exists()
    form = {
        "first_name": "Nia",
        "last_name": "Lee",
        "usi": "",
        "password1": "a long and unusual pass",
        "password2": "a long and unusual pass",
    }
    accepted = visitor.post(link, form)
    assert accepted["Location"] == reverse("delivery:my_enrolments")
    user = User.objects.get(email="new.learner@example.test")
    assert user.is_active
    assert Enrolment.objects.filter(learner=user, cohort=taught).exists()
    # Single use: the same link again, signed in or not, is refused and changes nothing.
    for client in (Client(), visitor):
        again = client.post(link, form)
        assert again.status_code == 400
        assert "already been used" in again.content.decode()
    assert User.objects.filter(email="new.learner@example.test").count() == 1


def test_an_expired_invitation_is_refused(
    staff: Client, taught: Any, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    link = invite(staff, taught, "late@example.test", django_capture_on_commit_callbacks)
    later = timezone.now() + timedelta(days=settings.ENROLMENT_INVITATION_DAYS, hours=1)
    with time_machine.travel(later):
        response = Client().get(link)
    assert response.status_code == 400
    assert "expired" in response.content.decode()
    assert "<td>Open until" in staff.get(people(taught)).content.decode()
    Invitation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    assert "<td>Expired</td>" in staff.get(people(taught)).content.decode()
    assert not Enrolment.objects.filter(cohort=taught).exists()


def test_withdraw_needs_a_reason_and_is_audited(staff: Client, taught: Any, trainer: Any) -> None:
    enrolment = services._enrol(make_learner(), taught)
    url = reverse("delivery:enrolment_withdraw", args=[enrolment.pk])
    assert staff.get(url).status_code == 200
    refused = staff.post(url, {"reason": "  "})
    assert refused.status_code == 400
    enrolment.refresh_from_db()
    assert enrolment.status == "active"
    assert staff.post(url, {"reason": "Asked to leave."})["Location"] == people(taught)
    enrolment.refresh_from_db()
    assert (enrolment.status, enrolment.end_reason) == ("withdrawn", "Asked to leave.")
    event = AuditEvent.objects.get(action="enrolment.withdrawn")
    assert event.actor_id == trainer.pk


def test_transfer_to_another_intake_of_the_course(staff: Client, taught: Any) -> None:
    later = make_intake(course=taught.course, name="Later intake")
    elsewhere = make_intake()
    enrolment = services._enrol(make_learner(), taught)
    url = reverse("delivery:enrolment_transfer", args=[enrolment.pk])
    wrong = staff.post(url, {"to": elsewhere.pk, "reason": "x"})
    assert wrong.status_code == 400
    staff.post(url, {"to": later.pk, "reason": "Night shifts."})
    enrolment.refresh_from_db()
    assert enrolment.transferred_to.cohort == later
    assert AuditEvent.objects.filter(action="enrolment.transferred").count() == 1
