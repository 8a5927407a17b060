from __future__ import annotations

from django.urls import URLPattern, URLResolver, include, path

from catalogue import browse_urls

app_name = "catalogue"

# The public catalogue last: a course's page takes any one path segment holding a digit.
urlpatterns: list[URLPattern | URLResolver] = [
    path("", include("catalogue.pathways.urls")),
    path("", include("catalogue.playlist.urls")),
    path("", include(browse_urls)),
]
