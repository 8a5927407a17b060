"""PkReader: a row read by primary key with SQL built once, indistinguishable from the ORM's."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from delivery.models import Enrolment
from delivery.services import enrol_learner
from delivery.sql import PkReader

pytestmark = pytest.mark.django_db

User = get_user_model()


def _values(instance: Any) -> dict[str, Any]:
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


def test_a_whole_row_is_the_orms_row_with_its_types(learner: Any) -> None:
    seen = timezone.now().replace(microsecond=123456)
    User.objects.filter(pk=learner.pk).update(last_login=seen)
    with CaptureQueriesContext(connection) as queries:
        read = PkReader(User)(learner.pk)
    assert len(queries) == 1
    assert read is not None
    assert type(read) is User
    assert _values(read) == _values(User.objects.get(pk=learner.pk))
    # Converted as the ORM converts: an aware datetime (SQLite stores text), a real bool.
    assert read.last_login == seen
    assert read.last_login.tzinfo is not None
    assert read.is_active is True
    assert read.get_deferred_fields() == set()
    assert read._state.adding is False
    assert read._state.db == "default"


def test_a_key_given_as_text_is_read_as_the_orm_would(learner: Any) -> None:
    read = PkReader(User)(str(learner.pk))
    assert read is not None
    assert read.pk == learner.pk


def test_no_such_row_is_none(learner: Any) -> None:
    assert PkReader(User)(learner.pk + 1000) is None


def test_fields_not_asked_for_are_deferred_and_read_when_touched(learner: Any) -> None:
    read = PkReader(User, ("username",))(learner.pk)
    assert read is not None
    assert read.username == "lena"
    assert read.get_deferred_fields() >= {"email", "password", "first_name"}
    with CaptureQueriesContext(connection) as queries:
        assert read.email == learner.email
    assert len(queries) == 1


def test_a_joined_row_is_cached_on_its_foreign_key(learner: Any, cohort: Any) -> None:
    enrolment = enrol_learner(learner, cohort)
    reader = PkReader(Enrolment, ("cohort", "status"), related={"cohort": ("name", "starts_on")})
    with CaptureQueriesContext(connection) as queries:
        read = reader(enrolment.pk)
        assert read is not None
        assert read.status == Enrolment.Status.ACTIVE
        assert read.cohort.pk == cohort.pk
        assert read.cohort.name == cohort.name
        assert read.cohort.starts_on == dt.date(2026, 11, 2)
    assert len(queries) == 1
    assert read.get_deferred_fields() >= {"learner_id", "enrolled_at"}
    assert read.cohort.get_deferred_fields() >= {"ends_on", "course_id"}
    # What is deferred still reads right.
    assert read.enrolled_at == enrolment.enrolled_at
    assert read.cohort.ends_on == cohort.ends_on


def test_a_null_foreign_key_joins_nothing_and_reads_none(administrator: Any) -> None:
    without = LogEntry.objects.create(
        user=administrator, action_flag=ADDITION, object_repr="x", change_message=""
    )
    with_type = LogEntry.objects.create(
        user=administrator,
        content_type=ContentType.objects.get_for_model(User),
        action_flag=ADDITION,
        object_repr="y",
        change_message="",
    )
    reader = PkReader(LogEntry, related={"content_type": None, "user": ("username",)})
    with CaptureQueriesContext(connection) as queries:
        empty = reader(without.pk)
        full = reader(with_type.pk)
        assert empty is not None
        assert full is not None
        assert empty.content_type is None
        assert full.content_type == ContentType.objects.get_for_model(User)
        assert empty.user.username == "adam"
    assert len(queries) == 2  # the two reads; get_for_model answers from its own cache


@pytest.mark.parametrize(
    ("fields", "related", "message"),
    [
        (("username", "groups"), None, "is not a column"),
        (("username",), {"username": None}, "is not a foreign key"),
        (("status",), {"cohort": None}, "must be read too"),
    ],
)
def test_a_wrong_description_is_refused_with_its_reason(
    fields: tuple[str, ...], related: Any, message: str
) -> None:
    model = Enrolment if "status" in fields else User
    with pytest.raises(ValueError, match=message):
        PkReader(model, fields, related=related)(1)


def test_a_key_no_column_can_hold_reads_nothing_as_the_orm_would(learner: Any) -> None:
    huge = 10**20  # SQLite's driver raises OverflowError for it; the ORM finds no row
    assert not User.objects.filter(pk=huge).exists()
    assert PkReader(User)(huge) is None
    assert PkReader(User)(-(10**20)) is None


@pytest.mark.django_db(transaction=True)
def test_a_threads_connection_is_not_kept_alive_by_a_reader() -> None:
    """Under ASGI each request runs on a new thread with its own connection; a reader must
    not hold on to those connections once their threads are done."""
    import gc
    import threading
    import weakref

    from django.db import connections

    user = User.objects.create(username="threaded")
    reader = PkReader(User)
    seen: list[Any] = []

    def visit() -> None:
        assert reader(user.pk) is not None
        seen.append(weakref.ref(connections["default"]))
        connections["default"].close()

    thread = threading.Thread(target=visit)
    thread.start()
    thread.join()
    gc.collect()
    assert len(seen) == 1
    assert seen[0]() is None
