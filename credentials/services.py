"""Issuing credentials: achievements on demand, unit credentials on Competent, course
credentials with the last unit of a skill set or microcredential."""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from assessment.audit.services import record_event
from assessment.models import Outcome
from credentials import keys, status
from credentials.models import (
    Achievement,
    Credential,
    ExpiryReminder,
    IssuerProfile,
    SigningKey,
    StatusList,
)
from credentials.openbadges import (
    AchievementData,
    Alignment,
    CredentialData,
    Issuer,
    add_months,
    build_credential,
    clean_text,
    new_salt,
)
from credentials.signing import sign_credential
from delivery.links import absolute_url, public_origin
from delivery.models import Course, Unit
from delivery.notifications import notify_user

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


def credential_url(public_id: uuid.UUID) -> str:
    return absolute_url(f"/credentials/{public_id}")


def subject_id(issuer_id: str, learner_pk: int) -> str:
    """A stable, opaque id for the learner: the same in every credential, reveals nothing."""
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{issuer_id}/learners/{learner_pk}')}"


def _achievement_data(achievement: Achievement) -> AchievementData:
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
        achievement_type="Competency" if is_unit else "Certificate",
        image=absolute_url(f"/achievements/{achievement.public_id}/image.png"),
        alignments=alignments,
    )


def achievement_json(achievement: Achievement) -> dict[str, Any]:
    """The Achievement as credentials embed it, with the OB 3.0 context, for its `id` URL."""
    data = _achievement_data(achievement)
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


def status_list_url(status_list: StatusList) -> str:
    return absolute_url(f"/credentials/status/{status_list.pk}")


def _sign(document: dict[str, Any], *, issuer_id: str, now: datetime) -> tuple[dict, SigningKey]:
    signing_key: SigningKey = keys.active_signing_key()
    signed = sign_credential(
        document,
        private_key=keys.private_key_of(signing_key),
        verification_method=keys.verification_method_id(issuer_id, signing_key),
        created=now,
    )
    return signed, signing_key


def _dump(document: dict[str, Any]) -> str:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


def sign_status_list(status_list: StatusList, *, now: datetime | None = None) -> None:
    """Publish the list's current bits as a newly signed `BitstringStatusListCredential`."""
    now = now or timezone.now()
    issuer_id = keys.check_issuer(status_list.issuer_id, what=f"status list {status_list.pk}")
    # Credentials point at the list's URL as first published: keep it.
    list_url = (
        json.loads(status_list.document)["id"]
        if status_list.document
        else status_list_url(status_list)
    )
    unsigned = status.list_credential(
        list_url=list_url,
        issuer_id=issuer_id,
        bits=bytes(status_list.bits),
        valid_from=now,
    )
    signed, _ = _sign(unsigned, issuer_id=issuer_id, now=now)
    status_list.document = _dump(signed)
    status_list.signed_at = now
    status_list.issuer_id = issuer_id
    status_list.save(update_fields=["bits", "document", "signed_at", "issuer_id"])


def _status_list_with_room() -> StatusList:
    """The newest list while under half full, else a new, signed, empty one. Two workers may
    both start a new list at once; both lists are valid, so that race is harmless."""
    current = StatusList.objects.order_by("-id").first()
    if current is not None and current.credentials.count() < current.size // 2:
        return current
    with transaction.atomic():
        created = StatusList.objects.create(
            bits=status.empty_bits(StatusList.DEFAULT_SIZE), issuer_id=keys.configured_issuer_did()
        )
        sign_status_list(created)
    return created


def _allocate_status_index(status_list: StatusList) -> int:
    """A random unallocated index: a guessable order would let anyone watching the list learn
    when a neighbouring credential was revoked. A concurrent issuer drawing the same index is
    stopped by the unique constraint, and the caller draws again."""
    for _ in range(64):
        index = secrets.randbelow(status_list.size)
        if not Credential.objects.filter(status_list=status_list, status_index=index).exists():
            return index
    raise RuntimeError("status list has no free index")  # unreachable below half full


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
    status_list = _status_list_with_room()
    # The list names the deployment's issuer; a process configured otherwise stops here.
    keys.check_issuer(status_list.issuer_id, what=f"a credential in status list {status_list.pk}")
    status_index = _allocate_status_index(status_list)
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
            credential_status=status.entry(status_list_url(status_list), status_index),
        )
    )
    signed, signing_key = _sign(unsigned, issuer_id=issuer.id, now=now)
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
            document=_dump(signed),
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
    transaction.on_commit(lambda: _after_issue(credential))
    return credential


