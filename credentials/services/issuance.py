"""Issuing credentials: unit credentials on Competent, course credentials with the last unit of
a skill set or microcredential. Each is built, signed, stored and audited in one transaction;
its certificate is rendered and the learner told after commit."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from assessment.audit.services import record_event
from assessment.models import Outcome
from assessment.signals import record_changed
from credentials import keys, status
from credentials.documents import credential_url, dump_document, status_list_url
from credentials.models import Achievement, Credential, StackedCredit
from credentials.openbadges import (
    AchievementData,
    Alignment,
    CredentialData,
    add_months,
    build_credential,
    new_salt,
)
from credentials.services.achievements import (
    achievement_data,
    achievement_for_course,
    achievement_for_unit,
    issuer_profile,
)
from credentials.services.certificates import queue_certificate
from credentials.services.proofs import sign_as_issuer
from credentials.services.status_lists import allocate_status_index, status_list_with_room
from credentials.signals import credential_issued
from delivery.models import Course, CourseUnit
from delivery.notifications import notify_user
from delivery.records import RecordKey

COURSE_KINDS_WITH_CREDENTIAL = {Course.Kind.SKILL_SET, Course.Kind.MICROCREDENTIAL}


def subject_id(issuer_id: str, learner_pk: int) -> str:
    """A stable, opaque id for the learner: the same in every credential, reveals nothing."""
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{issuer_id}/learners/{learner_pk}')}"


def _issue(
    *,
    learner: Any,
    achievement: Achievement,
    outcome: Outcome,
    valid_from: datetime,
    validity_months: int | None,
    evidence: list[dict[str, str]],
    alignments: tuple[Alignment, ...] = (),
) -> Credential:
    """Build, sign, store and audit one credential. Runs inside the caller's transaction;
    raises `IntegrityError` if the credential already exists (the unique constraints)."""
    issuer = issuer_profile()
    public_id = uuid.uuid4()
    now = timezone.now()
    valid_until = add_months(valid_from, validity_months) if validity_months else None
    status_list = status_list_with_room()
    # The list names the deployment's issuer; a process configured otherwise stops here.
    keys.check_issuer(status_list.issuer_id, what=f"a credential in status list {status_list.pk}")
    status_index = allocate_status_index(status_list)
    unsigned = build_credential(
        CredentialData(
            id=credential_url(public_id),
            issuer=issuer,
            achievement=_with_alignments(achievement_data(achievement), alignments),
            learner_email=learner.email,
            salt=new_salt(),
            subject_id=subject_id(issuer.id, learner.pk),
            valid_from=valid_from,
            valid_until=valid_until,
            evidence=evidence,
            credential_status=status.entry(status_list_url(status_list), status_index),
        )
    )
    signed, signing_key = sign_as_issuer(unsigned, issuer_id=issuer.id, now=now)
    with transaction.atomic():  # a savepoint, so a duplicate leaves the caller's transaction usable
        credential = Credential.objects.create(
            public_id=public_id,
            learner=learner,
            achievement=achievement,
            outcome=outcome,
            signing_key=signing_key,
            issued_at=now,
            valid_from=valid_from,
            valid_until=valid_until,
            document=dump_document(signed),
            issuer_id=issuer.id,
            status_list=status_list,
            status_index=status_index,
        )
        record_event(
            "credential.issued",
            credential,
            actor=None,
            learner=learner,
            unit=achievement.unit,
            data={
                "achievement": achievement.human_code,
                "outcome": outcome.pk,
                "public_id": str(public_id),
            },
        )
        if achievement.unit_id is not None:  # the unit's record shows its credential
            key = RecordKey(outcome.learner_id, outcome.cohort_id, outcome.unit_id)
            record_changed.send(sender=Credential, key=key, reason="credential")
    transaction.on_commit(lambda: _after_issue(credential))
    return credential


def _with_alignments(data: AchievementData, alignments: tuple[Alignment, ...]) -> AchievementData:
    return replace(data, alignments=data.alignments + alignments) if alignments else data


def _after_issue(credential: Credential) -> None:
    queue_certificate(credential.pk)
    notify_user(
        credential.learner_id,
        f"Your credential for {credential.achievement.name} has been issued.",
        level="success",
        url=reverse("credentials:wallet"),
    )
    credential_issued.send(sender=Credential, credential=credential)


def _issue_once(issue: Callable[[], Credential], **winner: Any) -> Credential:
    """Run `issue`; if a unique constraint stops it, return the credential that won (looked up
    by `winner`), or draw again when what collided was only a random status index."""
    for _ in range(3):
        try:
            return issue()
        except IntegrityError:
            try:
                return Credential.objects.get(**winner)
            except Credential.DoesNotExist:
                continue
    return issue()


def _lock_learner(learner_pk: int) -> None:
    """Serialise issuing for one learner until the transaction ends: two outcomes recorded at
    once on two workers (two units of a skill set, or the same unit in two cohorts) would
    otherwise each see nothing in force and issue twice."""
    get_user_model().objects.select_for_update().filter(pk=learner_pk).first()


def _in_force(now: datetime) -> Q:
    """Credentials neither revoked nor expired at `now` (not yet valid ones count: they are
    issued and will be in force)."""
    return Q(revoked_at__isnull=True) & (Q(valid_until__isnull=True) | Q(valid_until__gt=now))


def _unit_credential(outcome: Outcome, achievement: Achievement) -> Credential:
    """The learner's unit credential in force for `achievement`, else a new one for `outcome`.

    Call with the learner locked (`_lock_learner`): the same unit Competent twice (two cohorts,
    or a credit transfer recorded on enrolment) gives one credential; only once it has expired
    or been revoked does a new outcome issue another (a renewal)."""
    held = (
        Credential.objects.filter(_in_force(timezone.now()))
        .filter(learner_id=outcome.learner_id, achievement=achievement)
        .order_by("-issued_at", "-id")
        .first()
    )
    if held is not None:
        return held
    return _issue_once(
        lambda: _issue(
            learner=outcome.learner,
            achievement=achievement,
            outcome=outcome,
            valid_from=outcome.recorded_at,
            validity_months=outcome.cohort.course.validity_months,
            evidence=[_evidence(outcome)],
        ),
        outcome=outcome,
        achievement=achievement,
    )


def issue_unit_credential(outcome_id: int) -> Credential | None:
    """Issue the credential for a current, competent outcome, and the course credential of
    every skill set or microcredential it completes (`issue_stacked_credentials`); idempotent.

    Returns None for a missing, superseded or not-competent outcome, and the learner's unit
    credential still in force when the unit was already held (Competent in another cohort, or
    credited on enrolment): one unit, one credential. One credential per outcome is enforced by
    a unique constraint as well: a second run, or a concurrent worker, gets the existing row.
    Runs in one transaction, with the learner's row locked.
    """
    outcome = (
        Outcome.objects.select_related("learner", "unit", "cohort__course")
        .filter(pk=outcome_id, superseded_by__isnull=True)
        .first()
    )
    if outcome is None or not outcome.competent:
        return None
    course = outcome.cohort.course
    achievement = achievement_for_unit(outcome.unit, course)

    found = Credential.objects.filter(outcome=outcome, achievement=achievement).first()
    if found is not None:
        return found
    with transaction.atomic():
        _lock_learner(outcome.learner_id)
        credential = _unit_credential(outcome, achievement)
        _issue_stacked(outcome.learner, outcome.unit_id)
    return credential


def _evidence(outcome: Outcome) -> dict[str, str]:
    # A summary only: evidence files are private and never linked from a public credential.
    return {
        "name": f"Assessment of {outcome.unit.code}",
        "narrative": (
            f"{outcome.get_code_display()} recorded on {outcome.recorded_at:%Y-%m-%d} "
            f"by an assessor of {outcome.cohort.course.title}."
            if outcome.recorded_by_id is not None
            else f"{outcome.get_code_display()} recorded on {outcome.recorded_at:%Y-%m-%d} "
            f"in {outcome.cohort.course.title}: {outcome.justification}"
        ),
    }


def _held_outcomes(learner: Any, unit_ids: set[int]) -> dict[int, list[Outcome]]:
    """The learner's current competent outcomes in `unit_ids`, any cohort of any course, by
    unit, latest first: a unit counts wherever it was achieved."""
    held: dict[int, list[Outcome]] = {}
    outcomes = (
        Outcome.objects.current()
        .filter(
            learner=learner,
            unit_id__in=unit_ids,
            code__in=[
                Outcome.Code.COMPETENT,
                Outcome.Code.RPL_GRANTED,
                Outcome.Code.CREDIT_TRANSFER,
            ],
        )
        .select_related("learner", "unit", "cohort__course")
        .order_by("-recorded_at", "-id")
    )
    for outcome in outcomes:
        held.setdefault(outcome.unit_id, []).append(outcome)
    return held


def issue_stacked_credentials(learner: Any, unit_id: int) -> list[Credential]:
    """Issue the course credential of every skill set or microcredential that contains the
    unit and whose units the learner all holds (a current competent outcome in any cohort of
    any course), unless one is in force; returns those issued or in force.

    Stacking by unit code, across courses: Competent in HLTINF006 in one intake and HLTINF007
    in another completes HLTSS00065. Call inside a transaction; the learner's row is locked
    here (again, if the caller did), so concurrent completions issue one course credential.
    A fixed number of queries until a course is complete.
    """
    with transaction.atomic(savepoint=False):
        _lock_learner(learner.pk)
        return _issue_stacked(learner, unit_id)


def _issue_stacked(learner: Any, unit_id: int) -> list[Credential]:
    """`issue_stacked_credentials` with the learner already locked."""
    containing = CourseUnit.objects.filter(unit_id=unit_id).values("course_id")
    units_of: dict[int, set[int]] = {}
    for course_id, member in CourseUnit.objects.filter(
        course_id__in=containing, course__kind__in=COURSE_KINDS_WITH_CREDENTIAL
    ).values_list("course_id", "unit_id"):
        units_of.setdefault(course_id, set()).add(member)
    if not units_of:
        return []
    held = _held_outcomes(learner, set().union(*units_of.values()))
    complete = [course_id for course_id, units in units_of.items() if units <= held.keys()]
    issued = [
        _issue_course_credential(learner, course, units_of[course.pk], held)
        for course in Course.objects.filter(pk__in=complete).order_by("code")
    ]
    return issued


def issue_course_credential(learner: Any, course: Course) -> Credential | None:
    """Issue the course credential once every unit of a skill set or microcredential has a
    current competent outcome for `learner` (in any cohort of any course), unless one is
    already in force; None otherwise. Locks the learner's row (see `_lock_learner`)."""
    if course.kind not in COURSE_KINDS_WITH_CREDENTIAL:
        return None
    unit_ids = set(course.course_units.values_list("unit_id", flat=True))
    if not unit_ids:
        return None
    with transaction.atomic(savepoint=False):
        _lock_learner(learner.pk)
        held = _held_outcomes(learner, unit_ids)
        if not unit_ids <= held.keys():
            return None
        return _issue_course_credential(learner, course, unit_ids, held)


