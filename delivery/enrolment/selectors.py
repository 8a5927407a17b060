"""Reads of enrolment shared by the pages, the catalogue's enrol box and the services.

`intake_states` is the catalogue's door: it says, for one user and many intakes at once, what
each intake offers them (enrol, join the waiting list, wait for approval, go to the course ...)
in a fixed number of queries, whatever the number of intakes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from delivery.models import (
    Cohort,
    Course,
    Enrolment,
    EnrolmentRequest,
    Invitation,
    LearnerProfile,
    WaitingListEntry,
)

ACTIVE = Enrolment.Status.ACTIVE
OFFERED = WaitingListEntry.Status.OFFERED
WAITING = WaitingListEntry.Status.WAITING


def _count(queryset: QuerySet[Any]) -> Coalesce:
    """A correlated COUNT(*) of `queryset` (already filtered by OuterRef), 0 when none."""
    counted = queryset.order_by().values("cohort_id").annotate(n=Count("pk")).values("n")[:1]
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def with_places(cohorts: QuerySet[Cohort]) -> QuerySet[Cohort]:
    """Cohorts annotated with `active_count` and `offer_count`: what holds their places."""
    return cohorts.annotate(
        active_count=_count(Enrolment.objects.filter(cohort=OuterRef("pk"), status=ACTIVE)),
        offer_count=_count(WaitingListEntry.objects.filter(cohort=OuterRef("pk"), status=OFFERED)),
    )


def places_left(cohort: Cohort) -> int | None:
    """Places nobody holds: the intake's places less its active enrolments and the places
    offered from its waiting list and not yet taken or passed on. None: no limit."""
    if cohort.places is None:
        return None
    active = getattr(cohort, "active_count", None)
    offered = getattr(cohort, "offer_count", None)
    if active is None or offered is None:
        active = Enrolment.objects.filter(cohort=cohort, status=ACTIVE).count()
        offered = WaitingListEntry.objects.filter(cohort=cohort, status=OFFERED).count()
    return max(0, cohort.places - active - offered)


def window_problem(cohort: Cohort, now: datetime | None = None) -> str:
    """Why the enrolment window refuses now, in words; "" when it is open."""
    now = now or timezone.now()
    if cohort.enrol_opens_at and now < cohort.enrol_opens_at:
        return f"Enrolment in this intake opens on {when(cohort.enrol_opens_at)}."
    if cohort.enrol_closes_at and now >= cohort.enrol_closes_at:
        return f"Enrolment in this intake closed on {when(cohort.enrol_closes_at)}."
    return ""


def when(moment: datetime) -> str:
    """A moment as people read it, in the provider's time zone: "3 March 2027, 9:00 a.m."."""
    from django.utils.dateformat import format as date_format

    return date_format(timezone.localtime(moment), "j F Y, P")


def usi_of(user: Any) -> str:
    return (
        LearnerProfile.objects.filter(user_id=user.pk).values_list("usi", flat=True).first() or ""
    )


# --- the catalogue's enrol box -------------------------------------------------------------


@dataclass(frozen=True)
class IntakeState:
    """What one intake offers one user now.

    `kind`, for the template (delivery/enrolment/_enrol_box.html):
    - "anonymous": not signed in (sign up, or sign in, to enrol);
    - "enrolled": an active enrolment (go to the course: `enrolment_cohort_id`);
    - "pending": a request waiting for staff approval;
    - "offered": a place offered from the waiting list, to accept by `offer_expires_at`;
    - "waiting": on the waiting list, at `position` (1 is next);
    - "closed": the course is closed to self-enrolment (staff enrol);
    - "not_open" / "window_closed": before or after the enrolment window (`message` says);
    - "full": no place left: join the waiting list;
    - "open": enrol now (`rolling`: start today);
    - "approval": ask for a place; staff decide.
    """

    cohort: Cohort
    kind: str
    places_left: int | None
    message: str = ""
    position: int | None = None
    offer_expires_at: datetime | None = None
    rolling: bool = False

    @property
    def cohort_id(self) -> int:
        return self.cohort.pk

    @property
    def can_post(self) -> bool:
        """Whether the box shows a button that POSTs to `delivery:enrol`."""
        return self.kind in {"open", "approval", "full"}


def intake_states(user: Any, cohorts: Iterable[Cohort | int]) -> dict[int, IntakeState]:
    """Every given intake's state for `user`, by cohort id, in at most four queries.

    Intakes given as Cohort objects or ids; their courses come with them (select_related).
    """
    ids = [c.pk if isinstance(c, Cohort) else int(c) for c in cohorts]
    if not ids:
        return {}
    rows = list(with_places(Cohort.objects.filter(pk__in=ids)).select_related("course"))
    signed_in = bool(getattr(user, "is_authenticated", False))
    enrolled: set[int] = set()
    pending: set[int] = set()
    entries: dict[int, WaitingListEntry] = {}
    if signed_in:
        enrolled = set(
            Enrolment.objects.filter(learner=user, cohort_id__in=ids, status=ACTIVE).values_list(
                "cohort_id", flat=True
            )
        )
        pending = set(
            EnrolmentRequest.objects.filter(
                learner=user, cohort_id__in=ids, status=EnrolmentRequest.Status.PENDING
            ).values_list("cohort_id", flat=True)
        )
        entries = {
            entry.cohort_id: entry
            for entry in with_positions(
                WaitingListEntry.objects.filter(
                    learner=user, cohort_id__in=ids, status__in=[WAITING, OFFERED]
                )
            )
        }
    now = timezone.now()
    return {
        cohort.pk: _state(cohort, now, signed_in, enrolled, pending, entries) for cohort in rows
    }


