"""AuditorGrant now belongs to delivery (delivery/migrations/0005_auditor_grant.py): assessment
forgets it, by state only, so its table and rows stay. Its content type is carried over to
delivery, so the permissions given on it (and anything else pointing at it) follow."""

from __future__ import annotations

from typing import Any

from django.db import migrations


def carry_content_type(apps: Any, schema_editor: Any) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    moved = ContentType.objects.filter(app_label="assessment", model="auditorgrant")
    if not ContentType.objects.filter(app_label="delivery", model="auditorgrant").exists():
        moved.update(app_label="delivery")


def carry_content_type_back(apps: Any, schema_editor: Any) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    back = ContentType.objects.filter(app_label="delivery", model="auditorgrant")
    if not ContentType.objects.filter(app_label="assessment", model="auditorgrant").exists():
        back.update(app_label="assessment")


class Migration(migrations.Migration):
    dependencies = [
        ("assessment", "0009_queue_counts_index"),
        ("delivery", "0005_auditor_grant"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="AuditorGrant")],
            database_operations=[],
        ),
        migrations.RunPython(carry_content_type, carry_content_type_back),
    ]
