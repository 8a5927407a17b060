"""E-mail to files when EMAIL_FILE_PATH is set (the browser journeys read the sign-up
confirmation there), and the waiting-list offers' periodic job is a task Celery knows."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

from config.celery import app

ROOT = Path(__file__).resolve().parents[3]


def test_email_file_path_writes_each_email_to_a_file(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DEBUG": "true",
        "EMAIL_FILE_PATH": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "VAR_DIR": str(tmp_path / "var"),
    }
    env.pop("EMAIL_HOST", None)
    code = (
        "import django; django.setup();"
        "from django.core.mail import send_mail;"
        "send_mail('Confirm', 'the link', None, ['a@example.test'])"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, timeout=60)
    written = [p for p in tmp_path.iterdir() if p.is_file()]
    assert len(written) == 1
    assert "the link" in written[0].read_text()


def test_the_offer_expiry_job_is_scheduled_and_registered() -> None:
    job = settings.CELERY_BEAT_SCHEDULE["expire-waiting-list-offers"]
    assert job["task"] in app.tasks
