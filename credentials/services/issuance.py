"""Issuing credentials: unit credentials on Competent, course credentials with the last unit of
a skill set or microcredential. Each is built, signed, stored and audited in one transaction;
its certificate is rendered and the learner told after commit."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from assessment.audit.services import record_event
from assessment.models import Outcome
from assessment.signals import record_changed
from credentials import keys, status
from credentials.documents import credential_url, dump_document, status_list_url
from credentials.models import Achievement, Credential
from credentials.openbadges import CredentialData, add_months, build_credential, new_salt
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
from delivery.models import Course
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
            achievement=achievement_data(achievement),
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


def issue_unit_credential(outcome_id: int) -> Credential | None:
    """Issue the credential for a current, competent outcome, and the course credential when
    this completes a skill set or microcredential; idempotent.

    Returns None for a missing, superseded or not-competent outcome. One credential per outcome
    is enforced by a unique constraint: a second run, or a concurrent worker, gets the
    `IntegrityError` and the existing row is returned. Runs in one transaction.
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

    def existing() -> Credential | None:
        return Credential.objects.filter(outcome=outcome, achievement=achievement).first()

    found = existing()
    if found is not None:
        return found
    with transaction.atomic():
        credential = _issue_once(
            lambda: _issue(
                learner=outcome.learner,
                achievement=achievement,
                outcome=outcome,
                valid_from=outcome.recorded_at,
                validity_months=course.validity_months,
                evidence=[_evidence(outcome)],
            ),
            outcome=outcome,
            achievement=achievement,
        )
        issue_course_credential(outcome.learner, course)
    return credential


def _evidence(outcome: Outcome) -> dict[str, str]:
    # A summary only: evidence files are private and never linked from a public credential.
    return {
        "name": f"Assessment of {outcome.unit.code}",
        "narrative": (
            f"{outcome.get_code_display()} recorded on {outcome.recorded_at:%Y-%m-%d} "
            f"by an assessor of {outcome.cohort.course.title}."
        ),
    }


def issue_course_credential(learner: Any, course: Course) -> Credential | None:
    """Issue the course credential once every unit of a skill set or microcredential has a
    current competent outcome for `learner`, unless one is already in force; None otherwise.

    The course credential names the outcome that completed the set (the latest), so it is
    idempotent by the same (outcome, achievement) constraint. The learner's row is locked
    first: two units recorded Competent at once on two workers would otherwise each see the
    set complete and issue two course credentials. A renewal (a new assessment after the
    course credential expired or was revoked) issues a new one.
    """
    if course.kind not in COURSE_KINDS_WITH_CREDENTIAL:
        return None
    unit_ids = set(course.course_units.values_list("unit_id", flat=True))
    if not unit_ids:
        return None
    # No savepoint of its own: nothing here is caught and carried on from (a colliding
    # credential is, inside `_issue`'s savepoint), so the caller's transaction is enough.
    with transaction.atomic(savepoint=False):
        get_user_model().objects.select_for_update().filter(pk=learner.pk).first()
        outcomes = [
            outcome
            for outcome in Outcome.objects.current().filter(learner=learner, unit_id__in=unit_ids)
            if outcome.competent
        ]
        if {outcome.unit_id for outcome in outcomes} != unit_ids:
            return None
        achievement = achievement_for_course(course)
        now = timezone.now()
        in_force = [
            credential
            for credential in Credential.objects.filter(learner=learner, achievement=achievement)
            if credential.status_at(now) != Credential.Status.REVOKED
            and credential.status_at(now) != Credential.Status.EXPIRED
        ]
        if in_force:
            return in_force[0]
        completing = max(outcomes, key=lambda outcome: (outcome.recorded_at, outcome.pk))

        def existing() -> Credential | None:
            return Credential.objects.filter(outcome=completing, achievement=achievement).first()

        if (found := existing()) is not None:
            return found
        return _issue_once(
            lambda: _issue(
                learner=learner,
                achievement=achievement,
                outcome=completing,
                valid_from=completing.recorded_at,
                validity_months=course.validity_months,
                evidence=[
                    {
                        "name": f"Assessment of {course.code}",
                        "narrative": f"Competent in {len(unit_ids)} units of {course.title}.",
                    }
                ],
            ),
            outcome=completing,
            achievement=achievement,
        )
