"""Issuing credentials: achievements on demand, unit credentials on Competent, course
credentials with the last unit of a skill set or microcredential."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from assessment.audit import record_event
from assessment.models import Outcome
from credentials import keys
from credentials.models import Achievement, Credential, IssuerProfile, SigningKey
from credentials.openbadges import (
    AchievementData,
    CredentialData,
    Issuer,
    add_months,
    build_credential,
    new_salt,
)
from credentials.signing import sign_credential
from delivery.models import Course, Unit

COURSE_KINDS_WITH_CREDENTIAL = {Course.Kind.SKILL_SET, Course.Kind.MICROCREDENTIAL}


def _unit_narrative(unit: Unit) -> str:
    lines = [f"Assessed Competent in {unit.code} {unit.title}, against every element:"]
    for element in unit.elements.prefetch_related("criteria").order_by("number"):
        lines.append(f"{element.number}. {element.title}")
        lines.extend(
            f"  {criterion.number} {criterion.text}" for criterion in element.criteria.all()
        )
    return "\n".join(lines)


def achievement_for_unit(unit: Unit, course: Course | None = None) -> Achievement:
    """The unit's achievement, created on first use (concurrent creators get the same row).

    `course` is accepted for the caller's context; a unit's validity is taken from the course
    at issue time, not stored on the unit's achievement.
    """
    achievement = Achievement.objects.filter(unit=unit).first()
    if achievement is not None:
        return achievement
    try:
        with transaction.atomic():
            return Achievement.objects.create(
                unit=unit,
                name=unit.title,
                description=unit.description or unit.title,
                criteria_narrative=_unit_narrative(unit),
                human_code=unit.code,
            )
    except IntegrityError:
        return Achievement.objects.get(unit=unit)


def achievement_for_course(course: Course) -> Achievement:
    """The course's achievement, created on first use, with the course's validity."""
    achievement = Achievement.objects.filter(course=course).first()
    if achievement is not None:
        return achievement
    units = [cu.unit for cu in course.course_units.select_related("unit").order_by("position")]
    narrative = "Assessed Competent in every unit of the course:\n" + "\n".join(
        f"- {unit.code} {unit.title}" for unit in units
    )
    try:
        with transaction.atomic():
            return Achievement.objects.create(
                course=course,
                name=course.title,
                description=course.description or course.title,
                criteria_narrative=narrative,
                human_code=course.code,
                validity_months=course.validity_months,
            )
    except IntegrityError:
        return Achievement.objects.get(course=course)


def issuer_profile() -> Issuer:
    """The issuer as it appears in credentials: the first `IssuerProfile`, else the host."""
    host = keys.credentials_host()
    profile = IssuerProfile.objects.first()
    if profile is None:
        return Issuer(id=keys.issuer_did(host), name=str(getattr(settings, "SITE_NAME", host)))
    return Issuer(
        id=keys.issuer_did(host),
        name=profile.name,
        url=profile.url,
        email=profile.email,
        image=profile.image,
    )


def credential_url(public_id: uuid.UUID) -> str:
    return f"https://{keys.credentials_host()}/credentials/{public_id}"


def subject_id(issuer_id: str, learner_pk: int) -> str:
    """A stable, opaque id for the learner: the same in every credential, reveals nothing."""
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{issuer_id}/learners/{learner_pk}')}"


def _achievement_data(achievement: Achievement) -> AchievementData:
    return AchievementData(
        id=f"https://{keys.credentials_host()}/achievements/{achievement.public_id}",
        name=achievement.name,
        description=achievement.description,
        criteria_narrative=achievement.criteria_narrative,
        human_code=achievement.human_code,
        achievement_type="Competency" if achievement.unit_id else "Certificate",
    )


def _issue(
    *,
    learner: Any,
    achievement: Achievement,
    outcome: Outcome | None,
    valid_from: datetime,
    validity_months: int | None,
    evidence: list[dict[str, str]],
) -> Credential:
    """Build, sign, store and audit one credential. Runs inside the caller's transaction;
    raises `IntegrityError` if the credential already exists (the unique constraints)."""
    signing_key: SigningKey = keys.active_signing_key()
    issuer = issuer_profile()
    public_id = uuid.uuid4()
    now = timezone.now()
    valid_until = add_months(valid_from, validity_months) if validity_months else None
    unsigned = build_credential(
        CredentialData(
            id=credential_url(public_id),
            issuer=issuer,
            achievement=_achievement_data(achievement),
            learner_email=learner.email,
            salt=new_salt(),
            subject_id=subject_id(issuer.id, learner.pk),
            valid_from=valid_from,
            valid_until=valid_until,
            evidence=evidence,
        )
    )
    signed = sign_credential(
        unsigned,
        private_key=keys.private_key_of(signing_key),
        verification_method=keys.verification_method_id(issuer.id, signing_key),
        created=now,
    )
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
            document=json.dumps(signed, ensure_ascii=False, separators=(",", ":")),
        )
        record_event(
            "credential.issued",
            credential,
            actor=None,
            learner=learner,
            unit=achievement.unit,
            data={
                "achievement": achievement.human_code,
                "outcome": outcome.pk if outcome else None,
                "public_id": str(public_id),
            },
        )
    return credential


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
    existing = Credential.objects.filter(outcome=outcome).first()
    if existing is not None:
        return existing
    course = outcome.cohort.course
    with transaction.atomic():
        try:
            credential = _issue(
                learner=outcome.learner,
                achievement=achievement_for_unit(outcome.unit, course),
                outcome=outcome,
                valid_from=outcome.recorded_at,
                validity_months=course.validity_months,
                evidence=[_evidence(outcome)],
            )
        except IntegrityError:
            return Credential.objects.get(outcome=outcome)
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
    current competent outcome for `learner`; None otherwise. Idempotent by the unique
    constraint on (learner, course achievement) for course credentials."""
    if course.kind not in COURSE_KINDS_WITH_CREDENTIAL:
        return None
    unit_ids = set(course.course_units.values_list("unit_id", flat=True))
    outcomes = [
        outcome
        for outcome in Outcome.objects.current().filter(learner=learner, unit_id__in=unit_ids)
        if outcome.competent
    ]
    if not unit_ids or {outcome.unit_id for outcome in outcomes} != unit_ids:
        return None
    achievement = achievement_for_course(course)
    existing = Credential.objects.filter(
        learner=learner, achievement=achievement, outcome__isnull=True
    ).first()
    if existing is not None:
        return existing
    try:
        return _issue(
            learner=learner,
            achievement=achievement,
            outcome=None,
            valid_from=max(outcome.recorded_at for outcome in outcomes),
            validity_months=course.validity_months,
            evidence=[
                {
                    "name": f"Assessment of {course.code}",
                    "narrative": f"Competent in {len(unit_ids)} units of {course.title}.",
                }
            ],
        )
    except IntegrityError:
        return Credential.objects.get(
            learner=learner, achievement=achievement, outcome__isnull=True
        )


def stored_document(credential: Credential) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(credential.document)
    return result