def _issue_course_credential(
    learner: Any, course: Course, unit_ids: set[int], held: dict[int, list[Outcome]]
) -> Credential:
    """With the learner locked and every unit held: the course credential in force, or a new
    one naming the unit credentials it stacks from (each unit's credential in force, issued
    now if its outcome has none yet) in its evidence, with a `StackedCredit` per unit.

    The new credential names the outcome that completed the set (the latest), so it is
    idempotent by the (outcome, achievement) constraint. A renewal (a new assessment after the
    course credential expired or was revoked) issues a new one.
    """
    achievement = achievement_for_course(course)
    now = timezone.now()
    in_force = (
        Credential.objects.filter(_in_force(now))
        .filter(learner=learner, achievement=achievement)
        .order_by("-issued_at", "-id")
        .first()
    )
    if in_force is not None:
        return in_force
    completing = max(
        (held[unit_id][0] for unit_id in unit_ids),
        key=lambda outcome: (outcome.recorded_at, outcome.pk),
    )
    found = Credential.objects.filter(outcome=completing, achievement=achievement).first()
    if found is not None:
        return found
    units = [
        cu.unit for cu in course.course_units.select_related("unit").order_by("position", "id")
    ]
    credits: list[tuple[Any, Outcome, Credential]] = []
    for unit in units:
        outcome = held[unit.pk][0]
        unit_credential = _unit_credential(outcome, achievement_for_unit(unit))
        credits.append((unit, outcome, unit_credential))

    def issue() -> Credential:
        credential = _issue(
            learner=learner,
            achievement=achievement,
            outcome=completing,
            valid_from=completing.recorded_at,
            validity_months=course.validity_months,
            evidence=[
                {
                    "name": f"Assessment of {course.code}",
                    "narrative": f"Competent in {len(units)} units of {course.title}.",
                },
                *(_stacked_evidence(unit, credential) for unit, _, credential in credits),
            ],
            alignments=tuple(
                _unit_alignment(credential.achievement) for _, _, credential in credits
            ),
        )
        StackedCredit.objects.bulk_create(
            StackedCredit(
                course_credential=credential,
                unit=unit,
                unit_credential=unit_credential,
                outcome=outcome,
            )
            for unit, outcome, unit_credential in credits
        )
        return credential

    return _issue_once(issue, outcome=completing, achievement=achievement)


def _stacked_evidence(unit: Any, credential: Credential) -> dict[str, str]:
    """OB 3.0 `Evidence` whose `id` is the unit credential's URL: its public page, which shows
    the credential and serves its signed JSON to a verifier that asks."""
    issued = timezone.localtime(credential.valid_from)
    return {
        "id": credential_url(credential.public_id),
        "name": f"{unit.code} {unit.title}",
        "narrative": (
            f"Credited from the credential for {unit.code} issued {issued.day} {issued:%B %Y}."
        ),
        "genre": "Credential",
    }


def _unit_alignment(unit_achievement: Achievement) -> Alignment:
    """The course achievement aligns to each unit achievement it is made of, by its URL."""
    data = achievement_data(unit_achievement)
    return Alignment(
        name=f"{unit_achievement.human_code} {unit_achievement.name}",
        url=data.id,
        code=unit_achievement.human_code,
        framework=issuer_profile().name,
        target_type="ceasn:Competency",
    )
