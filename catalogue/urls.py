from __future__ import annotations

from django.urls import URLPattern, URLResolver, include, path

app_name = "catalogue"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", include("catalogue.pathways.urls")),
    path("", include("catalogue.playlist.urls")),
]
