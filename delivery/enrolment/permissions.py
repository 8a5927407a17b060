"""Who may do what with places: the learner with their own requests and waiting-list places;
administrators, and the trainers of an intake, with its people (an intake's assessors and
auditors see its progress pages, not its enrolment decisions).

`access_*` return the object or raise Http404 (not theirs to know of) or PermissionDenied.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404

from delivery.models import Cohort, Enrolment, EnrolmentRequest, WaitingListEntry
from delivery.permissions import access_cohort


def access_people(user: Any, cohort_id: int) -> Cohort:
    """An intake whose people the user manages: any, for administrators; their own, for
    trainers. Others who can see the intake get 403; the rest 404."""
    return access_cohort(user, cohort_id, write=True)


def access_listed_intake(pk: int) -> Cohort:
    """An intake the catalogue offers, for anyone to ask a place in."""
    cohort = Cohort.objects.filter(pk=pk, listed=True).select_related("course").first()
    if cohort is None:
        raise Http404("No such intake")
    return cohort


def access_own_request(user: Any, pk: int) -> EnrolmentRequest:
    request = EnrolmentRequest.objects.filter(pk=pk, learner_id=user.pk).first()
    if request is None:
        raise Http404("No such request")
    return request


def access_request(user: Any, pk: int) -> EnrolmentRequest:
    """A request, for the staff who decide it."""
    request = EnrolmentRequest.objects.filter(pk=pk).first()
    if request is None:
        raise Http404("No such request")
    access_people(user, request.cohort_id)
    return request


def access_own_entry(user: Any, pk: int) -> WaitingListEntry:
    entry = WaitingListEntry.objects.filter(pk=pk, learner_id=user.pk).first()
    if entry is None:
        raise Http404("No such place on a waiting list")
    return entry


def access_entry(user: Any, pk: int) -> WaitingListEntry:
    """A waiting-list place: the learner's own, or one of an intake whose people they manage."""
    entry = WaitingListEntry.objects.filter(pk=pk).first()
    if entry is None:
        raise Http404("No such place on a waiting list")
    if entry.learner_id != user.pk:
        access_people(user, entry.cohort_id)
    return entry


def access_enrolment(user: Any, pk: int) -> Enrolment:
    """An enrolment, for the staff who withdraw or transfer it."""
    enrolment = Enrolment.objects.filter(pk=pk).select_related("learner").first()
    if enrolment is None:
        raise Http404("No such enrolment")
    cohort = access_people(user, enrolment.cohort_id)
    enrolment.cohort = cohort
    return enrolment
