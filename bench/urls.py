"""The app's URLconf plus the floor page (`/bench/floor/`), served only by bench/settings.py."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.urls import include, path
from django.views.generic import TemplateView

FLOOR_PATH = "/bench/floor/"

# The least a signed-in page can do here: the whole middleware stack, the session and user,
# every context processor, and the base layout (templates/base.html) with nothing in it.
floor = login_required(TemplateView.as_view(template_name="base.html"))

urlpatterns = [
    path(FLOOR_PATH.strip("/") + "/", floor, name="bench_floor"),
    path("", include("config.urls")),
]
