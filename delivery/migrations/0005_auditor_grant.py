"""AuditorGrant moves here from assessment, by state only: its table (which keeps its name,
`assessment_auditorgrant`) and every row stay as they are. assessment's 0010 removes it from
assessment's state after this, and carries its content type (and so its admin permissions)
over. Every app's permissions ask the grant now (`delivery.permissions.auditor_scope`), and
live and credentials may not import assessment."""

from __future__ import annotations

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("delivery", "0004_announcement_emails"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="AuditorGrant",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("starts_at", models.DateTimeField()),
                        ("ends_at", models.DateTimeField()),
                        (
                            "reason",
                            models.CharField(
                                help_text="e.g. ASQA audit 2026-11, ref. 12345", max_length=255
                            ),
                        ),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                        (
                            "auditor",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="auditor_grants",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "cohorts",
                            models.ManyToManyField(
                                blank=True, related_name="+", to="delivery.cohort"
                            ),
                        ),
                        (
                            "courses",
                            models.ManyToManyField(
                                blank=True, related_name="+", to="delivery.course"
                            ),
                        ),
                        (
                            "granted_by",
                            models.ForeignKey(
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "assessment_auditorgrant",
                        "ordering": ["-starts_at", "-id"],
                        "constraints": [
                            models.CheckConstraint(
                                condition=models.Q(("ends_at__gt", models.F("starts_at"))),
                                name="auditor_grant_ends_after_start",
                            )
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
