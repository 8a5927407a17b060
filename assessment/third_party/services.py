"""Third-party reports: a workplace supervisor, who has no account, completes a task's checklist
through a signed, expiring, single-use link the learner asked us to e-mail them.

The link carries `<request id>.<random token>`, signed with a timestamp: an altered link fails
the signature before anything is read, and a link older than MAX_DAYS_VALID fails whatever the
database says. Only the SHA-256 of the random token is stored, so a copy of the database opens
no report; a new link for the same request (a resend) replaces the hash, which retires the old
link. The request's `expires_at` is the deadline the supervisor was told, and `used_at` makes
the link single-use: completion locks the attempt and reads the request again under the lock,
so two tabs submitting at once complete it once.

Shape after django.contrib.auth.tokens: a small signer class, a module-level default instance,
constant-time comparison of the stored hash.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import dateformat, timezone

from assessment import services
from assessment.audit.services import record_event
from assessment.models import Answer, Attempt, Item, Task, ThirdPartyRequest
from delivery.models import Cohort

DEFAULT_DAYS_VALID = 14
MAX_DAYS_VALID = 60
# Long enough to stop a learner flooding an inbox, short enough to fix a mistyped address.
RESEND_AFTER = timedelta(minutes=2)

SUPERVISOR_DECLARATION = (
    "I declare that I directly observed {learner} performing this work in the workplace, and "
    "that this report is true and correct."
)
# The two answers a supervisor gives a checklist item, stored as Answer.choices [0] or [1].
CHECKLIST_CHOICES = ["Demonstrated", "Not demonstrated"]
DEMONSTRATED, NOT_DEMONSTRATED = 0, 1

MAX_TEXT = 10_000


# The link ----------------------------------------------------------------------------------


class ThirdPartyLinkSigner:
    """Makes and reads the token in a supervisor's link: `<request id>.<secret>`, signed with a
    timestamp. Reading checks the signature and its age only; the stored hash, `used_at` and
    `expires_at` are checked against the row (see `open_link`)."""

    salt = "flipside.third-party"

    def __init__(self, max_age: timedelta = timedelta(days=MAX_DAYS_VALID)) -> None:
        self.max_age = max_age

    def _signer(self) -> signing.TimestampSigner:
        return signing.TimestampSigner(salt=self.salt)

    @staticmethod
    def new_secret() -> tuple[str, str]:
        """A fresh secret and the hash to store for it."""
        secret = secrets.token_urlsafe(32)
        return secret, ThirdPartyLinkSigner.hash(secret)

    @staticmethod
    def hash(secret: str) -> str:
        return hashlib.sha256(secret.encode()).hexdigest()

    def make_token(self, request_id: int, secret: str) -> str:
        return self._signer().sign(f"{request_id}.{secret}")

    def read_token(self, token: str) -> tuple[int, str]:
        """(request id, secret), or LinkRefused: "invalid" when altered, "expired" when old."""
        try:
            value = self._signer().unsign(token, max_age=self.max_age)
        except signing.SignatureExpired:
            raise LinkRefused("expired") from None
        except signing.BadSignature:
            raise LinkRefused("invalid") from None
        request_id, _, secret = value.partition(".")
        if not request_id.isdigit() or not secret:
            raise LinkRefused("invalid")
        return int(request_id), secret

    def matches(self, request: ThirdPartyRequest, secret: str) -> bool:
        return hmac.compare_digest(request.token_hash, self.hash(secret))


links = ThirdPartyLinkSigner()


_REFUSALS = {
    "invalid": (
        "This link is not valid",
        "The link may have been copied incompletely or changed. Open it again from the e-mail "
        "you were sent, or ask the learner to send you a new one.",
    ),
    "replaced": (
        "This link has been replaced",
        "A newer link was sent for this report. Please use the link in the most recent e-mail.",
    ),
    "expired": (
        "This link has expired",
        "The time for completing this report has passed. Ask the learner to send you a new "
        "link. Nothing has been saved.",
    ),
    "used": (
        "This report has already been completed",
        "Thank you: the report was received and has gone to the assessor. A link can be used "
        "once only, so nothing has been changed.",
    ),
    "closed": (
        "This report is no longer needed",
        "The learner's assessment has moved on since this link was sent, so the report cannot "
        "be completed. Nothing has been saved.",
    ),
}


class LinkRefused(Exception):
    """A supervisor's link that cannot be used now, and what to tell them.

    `reason` is one of "invalid", "replaced", "expired", "used", "closed"; `request` is the
    request the link belonged to, when the signature held.
    """

    def __init__(self, reason: str, request: ThirdPartyRequest | None = None) -> None:
        self.reason = reason
        self.request = request
        self.title, self.message = _REFUSALS[reason]
        super().__init__(self.title)


def _check(request: ThirdPartyRequest, secret: str, now: datetime) -> None:
    """The link's state, in the order a supervisor needs to hear it."""
    if not links.matches(request, secret):
        raise LinkRefused("replaced", request)
    if request.used_at is not None:
        raise LinkRefused("used", request)
    if now >= request.expires_at:
        raise LinkRefused("expired", request)
    attempt = request.attempt
    if attempt.status != Attempt.Status.DRAFT:
        raise LinkRefused("closed", request)
    availability = services.task_availability(attempt.learner, attempt.task, attempt.cohort)
    if not availability.open:
        raise LinkRefused("closed", request)


