"""Every change of enrolment: signing up, the learner's details, places (at once, by approval,
from a waiting list), invitations, withdrawal and transfer.

Places are decided under a lock on the intake's row (`select_for_update`), so two learners
asking for the last place at once queue: one gets it, the other joins the waiting list. Every
function raises ValidationError, in words the person reads, when a rule refuses; nothing is
changed then.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode

from delivery.enrolment.requirements import unmet_requirements
from delivery.enrolment.selectors import places_left, when, window_problem, with_places
from delivery.enrolment.usi import normalise_usi, validate_usi
from delivery.links import absolute_url
from delivery.models import (
    Cohort,
    Course,
    Enrolment,
    EnrolmentRequest,
    Invitation,
    LearnerProfile,
    WaitingListEntry,
)
from delivery.roles import Role
from delivery.services import enrol_learner, grant_role
from delivery.signals import enrolment_ended, learner_enrolled
from delivery.tasks import send_email

ACTIVE = Enrolment.Status.ACTIVE
WAITING = WaitingListEntry.Status.WAITING
OFFERED = WaitingListEntry.Status.OFFERED
PENDING = EnrolmentRequest.Status.PENDING


# --- e-mail ---------------------------------------------------------------------------------


def _email(to: str, subject: str, template: str, context: dict[str, Any]) -> None:
    """Queue one plain-text e-mail, sent once the transaction commits."""
    if not to:
        return
    body = render_to_string(
        f"delivery/enrolment/email/{template}.txt",
        {**context, "provider_name": settings.PROVIDER_NAME},
    )
    send_email.delay_on_commit(f"{settings.PROVIDER_NAME}: {subject}", body, [to])


def _link(name: str, **kwargs: Any) -> str:
    return absolute_url(reverse(name, kwargs=kwargs or None))


# --- signing up ------------------------------------------------------------------------------


class SignUpTokenGenerator(PasswordResetTokenGenerator):
    """The link in the confirmation e-mail. Its hash covers `is_active`, so the link works once:
    confirming the account spends it. Expires after PASSWORD_RESET_TIMEOUT, as reset links do."""

    key_salt = "delivery.enrolment.SignUpTokenGenerator"

    def _make_hash_value(self, user: Any, timestamp: int) -> str:
        return f"{user.pk}{user.password}{user.is_active}{user.email}{timestamp}"


sign_up_tokens = SignUpTokenGenerator()


def _username_for(email: str) -> str:
    """The e-mail address is the username people sign in with; a clash (an older account
    named so) gets a number."""
    User = get_user_model()
    base = email[:140]
    name, n = base, 1
    while User.objects.filter(username__iexact=name).exists():
        n += 1
        name = f"{base}.{n}"
    return name


def _active_account(email: str) -> Any | None:
    return (
        get_user_model().objects.filter(email__iexact=email, is_active=True).order_by("pk").first()
    )


def _set_usi(user: Any, usi: str) -> None:
    """Keep a USI (already validated) on the learner's profile; two accounts never share one."""
    profile, _ = LearnerProfile.objects.get_or_create(user=user)
    if usi and LearnerProfile.objects.filter(usi=usi).exclude(user=user).exists():
        raise ValidationError(
            {"usi": "That Unique Student Identifier belongs to another learner here."}
        )
    profile.usi = usi
    profile.updated_at = timezone.now()
    profile.save(update_fields=["usi", "updated_at"])


def clean_usi(value: str) -> str:
    """The USI as stored (normalised), or "" for none; ValidationError in words if malformed."""
    usi = normalise_usi(value or "")
    if usi:
        validate_usi(usi)
    return usi


@transaction.atomic
def sign_up(
    *, email: str, first_name: str, last_name: str, password: str, usi: str = "", next_url: str = ""
) -> Any:
    """An account, inactive until its owner opens the link e-mailed to `email`; the link
    carries `next_url` (a local path) so that "sign up to enrol" returns to the intake.

    An address with an active account is refused; one whose earlier sign-up was never
    confirmed (or that staff enrolled from a CSV) is taken over by this sign-up.
    """
    email = email.strip().lower()
    validate_email(email)
    if _active_account(email) is not None:
        raise ValidationError(
            {
                "email": "There is already an account with this e-mail address. Sign in, or reset "
                "your password if you have forgotten it."
            }
        )
    usi = clean_usi(usi)
    User = get_user_model()
    user = User.objects.filter(email__iexact=email, is_active=False).order_by("pk").first()
    if user is None:
        user = User(username=_username_for(email), email=email, is_active=False)
    user.first_name, user.last_name = first_name.strip(), last_name.strip()
    user.set_password(password)
    user.save()
    if usi:
        _set_usi(user, usi)
    link = _link(
        "signup_confirm",
        uidb64=urlsafe_base64_encode(force_bytes(user.pk)),
        token=sign_up_tokens.make_token(user),
    )
    if next_url:
        link += "?" + urlencode({"next": next_url})
    _email(email, "confirm your e-mail address", "confirm", {"user": user, "link": link})
    return user


