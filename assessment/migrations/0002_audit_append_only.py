"""Audit events are append-only: the database refuses UPDATE and DELETE of
assessment_auditevent (and TRUNCATE on PostgreSQL), whoever asks: the ORM, the admin, a shell.

PostgreSQL: a plpgsql function raising restrict_violation (SQLSTATE 23001, so Django raises
IntegrityError), run BEFORE UPDATE OR DELETE for each row and BEFORE TRUNCATE for the statement.
SQLite: BEFORE UPDATE and BEFORE DELETE triggers that RAISE(ABORT) (also an IntegrityError).

There is deliberately no switch that turns the guard off (a session setting or a control row
would be reachable by any SQL the application can be tricked into running). Lifting it takes
DDL, which only the table's owner may run: `ALTER TABLE ... DISABLE TRIGGER USER` on PostgreSQL,
dropping and re-creating the triggers on SQLite, in the same transaction as the change so no
other connection ever sees the table unguarded. That is what the test suite does around
Django's `flush`, which empties every table after each transactional test (a session fixture
in tests/conftest.py); production never needs it. Migrating backwards drops the triggers.

Careful: when a later migration alters this table, Django rebuilds it on SQLite (new table,
copy, drop, rename) and the triggers go with the old one; such a migration must run
`install` again. The tests that expect the refusals would say so.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

POSTGRESQL_INSTALL = [
    """
    CREATE FUNCTION assessment_auditevent_refuse() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION USING
            ERRCODE = 'restrict_violation',
            MESSAGE = 'audit events are append-only: ' || TG_OP || ' refused';
    END;
    $$
    """,
    """
    CREATE TRIGGER assessment_auditevent_append_only
    BEFORE UPDATE OR DELETE ON assessment_auditevent
    FOR EACH ROW EXECUTE FUNCTION assessment_auditevent_refuse()
    """,
    """
    CREATE TRIGGER assessment_auditevent_no_truncate
    BEFORE TRUNCATE ON assessment_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION assessment_auditevent_refuse()
    """,
]
POSTGRESQL_UNINSTALL = [
    "DROP TRIGGER IF EXISTS assessment_auditevent_no_truncate ON assessment_auditevent",
    "DROP TRIGGER IF EXISTS assessment_auditevent_append_only ON assessment_auditevent",
    "DROP FUNCTION IF EXISTS assessment_auditevent_refuse()",
]

SQLITE_INSTALL = [
    """
    CREATE TRIGGER assessment_auditevent_no_update
    BEFORE UPDATE ON assessment_auditevent
    BEGIN SELECT RAISE(ABORT, 'audit events are append-only: UPDATE refused'); END
    """,
    """
    CREATE TRIGGER assessment_auditevent_no_delete
    BEFORE DELETE ON assessment_auditevent
    BEGIN SELECT RAISE(ABORT, 'audit events are append-only: DELETE refused'); END
    """,
]
SQLITE_UNINSTALL = [
    "DROP TRIGGER IF EXISTS assessment_auditevent_no_update",
    "DROP TRIGGER IF EXISTS assessment_auditevent_no_delete",
]

STATEMENTS = {
    "postgresql": (POSTGRESQL_INSTALL, POSTGRESQL_UNINSTALL),
    "sqlite": (SQLITE_INSTALL, SQLITE_UNINSTALL),
}


def _run(schema_editor: Any, which: int) -> None:
    vendor = schema_editor.connection.vendor
    if vendor not in STATEMENTS:
        raise NotImplementedError(f"audit events cannot be made append-only on {vendor}")
    for sql in STATEMENTS[vendor][which]:
        # No parameters: the SQL is passed through untouched (no %-formatting).
        schema_editor.execute(sql, params=None)


def install(apps: Any, schema_editor: Any) -> None:
    _run(schema_editor, 0)


def uninstall(apps: Any, schema_editor: Any) -> None:
    _run(schema_editor, 1)


class Migration(migrations.Migration):
    dependencies = [("assessment", "0001_initial")]

    operations = [migrations.RunPython(install, uninstall)]
