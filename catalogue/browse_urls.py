"""The public catalogue's URLs (included from catalogue.urls)."""

from __future__ import annotations

from django.urls import path, re_path

from catalogue import browse_views

urlpatterns = [
    path("", browse_views.index, name="index"),
    # A course by its code (e.g. HLTINF006/). Codes always hold a digit, so that the other
    # pages of the catalogue (pathways/, playlist/) never read as a course's code.
    re_path(
        r"^(?P<code>[A-Za-z0-9._-]*[0-9][A-Za-z0-9._-]*)/$", browse_views.course, name="course"
    ),
]
