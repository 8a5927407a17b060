from __future__ import annotations

from django.urls import path

from assessment import views

app_name = "assessment"

urlpatterns = [
    path("queue/", views.queue, name="queue"),
    path("records/", views.audit_search, name="audit_search"),
]