def _load(request_id: int) -> ThirdPartyRequest:
    try:
        return ThirdPartyRequest.objects.select_related(
            "attempt__task__unit", "attempt__learner", "attempt__cohort__course"
        ).get(pk=request_id)
    except ThirdPartyRequest.DoesNotExist:
        raise LinkRefused("invalid") from None


def open_link(token: str) -> ThirdPartyRequest:
    """The request a supervisor's link opens, ready to be completed; or LinkRefused saying why
    not. Reads only: nothing is locked or written."""
    request_id, secret = links.read_token(token)
    request = _load(request_id)
    _check(request, secret, timezone.now())
    return request


def link_url(token: str, *, base_url: str) -> str:
    """The absolute link for the e-mail. `base_url` is the site's origin: PUBLIC_URL
    (`delivery.links.public_origin()`), never the request's Host, which the client chose."""
    return base_url.rstrip("/") + reverse("assessment:third_party_report", args=[token])


# Asking for a report -----------------------------------------------------------------------


def _clean_email(raw: str, learner: Any) -> str:
    email = raw.strip()
    if not email:
        raise ValidationError("Give your supervisor's e-mail address.")
    if len(email) > 254:
        raise ValidationError("That e-mail address is too long.")
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError(f"“{email}” is not an e-mail address.") from None
    if learner.email and email.lower() == learner.email.strip().lower():
        raise ValidationError(
            "That is your own e-mail address: the report must come from your supervisor."
        )
    return email


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _learner_name(learner: Any) -> str:
    return str(learner.get_full_name() or learner.get_username())


@transaction.atomic
def request_third_party_report(
    learner: Any,
    task: Task,
    cohort: Cohort,
    *,
    requested_by: Any,
    supervisor_email: str,
    base_url: str,
    days_valid: int = DEFAULT_DAYS_VALID,
) -> tuple[ThirdPartyRequest, str]:
    """E-mail a workplace supervisor a link to complete `task`'s report on `learner`.

    Opens (or reuses) the learner's draft through `services.start_attempt`, so the rules for
    opening a task apply. Asking again for the same draft is a resend: a new link, a new
    deadline and perhaps a new address, and the old link stops working; refused within
    RESEND_AFTER of the last send. Locks the attempt. The e-mail goes through Celery once the
    transaction commits. Returns the request and the link (absolute, with `base_url`).
    Raises ValidationError with a message for the learner.
    """
    if task.kind != Task.Kind.THIRD_PARTY_REPORT:
        raise ValidationError("Only a third-party report is completed by a workplace supervisor.")
    email = _clean_email(supervisor_email, learner)
    if not 1 <= days_valid <= MAX_DAYS_VALID:
        raise ValidationError(f"A link can be valid for 1 to {MAX_DAYS_VALID} days.")
    draft = services.start_attempt(learner, task, cohort)
    attempt = (
        Attempt.objects.select_for_update(of=("self",))
        .select_related("task__unit", "learner", "cohort")
        .get(pk=draft.pk)
    )
    now = timezone.now()
    request = ThirdPartyRequest.objects.filter(attempt=attempt).first()
    if request is not None and request.used_at is not None:
        raise ValidationError("Your supervisor has already completed this report.")
    if request is not None and now - request.sent_at < RESEND_AFTER:
        wait_until = dateformat.format(timezone.localtime(request.sent_at + RESEND_AFTER), "g:i a")
        raise ValidationError(
            f"A link was sent to {request.supervisor_email} moments ago. You can send another "
            f"at {wait_until} or later."
        )
    secret, token_hash = links.new_secret()
    expires_at = now + timedelta(days=days_valid)
    resent = request is not None
    if request is None:
        request = ThirdPartyRequest.objects.create(
            attempt=attempt,
            supervisor_email=email,
            token_hash=token_hash,
            sent_by=requested_by,
            sent_at=now,
            expires_at=expires_at,
        )
    else:
        request.supervisor_email = email
        request.token_hash = token_hash
        request.sent_by = requested_by
        request.sent_at = now
        request.expires_at = expires_at
        request.save(
            update_fields=["supervisor_email", "token_hash", "sent_by", "sent_at", "expires_at"]
        )
    url = link_url(links.make_token(request.pk, secret), base_url=base_url)
    record_event(
        "third_party.resent" if resent else "third_party.requested",
        request,
        actor=requested_by,
        learner=attempt.learner,
        unit=attempt.task.unit,
        data={
            "attempt": attempt.pk,
            "task": attempt.task.key,
            "supervisor_email": email,
            "expires_at": expires_at,
        },
    )
    _email_supervisor(request, url)
    return request, url


