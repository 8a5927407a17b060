"""Celery finds a queued job by its task's registered name. Moving the code of assessment into
rooms must not rename a task: a job already waiting in Redis under the old name would be
refused by the new workers after a deploy ("Received unregistered task"), and the beat schedule
and routes in config/settings.py name tasks the same way."""

from __future__ import annotations

import importlib
import pkgutil

from django.conf import settings

import assessment
from config.celery import app

# The names the tasks had before assessment was split into rooms. Change one only with a
# deploy plan for jobs still queued under it.
REGISTERED = {
    "assessment.tasks.build_record_export",
    "assessment.tasks.expire_record_exports",
    "assessment.tasks.purge_stale_uploads",
    "assessment.tasks.render_record_pdf",
    "assessment.tasks.resume_stale_exports",
    "assessment.tasks.send_marking_digests",
}


def _assessment_tasks() -> set[str]:
    """Every task whose code is in assessment, after importing all of its modules (a task
    defined in a room would be missed if only assessment.tasks were imported)."""
    for module in pkgutil.walk_packages(assessment.__path__, "assessment."):
        if ".migrations" not in module.name:
            importlib.import_module(module.name)
    return {
        name
        for name, task in app.tasks.items()
        if name.startswith("assessment.") or task.run.__module__.startswith("assessment.")
    }


def test_it_keeps_every_assessment_task_name() -> None:
    assert _assessment_tasks() == REGISTERED


def test_it_schedules_and_routes_only_registered_names() -> None:
    names = _assessment_tasks()
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    routed = set(settings.CELERY_TASK_ROUTES)
    assert {n for n in scheduled | routed if n.startswith("assessment.")} <= names