def _after_issue(credential: Credential) -> None:
    from credentials.tasks import render_certificate

    render_certificate.delay(credential.pk)
    notify_user(
        credential.learner_id,
        f"Your credential for {credential.achievement.name} has been issued.",
        level="success",
        url=reverse("credentials:wallet"),
    )


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
    with transaction.atomic():
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


def revoke_credential(credential: Credential, *, by: Any, reason: str) -> bool:
    """Revoke with a reason: set the credential's bit, re-sign its status list, audit it.

    Returns False, changing nothing, if it was already revoked (revoking twice is harmless).
    The credential and its list are locked, so two revocations in one list cannot each write
    back a copy of the bits missing the other's bit.
    """
    reason = clean_text(reason).strip()
    if not reason:
        raise ValueError("a revocation needs a reason")
    with transaction.atomic():
        locked = (
            Credential.objects.select_for_update(of=("self",))
            .select_related("achievement")
            .get(pk=credential.pk)
        )
        if locked.revoked_at is not None:
            return False
        now = timezone.now()
        if locked.status_list_id is not None and locked.status_index is not None:
            status_list = StatusList.objects.select_for_update().get(pk=locked.status_list_id)
            status_list.bits = status.set_bit(bytes(status_list.bits), locked.status_index)
            sign_status_list(status_list, now=now)
        locked.revoked_at = now
        locked.revocation_reason = reason
        locked.revoked_by = by
        locked.save(update_fields=["revoked_at", "revocation_reason", "revoked_by"])
        record_event(
            "credential.revoked",
            locked,
            actor=by,
            learner=locked.learner,
            unit=locked.achievement.unit,
            data={"public_id": str(locked.public_id), "reason": reason},
        )
    credential.refresh_from_db()
    return True


def stored_document(credential: Credential) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(credential.document)
    return result


def ensure_certificate(credential: Credential, *, force: bool = False) -> Credential:
    """The credential with its certificate PDF stored, rendering it if missing (or `force`).

    Rendered in the background after issue; a request that finds none renders it on demand,
    so a lost task or a wiped storage never leaves the learner without their certificate.
    """
    from credentials.certificate import render_certificate_pdf

    if credential.certificate and not force:
        return credential
    pdf = render_certificate_pdf(credential)
    old_name = credential.certificate.name if credential.certificate else ""
    credential.certificate.save(
        f"{credential.public_id}-{secrets.token_hex(4)}.pdf", ContentFile(pdf), save=False
    )
    credential.certificate_rendered_at = timezone.now()
    credential.save(update_fields=["certificate", "certificate_rendered_at"])
    if old_name:
        credential.certificate.storage.delete(old_name)
    return credential


def send_expiry_reminders(*, now: datetime | None = None) -> int:
    """Remind learners 90 and 30 days before a credential expires, by e-mail and in the app.

    Idempotent: each (credential, days) reminder is a row under a unique constraint, created
    before the e-mail is queued, so a second run or a second worker sends nothing twice. A
    credential found only inside the 30-day window gets just the 30-day reminder.
    """
    from delivery.tasks import send_email

    now = now or timezone.now()
    sent = 0
    days_windows = sorted(settings.CREDENTIALS_REMINDER_DAYS)
    for days in days_windows:
        inner = max((d for d in days_windows if d < days), default=0)
        due = (
            Credential.objects.filter(
                revoked_at__isnull=True,
                valid_until__gt=now + timedelta(days=inner),
                valid_until__lte=now + timedelta(days=days),
            )
            .exclude(reminders__days_before=days)
            .select_related("learner", "achievement")
        )
        for credential in due:
            try:
                with transaction.atomic():
                    ExpiryReminder.objects.create(credential=credential, days_before=days)
            except IntegrityError:
                continue
            when = timezone.localtime(credential.valid_until)
            message = (
                f"Your credential {credential.achievement.name} expires on {when:%d %B %Y}. "
                "Renewing it takes a new assessment: ask your trainer."
            )
            notify_user(
                credential.learner_id, message, level="warning", url=reverse("credentials:wallet")
            )
            if credential.learner.email:
                send_email.delay_on_commit(
                    f"Your credential expires on {when:%d %B %Y}",
                    message + f"\n\nYour credentials: {site_url(reverse('credentials:wallet'))}\n",
                    [credential.learner.email],
                )
            sent += 1
    return sent


