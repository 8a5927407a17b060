"""The stock project's pages: the floor, and the names the base layout links to."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LogoutView
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.generic import TemplateView


def healthz(request: HttpRequest) -> HttpResponse:
    """What bench/common.py's `serve` waits on before it measures."""
    return HttpResponse("ok", content_type="text/plain")


floor = login_required(TemplateView.as_view(template_name="base.html"))

urlpatterns = [
    path("bench/floor/", floor, name="bench_floor"),
    path("", floor, name="home"),
    path("healthz", healthz),
    path("accounts/logout/", LogoutView.as_view(), name="logout"),
]