def _email_supervisor(request: ThirdPartyRequest, url: str) -> None:
    from delivery.tasks import send_email

    attempt = request.attempt
    learner = _learner_name(attempt.learner)
    context = {
        "learner_name": learner,
        "task": attempt.task,
        "url": url,
        "expires_at": request.expires_at,
        "provider_name": settings.PROVIDER_NAME,
    }
    send_email.delay_on_commit(
        _one_line(f"{learner} asks for your workplace report: {attempt.task.title}"),
        render_to_string("assessment/email/third_party_request.txt", context),
        [request.supervisor_email],
    )


# Completing a report -----------------------------------------------------------------------


@dataclass(frozen=True)
class SupervisorAnswer:
    """What a supervisor gave for one item, as posted. A checklist item takes `demonstrated`
    (None when not chosen) and a comment in `text`; a written item takes `text`; a choice item
    takes `choices` (option indexes, as strings)."""

    demonstrated: bool | None = None
    text: str = ""
    choices: tuple[str, ...] = ()


def report_items(request: ThirdPartyRequest) -> list[tuple[Item, bool]]:
    """The task's items in order, each with whether it is carried forward (Satisfactory in the
    attempt before, so the supervisor is not asked it again)."""
    attempt = request.attempt
    carried = set(attempt.answers.filter(carried_forward=True).values_list("item_id", flat=True))
    return [(item, item.id in carried) for item in attempt.task.items.order_by("position", "id")]


def _clean_item(item: Item, given: SupervisorAnswer | None) -> tuple[str, list[int]]:
    """The Answer's (text, choices) for `item`, or ValidationError naming the item's field."""
    field = f"item-{item.key}"
    given = given or SupervisorAnswer()
    text = given.text.strip()
    if len(text) > MAX_TEXT:
        raise ValidationError({field: f"Keep this under {MAX_TEXT:,} characters."})
    if item.kind == Item.Kind.CHECKLIST:
        if given.demonstrated is None:
            raise ValidationError({field: "Say whether this was demonstrated."})
        return text, [DEMONSTRATED if given.demonstrated else NOT_DEMONSTRATED]
    if item.auto_marked:
        if not given.choices:
            raise ValidationError({field: "Choose an answer."})
        try:
            _, picked = services.clean_answer(item, list(given.choices))
        except ValidationError as exc:
            raise ValidationError({field: exc.message_dict[item.key]}) from None
        return "", picked
    if not text:
        raise ValidationError({field: "Answer this question."})
    return text, []


def _clean_report(
    items: list[tuple[Item, bool]],
    *,
    supervisor_name: str,
    supervisor_role: str,
    declared: bool,
    answers: Mapping[str, SupervisorAnswer],
) -> dict[int, tuple[str, list[int]]]:
    """Every problem at once, by field, so the supervisor fixes them in one go."""
    errors: dict[str, list[str]] = {}
    cleaned: dict[int, tuple[str, list[int]]] = {}
    for item, carried in items:
        if carried:
            continue
        try:
            cleaned[item.pk] = _clean_item(item, answers.get(item.key))
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                errors.setdefault(field, []).extend(messages)
    for field, value, label in (
        ("supervisor_name", supervisor_name, "your name"),
        ("supervisor_role", supervisor_role, "your role"),
    ):
        if not value.strip():
            errors[field] = [f"Give {label}."]
        elif len(value.strip()) > 255:
            errors[field] = [f"Keep {label} under 255 characters."]
    if not declared:
        errors["declared"] = ["Tick the declaration to send the report."]
    if errors:
        raise ValidationError(errors)
    return cleaned