@transaction.atomic
def confirm_sign_up(uidb64: str, token: str) -> Any:
    """Activate the account the link names; ValidationError if the link is wrong, used or
    expired (the same words for all three: which one is nobody else's business)."""
    refused = ValidationError(
        "This confirmation link is not valid: it may have expired or been used already. "
        "Sign in if you have confirmed your account, or sign up again for a new link."
    )
    try:
        pk = int(urlsafe_base64_decode(uidb64).decode())
    except (ValueError, UnicodeDecodeError, OverflowError):
        raise refused from None
    user = get_user_model().objects.select_for_update().filter(pk=pk).first()
    if user is None or user.is_active or not sign_up_tokens.check_token(user, token):
        raise refused
    user.is_active = True
    user.save(update_fields=["is_active"])
    grant_role(user, Role.LEARNER)
    return user


@transaction.atomic
def save_learner_details(user: Any, *, first_name: str, last_name: str, usi: str) -> None:
    """The learner's name and USI ("Your details")."""
    usi = clean_usi(usi)
    user.first_name, user.last_name = first_name.strip(), last_name.strip()
    user.save(update_fields=["first_name", "last_name"])
    _set_usi(user, usi)


# --- places ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlaceOutcome:
    """What `request_place` did: "enrolled", "requested" (approval needed) or "waiting"."""

    kind: str
    message: str
    enrolment: Enrolment | None = None
    request: EnrolmentRequest | None = None
    entry: WaitingListEntry | None = None


def _lock(cohort: Cohort | int) -> Cohort:
    """The intake, its row locked until the transaction ends: places are decided one at a time."""
    pk = cohort.pk if isinstance(cohort, Cohort) else cohort
    return Cohort.objects.select_for_update().select_related("course").get(pk=pk)


def _enrol(learner: Any, cohort: Cohort) -> Enrolment:
    """An active enrolment: a new one, or the learner's earlier one in this intake taken up
    again (after a withdrawal)."""
    existing = Enrolment.objects.filter(learner=learner, cohort=cohort).first()
    if existing is None:
        return enrol_learner(learner, cohort)
    if existing.status != ACTIVE:
        existing.status = ACTIVE
        existing.enrolled_at = timezone.now()
        existing.ended_at = None
        existing.end_reason = ""
        existing.transferred_to = None
        existing.save(
            update_fields=["status", "enrolled_at", "ended_at", "end_reason", "transferred_to"]
        )
        grant_role(learner, Role.LEARNER)
        transaction.on_commit(lambda: learner_enrolled.send(sender=Enrolment, enrolment=existing))
    return existing


def _full(cohort: Cohort) -> bool:
    left = places_left(cohort)
    return left is not None and left <= 0


