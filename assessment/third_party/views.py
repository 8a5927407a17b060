"""Third-party reports: the learner asks their workplace supervisor (signed in), and the
supervisor completes the report through the link they were e-mailed (no account, no login).

The supervisor's page carries its secret in the URL: it is never cached, and it sends a
Referer only to our own origin, so neither a shared cache nor a link in the task's instructions
can pass the token on. It is a form on our own page, so CSRF protection stays on (it works
without a session: Django's CSRF token is in a cookie). That is why the policy is `same-origin`
and not `no-referrer`: under `no-referrer` browsers send `Origin: null` with the form's POST,
which CsrfViewMiddleware rightly refuses (403 for every real supervisor, while the test client,
which sends no Origin, would pass).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from assessment.models import Item, Task, ThirdPartyRequest
from assessment.third_party import services as third_party
from delivery.links import public_origin
from delivery.models import Enrolment
from delivery.permissions import role_required
from delivery.roles import Role

View = TypeVar("View", bound=Callable[..., HttpResponse])


def _private(view: View) -> View:
    """No cache keeps the page, no other site gets its URL as Referer, no search engine lists
    it. Set here, not left to SECURE_REFERRER_POLICY, so a looser site-wide policy never
    reaches these pages."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        response["Referrer-Policy"] = "same-origin"
        response["X-Robots-Tag"] = "noindex, nofollow"
        return response

    return never_cache(wrapped)  # type: ignore[return-value]


# The learner -------------------------------------------------------------------------------


@role_required(Role.LEARNER)
@require_POST
def request_report(request: HttpRequest, cohort_id: int, task_id: int) -> HttpResponse:
    """Ask (or ask again) a workplace supervisor for the task's report; back to the task."""
    enrolment = get_object_or_404(
        Enrolment.objects.select_related("cohort__course"),
        learner=request.user.pk,
        cohort=cohort_id,
    )
    cohort = enrolment.cohort
    the_task = get_object_or_404(
        Task.objects.select_related("unit"), pk=task_id, unit__course_units__course=cohort.course
    )
    try:
        sent, _ = third_party.request_third_party_report(
            request.user,
            the_task,
            cohort,
            requested_by=request.user,
            supervisor_email=request.POST.get("supervisor_email", ""),
            base_url=public_origin(),
        )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        expires = timezone.localtime(sent.expires_at)
        messages.success(
            request,
            f"Sent to {sent.supervisor_email}. The link works until {expires:%-d %B %Y}.",
        )
    return redirect("assessment:task", cohort_id=cohort.pk, task_id=the_task.pk)


# The supervisor ----------------------------------------------------------------------------


def _answers_from(
    request: HttpRequest, items: list[tuple[Item, bool]]
) -> dict[str, third_party.SupervisorAnswer]:
    """Fields `item-<key>` (yes / no for a checklist item; the answer or options otherwise)
    and `comment-<key>` (a checklist item's comment)."""
    answers = {}
    for item, _ in items:
        value = request.POST.get(f"item-{item.key}", "")
        if item.kind == Item.Kind.CHECKLIST:
            answers[item.key] = third_party.SupervisorAnswer(
                demonstrated={"yes": True, "no": False}.get(value),
                text=request.POST.get(f"comment-{item.key}", ""),
            )
        elif item.auto_marked:
            choices = tuple(request.POST.getlist(f"item-{item.key}"))
            answers[item.key] = third_party.SupervisorAnswer(choices=choices)
        else:
            answers[item.key] = third_party.SupervisorAnswer(text=value)
    return answers


def _refused(request: HttpRequest, refused: third_party.LinkRefused) -> HttpResponse:
    status = 404 if refused.reason == "invalid" else 410
    return render(
        request, "assessment/third_party/unavailable.html", {"refused": refused}, status=status
    )


@_private
@require_http_methods(["GET", "POST"])
def report(request: HttpRequest, token: str) -> HttpResponse:
    """The supervisor's form; on a complete report, the thank-you page (a reload finds the link
    used and says so)."""
    try:
        report_request = third_party.open_link(token)
    except third_party.LinkRefused as refused:
        return _refused(request, refused)
    items = third_party.report_items(report_request)
    page = _page(report_request)
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        try:
            third_party.complete_third_party_report(
                token,
                supervisor_name=request.POST.get("supervisor_name", ""),
                supervisor_role=request.POST.get("supervisor_role", ""),
                declared=request.POST.get("declared") == "on",
                answers=_answers_from(request, items),
            )
        except third_party.LinkRefused as refused:
            return _refused(request, refused)
        except ValidationError as exc:
            errors = exc.message_dict if hasattr(exc, "error_dict") else {"report": exc.messages}
        else:
            return render(request, "assessment/third_party/done.html", page)
    page.update(
        items=[_row(request, item, carried, errors) for item, carried in items],
        errors=errors,
        checklist_choices=third_party.CHECKLIST_CHOICES,
        declaration=third_party.SUPERVISOR_DECLARATION.format(learner=page["learner_name"]),
    )
    return render(
        request, "assessment/third_party/report.html", page, status=400 if errors else 200
    )


def _page(report_request: ThirdPartyRequest) -> dict[str, Any]:
    attempt = report_request.attempt
    learner = attempt.learner
    return {
        "report_request": report_request,
        "task": attempt.task,
        "learner_name": learner.get_full_name() or learner.get_username(),
    }


def _row(
    request: HttpRequest, item: Item, carried: bool, errors: dict[str, list[str]]
) -> dict[str, Any]:
    """One item of the form, with what was posted (kept on an error) and its error."""
    return {
        "item": item,
        "carried": carried,
        "value": request.POST.get(f"item-{item.key}", ""),
        "values": request.POST.getlist(f"item-{item.key}"),
        "comment": request.POST.get(f"comment-{item.key}", ""),
        "errors": errors.get(f"item-{item.key}", []),
    }
