"""The catalogue (units, courses) and who takes it with whom (cohorts, enrolments).

Units and courses are what a provider is registered to deliver; a cohort is one run of a course
with its trainers and assessors; an enrolment puts a learner in a cohort.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser


class Unit(models.Model):
    """A unit of competency, e.g. HLTINF006, identified by its national code."""

    code = models.CharField(max_length=20, unique=True)
    title = models.CharField(max_length=255)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"


class Course(models.Model):
    """What a learner enrols in: one unit, or a skill set or microcredential of several."""

    class Kind(models.TextChoices):
        UNIT = "unit", "Single unit"
        SKILL_SET = "skill_set", "Skill set"
        MICROCREDENTIAL = "microcredential", "Microcredential"

    code = models.CharField(max_length=40, unique=True)
    title = models.CharField(max_length=255)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.UNIT)
    units = models.ManyToManyField(Unit, through="CourseUnit", related_name="courses")

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


class CourseUnit(models.Model):
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="course_units")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="course_units")
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["course", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["course", "unit"], name="course_unit_once"),
        ]

    def __str__(self) -> str:
        return f"{self.course} / {self.unit.code}"


class CohortQuerySet(models.QuerySet["Cohort"]):
    def taught_by(self, user: AbstractBaseUser | AnonymousUser) -> CohortQuerySet:
        return self.filter(trainers=user)

    def assessed_by(self, user: AbstractBaseUser | AnonymousUser) -> CohortQuerySet:
        return self.filter(assessors=user)


class Cohort(models.Model):
    """One run of a course: learners taking it together, with their trainers and assessors."""

    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="cohorts")
    name = models.CharField(max_length=120)
    starts_on = models.DateField()
    ends_on = models.DateField(null=True, blank=True)
    trainers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="cohorts_training"
    )
    assessors = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="cohorts_assessing"
    )

    objects = CohortQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_on", "name"]
        constraints = [
            models.UniqueConstraint(fields=["course", "name"], name="cohort_name_per_course"),
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=models.F("starts_on")),
                name="cohort_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.course} - {self.name}"


class Enrolment(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        WITHDRAWN = "withdrawn", "Withdrawn"
        COMPLETED = "completed", "Completed"

    learner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="enrolments"
    )
    cohort = models.ForeignKey(Cohort, on_delete=models.PROTECT, related_name="enrolments")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    enrolled_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-enrolled_at"]
        constraints = [
            models.UniqueConstraint(fields=["learner", "cohort"], name="enrol_once_per_cohort"),
        ]

    def __str__(self) -> str:
        return f"{self.learner} in {self.cohort}"
