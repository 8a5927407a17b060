"""Personas shared by every test, in the spirit of healthchecks' owner / teammate / outsider.

- `learner` and `other_learner` are enrolled in `cohort` and `other_cohort` respectively;
- `trainer` teaches `cohort`; `assessor` marks `cohort`, `other_assessor` marks `other_cohort`;
- `auditor` sees everything read-only; `administrator` runs the place;
- `outsider` has an account and no role at all.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.cache.backends.locmem import LocMemCache
from django.test import Client

from delivery.roles import Role
from delivery.services import enrol_learner
from tests.factories import CohortFactory, UserFactory

pytest_plugins = ["tests.servers"]

# Pages under test read static files from the source folders, so a stale `collectstatic` never
# breaks a test; the server processes of integration tests use the manifest, as production does.
settings.STORAGES = {
    **settings.STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
TESTS = Path(__file__).resolve().parent


def pytest_itemcollected(item: pytest.Item) -> None:
    """Folders decide the markers, so `-m "not integration and not e2e"` is always right."""
    path = Path(str(item.path))
    if TESTS / "integration" in path.parents:
        item.add_marker(pytest.mark.integration)
    if TESTS / "e2e" in path.parents:
        item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Browser tests go last, after pytest-django's own ordering: Playwright's sync API keeps an
    event loop open in this thread, beside which later async tests could not start their own.
    """
    items.sort(key=lambda item: item.get_closest_marker("e2e") is not None)


def need_service(reason: str) -> None:
    """A missing service skips locally and fails in CI, where every service must be there."""
    if IN_CI:
        pytest.fail(f"CI requires it: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(autouse=True, scope="session")
def _flush_lifts_the_audit_triggers() -> Iterator[None]:
    """Transactional tests end with Django's `flush`, which empties every table, and the audit
    trail's triggers refuse that (assessment/migrations/0002_audit_append_only.py). The flush
    lifts them inside its own transaction, so they are back before anyone else could see."""
    from django.db import transaction
    from django.db.backends.base.operations import BaseDatabaseOperations

    flush = BaseDatabaseOperations.execute_sql_flush

    def execute_sql_flush(self: Any, sql_list: list[str]) -> None:
        connection = self.connection
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            if "assessment_auditevent" not in connection.introspection.table_names(cursor):
                flush(self, sql_list)
            elif connection.vendor == "postgresql":
                cursor.execute("ALTER TABLE assessment_auditevent DISABLE TRIGGER USER")
                flush(self, sql_list)
                cursor.execute("ALTER TABLE assessment_auditevent ENABLE TRIGGER USER")
            else:  # SQLite cannot disable a trigger: drop them, and create them again
                cursor.execute(
                    "SELECT name, sql FROM sqlite_master"
                    " WHERE type = 'trigger' AND tbl_name = 'assessment_auditevent'"
                )
                triggers = cursor.fetchall()
                for name, _ in triggers:
                    cursor.execute(f'DROP TRIGGER "{name}"')
                flush(self, sql_list)
                for _, sql in triggers:
                    cursor.execute(sql)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(BaseDatabaseOperations, "execute_sql_flush", execute_sql_flush)
        yield


@pytest.fixture(autouse=True)
def _private_media(settings: Any, tmp_path: Path) -> None:
    """Every test stores files in its own folder, never in the work tree's var/media. Tests
    whose files a server process must read point storage at that server's folder instead."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "media"},
        },
    }
    settings.EVIDENCE_STAGING_DIR = tmp_path / "media" / "uploads-partial"


@pytest.fixture(autouse=True)
def _empty_local_cache() -> Iterator[None]:
    """A test's rows reuse the ids of the test before, so what it left in this process's own
    cache (a status list by id, a chat rate by user) goes with it. Redis is left alone: it also
    holds the broker's queues of the worker tests."""
    yield
    if isinstance(cache, LocMemCache):
        cache.clear()


@pytest.fixture(autouse=True)
def _eager_celery_in_unit_tests(request: pytest.FixtureRequest) -> Iterator[None]:
    """Unit tests run Celery tasks in-process, even in the services run of the suite.

    Integration and browser tests keep the real broker and worker.
    """
    if request.node.get_closest_marker("integration") or request.node.get_closest_marker("e2e"):
        yield
        return
    from config.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@pytest.fixture
def cohort(db: None, trainer: Any, assessor: Any) -> Any:
    return CohortFactory(trainers=[trainer], assessors=[assessor])


@pytest.fixture
def other_cohort(db: None, other_assessor: Any) -> Any:
    return CohortFactory(assessors=[other_assessor])


@pytest.fixture
def learner(db: None) -> Any:
    return UserFactory(username="lena", first_name="Lena", last_name="Nguyen", roles=[Role.LEARNER])


@pytest.fixture
def other_learner(db: None) -> Any:
    return UserFactory(username="liam", first_name="Liam", last_name="Obi", roles=[Role.LEARNER])


@pytest.fixture
def enrolled(learner: Any, other_learner: Any, cohort: Any, other_cohort: Any) -> None:
    """Both learners enrolled, each in their own cohort."""
    enrol_learner(learner, cohort)
    enrol_learner(other_learner, other_cohort)


@pytest.fixture
def trainer(db: None) -> Any:
    return UserFactory(username="tom", first_name="Tom", last_name="Riley", roles=[Role.TRAINER])


@pytest.fixture
def assessor(db: None) -> Any:
    return UserFactory(username="asha", first_name="Asha", last_name="Patel", roles=[Role.ASSESSOR])


@pytest.fixture
def other_assessor(db: None) -> Any:
    return UserFactory(
        username="omar", first_name="Omar", last_name="Haddad", roles=[Role.ASSESSOR]
    )


@pytest.fixture
def auditor(db: None) -> Any:
    return UserFactory(
        username="audrey", first_name="Audrey", last_name="Walsh", roles=[Role.AUDITOR]
    )


@pytest.fixture
def administrator(db: None) -> Any:
    return UserFactory(
        username="adam", first_name="Adam", last_name="Clarke", roles=[Role.ADMINISTRATOR]
    )


@pytest.fixture
def outsider(db: None) -> Any:
    return UserFactory(username="otto", first_name="Otto", last_name="Stranger")


@pytest.fixture
def client_for() -> Any:
    """`client_for(user)`: a test client signed in as that user (anonymous for None)."""

    def make(user: Any | None) -> Client:
        client = Client()
        if user is not None:
            client.force_login(user)
        return client

    return make