def site_url(path: str) -> str:
    return absolute_url(path)


@dataclass(frozen=True)
class IssuerMove:
    """What `move_issuer_host` re-signed (or, in a dry run, would re-sign)."""

    to: str
    moved_from: frozenset[str]
    status_lists: int
    credentials: int


def _rehome(value: Any, *, dids: dict[str, str], origins: dict[str, str]) -> Any:
    """`value` with every old issuer DID (and its key ids, `did#key`) and every URL on an old
    origin rewritten to the new ones; the proof is left out (it is made again)."""
    if isinstance(value, dict):
        return {
            key: _rehome(item, dids=dids, origins=origins)
            for key, item in value.items()
            if key != "proof"
        }
    if isinstance(value, list):
        return [_rehome(item, dids=dids, origins=origins) for item in value]
    if isinstance(value, str):
        for old, new in dids.items():
            if value == old or value.startswith(old + "#"):
                return new + value[len(old) :]
        for old, new in origins.items():
            if value == old or value.startswith(old + "/"):
                return new + value[len(old) :]
    return value


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def move_issuer_host(*, dry_run: bool = False) -> IssuerMove:
    """Re-sign every status list and credential recorded under another issuer DID as the
    issuer this process is configured for, with every URL they carry moved to PUBLIC_URL.

    The procedure for moving a deployment to a new host (docs/moving-host.md): run it once
    with the new settings. One transaction, rows locked; each credential keeps its id path,
    dates, subject and status index, gets a new proof by the active key, an audit event
    (`credential.moved`), and its certificate rendered again after commit. Copies held
    elsewhere (downloaded JSON, baked badges, PDFs) still name the old issuer. Idempotent:
    a second run finds nothing to move.
    """
    new_did = keys.configured_issuer_did()
    new_origin = public_origin()
    now = timezone.now()
    with transaction.atomic():
        lists = list(StatusList.objects.select_for_update().exclude(issuer_id=new_did))
        credentials = list(
            Credential.objects.select_for_update(of=("self",))
            .select_related("achievement", "learner")
            .exclude(issuer_id=new_did)
        )
        moved_from = frozenset(
            issuer
            for issuer in [*(sl.issuer_id for sl in lists), *(c.issuer_id for c in credentials)]
            if issuer
        )
        result = IssuerMove(new_did, moved_from, len(lists), len(credentials))
        if dry_run:
            return result
        for status_list in lists:
            status_list.issuer_id = new_did
            status_list.document = ""  # published again at its URL on the new origin
            sign_status_list(status_list, now=now)
        for credential in credentials:
            document = stored_document(credential)
            issuer = document.get("issuer")
            old_did = str(issuer.get("id", "") if isinstance(issuer, dict) else issuer)
            old_origin = _origin_of(str(document.get("id", "")))
            moved = _rehome(document, dids={old_did: new_did}, origins={old_origin: new_origin})
            signed, signing_key = _sign(moved, issuer_id=new_did, now=now)
            credential.document = _dump(signed)
            credential.issuer_id = new_did
            credential.signing_key = signing_key
            credential.save(update_fields=["document", "issuer_id", "signing_key"])
            record_event(
                "credential.moved",
                credential,
                actor=None,
                learner=credential.learner,
                unit=credential.achievement.unit,
                data={"public_id": str(credential.public_id), "from": old_did, "to": new_did},
            )
        transaction.on_commit(lambda: _render_again([c.pk for c in credentials]))
    return result


def _render_again(credential_ids: list[int]) -> None:
    from credentials.tasks import render_certificate

    for pk in credential_ids:
        render_certificate.delay(pk, force=True)
