from __future__ import annotations

from django.db import migrations

# Frozen here rather than imported: a migration must not change when the code does.
ROLES = ["learner", "trainer", "assessor", "auditor", "administrator"]


def create_groups(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name in ROLES:
        Group.objects.get_or_create(name=name)


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("delivery", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
