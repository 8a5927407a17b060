from __future__ import annotations

from django.urls import path

from live import views

app_name = "live"

urlpatterns = [
    path("", views.sessions, name="sessions"),
]
