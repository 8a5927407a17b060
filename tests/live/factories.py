"""Factories for live sessions (the shared ones are in tests/factories.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import factory
from django.utils import timezone

from live.models import LiveSession
from tests.factories import CohortFactory, UserFactory


class LiveSessionFactory(factory.django.DjangoModelFactory):
    """A session running now (started five minutes ago, an hour long) unless told otherwise."""

    class Meta:
        model = LiveSession
        skip_postgeneration_save = True

    cohort = factory.SubFactory(CohortFactory)
    title = factory.Sequence(lambda n: f"Tutorial {n}")
    starts_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(minutes=5))
    ends_at = factory.LazyAttribute(lambda s: s.starts_at + dt.timedelta(hours=1))
    meeting_url = "https://meet.example.test/room"
    created_by = factory.SubFactory(UserFactory)

    @factory.post_generation
    def trainers(self, create: bool, extracted: list[Any] | None, **kwargs: Any) -> None:
        if not create:
            return
        self.trainers.set(extracted if extracted is not None else self.cohort.trainers.all())
