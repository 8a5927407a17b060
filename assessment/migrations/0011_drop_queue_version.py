"""The marking queue's per-cohort counters (QueueVersion, 0008) keyed a page cache that is gone:
the queue and marking pages are read from the attempts on every visit (issue 19). The counters
were derived data, so dropping them loses nothing."""

from __future__ import annotations

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("assessment", "0010_auditor_grant_moves_to_delivery"),
    ]

    operations = [
        migrations.DeleteModel(
            name="QueueVersion",
        ),
    ]
