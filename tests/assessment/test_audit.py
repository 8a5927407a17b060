"""The audit trail: the chain record_event writes, verify_chain and `manage.py verify_audit`
finding the first broken link, and the database refusing to change or delete events.

Runs on SQLite in the unit suite and on PostgreSQL in the services run; PostgreSQL-only checks
(TRUNCATE, concurrent writers) are in tests/integration/test_audit_postgres.py.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from decimal import Decimal
from io import StringIO
from itertools import pairwise
from pathlib import Path
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction

from assessment.audit.services import (
    GENESIS,
    ChainCheck,
    canonical_json,
    link_hash,
    record_event,
    verify_chain,
)
from assessment.models import AuditEvent
from tests.factories import UnitFactory, UserFactory

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def trail(db: None) -> list[AuditEvent]:
    """Five events about one unit, #0 to #4, by one assessor about one learner."""
    assessor, learner, unit = UserFactory(), UserFactory(), UnitFactory()
    with transaction.atomic():
        return [
            record_event(
                f"probe.{n}", unit, actor=assessor, learner=learner, unit=unit, data={"n": n}
            )
            for n in range(5)
        ]


def tamper(sql: str, params: list[Any]) -> None:
    """Run `sql` past the triggers, as the table's owner could: lifted inside the test's
    transaction, whose rollback puts them back."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Not with this transaction's foreign keys still to check (Django defers them).
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("ALTER TABLE assessment_auditevent DISABLE TRIGGER USER")
        else:
            cursor.execute("DROP TRIGGER assessment_auditevent_no_update")
            cursor.execute("DROP TRIGGER assessment_auditevent_no_delete")
        cursor.execute(sql, params)


# Writing ------------------------------------------------------------------------------------


def test_it_chains_each_event_to_the_one_before(trail: list[AuditEvent]) -> None:
    assert trail[0].prev_hash == GENESIS
    for before, event in pairwise(trail):
        assert event.prev_hash == before.hash
    for event in trail:
        assert event.hash == link_hash(event.prev_hash, event.payload)
    assert len({event.hash for event in trail}) == 5


def test_it_records_every_column_in_the_hashed_payload(trail: list[AuditEvent]) -> None:
    event = AuditEvent.objects.get(pk=trail[2].pk)
    body = json.loads(event.payload)
    assert body == {
        "at": event.at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "actor": event.actor_id,
        "actor_label": event.actor.username,
        "action": "probe.2",
        "object_type": "delivery.unit",
        "object_id": str(event.unit_id),
        "learner": event.learner_id,
        "unit": event.unit_id,
        "data": {"n": 2},
    }
    assert event.payload == canonical_json(body)


def test_it_records_an_event_without_an_actor(db: None) -> None:
    with transaction.atomic():
        event = record_event("system.probe", UnitFactory(), actor=None)
    assert (event.actor_id, event.actor_label, event.learner_id) == (None, "", None)
    assert verify_chain() == ChainCheck(ok=True, checked=1)


def test_it_verifies_data_of_every_recordable_type_after_a_round_trip(db: None) -> None:
    data = {
        "due": dt.datetime(2025, 3, 1, 9, 30, tzinfo=ZoneInfo("Australia/Perth")),
        "observed_on": dt.date(2025, 3, 1),
        "score": Decimal("1.50"),
        "token": UUID(int=7),
        "items": {"q2", "q1"},
        "comment": "Zoë's «evidence» 👍",
    }
    with transaction.atomic():
        record_event("probe", UnitFactory(), actor=UserFactory(), data=data)
    assert json.loads(AuditEvent.objects.get().payload)["data"] == {
        "due": "2025-03-01T01:30:00.000000+00:00",
        "observed_on": "2025-03-01",
        "score": "1.50",
        "token": "00000000-0000-0000-0000-000000000007",
        "items": ["q1", "q2"],
        "comment": "Zoë's «evidence» 👍",
    }
    assert verify_chain() == ChainCheck(ok=True, checked=1)


def test_it_refuses_to_record_outside_a_transaction() -> None:
    # No database access at all: the check comes before any query.
    with pytest.raises(RuntimeError, match="inside the change's transaction"):
        record_event("probe", UnitFactory.build(pk=1), actor=None)


def test_it_refuses_an_unsaved_object(db: None) -> None:
    with pytest.raises(ValueError, match="saved object"):
        record_event("probe", UnitFactory.build(), actor=None)
    assert not AuditEvent.objects.exists()


def test_it_spells_values_the_same_on_every_run() -> None:
    value = {
        "when": dt.datetime(2025, 3, 1, 9, 30, tzinfo=ZoneInfo("Australia/Sydney")),
        "on": dt.date(2025, 3, 1),
        "score": Decimal("1.50"),
        "id": UUID(int=1),
        "tags": {"b", "a", "c"},
        "name": "Zoë",
        "n": 1,
    }
    assert canonical_json(value) == (
        '{"id":"00000000-0000-0000-0000-000000000001","n":1,"name":"Zoë","on":"2025-03-01",'
        '"score":"1.50","tags":["a","b","c"],"when":"2025-02-28T22:30:00.000000+00:00"}'
    )


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (dt.datetime(2025, 3, 1, 9, 30), ValueError),  # noqa: DTZ001 - naive on purpose
        (float("nan"), ValueError),
        (object(), TypeError),
    ],
)
def test_it_refuses_values_without_one_spelling(value: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        canonical_json({"data": value})


# Verifying ----------------------------------------------------------------------------------


def test_it_finds_an_empty_trail_intact(db: None) -> None:
    assert verify_chain() == ChainCheck(ok=True, checked=0)


def test_it_finds_an_untouched_trail_intact(trail: list[AuditEvent]) -> None:
    assert verify_chain() == ChainCheck(ok=True, checked=5)


def rewritten(
    event: AuditEvent, prev_hash: str, pk: int | None = None, **changes: Any
) -> AuditEvent:
    """A copy with its payload (and the columns it copies) edited and its hashes recomputed:
    a careful forgery."""
    forged = copy.copy(event)
    forged.pk = pk or event.pk
    body = json.loads(event.payload) | changes
    for key, value in changes.items():
        if key != "data":
            setattr(forged, key, value)
    forged.payload = canonical_json(body)
    forged.prev_hash = prev_hash
    forged.hash = link_hash(prev_hash, forged.payload)
    return forged


def edited(event: AuditEvent, **changes: Any) -> AuditEvent:
    """A copy with columns changed and nothing else."""
    changed = copy.copy(event)
    for key, value in changes.items():
        setattr(changed, key, value)
    return changed


# Each case: the trail as tampered with, the index (in the tampered list) of the first event
# verify_chain must name, and what it must say.
Tampering = Callable[[list[AuditEvent]], tuple[list[AuditEvent], int, str]]
TAMPERINGS: dict[str, Tampering] = {
    "a payload altered": lambda e: (
        [*e[:2], edited(e[2], payload=e[2].payload.replace('"n":2', '"n":7')), *e[3:]],
        2,
        "its payload or hash was altered",
    ),
    "a hash altered": lambda e: (
        [*e[:2], edited(e[2], hash="f" * 64), *e[3:]],
        2,
        "its payload or hash was altered",
    ),
    "a payload rewritten and rehashed": lambda e: (
        [*e[:2], rewritten(e[2], e[1].hash, data={"n": 7}), *e[3:]],
        3,
        f"it does not link to event #{e[2].pk} before it",
    ),
    "a column edited without the payload": lambda e: (
        [*e[:2], edited(e[2], action="probe.forged"), *e[3:]],
        2,
        "its action column was changed",
    ),
    "the actor's name edited": lambda e: (
        [*e[:2], edited(e[2], actor_label="someone.else"), *e[3:]],
        2,
        "its actor_label column was changed",
    ),
    "the learner edited": lambda e: (
        [*e[:2], edited(e[2], learner_id=e[2].actor_id), *e[3:]],
        2,
        "its learner_id column was changed",
    ),
    "the time edited": lambda e: (
        [*e[:2], edited(e[2], at=e[2].at - dt.timedelta(days=1)), *e[3:]],
        2,
        "its at column was changed",
    ),
    "an event inserted": lambda e: (
        [*e[:2], rewritten(e[1], e[1].hash, pk=99, action="probe.forged"), *e[2:]],
        3,
        "it links past event #99 before it: #99 was inserted",
    ),
    "an event removed": lambda e: (
        [*e[:2], *e[3:]],
        2,
        f"it does not link to event #{e[1].pk} before it: events between them were removed",
    ),
    "the first event removed": lambda e: (
        e[1:],
        0,
        "it is the first event but links to an earlier one",
    ),
    "two events swapped": lambda e: (
        [*e[:2], e[3], e[2], e[4]],
        2,
        f"it does not link to event #{e[1].pk} before it",
    ),
}


@pytest.mark.parametrize("tampering", TAMPERINGS.values(), ids=TAMPERINGS.keys())
def test_it_names_the_first_broken_link(trail: list[AuditEvent], tampering: Tampering) -> None:
    events, broken, problem = tampering(trail)
    check = verify_chain(events)
    assert (check.ok, check.broken_at, check.checked) == (False, events[broken].pk, broken)
    assert check.problem.startswith(problem), check.problem


def test_it_names_a_row_changed_in_the_database(trail: list[AuditEvent]) -> None:
    tamper(
        "UPDATE assessment_auditevent SET payload = %s WHERE id = %s",
        [trail[3].payload.replace('"n":3', '"n":4'), trail[3].pk],
    )
    assert verify_chain() == ChainCheck(
        False, 3, trail[3].pk, "its payload or hash was altered: they do not match"
    )


def test_it_names_a_column_changed_in_the_database(trail: list[AuditEvent]) -> None:
    tamper("UPDATE assessment_auditevent SET object_id = '0' WHERE id = %s", [trail[1].pk])
    check = verify_chain()
    assert (check.broken_at, check.problem) == (
        trail[1].pk,
        "its object_id column was changed: it differs from the payload",
    )


def test_it_names_the_event_after_a_row_deleted_from_the_database(
    trail: list[AuditEvent],
) -> None:
    tamper("DELETE FROM assessment_auditevent WHERE id = %s", [trail[2].pk])
    check = verify_chain()
    assert (check.checked, check.broken_at) == (2, trail[3].pk)
    assert f"does not link to event #{trail[1].pk}" in check.problem


def test_it_names_a_forged_row_added_to_the_database(trail: list[AuditEvent]) -> None:
    forged = AuditEvent.objects.create(
        action="outcome.recorded",
        object_type="assessment.outcome",
        object_id="1",
        payload='{"action":"outcome.recorded"}',
        prev_hash=trail[-1].hash,
        hash=link_hash(trail[-1].hash, '{"action":"outcome.recorded"}'),
    )
    assert verify_chain() == ChainCheck(False, 5, forged.pk, "its payload is not an audit event")


# The database refuses changes -----------------------------------------------------------------


def _save_changed(event: AuditEvent) -> None:
    event.action = "probe.changed"
    event.save()


def _sql(statement: str, *params: Any) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


REFUSED: dict[str, Callable[[AuditEvent], Any]] = {
    "Model.save": _save_changed,
    "Model.delete": lambda event: event.delete(),
    "QuerySet.update": lambda event: AuditEvent.objects.filter(pk=event.pk).update(action="x"),
    "QuerySet.delete": lambda event: AuditEvent.objects.all().delete(),
    "raw UPDATE": lambda event: _sql(
        "UPDATE assessment_auditevent SET payload = '{}' WHERE id = %s", event.pk
    ),
    "raw DELETE": lambda event: _sql("DELETE FROM assessment_auditevent"),
}


@pytest.mark.parametrize("change", REFUSED.values(), ids=REFUSED.keys())
def test_the_database_refuses_to_change_an_event(
    trail: list[AuditEvent], change: Callable[[AuditEvent], Any]
) -> None:
    with pytest.raises(IntegrityError, match="audit events are append-only"), transaction.atomic():
        change(trail[2])
    assert AuditEvent.objects.count() == 5
    assert verify_chain() == ChainCheck(ok=True, checked=5)


# manage.py verify_audit ---------------------------------------------------------------------


def test_it_reports_an_intact_trail(trail: list[AuditEvent]) -> None:
    out = StringIO()
    call_command("verify_audit", stdout=out)
    assert out.getvalue() == "audit trail OK: 5 events\n"


def test_it_reports_a_broken_trail_and_fails(trail: list[AuditEvent]) -> None:
    tamper("UPDATE assessment_auditevent SET action = 'probe.x' WHERE id = %s", [trail[2].pk])
    event = trail[2]
    with pytest.raises(CommandError) as failed:
        call_command("verify_audit", stdout=StringIO())
    assert failed.value.returncode == 1
    assert str(failed.value) == (
        f"audit trail BROKEN at event #{event.pk}: its action column was changed: it differs "
        "from the payload\n"
        f"  event #{event.pk}: {event.at.isoformat()} probe.x delivery.unit {event.object_id}\n"
        "  intact before it: 2 events"
    )


def manage(*args: str, var: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update({"DEBUG": "true", "VAR_DIR": str(var), "DJANGO_SETTINGS_MODULE": "config.settings"})
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def triggers(database: Path) -> list[str]:
    with sqlite3.connect(database) as db:
        rows = db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name")
        return [name for (name,) in rows]


@pytest.mark.own_processes
def test_it_works_from_the_command_line_and_migrates_both_ways(tmp_path: Path) -> None:
    """As an operator runs it, on a fresh embedded database: exit status 0 then 1, and the
    triggers dropped by migrating backwards and installed again forwards."""
    database = tmp_path / "flipside.sqlite3"
    assert manage("migrate", "--no-input", "-v", "0", var=tmp_path).returncode == 0
    installed = ["assessment_auditevent_no_delete", "assessment_auditevent_no_update"]
    assert triggers(database) == installed

    ok = manage("verify_audit", var=tmp_path)
    assert (ok.returncode, ok.stdout) == (0, "audit trail OK: 0 events\n")

    payload = '{"forged":true}'
    with sqlite3.connect(database) as db:
        db.execute(
            "INSERT INTO assessment_auditevent (at, actor_label, action, object_type, object_id,"
            " payload, prev_hash, hash) VALUES ('2025-01-01 00:00:00', '', 'forged', 'x', '1',"
            " ?, ?, ?)",
            [payload, GENESIS, link_hash(GENESIS, payload)],
        )
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            db.execute("DELETE FROM assessment_auditevent")
    broken = manage("verify_audit", var=tmp_path)
    assert broken.returncode == 1
    assert "audit trail BROKEN at event #1: its payload is not an audit event" in broken.stderr
    assert "event #1: 2025-01-01T00:00:00+00:00 forged x 1" in broken.stderr

    assert manage("migrate", "assessment", "0001", "-v", "0", var=tmp_path).returncode == 0
    assert triggers(database) == []
    assert manage("migrate", "-v", "0", var=tmp_path).returncode == 0
    assert triggers(database) == installed
