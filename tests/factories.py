"""factory_boy factories for the domain. Personas built from them live in tests/conftest.py."""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Any

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password

from assessment.models import Item, Task
from delivery.models import (
    Cohort,
    Course,
    CourseUnit,
    Element,
    Enrolment,
    Module,
    PerformanceCriterion,
    Resource,
    Unit,
)
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


class ElementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Element

    unit = factory.SubFactory(UnitFactory)
    number = factory.Sequence(lambda n: n + 1)
    title = factory.Sequence(lambda n: f"Element {n}")


class CriterionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PerformanceCriterion

    element = factory.SubFactory(ElementFactory)
    number = factory.LazyAttributeSequence(lambda c, n: f"{c.element.number}.{n + 1}")
    position = factory.Sequence(lambda n: n)
    text = factory.Sequence(lambda n: f"Criterion text {n}")


class TaskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Task

    unit = factory.SubFactory(UnitFactory)
    key = factory.Sequence(lambda n: f"task-{n}")
    title = factory.Sequence(lambda n: f"Task {n}")
    kind = Task.Kind.WRITTEN
    instructions = "Answer every question."


class ItemFactory(factory.django.DjangoModelFactory):
    """An item; `criteria=[...]` maps it (an item with no mapping leaves criteria uncovered)."""

    class Meta:
        model = Item
        skip_postgeneration_save = True

    task = factory.SubFactory(TaskFactory)
    key = factory.Sequence(lambda n: f"q{n}")
    position = factory.Sequence(lambda n: n + 1)
    kind = Item.Kind.SHORT_ANSWER
    prompt = factory.Sequence(lambda n: f"Question {n}?")

    @factory.post_generation
    def criteria(self, create: bool, extracted: list[Any] | None, **kwargs: Any) -> None:
        if create and extracted:
            self.criteria.add(*extracted)


def assessable_unit(
    *, course: Course | None = None, items: int = 2, kind: str = "written"
) -> dict[str, Any]:
    """A unit with one element, one criterion per item, and a task whose items cover them all;
    attached to `course` (which gains the unit) when given."""
    unit = UnitFactory()
    element = ElementFactory(unit=unit, number=1)
    task = TaskFactory(unit=unit, kind=kind)
    made = []
    for i in range(items):
        criterion = CriterionFactory(element=element, number=f"1.{i + 1}", position=i)
        made.append(ItemFactory(task=task, key=f"q{i + 1}", position=i + 1, criteria=[criterion]))
    if course is not None:
        CourseUnit.objects.create(
            course=course, unit=unit, position=course.course_units.count() + 1
        )
    return {"unit": unit, "task": task, "items": made}
