"""The issuer DID stored with each status list and credential, filled in from what each was
signed as (the `issuer` of its stored document)."""

from __future__ import annotations

import json
from typing import Any

from django.db import migrations, models


def _issuer_of(document: str) -> str:
    try:
        issuer = json.loads(document).get("issuer", "")
    except (ValueError, AttributeError):
        return ""
    if isinstance(issuer, dict):
        issuer = issuer.get("id", "")
    return issuer if isinstance(issuer, str) else ""


def fill_issuer_ids(apps: Any, schema_editor: Any) -> None:
    for name in ("StatusList", "Credential"):
        model = apps.get_model("credentials", name)
        for row in model.objects.exclude(document="").only("pk", "document").iterator():
            model.objects.filter(pk=row.pk).update(issuer_id=_issuer_of(row.document))


class Migration(migrations.Migration):
    dependencies = [("credentials", "0002_status_lists_revocation_reminders")]

    operations = [
        migrations.AddField(
            model_name="credential",
            name="issuer_id",
            field=models.CharField(blank=True, max_length=255),
        ),
        migrations.AddField(
            model_name="statuslist",
            name="issuer_id",
            field=models.CharField(blank=True, max_length=255),
        ),
        migrations.RunPython(fill_issuer_ids, migrations.RunPython.noop, elidable=True),
    ]
