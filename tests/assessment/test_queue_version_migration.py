"""The queue's page-cache counters (QueueVersion) are dropped by migration: an upgraded database
with counters in it loses the table and keeps its cohorts, and the step can be undone."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from delivery.models import Cohort

# delivery at its latest too: its courses' columns (issue 16's catalogue fields) stay in the
# table, so the historical models must know them.
BEFORE = [
    ("assessment", "0010_auditor_grant_moves_to_delivery"),
    ("delivery", "0006_catalogue_and_intakes"),
]


def migrate(targets: list[tuple[str, str]] | None = None) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets or executor.loader.graph.leaf_nodes())
    return executor


def tables() -> list[str]:
    return list(connection.introspection.table_names())


@pytest.mark.django_db(transaction=True)
def test_an_upgrade_drops_the_counters_and_keeps_the_cohorts() -> None:
    executor = migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    course = old.get_model("delivery", "Course").objects.create(code="HLTSS00065", title="SS")
    cohorts = [
        old.get_model("delivery", "Cohort").objects.create(
            course=course, name=f"Nov {n}", starts_on=timezone.localdate()
        )
        for n in range(3)
    ]
    for n, cohort in enumerate(cohorts):
        old.get_model("assessment", "QueueVersion").objects.create(cohort=cohort, version=n + 7)
    assert "assessment_queueversion" in tables()

    migrate()

    assert "assessment_queueversion" not in tables()
    assert sorted(Cohort.objects.values_list("name", flat=True)) == ["Nov 0", "Nov 1", "Nov 2"]

    migrate(BEFORE)  # and back: the table returns, empty (its counters were derived data)
    assert "assessment_queueversion" in tables()
    migrate()
