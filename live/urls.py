from __future__ import annotations

from django.urls import path

from live import views

app_name = "live"

urlpatterns = [
    path("", views.sessions, name="sessions"),
    path("records/", views.records, name="records"),
    path("cohorts/<id:cohort_id>/new", views.session_new, name="session_new"),
    path("<id:pk>/", views.session_detail, name="session"),
    path("<id:pk>/edit", views.session_edit, name="session_edit"),
    path("<id:pk>/room/", views.room, name="room"),
    path("<id:pk>/end/", views.session_end, name="session_end"),
    path("<id:pk>/attendance/", views.attendance, name="attendance"),
    path("<id:pk>/attendance.csv", views.attendance_csv, name="attendance_csv"),
]
