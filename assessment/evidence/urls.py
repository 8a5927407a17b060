"""URLs of evidence uploads and files, included from assessment/urls.py (namespace
`assessment`) with `path("", include("assessment.evidence.urls"))`, so that they sit at
`assess/uploads/...` and `assess/evidence/...`.

The tus upload URL has no trailing slash: tus clients use the `Location` they are given as is.
"""

from __future__ import annotations

from django.urls import path

from assessment.evidence import views

urlpatterns = [
    path(
        "uploads/attempts/<id:attempt_id>/",
        views.create_upload,
        name="evidence_upload_create",
    ),
    path(
        "uploads/attempts/<id:attempt_id>/form",
        views.upload_form,
        name="evidence_upload_form",
    ),
    path(
        "uploads/attempts/<id:attempt_id>/files",
        views.evidence_list,
        name="evidence_list",
    ),
    path("uploads/<slug:upload_id>", views.upload, name="evidence_upload"),
    path("evidence/<id:evidence_id>/", views.evidence_file, name="evidence"),
    path(
        "evidence/<id:evidence_id>/preview",
        views.evidence_file,
        {"variant": "preview"},
        name="evidence_preview",
    ),
    path(
        "evidence/<id:evidence_id>/thumbnail",
        views.evidence_file,
        {"variant": "thumbnail"},
        name="evidence_thumbnail",
    ),
    path("evidence/<id:evidence_id>/withdraw", views.withdraw, name="evidence_withdraw"),
]
