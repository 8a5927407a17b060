"""URLs of third-party reports, included from assessment/urls.py (namespace `assessment`) with
`path("", include("assessment.third_party.urls"))`, so that they sit at `assess/report/...`
(the supervisor's public page) and `assess/cohorts/.../third-party` (the learner's request).

The learner's request is addressed by cohort and task, not by attempt: the first request is
what opens the attempt.
"""

from __future__ import annotations

from django.urls import path

from assessment.third_party import views

urlpatterns = [
    path("report/<str:token>/", views.report, name="third_party_report"),
    path(
        "cohorts/<id:cohort_id>/tasks/<id:task_id>/third-party",
        views.request_report,
        name="third_party_request",
    ),
]
