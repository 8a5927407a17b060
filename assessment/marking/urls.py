"""URLs of marking, included from assessment/urls.py (namespace `assessment`) with
`path("", include("assessment.marking.urls"))`, so that they keep their paths and names
(`assessment:queue`, `assessment:mark`, ...).
"""

from __future__ import annotations

from django.urls import path

from assessment.marking import views

urlpatterns = [
    path("queue/", views.queue, name="queue"),
    path("attempts/<id:pk>/mark/", views.mark, name="mark"),
    path("attempts/<id:pk>/claim", views.claim, name="claim"),
    path(
        "cohorts/<id:cohort_id>/learners/<id:learner_id>/units/<id:unit_id>/outcome/",
        views.outcome,
        name="outcome",
    ),
    path(
        "cohorts/<id:cohort_id>/learners/<id:learner_id>/tasks/<id:task_id>/observe",
        views.observe,
        name="observe",
    ),
    path("outcomes/documents/<id:pk>/", views.outcome_document, name="outcome_document"),
]
