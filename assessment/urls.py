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
    path("queue/", views.queue, name="queue"),
    path("cohorts/<id:cohort_id>/tasks/", views.learner_tasks, name="learner_tasks"),
    path("cohorts/<id:cohort_id>/tasks/<id:task_id>/", views.task, name="task"),
    path("attempts/<id:pk>/", views.attempt_detail, name="attempt"),
    path("attempts/<id:pk>/save", views.save_draft, name="save_draft"),
    path("attempts/<id:pk>/submit", views.submit, name="submit"),
    path("attempts/<id:pk>/evidence", views.attempt_evidence, name="attempt_evidence"),
    path("evidence/<id:evidence_id>/change", views.evidence_change, name="evidence_change"),
    path("attempts/<id:pk>/mark/", views.mark, name="mark"),
    path("attempts/<id:pk>/claim", views.claim, name="claim"),
    path("evidence/<id:evidence_id>/view", views.evidence_page, name="evidence_page"),
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
    path("cohorts/<id:cohort_id>/units/<id:unit_id>/mapping/", views.mapping, name="mapping"),
    path("outcomes/documents/<id:pk>/", views.outcome_document, name="outcome_document"),
]
