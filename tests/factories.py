"""factory_boy factories for the domain. Personas built from them live in tests/conftest.py."""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Any

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password

from delivery.models import Cohort, Course, CourseUnit, Enrolment, Module, Resource, Unit
from delivery.roles import Role
from delivery.services import grant_role

PASSWORD = "correct horse battery staple"


@cache
def password_hash() -> str:
    """Hashed once per run with the real hasher, so servers in other processes accept it."""
    return make_password(PASSWORD)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name", locale="en_AU")
    last_name = factory.Faker("last_name", locale="en_AU")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.test")
    password = factory.LazyFunction(password_hash)

    @factory.post_generation
    def roles(self, create: bool, extracted: list[Role] | None, **kwargs: Any) -> None:
        for role in extracted or []:
            grant_role(self, role)


class UnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Unit

    code = factory.Sequence(lambda n: f"TSTUNT{n:03d}")
    title = factory.Sequence(lambda n: f"Test unit {n}")


class CourseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Course
        skip_postgeneration_save = True

    code = factory.Sequence(lambda n: f"TSTSS{n:05d}")
    title = factory.Sequence(lambda n: f"Test skill set {n}")
    kind = Course.Kind.SKILL_SET

    @factory.post_generation
    def units(self, create: bool, extracted: list[Unit] | int | None, **kwargs: Any) -> None:
        """`units=[...]` attaches those units in order; `units=3` makes three; default two."""
        if not create:
            return
        if extracted is None:
            extracted = 2
        units = UnitFactory.create_batch(extracted) if isinstance(extracted, int) else extracted
        for position, unit in enumerate(units, start=1):
            CourseUnit.objects.create(course=self, unit=unit, position=position)


class CohortFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Cohort
        skip_postgeneration_save = True

    course = factory.SubFactory(CourseFactory)
    name = factory.Sequence(lambda n: f"Cohort {n}")
    starts_on = factory.LazyFunction(lambda: dt.date(2026, 11, 2))
    ends_on = factory.LazyFunction(lambda: dt.date(2027, 2, 26))

    @factory.post_generation
    def trainers(self, create: bool, extracted: list[Any] | None, **kwargs: Any) -> None:
        if create and extracted:
            self.trainers.add(*extracted)

    @factory.post_generation
    def assessors(self, create: bool, extracted: list[Any] | None, **kwargs: Any) -> None:
        if create and extracted:
            self.assessors.add(*extracted)


class EnrolmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Enrolment

    learner = factory.SubFactory(UserFactory, roles=[Role.LEARNER])
    cohort = factory.SubFactory(CohortFactory)


class ModuleFactory(factory.django.DjangoModelFactory):
    """A module in the first unit of `course` (pass `course=`; a new course by default)."""

    class Meta:
        model = Module
        skip_postgeneration_save = True

    course = factory.SubFactory(CourseFactory)
    course_unit = factory.LazyAttribute(lambda m: m.course.course_units.order_by("position")[0])
    key = factory.Sequence(lambda n: f"module-{n}")
    title = factory.Sequence(lambda n: f"Module {n}")
    position = factory.Sequence(lambda n: n)

    @factory.post_generation
    def requires(self, create: bool, extracted: list[Module] | None, **kwargs: Any) -> None:
        if create and extracted:
            self.prerequisites.add(*extracted)


class ResourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Resource

    module = factory.SubFactory(ModuleFactory)
    key = factory.Sequence(lambda n: f"resource-{n}")
    title = factory.Sequence(lambda n: f"Resource {n}")
    kind = Resource.Kind.TEXT
    body = "Read this carefully."
    position = factory.Sequence(lambda n: n)
    estimated_minutes = 5