def _state(
    cohort: Cohort,
    now: datetime,
    signed_in: bool,
    enrolled: set[int],
    pending: set[int],
    entries: dict[int, WaitingListEntry],
) -> IntakeState:
    left = places_left(cohort)

    def state(kind: str, **extra: Any) -> IntakeState:
        return IntakeState(cohort, kind, left, rolling=cohort.rolling, **extra)

    if cohort.pk in enrolled:
        return state("enrolled")
    if cohort.pk in pending:
        return state("pending", message="Your request is waiting for the provider's approval.")
    entry = entries.get(cohort.pk)
    if entry is not None and entry.status == OFFERED:
        return state("offered", offer_expires_at=entry.offer_expires_at)
    if entry is not None:
        return state("waiting", position=getattr(entry, "position", None))
    if cohort.course.enrolment == Course.Enrolling.CLOSED:
        return state("closed", message="The provider enrols learners in this course.")
    problem = window_problem(cohort, now)
    if problem:
        kind = (
            "not_open" if cohort.enrol_opens_at and now < cohort.enrol_opens_at else "window_closed"
        )
        return state(kind, message=problem)
    if not signed_in:
        return state("anonymous")
    if left is not None and left <= 0:
        return state("full", message="This intake is full.")
    if cohort.course.enrolment == Course.Enrolling.APPROVAL:
        return state("approval")
    return state("open")


def with_positions(entries: QuerySet[WaitingListEntry]) -> QuerySet[WaitingListEntry]:
    """Entries annotated with `position`: 1 + the entries still waiting ahead of them."""
    ahead = WaitingListEntry.objects.filter(cohort_id=OuterRef("cohort_id"), status=WAITING).filter(
        Q(joined_at__lt=OuterRef("joined_at"))
        | Q(joined_at=OuterRef("joined_at"), pk__lt=OuterRef("pk"))
    )
    return entries.annotate(position=_count(ahead) + 1)


# --- the learner's page --------------------------------------------------------------------


@dataclass(frozen=True)
class LearnerEnrolments:
    enrolments: list[Enrolment]
    requests: list[EnrolmentRequest]  # pending, and decided in the last while
    offers: list[WaitingListEntry]
    waiting: list[WaitingListEntry]
    usi: str


def learner_enrolments(user: Any) -> LearnerEnrolments:
    """Everything of one learner's places, each list in a query of its own."""
    enrolments = list(
        Enrolment.objects.filter(learner=user)
        .select_related("cohort__course", "transferred_to__cohort")
        .order_by("status", "-enrolled_at")
    )
    requests = list(
        EnrolmentRequest.objects.filter(learner=user)
        .exclude(status=EnrolmentRequest.Status.APPROVED)
        .select_related("cohort__course")
        .order_by("-created_at")[:50]
    )
    entries = list(
        with_positions(
            WaitingListEntry.objects.filter(learner=user, status__in=[WAITING, OFFERED])
        ).select_related("cohort__course")
    )
    return LearnerEnrolments(
        enrolments=enrolments,
        requests=requests,
        offers=[e for e in entries if e.status == OFFERED],
        waiting=[e for e in entries if e.status == WAITING],
        usi=usi_of(user),
    )


# --- staff: an intake's people --------------------------------------------------------------


@dataclass(frozen=True)
class CohortPeople:
    cohort: Cohort
    places_left: int | None
    enrolments: list[Enrolment]
    requests: list[EnrolmentRequest]
    waiting: list[WaitingListEntry]
    invitations: list[Invitation]
    other_intakes: list[Cohort]  # of the same course: where a learner can be transferred


def cohort_people(cohort: Cohort) -> CohortPeople:
    """The People page: a fixed number of queries, whatever the number of people."""
    counted = with_places(Cohort.objects.filter(pk=cohort.pk)).get()
    enrolments = list(
        cohort.enrolments.select_related(
            "learner__learner_profile", "transferred_to__cohort"
        ).order_by("status", "learner__last_name", "learner__first_name", "learner_id")
    )
    requests = list(
        cohort.requests.filter(status=EnrolmentRequest.Status.PENDING).select_related(
            "learner__learner_profile"
        )
    )
    waiting = list(
        with_positions(cohort.waiting_list.filter(status__in=[WAITING, OFFERED])).select_related(
            "learner"
        )
    )
    invitations = list(cohort.invitations.select_related("accepted_by")[:200])
    others = list(
        Cohort.objects.filter(course_id=cohort.course_id)
        .exclude(pk=cohort.pk)
        .order_by("starts_on")
    )
    return CohortPeople(
        cohort=cohort,
        places_left=places_left(counted),
        enrolments=enrolments,
        requests=requests,
        waiting=waiting,
        invitations=invitations,
        other_intakes=others,
    )
