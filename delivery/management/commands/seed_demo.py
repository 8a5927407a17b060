"""Demo data for a first look: the two sample content packs, a cohort of each course, the
intakes the public catalogue offers, and a user per role.

Idempotent: running it again imports nothing new, keeps progress, and resets the demo passwords.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from delivery.models import Announcement, Cohort, Course, Resource
from delivery.packs import import_pack
from delivery.roles import Role
from delivery.services import enrol_learner, grant_role, mark_resource_done, post_announcement
from delivery.signals import demo_seeded

User = get_user_model()

DEMO_PASSWORD = "flipside-demo"  # noqa: S105 - published demo login, never for production
PACKS = ["infection-control", "first-aid"]

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
# Learners with no demo login who fill the next first aid class but one place (so the
# catalogue shows an intake nearly full): username, first name, last name.
CLASSMATES = [
    ("classmate1", "Priya", "Shah"),
    ("classmate2", "Jack", "Murray"),
    ("classmate3", "Grace", "Oduya"),
    ("classmate4", "Ethan", "Lee"),
    ("classmate5", "Ruby", "Campbell"),
]


class Command(BaseCommand):
    help = "Load the sample packs, demo cohorts and one login per role (safe to run again)."

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
        for name in PACKS:
            for line in import_pack(settings.BASE_DIR / "packs" / name).summary():
                self.stdout.write(f"  {line}")
        # One hash for all: the password is the same, and each hash costs most of a second.
        hashed = make_password(DEMO_PASSWORD)
        users = {person[0]: self._person(*person, hashed=hashed) for person in PEOPLE}
        learners = [users[u] for u, *_, roles in PEOPLE if Role.LEARNER in roles]

        today = timezone.localdate()
        for code, name, starts in [
            ("HLTSS00065", "Demo cohort", today - timedelta(days=7)),
            ("HLTAID011", "First aid, weekend class", today - timedelta(days=2)),
        ]:
            cohort, _ = Cohort.objects.update_or_create(
                course=Course.objects.get(code=code),
                name=name,
                defaults={"starts_on": starts, "ends_on": starts + timedelta(days=56)},
            )
            cohort.trainers.add(users["trainer"])
            cohort.assessors.add(users["assessor"])
            for learner in learners:
                enrol_learner(learner, cohort)

        # Some learners are further along than others, so the trainer's grid has a shape.
        skill_set = Resource.objects.filter(module__course__code="HLTSS00065").order_by(
            "module__course_unit__position", "module__position", "position"
        )
        for learner, count in zip(learners, [3, 6, 1, 0], strict=True):
            for resource in skill_set[:count]:
                mark_resource_done(learner, resource)

        self._intakes(users, hashed=hashed)

        # Apps above delivery add their own demo data (assessment: a quiz waiting for marking).
        demo_seeded.send(sender=self.__class__, users=users, stdout=self.stdout)

        demo = Cohort.objects.get(name="Demo cohort")
        if not Announcement.objects.filter(cohort=demo).exists():
            post_announcement(
                demo,
                author=users["trainer"],
                title="Welcome to the infection control skill set",
                body="Please finish the **pre-work** before Tuesday's live tutorial.",
            )

        self.stdout.write(self.style.SUCCESS(f"Demo data ready for {settings.PROVIDER_NAME}."))
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for username, first, last, roles in PEOPLE:
            names = ", ".join(role.value for role in roles)
            self.stdout.write(f"  {username:<10} {first} {last} ({names})")

    def _intakes(self, users: dict[str, Any], *, hashed: str) -> None:
        """What the catalogue offers: each unit of the skill set on its own, self-paced from
        any day; the skill set's next scheduled intake; a first aid class nearly full. Found
        again by their names, so a second run updates them in place."""
        today = timezone.localdate()
        now = timezone.now()
        starts = today + timedelta(days=21)
        class_day = today + timedelta(days=10)
        intakes = [
            ("HLTINF006", "Self-paced, start any day", True, None, today, None, None),
            ("HLTINF007", "Self-paced, start any day", True, None, today, None, None),
            (
                "HLTSS00065",
                "Evening intake",
                False,
                12,
                starts,
                starts + timedelta(days=56),
                starts - timedelta(days=2),
            ),
            (
                "HLTAID011",
                "Saturday class",
                False,
                len(CLASSMATES) + 1,
                class_day,
                class_day,
                class_day - timedelta(days=1),
            ),
        ]
        cohorts = {}
        for code, name, rolling, places, starts_on, ends_on, closes in intakes:
            cohort, _ = Cohort.objects.update_or_create(
                course=Course.objects.get(code=code),
                name=name,
                defaults={
                    "listed": True,
                    "rolling": rolling,
                    "places": places,
                    "starts_on": starts_on,
                    "ends_on": ends_on,
                    "enrol_opens_at": None if rolling else now - timedelta(days=1),
                    "enrol_closes_at": _end_of_day(closes) if closes else None,
                },
            )
            cohort.trainers.add(users["trainer"])
            cohort.assessors.add(users["assessor"])
            cohorts[code] = cohort
        for username, first, last in CLASSMATES:
            person = self._person(username, first, last, [Role.LEARNER], hashed=hashed)
            person.set_unusable_password()
            person.save(update_fields=["password"])
            enrol_learner(person, cohorts["HLTAID011"])

    def _person(
        self, username: str, first: str, last: str, roles: list[Role], *, hashed: str
    ) -> Any:
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
        user.password = hashed
        user.save()
        for role in roles:
            grant_role(user, role)
        return user


def _end_of_day(day: date) -> datetime:
    """The last minute of `day` in the provider's time zone."""
    return timezone.make_aware(datetime.combine(day, time(23, 59)))