@transaction.atomic
def complete_third_party_report(
    token: str,
    *,
    supervisor_name: str,
    supervisor_role: str,
    declared: bool,
    answers: Mapping[str, SupervisorAnswer],
) -> ThirdPartyRequest:
    """The supervisor's report: answers saved, the attempt submitted (snapshot frozen, now in
    the assessor's queue), the link used up, `third_party.completed` audited (no actor: the
    supervisor has no account; their name and role are in the event).

    Locks the attempt, then reads the request again, so a second submission (another tab, a
    reload) finds it used. Raises LinkRefused when the link cannot be used, and
    ValidationError keyed by field ("item-<key>", "supervisor_name", "supervisor_role",
    "declared") when the report is incomplete; either way nothing is written and the link
    stays as it was.
    """
    request_id, secret = links.read_token(token)
    attempt_id = (
        ThirdPartyRequest.objects.filter(pk=request_id).values_list("attempt_id", flat=True).first()
    )
    if attempt_id is None:
        raise LinkRefused("invalid")
    # The lock comes first, then the request is read afresh: a report completed meanwhile shows.
    Attempt.objects.select_for_update().get(pk=attempt_id)
    request = _load(request_id)
    now = timezone.now()
    _check(request, secret, now)
    attempt = request.attempt
    items = report_items(request)
    cleaned = _clean_report(
        items,
        supervisor_name=supervisor_name,
        supervisor_role=supervisor_role,
        declared=declared,
        answers=answers,
    )
    name, role = _one_line(supervisor_name), _one_line(supervisor_role)
    learner = _learner_name(attempt.learner)
    declaration = SUPERVISOR_DECLARATION.format(learner=learner)

    for item_id, (text, choices) in cleaned.items():
        Answer.objects.update_or_create(
            attempt=attempt,
            item_id=item_id,
            defaults={"text": text, "choices": choices, "updated_at": now},
        )
    request.used_at = now
    request.supervisor_name = name
    request.supervisor_role = role
    request.declaration = declaration
    request.save(update_fields=["used_at", "supervisor_name", "supervisor_role", "declaration"])
    attempt.status = Attempt.Status.SUBMITTED
    attempt.submitted_at = now
    attempt.updated_at = now
    attempt.declaration = f"{name} ({role}), workplace supervisor: {declaration}"
    attempt.snapshot = _snapshot(attempt, request)
    attempt.save(update_fields=["status", "submitted_at", "updated_at", "declaration", "snapshot"])
    services.auto_mark(attempt)
    record_event(
        "third_party.completed",
        request,
        actor=None,
        learner=attempt.learner,
        unit=attempt.task.unit,
        data={
            "attempt": attempt.pk,
            "number": attempt.number,
            "supervisor_name": name,
            "supervisor_role": role,
            "supervisor_email": request.supervisor_email,
            "declaration": declaration,
            "answers": {
                item.key: list(cleaned[item.pk]) for item, _ in items if item.pk in cleaned
            },
        },
    )
    _tell_learner_completed(attempt)
    return request


def _snapshot(attempt: Attempt, request: ThirdPartyRequest) -> dict[str, Any]:
    """The usual snapshot, plus who reported, and the two answers a checklist item offered the
    supervisor (so pages that show choices show theirs)."""
    snapshot = services.attempt_snapshot(attempt)
    for item in snapshot["items"]:
        if item["kind"] == Item.Kind.CHECKLIST and not item["choices"]:
            item["choices"] = list(CHECKLIST_CHOICES)
    snapshot["third_party"] = {
        "supervisor_name": request.supervisor_name,
        "supervisor_role": request.supervisor_role,
        "supervisor_email": request.supervisor_email,
        "declaration": request.declaration,
        "completed_at": request.used_at.isoformat() if request.used_at else None,
    }
    return snapshot


def _tell_learner_completed(attempt: Attempt) -> None:
    from delivery.notifications import notify_user

    notify_user(
        attempt.learner_id,
        f"Your supervisor's report for {attempt.task.title} arrived: it is waiting for marking.",
        level="success",
        url=reverse("assessment:attempt", args=[attempt.pk]),
    )
