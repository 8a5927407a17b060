"""WSGI entry point, for serving pages through gunicorn (see README "How it runs")."""

from __future__ import annotations

import os

from config.env import exit_on_env_error

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

with exit_on_env_error():
    from django.core.wsgi import get_wsgi_application

    application = get_wsgi_application()
