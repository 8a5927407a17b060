from __future__ import annotations

from django.urls import path

from credentials import views

app_name = "credentials"

urlpatterns = [
    path(".well-known/did.json", views.did_json, name="did_json"),
    path("credentials/verify", views.verify, name="verify"),
    path("credentials/wallet/", views.wallet, name="wallet"),
    path("credentials/manage/", views.manage, name="manage"),
    path("credentials/record/", views.record, name="record"),
    path("credentials/record/record.pdf", views.record_pdf, name="record_pdf"),
    path("credentials/record/clr", views.record_clr, name="record_clr"),
    path("credentials/records/<uuid:public_id>", views.clr, name="clr"),
    path("credentials/reminders/<id:pk>/dismiss", views.dismiss_reminder, name="dismiss"),
    path("credentials/status/<id:pk>", views.status_list, name="status_list"),
    path("credentials/<uuid:public_id>", views.credential_id, name="id"),
    path("credentials/<uuid:public_id>.json", views.credential_json, name="json"),
    path("credentials/<uuid:public_id>/", views.credential_page, name="page"),
    path("credentials/<uuid:public_id>/image.png", views.credential_image, name="image"),
    path("credentials/<uuid:public_id>/certificate.pdf", views.certificate, name="certificate"),
    path(
        "credentials/<uuid:public_id>/badge.<str:fmt>",
        views.baked_badge,
        name="badge",
    ),
    path("credentials/<uuid:public_id>/revoke", views.revoke, name="revoke"),
    path(
        "credentials/<uuid:public_id>/certificate/render",
        views.rerender_certificate,
        name="rerender",
    ),
    path("achievements/<uuid:public_id>", views.achievement_page, name="achievement"),
    path(
        "achievements/<uuid:public_id>/image.png",
        views.achievement_image,
        name="achievement_image",
    ),
]
