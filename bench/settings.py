"""The app's settings with a bench-only URLconf (bench/urls.py), which adds the floor page.

Page benchmarks serve with `DJANGO_SETTINGS_MODULE=bench.settings`, so the floor runs through
exactly the app's middleware, context processors and session engine, while the app's own
URLconf (config/urls.py) gains no page that exists only to be measured."""

from __future__ import annotations

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
