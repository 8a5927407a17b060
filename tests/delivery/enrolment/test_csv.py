"""Staff enrol many from a CSV: a good file enrols everyone in one go; any bad row refuses the
whole file, every problem named with its line, and nothing is enrolled or created."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from delivery.models import Enrolment, Invitation, LearnerProfile
from tests.delivery.enrolment.conftest import make_intake, make_learner, make_usi

pytestmark = pytest.mark.django_db
User = get_user_model()


@pytest.fixture
def taught(trainer: Any) -> Any:
    return make_intake(places=40, trainers=[trainer], name="March intake")


@pytest.fixture
def staff(client: Client, trainer: Any) -> Client:
    client.force_login(trainer)
    return client


def upload(staff: Client, cohort: Any, content: bytes, capture: Any = None) -> Any:
    url = reverse("delivery:cohort_enrol_csv", args=[cohort.pk])
    data = {"file": SimpleUploadedFile("learners.csv", content, content_type="text/csv")}
    if capture is None:
        return staff.post(url, data)
    with capture(execute=True):
        return staff.post(url, data)


def learners_csv(n: int, *, start: int = 0, bom: bool = False) -> bytes:
    lines = ["email,first_name,last_name,usi"]
    lines += [
        f"learner{i}@example.test,Zoë{i},Ngata,{make_usi(1000 + i)}"
        for i in range(start, start + n)
    ]
    text = "\r\n".join(lines) + "\r\n"
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode()


def counts() -> tuple[int, int, int, int]:
    return (
        User.objects.count(),
        Enrolment.objects.count(),
        Invitation.objects.count(),
        LearnerProfile.objects.count(),
    )


def test_thirty_learners_are_enrolled_from_one_file(
    staff: Client, taught: Any, django_capture_on_commit_callbacks: Any
) -> None:
    known = make_learner(email="learner3@example.test", usi=False)
    assert staff.get(reverse("delivery:cohort_enrol_csv", args=[taught.pk])).status_code == 200
    response = upload(staff, taught, learners_csv(30, bom=True), django_capture_on_commit_callbacks)
    assert response.status_code == 302
    assert Enrolment.objects.filter(cohort=taught, status="active").count() == 30
    made = User.objects.filter(email__startswith="learner").exclude(pk=known.pk)
    assert made.count() == 29
    assert not made.filter(is_active=True).exists()  # until they set a password
    assert made.filter(first_name="Zoë5").exists()
    assert LearnerProfile.objects.get(user=known).usi == make_usi(1003)
    assert Invitation.objects.filter(cohort=taught).count() == 29
    assert len(mail.outbox) == 29
    page = staff.get(response["Location"]).content.decode()
    assert "30 learners enrolled; 29 new accounts" in page


@pytest.mark.parametrize(
    ("content", "problems"),
    [
        (
            b"email,first_name\nana@example.test,Ana\nben@example.test,Ben\xe9\n",
            ["Line 3: The file is not UTF-8 text."],
        ),
        (
            b"email,first_name\nana@example.test,Ana\nANA@example.test,Ana again\n",
            ["Line 3: ana@example.test is already on line 2."],
        ),
        (
            b"email,intake\nana@example.test,March intake\nben@example.test,April intake\n",
            ["Line 3: Unknown intake “April intake”"],
        ),
        (
            b"email\nana@example.test\nben at example.test\n",
            ["Line 3: “ben at example.test” is not a valid e-mail address."],
        ),
        (
            b"email,usi\nana@example.test,A6J9ZWYSFU\nben@example.test,A6J9ZWYSFV\n",
            ["Line 3: USI “A6J9ZWYSFV”: That is not a valid Unique Student Identifier"],
        ),
        (
            b"email,usi\nana@example.test,A6J9ZWYSFU\nben@example.test,A6J9ZWYSF0\n",
            ["Line 3: USI “A6J9ZWYSF0”: A Unique Student Identifier uses only"],
        ),
        (b"name,mail\nAna,ana@example.test\n", ["Line 1: The header row must name"]),
        (b"", ["The submitted file is empty."]),  # the form's own check
        (b"\n\n", ["The file is empty"]),
        (b"email\n", ["The file has a header but no learners."]),
        (b"email,first_name\nana@example.test\n", ["Line 2: It has 1 cells; the header has 2."]),
        (b"\x89PNG\r\n\x1a\n\x00\x00", ["The file is not UTF-8 text."]),
    ],
)
def test_a_bad_file_is_refused_whole_with_its_lines(
    staff: Client, taught: Any, content: bytes, problems: list[str]
) -> None:
    before = counts()
    response = upload(staff, taught, content)
    assert response.status_code == 400
    page = response.content.decode().replace("&#x27;", "'")
    assert "Nobody was enrolled" in page or not content
    for problem in problems:
        assert problem in page
    assert counts() == before


def test_every_problem_is_listed_and_good_rows_are_not_enrolled(staff: Client, taught: Any) -> None:
    content = learners_csv(5) + b"bad-address,X,Y,\r\nlearner1@example.test,Dup,Row,\r\n"
    before = counts()
    page = upload(staff, taught, content).content.decode()
    assert "the file has 2 problems" in page
    assert "Line 7:" in page
    assert "Line 8: learner1@example.test is already on line 3." in page
    assert counts() == before


def test_more_learners_than_places_is_refused(staff: Client, trainer: Any) -> None:
    small = make_intake(places=3, trainers=[trainer])
    page = upload(staff, small, learners_csv(4)).content.decode()
    assert "The file enrols 4 learners but" in page
    assert "has 3 places left" in page
    assert not Enrolment.objects.exists()


def test_a_learner_already_enrolled_is_named(staff: Client, taught: Any) -> None:
    upload(staff, taught, learners_csv(2))
    before = counts()
    page = upload(staff, taught, learners_csv(3)).content.decode()
    assert "Line 2: learner0@example.test is already enrolled in this intake." in page
    assert counts() == before


def test_fifty_thousand_rows_are_refused_quickly(staff: Client, taught: Any, settings: Any) -> None:
    rows = b"".join(b"learner%d@example.test,A,B,\n" % i for i in range(50_000))
    content = b"email,first_name,last_name,usi\n" + rows
    before = counts()
    started = time.perf_counter()
    response = upload(staff, taught, content)
    took = time.perf_counter() - started
    assert response.status_code == 400
    page = response.content.decode()
    assert "too large" in page or "more than 5,000 learners" in page
    assert counts() == before
    assert took < 5, took
    # Under the size limit but over the row limit: refused by count, before checking rows.
    settings.ENROLMENT_CSV_MAX_BYTES = 10 * 1024 * 1024
    page = upload(staff, taught, content).content.decode()
    assert "more than 5,000 learners: split it into smaller files" in page
    assert counts() == before


def test_a_csv_learner_sets_a_password_through_the_invitation(
    staff: Client, taught: Any, django_capture_on_commit_callbacks: Any
) -> None:
    import re

    upload(staff, taught, learners_csv(1), django_capture_on_commit_callbacks)
    found = re.search(r"https?://[^/\s]+(/accounts/invitation/\S+/)", mail.outbox[-1].body)
    assert found, mail.outbox[-1].body
    visitor = Client()
    response = visitor.post(
        found.group(1),
        {
            "first_name": "Zoë",
            "last_name": "Ngata",
            "usi": "",
            "password1": "a long and unusual pass",
            "password2": "a long and unusual pass",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(email="learner0@example.test")
    assert user.is_active
    assert user.check_password("a long and unusual pass")
    assert LearnerProfile.objects.get(user=user).usi == make_usi(1000)  # kept from the file
    assert Enrolment.objects.filter(learner=user).count() == 1
