"""Auditor grants moved from assessment to delivery by state only: an upgraded database keeps
every grant with its cohorts and courses, and the permissions given on the model follow it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from delivery.models import AuditorGrant

BEFORE = [("assessment", "0009_queue_counts_index"), ("delivery", "0004_announcement_emails")]


def migrate(targets: list[tuple[str, str]] | None = None) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets or executor.loader.graph.leaf_nodes())
    return executor


@pytest.mark.django_db(transaction=True)
def test_an_upgrade_keeps_every_grant_and_its_permissions() -> None:
    view = Permission.objects.get(codename="view_auditorgrant")
    executor = migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    assert (
        old.get_model("contenttypes", "ContentType")
        .objects.filter(app_label="assessment", model="auditorgrant")
        .exists()
    )
    user = old.get_model("auth", "User").objects.create(username="external-auditor")
    course = old.get_model("delivery", "Course").objects.create(code="HLTSS00065", title="SS")
    cohort = old.get_model("delivery", "Cohort").objects.create(
        course=course, name="Nov", starts_on=timezone.localdate()
    )
    now = timezone.now()
    made = old.get_model("assessment", "AuditorGrant").objects.create(
        auditor=user,
        starts_at=now,
        ends_at=now + timedelta(days=7),
        reason="ASQA audit, ref. 1234",
    )
    made.cohorts.set([cohort])
    made.courses.set([course])

    migrate()

    grant = AuditorGrant.objects.get()
    assert (grant.pk, grant.auditor.username, grant.reason) == (
        made.pk,
        "external-auditor",
        "ASQA audit, ref. 1234",
    )
    assert [c.pk for c in grant.cohorts.all()] == [cohort.pk]
    assert [c.pk for c in grant.courses.all()] == [course.pk]
    moved = ContentType.objects.get_for_model(AuditorGrant)
    assert moved.app_label == "delivery"
    assert not ContentType.objects.filter(app_label="assessment", model="auditorgrant").exists()
    assert Permission.objects.get(pk=view.pk).content_type == moved
