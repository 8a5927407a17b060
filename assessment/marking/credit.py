"""Credit on enrolment: a unit counts wherever it was achieved, so a learner who enrols in a
course holding one of its units already (a current competent outcome in another cohort) is
credited with it at once, never assessed again.

`delivery` sends `learner_enrolled` after the enrolment commits; `AssessmentConfig.ready()`
connects `credit_on_enrolment` to it (delivery never imports this app). The credit is a
Credit transfer outcome (60) in the new cohort, recorded by no one (`recorded_by` is null:
pages say "credited automatically"), justified in words and audited. `unit_outcome_recorded`
is sent for it like any outcome: credentials then issues nothing new for the unit (its
credential is in force), only a course credential the credit completes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from assessment.audit.services import record_event
from assessment.models import Outcome
from assessment.signals import record_changed, unit_outcome_recorded
from delivery.models import Enrolment
from delivery.records import RecordKey

COMPETENT_CODES = (
    Outcome.Code.COMPETENT,
    Outcome.Code.RPL_GRANTED,
    Outcome.Code.CREDIT_TRANSFER,
)


def credit_on_enrolment(sender: Any, *, enrolment: Enrolment, **kwargs: Any) -> None:
    """The `learner_enrolled` receiver (sent after commit, so this runs its own transaction)."""
    credit_held_units(enrolment.pk)


def justification(source: Outcome) -> str:
    """Why the unit is credited, in words: what, when (provider's day) and where it was held."""
    day = timezone.localtime(source.recorded_at)
    return (
        f"{source.get_code_display()} in {source.unit.code} on {day.day} {day:%b %Y} in "
        f"{source.cohort.course.title}, {source.cohort.name}; credited automatically on "
        "enrolment"
    )


def _source(outcomes: list[Outcome]) -> Outcome:
    """The outcome a credit names: one assessed (or recognised) rather than itself a credit,
    then the earliest, where the unit was first achieved."""
    return min(
        outcomes,
        key=lambda o: (o.code == Outcome.Code.CREDIT_TRANSFER, o.recorded_at, o.pk),
    )


@transaction.atomic
def credit_held_units(enrolment_id: int) -> list[Outcome]:
    """Record a Credit transfer outcome in the enrolment's cohort for each unit of its course
    the learner already holds elsewhere and has no current outcome for here; returns them.

    Idempotent and safe on two workers: the learner's row is locked first, and a unit with any
    current outcome in this cohort (a credit already given, or an assessment under way) is left
    alone. A withdrawn or missing enrolment credits nothing. A fixed number of queries plus one
    insert and one audit event per credited unit.
    """
    enrolment = (
        Enrolment.objects.select_related("learner", "cohort__course")
        .filter(pk=enrolment_id, status=Enrolment.Status.ACTIVE)
        .first()
    )
    if enrolment is None:
        return []
    learner, cohort = enrolment.learner, enrolment.cohort
    get_user_model().objects.select_for_update().filter(pk=learner.pk).first()
    unit_ids = set(cohort.course.course_units.values_list("unit_id", flat=True))
    current = list(
        Outcome.objects.current()
        .filter(learner=learner, unit_id__in=unit_ids)
        .select_related("unit", "cohort__course")
    )
    here = {o.unit_id for o in current if o.cohort_id == cohort.pk}
    held: dict[int, list[Outcome]] = {}
    for outcome in current:
        if outcome.cohort_id != cohort.pk and outcome.code in COMPETENT_CODES:
            held.setdefault(outcome.unit_id, []).append(outcome)
    credited = []
    for unit_id in sorted(held.keys() - here):
        source = _source(held[unit_id])
        outcome = Outcome.objects.create(
            learner=learner,
            unit=source.unit,
            cohort=cohort,
            code=Outcome.Code.CREDIT_TRANSFER,
            justification=justification(source),
            recorded_by=None,
        )
        record_event(
            "outcome.credited",
            outcome,
            actor=None,
            learner=learner,
            unit=source.unit,
            data={
                "code": outcome.code,
                "justification": outcome.justification,
                "credited_from": source.pk,
                "enrolment": enrolment.pk,
            },
        )
        record_changed.send(
            sender=Outcome, key=RecordKey(learner.pk, cohort.pk, unit_id), reason="outcome"
        )
        credited.append(outcome)
    for outcome in credited:
        transaction.on_commit(_announce(outcome.pk))
    return credited


def _announce(outcome_id: int) -> Callable[[], None]:
    """Tell the apps above about a credit once it commits, like any recorded outcome."""

    def send() -> None:
        unit_outcome_recorded.send(sender=Outcome, outcome_id=outcome_id)

    return send
