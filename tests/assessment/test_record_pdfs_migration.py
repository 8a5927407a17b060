"""Stored record PDFs arrive by migration (0012): an upgraded database with records in it keeps
them, starts with no stored PDF (exports render what is missing, and store it), and the step
can be undone."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from assessment.models import Outcome, RecordExport, RecordPdf
from assessment.records import exports
from assessment.records.selectors import RecordFilters
from delivery.models import Enrolment

# delivery at its latest too: its courses' columns (issue 16's catalogue fields) stay in the
# table, so the historical models must know them.
BEFORE = [("assessment", "0011_drop_queue_version"), ("delivery", "0006_catalogue_and_intakes")]


def migrate(targets: list[tuple[str, str]] | None = None) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets or executor.loader.graph.leaf_nodes())
    return executor


@pytest.mark.django_db(transaction=True)
def test_an_upgrade_keeps_the_records_and_exports_render_what_is_not_stored() -> None:
    executor = migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    users = old.get_model("auth", "User")
    course = old.get_model("delivery", "Course").objects.create(code="HLTSS00065", title="SS")
    unit = old.get_model("delivery", "Unit").objects.create(code="HLTINF006", title="Infection")
    old.get_model("delivery", "CourseUnit").objects.create(course=course, unit=unit, position=1)
    cohort = old.get_model("delivery", "Cohort").objects.create(
        course=course, name="Nov", starts_on=timezone.localdate()
    )
    assessor = users.objects.create(username="asha")
    for n in range(3):
        learner = users.objects.create(username=f"learner{n}", last_name=f"Number{n}")
        old.get_model("delivery", "Enrolment").objects.create(learner=learner, cohort=cohort)
        old.get_model("assessment", "Outcome").objects.create(
            learner=learner, unit=unit, cohort=cohort, code="20", recorded_by=assessor
        )
    assert "assessment_recordpdf" not in connection.introspection.table_names()

    migrate()

    assert "assessment_recordpdf" in connection.introspection.table_names()
    assert (Enrolment.objects.count(), Outcome.objects.count()) == (3, 3)
    assert not RecordPdf.objects.exists()
    admin = users.objects.create(username="admin", is_superuser=True)
    export = RecordExport.objects.create(
        requested_by_id=admin.pk, filters=RecordFilters().as_json()
    )
    assert exports.build_record_export(export.pk) == "done"
    assert RecordExport.objects.get(pk=export.pk).done == 3
    assert RecordPdf.objects.count() == 3  # rendered by the export, stored for the next

    RecordPdf.objects.all().delete()
    migrate(BEFORE)  # and back: the table goes (its rows were derived data)
    assert "assessment_recordpdf" not in connection.introspection.table_names()
    migrate()