@transaction.atomic
def request_place(learner: Any, cohort: Cohort, *, message: str = "") -> PlaceOutcome:
    """A learner asks for a place in an intake the catalogue lists.

    Decided by the course and the intake, in this order: refused if already enrolled (in this
    or another intake of the course), asked already or waiting, the course closed, outside the
    window, the USI missing, or a prerequisite not held; then an approval course records a
    request for staff; a full intake puts the learner on its waiting list; otherwise the
    learner is enrolled at once (a rolling intake starts now). Locks the intake's row.
    """
    cohort = _lock(cohort)
    course = cohort.course
    if not cohort.listed:
        raise ValidationError("This intake is not open for enrolment.")
    mine = Enrolment.objects.filter(learner=learner, cohort__course=course).select_related("cohort")
    for enrolment in mine:
        if enrolment.cohort_id == cohort.pk and enrolment.status == ACTIVE:
            raise ValidationError("You are already enrolled in this intake.", code="enrolled")
        if enrolment.status == ACTIVE:
            raise ValidationError(
                f"You are already enrolled in {course.title} in another intake "
                f"({enrolment.cohort.name}).",
                code="enrolled",
            )
    if EnrolmentRequest.objects.filter(learner=learner, cohort=cohort, status=PENDING).exists():
        raise ValidationError(
            "You have already asked for a place in this intake; the provider will answer by "
            "e-mail.",
            code="pending",
        )
    entry = WaitingListEntry.objects.filter(
        learner=learner, cohort=cohort, status__in=[WAITING, OFFERED]
    ).first()
    if entry is not None:
        raise ValidationError(
            "A place in this intake is offered to you: accept it from Your enrolments."
            if entry.status == OFFERED
            else "You are already on this intake's waiting list.",
            code="waiting",
        )
    if course.enrolment == Course.Enrolling.CLOSED:
        raise ValidationError(
            f"{course.title} is closed to enrolment here: the provider enrols its learners.",
            code="closed",
        )
    problem = window_problem(cohort)
    if problem:
        raise ValidationError(problem, code="window")
    if not LearnerProfile.objects.filter(user_id=learner.pk).exclude(usi="").exists():
        raise ValidationError(
            "Add your Unique Student Identifier (USI) to your details before enrolling: a "
            "registered training organisation cannot certify your training without it.",
            code="usi_missing",
        )
    unmet = unmet_requirements(learner, course)
    if unmet:
        raise ValidationError(
            f"Before enrolling in {course.title} you need {'; '.join(unmet)}.",
            code="prerequisite",
        )
    if course.enrolment == Course.Enrolling.APPROVAL:
        request = EnrolmentRequest.objects.create(
            learner=learner, cohort=cohort, message=message.strip()
        )
        return PlaceOutcome(
            "requested",
            f"You have asked for a place in {course.title} ({cohort.name}). The provider will "
            "approve or decline it, and e-mail you.",
            request=request,
        )
    if _full(cohort):
        entry = WaitingListEntry.objects.create(learner=learner, cohort=cohort)
        ahead = WaitingListEntry.objects.filter(cohort=cohort, status=WAITING, pk__lt=entry.pk)
        position = ahead.count() + 1
        return PlaceOutcome(
            "waiting",
            f"{cohort.name} is full: you are on its waiting list, number {position}. If a place "
            "frees, it is offered to you by e-mail in turn.",
            entry=entry,
        )
    enrolment = _enrol(learner, cohort)
    start = (
        "You can start now." if cohort.rolling else f"It starts on {cohort.starts_on:%-d %B %Y}."
    )
    return PlaceOutcome(
        "enrolled", f"You are enrolled in {course.title} ({cohort.name}). {start}", enrolment
    )


@transaction.atomic
def cancel_request(request: EnrolmentRequest) -> None:
    """The learner takes back a request still waiting for approval."""
    request = EnrolmentRequest.objects.select_for_update().get(pk=request.pk)
    if request.status != PENDING:
        raise ValidationError(f"This request is already {request.get_status_display().lower()}.")
    request.status = EnrolmentRequest.Status.CANCELLED
    request.decided_at = timezone.now()
    request.save(update_fields=["status", "decided_at"])


@transaction.atomic
def decide_request(
    request: EnrolmentRequest, *, by: Any, approve: bool, reason: str = ""
) -> EnrolmentRequest:
    """Staff approve (enrol, if a place is left) or decline (a reason the learner reads is
    required) a request; the learner is e-mailed either way. Locks the intake."""
    cohort = _lock(request.cohort_id)
    request = (
        EnrolmentRequest.objects.select_for_update().select_related("learner").get(pk=request.pk)
    )
    if request.status != PENDING:
        raise ValidationError(f"This request is already {request.get_status_display().lower()}.")
    reason = reason.strip()
    if approve:
        if not Enrolment.objects.filter(
            learner=request.learner, cohort=cohort, status=ACTIVE
        ).exists() and _full(cohort):
            raise ValidationError(
                "The intake is full: there is no place to approve. Add places to the intake, "
                "or decline the request with a reason."
            )
        _enrol(request.learner, cohort)
        request.status = EnrolmentRequest.Status.APPROVED
    else:
        if not reason:
            raise ValidationError(
                {"reason": "Say why the request is declined: the learner reads it."}
            )
        request.status = EnrolmentRequest.Status.DECLINED
    request.reason = reason
    request.decided_by = by
    request.decided_at = timezone.now()
    request.save(update_fields=["status", "reason", "decided_by", "decided_at"])
    _email(
        request.learner.email,
        "your request for a place",
        "decision",
        {"request": request, "cohort": cohort, "link": _link("delivery:my_enrolments")},
    )
    return request


