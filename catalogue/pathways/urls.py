from __future__ import annotations

from django.urls import path

from catalogue.pathways import views

# Included by catalogue/urls.py (namespace "catalogue").
urlpatterns = [
    path("pathways/", views.pathways, name="pathways"),
    path("pathways/<slug:key>/", views.pathway, name="pathway"),
    path("pathways/<slug:key>/goal/", views.pathway_goal, name="pathway_goal"),
    path("manage/pathways/", views.manage, name="pathway_manage"),
    path("manage/new-pathway/", views.pathway_new, name="pathway_new"),
    path("manage/pathways/<slug:key>/", views.pathway_edit, name="pathway_edit"),
    path("manage/pathways/<slug:key>/publish/", views.pathway_publish, name="pathway_publish"),
    path("manage/pathways/<slug:key>/steps/new/", views.step_edit, name="pathway_step_new"),
    path(
        "manage/pathways/<slug:key>/steps/<slug:step_key>/",
        views.step_edit,
        name="pathway_step_edit",
    ),
    path(
        "manage/pathways/<slug:key>/steps/<slug:step_key>/delete/",
        views.step_delete,
        name="pathway_step_delete",
    ),
]
