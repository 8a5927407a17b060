"""The audit trail on the real PostgreSQL: the triggers refuse UPDATE, DELETE and TRUNCATE (to a
superuser too), migrating backwards lifts them, and writers in concurrent transactions append to
one unbroken chain."""

from __future__ import annotations

import importlib
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.apps import apps
from django.db import IntegrityError, connection, connections, transaction

from assessment.audit.services import ChainCheck, record_event, verify_chain
from assessment.models import AuditEvent
from tests.factories import UnitFactory, UserFactory
from tests.helpers import EVENT_WAIT

migration = importlib.import_module("assessment.migrations.0002_audit_append_only")

THREADS = 2
EVENTS_PER_THREAD = 50


@pytest.fixture
def event(postgres_url: str, db: None) -> AuditEvent:
    with transaction.atomic():
        return record_event("probe", UnitFactory(), actor=UserFactory())


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE assessment_auditevent SET action = 'probe.changed'",
        "DELETE FROM assessment_auditevent",
        "TRUNCATE assessment_auditevent",
        "TRUNCATE assessment_auditevent, delivery_unit CASCADE",
    ],
)
def test_it_refuses_to_change_events(event: AuditEvent, sql: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        superuser = cursor.fetchone()[0]
        # Check this transaction's deferred foreign keys now: TRUNCATE refuses to run with any
        # still pending, which would pass this test for the wrong reason.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        with (
            pytest.raises(IntegrityError, match="audit events are append-only"),
            transaction.atomic(),
        ):
            cursor.execute(sql)
    assert superuser, "the tests connect as a superuser: the triggers bind them too"
    assert verify_chain() == ChainCheck(ok=True, checked=1)


def test_it_lifts_the_triggers_when_migrated_backwards(event: AuditEvent) -> None:
    # All inside the test's transaction: PostgreSQL's DDL rolls back with it.
    with connection.schema_editor() as editor:
        migration.uninstall(apps, editor)
    AuditEvent.objects.filter(pk=event.pk).update(action="probe.changed")
    with connection.schema_editor() as editor:
        migration.install(apps, editor)
    with pytest.raises(IntegrityError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(action="probe")


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_append_to_one_chain(postgres_url: str) -> None:
    unit, actor = UnitFactory(), UserFactory()
    start = threading.Barrier(THREADS)

    def append(thread: int) -> None:
        try:
            start.wait(timeout=EVENT_WAIT)
            for n in range(EVENTS_PER_THREAD):
                with transaction.atomic():
                    record_event("probe", unit, actor=actor, data={"thread": thread, "n": n})
        finally:
            connections.close_all()  # or the test database could not be dropped

    with ThreadPoolExecutor(THREADS) as pool:
        for done in [pool.submit(append, thread) for thread in range(THREADS)]:
            done.result()

    total = THREADS * EVENTS_PER_THREAD
    assert verify_chain() == ChainCheck(ok=True, checked=total)
    prev_hashes = AuditEvent.objects.values_list("prev_hash", flat=True)
    assert len(set(prev_hashes)) == total


@pytest.mark.django_db(transaction=True)
def test_it_refuses_a_snapshot_older_than_its_lock(postgres_url: str) -> None:
    unit: Any = UnitFactory()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        with pytest.raises(RuntimeError, match="READ COMMITTED"):
            record_event("probe", unit, actor=None)
    assert not AuditEvent.objects.exists()