# --- the waiting list ------------------------------------------------------------------------


def _offer_free_places(cohort: Cohort, now: datetime | None = None) -> list[WaitingListEntry]:
    """Offer each free place to the next learner waiting, in the order they joined. The caller
    holds the intake's lock."""
    now = now or timezone.now()
    offered = []
    left = places_left(cohort)
    while left is None or left > 0:
        entry = (
            cohort.waiting_list.filter(status=WAITING)
            .select_related("learner")
            .order_by("joined_at", "id")
            .first()
        )
        if entry is None:
            break
        entry.status = OFFERED
        entry.offered_at = now
        entry.offer_expires_at = now + timedelta(days=settings.ENROLMENT_OFFER_DAYS)
        entry.save(update_fields=["status", "offered_at", "offer_expires_at"])
        _email(
            entry.learner.email,
            f"a place in {cohort.course.title} is yours to take",
            "offer",
            {
                "entry": entry,
                "cohort": cohort,
                "expires": when(entry.offer_expires_at),
                "link": _link("delivery:my_enrolments"),
            },
        )
        offered.append(entry)
        if left is not None:
            left -= 1
    return offered


def _end_entry(entry: WaitingListEntry, status: str, now: datetime) -> bool:
    """End a waiting or offered entry; True when it held an offered place (now free)."""
    held = entry.status == OFFERED
    entry.status = status
    entry.ended_at = now
    entry.save(update_fields=["status", "ended_at"])
    return held


@transaction.atomic
def accept_offer(entry: WaitingListEntry) -> Enrolment:
    """The learner takes the place offered to them, before the offer expires."""
    cohort = _lock(entry.cohort_id)
    entry = WaitingListEntry.objects.select_for_update().select_related("learner").get(pk=entry.pk)
    now = timezone.now()
    if entry.status != OFFERED:
        raise ValidationError(
            "This place is no longer offered to you"
            + (
                f" (the offer {entry.get_status_display().lower()})."
                if entry.status != WAITING
                else "."
            )
        )
    if entry.offer_expires_at is not None and entry.offer_expires_at <= now:
        raise ValidationError(
            f"This offer expired on {when(entry.offer_expires_at)}; the place passes to the next "
            "learner waiting."
        )
    _end_entry(entry, WaitingListEntry.Status.ACCEPTED, now)
    return _enrol(entry.learner, cohort)


@transaction.atomic
def decline_offer(entry: WaitingListEntry) -> None:
    """The learner turns the offered place down; it goes to the next learner waiting."""
    cohort = _lock(entry.cohort_id)
    entry = WaitingListEntry.objects.select_for_update().get(pk=entry.pk)
    if entry.status != OFFERED:
        raise ValidationError("This place is no longer offered to you.")
    _end_entry(entry, WaitingListEntry.Status.DECLINED, timezone.now())
    _offer_free_places(cohort)


@transaction.atomic
def leave_waiting_list(entry: WaitingListEntry) -> None:
    """Off the list (the learner leaving, or staff removing them); an offer they held passes
    to the next learner."""
    cohort = _lock(entry.cohort_id)
    entry = WaitingListEntry.objects.select_for_update().get(pk=entry.pk)
    if entry.status not in (WAITING, OFFERED):
        raise ValidationError("This place on the waiting list has already ended.")
    if _end_entry(entry, WaitingListEntry.Status.LEFT, timezone.now()):
        _offer_free_places(cohort)


def expire_offers(now: datetime | None = None) -> int:
    """Offers past their time expire and pass on (Celery beat, every few minutes); each intake
    in a transaction of its own. Returns how many expired."""
    now = now or timezone.now()
    cohort_ids = set(
        WaitingListEntry.objects.filter(status=OFFERED, offer_expires_at__lte=now).values_list(
            "cohort_id", flat=True
        )
    )
    expired = 0
    for cohort_id in sorted(cohort_ids):
        with transaction.atomic():
            cohort = _lock(cohort_id)
            entries = list(
                cohort.waiting_list.select_for_update()
                .filter(status=OFFERED, offer_expires_at__lte=now)
                .select_related("learner")
            )
            for entry in entries:
                _end_entry(entry, WaitingListEntry.Status.EXPIRED, now)
                _email(
                    entry.learner.email,
                    "the place offered to you has passed on",
                    "offer_expired",
                    {"entry": entry, "cohort": cohort},
                )
            expired += len(entries)
            _offer_free_places(cohort, now)
    return expired


