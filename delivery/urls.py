from __future__ import annotations

from django.urls import include, path

from delivery import views

app_name = "delivery"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("courses/<id:cohort_id>/", views.course, name="course"),
    path("resources/<id:pk>/", views.resource, name="resource"),
    path("resources/<id:pk>/file", views.resource_file, {"part": "file"}, name="resource_file"),
    path(
        "resources/<id:pk>/captions",
        views.resource_file,
        {"part": "captions"},
        name="resource_captions",
    ),
    path("resources/<id:pk>/done", views.resource_done, name="resource_done"),
    path("resources/<id:pk>/position", views.resource_position, name="resource_position"),
    path("announcements/<id:pk>/read", views.announcement_read, name="announcement_read"),
    path("cohorts/<id:cohort_id>/progress/", views.cohort_progress, name="cohort_progress"),
    path(
        "cohorts/<id:cohort_id>/progress.csv",
        views.cohort_progress_csv,
        name="cohort_progress_csv",
    ),
    path(
        "cohorts/<id:cohort_id>/announcements/new",
        views.announcement_new,
        name="announcement_new",
    ),
    # Sign-up and enrolment (issue 16): the learner's places, an intake's people.
    path("", include("delivery.enrolment.urls")),
]
