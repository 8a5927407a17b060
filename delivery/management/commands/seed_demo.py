"""Demo data for a first look: one provider's skill set, a cohort, and a user per role.

Idempotent: running it again updates the same rows (and resets the demo passwords).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from delivery.models import Cohort, Course, CourseUnit, Unit
from delivery.roles import Role
from delivery.services import enrol_learner, grant_role

User = get_user_model()

DEMO_PASSWORD = "flipside-demo"  # noqa: S105 - published demo login, never for production

# username, first name, last name, roles
PEOPLE: list[tuple[str, str, str, list[Role]]] = [
    ("learner", "Lena", "Nguyen", [Role.LEARNER]),
    ("trainer", "Tom", "Riley", [Role.TRAINER]),
    ("assessor", "Asha", "Patel", [Role.ASSESSOR]),
    ("auditor", "Audrey", "Walsh", [Role.AUDITOR]),
    ("admin", "Adam", "Clarke", [Role.ADMINISTRATOR]),
    ("learner2", "Liam", "O'Brien", [Role.LEARNER]),
    ("learner3", "Mia", "Kowalski", [Role.LEARNER]),
    ("learner4", "Noah", "Tran", [Role.LEARNER]),
]

UNITS = [
    ("HLTINF006", "Apply basic principles and practices of infection prevention and control"),
    ("HLTINF007", "Implement and monitor infection prevention and control standards"),
]


class Command(BaseCommand):
    help = "Load the demo provider data and one login per role (safe to run again)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="Seed even with DEBUG off (the demo logins share one published password).",
        )

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not options["allow_production"]:
            raise CommandError(
                "seed_demo creates logins with a published password; with DEBUG off, "
                "pass --allow-production if you really mean it."
            )
        users = {person[0]: self._person(*person) for person in PEOPLE}

        course, _ = Course.objects.update_or_create(
            code="HLTSS00065",
            defaults={
                "title": "Infection Control Skill Set",
                "kind": Course.Kind.SKILL_SET,
            },
        )
        for position, (code, title) in enumerate(UNITS, start=1):
            unit, _ = Unit.objects.update_or_create(code=code, defaults={"title": title})
            CourseUnit.objects.update_or_create(
                course=course, unit=unit, defaults={"position": position}
            )

        today = timezone.localdate()
        cohort, _ = Cohort.objects.update_or_create(
            course=course,
            name="Demo cohort",
            defaults={
                "starts_on": today - timedelta(days=7),
                "ends_on": today + timedelta(days=49),
            },
        )
        cohort.trainers.add(users["trainer"])
        cohort.assessors.add(users["assessor"])
        for username, _first, _last, roles in PEOPLE:
            if Role.LEARNER in roles:
                enrol_learner(users[username], cohort)

        self.stdout.write(self.style.SUCCESS(f"Demo data ready for {settings.PROVIDER_NAME}."))
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for username, first, last, roles in PEOPLE:
            names = ", ".join(role.value for role in roles)
            self.stdout.write(f"  {username:<10} {first} {last} ({names})")

    def _person(self, username: str, first: str, last: str, roles: list[Role]) -> Any:
        user, _ = User.objects.update_or_create(
            username=username,
            defaults={
                "first_name": first,
                "last_name": last,
                "email": f"{username}@demo.flipside.test",
                "is_active": True,
                "is_superuser": Role.ADMINISTRATOR in roles,
            },
        )
        user.set_password(DEMO_PASSWORD)
        user.save()
        for role in roles:
            grant_role(user, role)
        return user