# --- staff: withdrawal and transfer ----------------------------------------------------------


def _reason(reason: str, what: str) -> str:
    reason = reason.strip()
    if not reason:
        raise ValidationError(
            {"reason": f"Say why the learner is {what}: it is kept in the audit trail."}
        )
    return reason


def _active(enrolment: Enrolment) -> Enrolment:
    enrolment = (
        Enrolment.objects.select_for_update()
        .select_related("learner", "cohort__course")
        .get(pk=enrolment.pk)
    )
    if enrolment.status != ACTIVE:
        raise ValidationError(
            "Only an active enrolment can change; this one is "
            f"{enrolment.get_status_display().lower()}."
        )
    return enrolment


def _leave_course_lists(learner: Any, course: Course, now: datetime) -> None:
    """A learner leaving a course leaves its other intakes' waiting lists and requests too;
    a place offered to them there passes to the next learner."""
    entries = WaitingListEntry.objects.filter(
        learner=learner, cohort__course=course, status__in=[WAITING, OFFERED]
    ).order_by("cohort_id")
    for entry in entries:
        other = _lock(entry.cohort_id)
        if _end_entry(entry, WaitingListEntry.Status.LEFT, now):
            _offer_free_places(other, now)
    EnrolmentRequest.objects.filter(learner=learner, cohort__course=course, status=PENDING).update(
        status=EnrolmentRequest.Status.CANCELLED, decided_at=now
    )


@transaction.atomic
def withdraw(enrolment: Enrolment, *, by: Any, reason: str) -> Enrolment:
    """Staff withdraw a learner (a reason is required and audited). The freed place is offered
    to the intake's waiting list, and the learner's places waiting or offered in the course's
    other intakes end too."""
    reason = _reason(reason, "withdrawn")
    cohort = _lock(enrolment.cohort_id)
    enrolment = _active(enrolment)
    now = timezone.now()
    enrolment.status = Enrolment.Status.WITHDRAWN
    enrolment.ended_at = now
    enrolment.end_reason = reason
    enrolment.save(update_fields=["status", "ended_at", "end_reason"])
    _leave_course_lists(enrolment.learner, cohort.course, now)
    enrolment_ended.send(
        sender=Enrolment, enrolment=enrolment, actor=by, action="enrolment.withdrawn"
    )
    _offer_free_places(cohort, now)
    _email(
        enrolment.learner.email,
        f"you have been withdrawn from {cohort.course.title}",
        "withdrawn",
        {"enrolment": enrolment, "cohort": cohort},
    )
    return enrolment


@transaction.atomic
def transfer(enrolment: Enrolment, to: Cohort, *, by: Any, reason: str) -> Enrolment:
    """Move a learner to another intake of the same course (a reason is required and audited);
    their place here is offered to this intake's waiting list. Locks both intakes, lower id
    first, so two transfers between the same intakes cannot deadlock."""
    reason = _reason(reason, "transferred")
    if to.pk == enrolment.cohort_id:
        raise ValidationError({"to": "Choose another intake: the learner is already in this one."})
    locked = {pk: _lock(pk) for pk in sorted({enrolment.cohort_id, to.pk})}
    source, target = locked[enrolment.cohort_id], locked[to.pk]
    if target.course_id != source.course_id:
        raise ValidationError(
            {"to": "A learner can move only to another intake of the same course."}
        )
    enrolment = _active(enrolment)
    if Enrolment.objects.filter(learner=enrolment.learner, cohort=target, status=ACTIVE).exists():
        raise ValidationError({"to": f"The learner is already enrolled in {target.name}."})
    if _full(target):
        raise ValidationError({"to": f"{target.name} is full."})
    moved = _enrol(enrolment.learner, target)
    now = timezone.now()
    enrolment.status = Enrolment.Status.WITHDRAWN
    enrolment.ended_at = now
    enrolment.end_reason = reason
    enrolment.transferred_to = moved
    enrolment.save(update_fields=["status", "ended_at", "end_reason", "transferred_to"])
    enrolment_ended.send(
        sender=Enrolment, enrolment=enrolment, actor=by, action="enrolment.transferred"
    )
    _offer_free_places(source, now)
    _email(
        enrolment.learner.email,
        f"your intake of {source.course.title} has changed",
        "transferred",
        {
            "enrolment": enrolment,
            "source": source,
            "target": target,
            "link": _link("delivery:my_enrolments"),
        },
    )
    return moved


