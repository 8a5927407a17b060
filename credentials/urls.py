from __future__ import annotations

from django.urls import path

from credentials import views

app_name = "credentials"

urlpatterns = [
    path(".well-known/did.json", views.did_json, name="did_json"),
]
