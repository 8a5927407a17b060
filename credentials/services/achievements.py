"""Achievements (what a credential attests: a unit or a course), created on first use, and the
issuer as credentials name it."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from credentials import keys
from credentials.models import Achievement, IssuerProfile
from credentials.openbadges import (
    AchievementData,
    Alignment,
    CredentialData,
    Issuer,
    build_credential,
)
from delivery.links import absolute_url, public_origin
from delivery.models import Course, Unit


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
    # With its unit, which the audit event of each credential names.
    achievement = Achievement.objects.filter(unit=unit).select_related("unit").first()
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
    did = keys.configured_issuer_did()
    profile = IssuerProfile.objects.first()
    if profile is None:  # not set up in the admin yet: the provider this deployment serves
        return Issuer(id=did, name=settings.PROVIDER_NAME, url=public_origin())
    return Issuer(
        id=did,
        name=profile.name,
        url=profile.url,
        email=profile.email,
        image=profile.image,
    )


def _achievement_type(achievement: Achievement) -> str:
    """OB 3.0's AchievementType: a unit is a competency, a course's credential a certificate,
    a pathway's milestone a badge."""
    if achievement.unit_id is not None:
        return "Competency"
    if achievement.course_id is not None:
        return "Certificate"
    return "Badge"


def achievement_data(achievement: Achievement) -> AchievementData:
    """The achievement as the OB 3.0 JSON describes it, with its register alignment if any."""
    is_unit = achievement.unit_id is not None
    alignments: tuple[Alignment, ...] = ()
    register = str(getattr(settings, "CREDENTIALS_REGISTER_URL", ""))
    if register:
        alignments = (
            Alignment(
                name=f"{achievement.human_code} {achievement.name}",
                url=register.format(code=achievement.human_code),
                code=achievement.human_code,
                framework=str(getattr(settings, "CREDENTIALS_REGISTER_NAME", "")),
                target_type="ceasn:Competency" if is_unit else "ceterms:Credential",
            ),
        )
    return AchievementData(
        id=absolute_url(f"/achievements/{achievement.public_id}"),
        name=achievement.name,
        description=achievement.description,
        criteria_narrative=achievement.criteria_narrative,
        human_code=achievement.human_code,
        achievement_type=_achievement_type(achievement),
        image=absolute_url(f"/achievements/{achievement.public_id}/image.png"),
        alignments=alignments,
    )


def achievement_json(achievement: Achievement) -> dict[str, Any]:
    """The Achievement as credentials embed it, with the OB 3.0 context, for its `id` URL."""
    data = achievement_data(achievement)
    unsigned = build_credential(
        CredentialData(
            id="urn:example",
            issuer=Issuer(id="did:example", name=""),
            achievement=data,
            learner_email="",
            salt="",
            subject_id="urn:example",
            valid_from=timezone.now(),
        )
    )
    return {"@context": unsigned["@context"], **unsigned["credentialSubject"]["achievement"]}
