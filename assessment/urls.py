from __future__ import annotations

from django.urls import include, path

from assessment import views

app_name = "assessment"

urlpatterns = [
    # Evidence: resumable uploads (uploads/...) and serving files (evidence/...).
    path("", include("assessment.evidence.urls")),
    # Third-party reports: the learner's request and the supervisor's public page.
    path("", include("assessment.third_party.urls")),
    # Auditor records: search, the record page and PDF, the outcomes CSV, bulk exports.
    path("", include("assessment.records.urls")),
    # Marking: the queue, marking an attempt, observations, unit outcomes.
    path("", include("assessment.marking.urls")),
    # The learner's attempt flow, the evidence page and the mapping matrix (app level).
    path("cohorts/<id:cohort_id>/tasks/", views.learner_tasks, name="learner_tasks"),
    path("cohorts/<id:cohort_id>/tasks/<id:task_id>/", views.task, name="task"),
    path("attempts/<id:pk>/", views.attempt_detail, name="attempt"),
    path("attempts/<id:pk>/save", views.save_draft, name="save_draft"),
    path("attempts/<id:pk>/submit", views.submit, name="submit"),
    path("attempts/<id:pk>/evidence", views.attempt_evidence, name="attempt_evidence"),
    path("evidence/<id:evidence_id>/change", views.evidence_change, name="evidence_change"),
    path("evidence/<id:evidence_id>/view", views.evidence_page, name="evidence_page"),
    path("cohorts/<id:cohort_id>/units/<id:unit_id>/mapping/", views.mapping, name="mapping"),
]