# --- staff: enrolling people, invitations ----------------------------------------------------


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _invite(cohort: Cohort, email: str, by: Any, *, new_account: bool = False) -> Invitation:
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        email=email,
        cohort=cohort,
        token_hash=token_hash(token),
        invited_by=by,
        expires_at=timezone.now() + timedelta(days=settings.ENROLMENT_INVITATION_DAYS),
    )
    _email(
        email,
        f"you are invited to {cohort.course.title}",
        "invitation",
        {
            "cohort": cohort,
            "invitation": invitation,
            "new_account": new_account,
            "expires": when(invitation.expires_at),
            "link": _link("invitation", token=token),
        },
    )
    return invitation


@dataclass(frozen=True)
class StaffEnrolment:
    kind: str  # "enrolled" or "invited"
    message: str


@transaction.atomic
def enrol_person(cohort: Cohort, *, email: str, by: Any) -> StaffEnrolment:
    """Staff enrol one person by e-mail: a learner with an account is enrolled at once (and
    told); anyone else is e-mailed an invitation whose link signs them up and enrols them.
    Staff enrol whatever the course's mode and window, but not past the intake's places."""
    email = email.strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError({"email": "Enter a valid e-mail address."}) from None
    cohort = _lock(cohort)
    user = _active_account(email)
    if user is None:
        _invite(cohort, email, by)
        return StaffEnrolment(
            "invited", f"{email} has been e-mailed an invitation to {cohort.name}."
        )
    if Enrolment.objects.filter(learner=user, cohort=cohort, status=ACTIVE).exists():
        raise ValidationError({"email": f"{email} is already enrolled in this intake."})
    if _full(cohort):
        raise ValidationError({"email": "The intake is full: no place is left."})
    _enrol(user, cohort)
    _email(
        email,
        f"you are enrolled in {cohort.course.title}",
        "enrolled",
        {"cohort": cohort, "link": _link("delivery:course", cohort_id=cohort.pk)},
    )
    return StaffEnrolment("enrolled", f"{user.get_full_name() or email} is enrolled.")


def find_invitation(token: str) -> Invitation:
    """The invitation a link's token names, if it can still be used; ValidationError in words
    otherwise (unknown, used, expired)."""
    invitation = (
        Invitation.objects.filter(token_hash=token_hash(token))
        .select_related("cohort__course")
        .first()
    )
    if invitation is None:
        raise ValidationError(
            "This invitation link is not valid. Check that the whole link was opened."
        )
    if invitation.accepted_at is not None:
        raise ValidationError(
            "This invitation has already been used. Sign in to reach your courses."
        )
    if invitation.expires_at <= timezone.now():
        raise ValidationError(
            f"This invitation expired on {when(invitation.expires_at)}. Ask the provider for a "
            "new one."
        )
    return invitation


@transaction.atomic
def accept_invitation(
    token: str,
    *,
    user: Any | None = None,
    first_name: str = "",
    last_name: str = "",
    password: str = "",
    usi: str = "",
) -> Any:
    """Use an invitation once: as the signed-in `user`, or (no user) as its e-mail's new
    account: one made now, or the inactive one staff made from a CSV, activated with the
    password chosen (the link proves the address). Enrols the account in the intake, if a
    place is left. Returns the account."""
    invitation = find_invitation(token)
    cohort = _lock(invitation.cohort_id)
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at is not None:  # used meanwhile, by a request that got here first
        raise ValidationError("This invitation has already been used.")
    if user is None:
        if _active_account(invitation.email) is not None:
            raise ValidationError(
                "There is already an account with this e-mail address: sign in to accept."
            )
        usi = clean_usi(usi)
        User = get_user_model()
        user = (
            User.objects.filter(email__iexact=invitation.email, is_active=False)
            .order_by("pk")
            .first()
        )
        if user is None:
            user = User(username=_username_for(invitation.email), email=invitation.email)
        user.first_name, user.last_name = first_name.strip(), last_name.strip()
        user.is_active = True
        user.set_password(password)
        user.save()
        if usi:
            _set_usi(user, usi)
    already = Enrolment.objects.filter(learner=user, cohort=cohort, status=ACTIVE).exists()
    if not already and _full(cohort):
        raise ValidationError("The intake is full: no place is left. Contact the provider.")
    _enrol(user, cohort)
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    return user


def cohort_with_places(cohort: Cohort) -> Cohort:
    """The intake with its place counts (for the pages that show places left)."""
    return with_places(Cohort.objects.filter(pk=cohort.pk)).select_related("course").get()
