"""Enrolment's pages, included by delivery/urls.py (namespace `delivery`); the visitor's
account pages (sign-up, confirmation, invitations) are in `account_urlpatterns`, included at
the root under accounts/ by config/urls.py."""

from __future__ import annotations

from django.urls import path

from delivery.enrolment import views

urlpatterns = [
    # The learner
    path("intakes/<id:cohort_id>/enrol", views.enrol, name="enrol"),
    path("enrolments/", views.my_enrolments, name="my_enrolments"),
    path("details/", views.my_details, name="my_details"),
    path("requests/<id:pk>/cancel", views.request_cancel, name="request_cancel"),
    path("waiting/<id:pk>/accept", views.offer_accept, name="offer_accept"),
    path("waiting/<id:pk>/decline", views.offer_decline, name="offer_decline"),
    path("waiting/<id:pk>/leave", views.waiting_leave, name="waiting_leave"),
    # Staff
    path("cohorts/<id:cohort_id>/people/", views.cohort_people, name="cohort_people"),
    path("cohorts/<id:cohort_id>/people/enrol", views.cohort_enrol_one, name="cohort_enrol_one"),
    path("cohorts/<id:cohort_id>/people/csv", views.cohort_enrol_csv, name="cohort_enrol_csv"),
    path("requests/<id:pk>/decide", views.request_decide, name="request_decide"),
    path("enrolments/<id:pk>/withdraw", views.enrolment_withdraw, name="enrolment_withdraw"),
    path("enrolments/<id:pk>/transfer", views.enrolment_transfer, name="enrolment_transfer"),
]

account_urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path("signup/sent/", views.signup_sent, name="signup_sent"),
    path("confirm/<str:uidb64>/<str:token>/", views.signup_confirm, name="signup_confirm"),
    path("invitation/<str:token>/", views.invitation, name="invitation"),
]
