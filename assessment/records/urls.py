"""URLs of auditor records, included from assessment/urls.py (namespace `assessment`) with
`path("", include("assessment.records.urls"))`, so that they sit at `assess/records/...` and
keep their names (`assessment:record`, `assessment:export`, ...).
"""

from __future__ import annotations

from django.urls import path

from assessment.records import views

urlpatterns = [
    path("records/", views.search, name="audit_search"),
    path("records/outcomes.csv", views.outcomes_csv, name="outcomes_csv"),
    # One URL: the list of the user's exports (GET) and starting one (POST).
    path("records/exports/", views.exports, name="export_start"),
    path("records/exports/<uuid:public_id>/", views.export, name="export"),
    path(
        "records/exports/<uuid:public_id>/download",
        views.export_download,
        name="export_download",
    ),
    path(
        "records/<id:cohort_id>/<id:learner_id>/<id:unit_id>/",
        views.record,
        name="record",
    ),
    path(
        "records/<id:cohort_id>/<id:learner_id>/<id:unit_id>/record.pdf",
        views.record_pdf,
        name="record_pdf",
    ),
]
