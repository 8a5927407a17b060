from __future__ import annotations

from django.urls import path

from catalogue.playlist import views

# Included by catalogue/urls.py (namespace "catalogue").
urlpatterns = [
    path("playlist/", views.playlist, name="playlist"),
    path("playlist/save/<int:course_id>/", views.save, name="playlist_save"),
    path("playlist/<int:pk>/move/", views.move, name="playlist_move"),
    path("playlist/<int:pk>/remove/", views.remove, name="playlist_remove"),
]
