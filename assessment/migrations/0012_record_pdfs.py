"""Stored renderings of record PDFs (RecordPdf): derived data, so the table starts empty on an
upgrade; exports render what is not stored yet (and store it), and `manage.py
render_record_pdfs` fills it in the background beforehand."""

from __future__ import annotations

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

import assessment.models


class Migration(migrations.Migration):
    dependencies = [
        ("assessment", "0011_drop_queue_version"),
        ("delivery", "0005_auditor_grant"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="RecordPdf",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("fingerprint", models.CharField(max_length=64)),
                (
                    "file",
                    models.FileField(
                        max_length=255, upload_to=assessment.models.record_pdf_upload_to
                    ),
                ),
                ("size", models.PositiveIntegerField()),
                (
                    "sha256",
                    models.CharField(
                        help_text="Of the stored bytes, checked on reading", max_length=64
                    ),
                ),
                ("generated_at", models.DateTimeField()),
                ("loaded_at", models.DateTimeField()),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "cohort",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="delivery.cohort",
                    ),
                ),
                (
                    "learner",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "unit",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="delivery.unit",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("learner", "cohort", "unit", "fingerprint"),
                        name="record_pdf_once_per_state",
                    )
                ],
            },
        ),
    ]
