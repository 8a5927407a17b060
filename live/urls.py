from __future__ import annotations

from django.urls import path

from live import views

app_name = "live"

urlpatterns = [
    path("", views.sessions, name="sessions"),
    path("records/", views.records, name="records"),
    path("cohorts/<int:cohort_id>/new", views.session_new, name="session_new"),
    path("<int:pk>/", views.session_detail, name="session"),
    path("<int:pk>/edit", views.session_edit, name="session_edit"),
    path("<int:pk>/room/", views.room, name="room"),
    path("<int:pk>/end/", views.session_end, name="session_end"),
    path("<int:pk>/attendance/", views.attendance, name="attendance"),
    path("<int:pk>/attendance.csv", views.attendance_csv, name="attendance_csv"),
]
