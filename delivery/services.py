"""State changes in delivery: roles, cohorts, enrolments."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction

from delivery.models import Cohort, Course, Enrolment
from delivery.roles import Role, forget_roles, roles_of


@transaction.atomic
def grant_role(user: Any, role: Role) -> None:
    """Give `user` the role's group. Administrators also get Django admin access (is_staff)."""
    group, _ = Group.objects.get_or_create(name=role.value)
    user.groups.add(group)
    if role is Role.ADMINISTRATOR and not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    forget_roles(user)


@transaction.atomic
def revoke_role(user: Any, role: Role) -> None:
    user.groups.remove(*Group.objects.filter(name=role.value))
    if role is Role.ADMINISTRATOR and user.is_staff and not user.is_superuser:
        user.is_staff = False
        user.save(update_fields=["is_staff"])
    forget_roles(user)


@transaction.atomic
def create_cohort(
    course: Course,
    *,
    name: str,
    starts_on: date,
    ends_on: date | None = None,
    trainers: Sequence[Any] = (),
    assessors: Sequence[Any] = (),
) -> Cohort:
    """A new run of `course`. Staff must already hold the trainer or assessor role."""
    if ends_on is not None and ends_on < starts_on:
        raise ValidationError({"ends_on": "A cohort cannot end before it starts."})
    for staff, role in [(trainers, Role.TRAINER), (assessors, Role.ASSESSOR)]:
        lacking = [u.get_username() for u in staff if role not in roles_of(u)]
        if lacking:
            raise ValidationError(f"Not holding the {role} role: {', '.join(lacking)}.")
    cohort = Cohort.objects.create(course=course, name=name, starts_on=starts_on, ends_on=ends_on)
    cohort.trainers.add(*trainers)
    cohort.assessors.add(*assessors)
    return cohort


@transaction.atomic
def enrol_learner(learner: Any, cohort: Cohort) -> Enrolment:
    """Enrol `learner` in `cohort`, granting the learner role; enrolling twice is a no-op."""
    grant_role(learner, Role.LEARNER)
    enrolment, _ = Enrolment.objects.get_or_create(learner=learner, cohort=cohort)
    return enrolment
