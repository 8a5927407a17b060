"""Intakes and learners with USIs, for the enrolment tests."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from delivery.enrolment.usi import CHARACTERS, check_character
from delivery.models import Course, LearnerProfile
from tests.factories import CohortFactory, CourseFactory, UserFactory

_serial = itertools.count(1)


def make_usi(n: int | None = None) -> str:
    """A valid USI, different for each n (nine characters counted in the USI set, then the
    check character)."""
    n = next(_serial) if n is None else n
    payload = ""
    for _ in range(9):
        n, digit = divmod(n, len(CHARACTERS))
        payload = CHARACTERS[digit] + payload
    return payload + check_character(payload)


def make_learner(username: str | None = None, *, usi: bool = True, **kwargs: Any) -> Any:
    user = UserFactory(**({"username": username} if username else {}), **kwargs)
    if usi:
        LearnerProfile.objects.create(user=user, usi=make_usi())
    return user


def make_intake(
    *, enrolment: str = Course.Enrolling.OPEN, places: int | None = 10, **kwargs: Any
) -> Any:
    course = kwargs.pop("course", None) or CourseFactory(enrolment=enrolment, published=True)
    kwargs.setdefault("listed", True)
    return CohortFactory(course=course, places=places, **kwargs)


@pytest.fixture
def intake(db: None) -> Any:
    return make_intake()


@pytest.fixture
def applicant(db: None) -> Any:
    return make_learner("ada", first_name="Ada", last_name="Lovelace")
