from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import trigger_client_event
from django_htmx.middleware import HtmxDetails

from assessment import selectors, services, task_page
from assessment.evidence.services import (
    SUBMITTED_MESSAGE,
    find_item,
    move_evidence,
    withdraw_evidence,
)
from assessment.forms import SubmitForm
from assessment.models import Attempt, Task
from assessment.permissions import access_attempt, access_evidence, can_mark
from delivery.models import Enrolment, Unit
from delivery.permissions import access_cohort_staff, role_required
from delivery.roles import Role, roles_of


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def _errors(exc: ValidationError) -> list[str]:
    return [str(m) for m in exc.messages]


# The learner -------------------------------------------------------------------------------


@role_required(Role.LEARNER)
@require_GET
def learner_tasks(request: HttpRequest, cohort_id: int) -> HttpResponse:
    enrolment = get_object_or_404(
        Enrolment.objects.select_related("cohort__course"),
        learner=request.user.pk,
        cohort=cohort_id,
    )
    cohort = enrolment.cohort
    units, statuses = selectors.learner_task_list(request.user, cohort)
    return render(
        request,
        "assessment/learner_tasks.html",
        {"cohort": cohort, "units": units, "statuses": statuses},
    )


def _learner_task(request: HttpRequest, cohort_id: int, task_id: int) -> tuple[Any, Task]:
    enrolment = get_object_or_404(
        Enrolment.objects.select_related("cohort__course"),
        learner=request.user.pk,
        cohort=cohort_id,
    )
    cohort = enrolment.cohort
    the_task = get_object_or_404(
        Task.objects.select_related("unit"),
        pk=task_id,
        unit__course_units__course=cohort.course,
    )
    return cohort, the_task


@role_required(Role.LEARNER)
@require_http_methods(["GET", "POST"])
def task(request: HttpRequest, cohort_id: int, task_id: int) -> HttpResponse:
    """The task page: instructions, the learner's draft to answer, and earlier attempts."""
    cohort, the_task = _learner_task(request, cohort_id, task_id)
    if request.method == "POST":  # start (or resubmit)
        try:
            services.start_attempt(request.user, the_task, cohort)
        except ValidationError as exc:
            for message in _errors(exc):
                messages.error(request, message)
        return redirect("assessment:task", cohort_id=cohort.pk, task_id=the_task.pk)
    return _task_page(request, cohort, the_task)


def _task_page(
    request: HttpRequest,
    cohort: Any,
    the_task: Task,
    *,
    refused: ValidationError | None = None,
) -> HttpResponse:
    """The task page (assessment.task_page); after a refused submit, with its reasons and
    everything as posted."""
    context = task_page.task_page(
        request.user, cohort, the_task, refused=refused, posted=request.POST
    )
    return render(request, "assessment/task.html", context)


def _answers_from(request: HttpRequest, attempt: Attempt) -> dict[str, Any]:
    """Form fields `answer-<item key>` (several values for multiple choice)."""
    answers: dict[str, Any] = {}
    for item in attempt.task.items.all():
        name = f"answer-{item.key}"
        if item.auto_marked:
            if name in request.POST or f"{name}-present" in request.POST:
                answers[item.key] = request.POST.getlist(name)
        elif name in request.POST:
            answers[item.key] = request.POST[name]
    return answers


@role_required(Role.LEARNER)
@require_POST
def save_draft(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Autosave (htmx, as the learner types) and the plain "Save" button alike.

    An autosave still on its way when the learner submits arrives after the attempt left
    the draft: nothing is lost (the submit carried the same answers), so it is answered
    204 No Content, which htmx leaves alone, rather than as an error in the console."""
    try:
        attempt = access_attempt(request.user, pk, write=True)
    except PermissionDenied:
        attempt = access_attempt(request.user, pk)
        if request.htmx and attempt.learner_id == request.user.pk:
            return HttpResponse(status=204)
        raise
    try:
        services.save_answers(
            attempt, learner=request.user, answers=_answers_from(request, attempt)
        )
    except ValidationError as exc:
        submitted = Attempt.objects.filter(pk=attempt.pk).exclude(status=Attempt.Status.DRAFT)
        if request.htmx and submitted.exists():
            return HttpResponse(status=204)
        if request.htmx:
            return render(
                request, "assessment/_save_status.html", {"errors": _errors(exc)}, status=400
            )
        for message in _errors(exc):
            messages.error(request, message)
    else:
        if request.htmx:
            return render(request, "assessment/_save_status.html", {"saved": True})
        messages.success(request, "Your answers are saved.")
    return redirect("assessment:task", cohort_id=attempt.cohort_id, task_id=attempt.task_id)


SUBMITTED_DONE = "Submitted. Your assessor will mark it; you will be told."


@role_required(Role.LEARNER)
@require_POST
def submit(request: HttpRequest, pk: int) -> HttpResponse:
    """Save what was posted and submit. A refusal is the task page again, with its
    reasons beside the Submit button and at each question, and everything as posted."""
    try:
        attempt = access_attempt(request.user, pk, write=True)
    except PermissionDenied:
        attempt = access_attempt(request.user, pk)
        messages.error(request, "This attempt has already been submitted.")
        return redirect("assessment:task", cohort_id=attempt.cohort_id, task_id=attempt.task_id)
    form = SubmitForm(request.POST)
    form.is_valid()
    try:
        services.save_answers(
            attempt, learner=request.user, answers=_answers_from(request, attempt)
        )
        services.submit_attempt(
            attempt, learner=request.user, declared=form.cleaned_data.get("declared", False)
        )
    except ValidationError as exc:
        attempt.refresh_from_db(fields=["status"])
        if attempt.status != Attempt.Status.DRAFT:
            # A second click of Submit while the first was submitting: that one went through.
            messages.success(request, SUBMITTED_DONE)
            return redirect("assessment:task", cohort_id=attempt.cohort_id, task_id=attempt.task_id)
        cohort, the_task = _learner_task(request, attempt.cohort_id, attempt.task_id)
        return _task_page(request, cohort, the_task, refused=exc)
    messages.success(request, SUBMITTED_DONE)
    return redirect("assessment:task", cohort_id=attempt.cohort_id, task_id=attempt.task_id)


@login_required
@require_GET
def attempt_evidence(request: HttpRequest, pk: int) -> HttpResponse:
    """One evidence block of the task page (`?item=<item id>`; none: the attempt as a whole),
    as htmx refreshes it after an upload, a move or a removal; no such question: 404."""
    attempt = access_attempt(request.user, pk)
    try:
        item = find_item(attempt, request.GET.get("item"))
    except ValidationError as exc:
        raise Http404(" ".join(exc.messages)) from None
    return render(
        request,
        "assessment/_evidence_block.html",
        {"block": task_page.evidence_block(attempt, item)},
    )


@login_required
@require_POST
def evidence_change(request: HttpRequest, evidence_id: int) -> HttpResponse:
    """The learner moves a file of their draft to another question or to the attempt as a
    whole (`item`: a question's key, or empty), or removes it (`remove`). With htmx the answer
    is the block the file was in, and every block refreshes; without, back to the page."""
    evidence = access_evidence(request.user, evidence_id)
    try:
        attempt = access_attempt(request.user, evidence.attempt_id, write=True)
    except PermissionDenied:
        if evidence.attempt.learner_id != request.user.pk:
            raise PermissionDenied("Only the learner can move or remove files here.") from None
        raise PermissionDenied(SUBMITTED_MESSAGE) from None
    source = evidence.item
    error = ""
    try:
        if "remove" in request.POST:
            withdraw_evidence(evidence, by=request.user)
            done = f"Removed {evidence.original_name}."
        else:
            target = find_item(attempt, request.POST.get("item"))
            move_evidence(evidence, item=target, by=request.user)
            done = f"Moved {evidence.original_name}."
    except ValidationError as exc:
        error = " ".join(exc.messages)
    if getattr(request, "htmx", False):
        response = render(
            request,
            "assessment/_evidence_block.html",
            {"block": task_page.evidence_block(attempt, source, error=error)},
            status=400 if error else 200,
        )
        if not error:
            trigger_client_event(response, "flipside:evidence-changed", after="receive")
        return response
    if error:
        messages.error(request, error)
    else:
        messages.success(request, done)
    url = reverse("assessment:task", args=[attempt.cohort_id, attempt.task_id])
    return redirect(f"{url}#{'q-' + source.key if source else 'evidence-heading'}")


@login_required
@require_GET
def attempt_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A submitted attempt as it was submitted, with its marking, for everyone who may see it."""
    attempt = access_attempt(request.user, pk)
    return render(
        request,
        "assessment/attempt.html",
        {
            "attempt": attempt,
            "judged": task_page.judged(attempt, selectors.question_numbers(attempt.task_id)),
            "judgements": {j.item_id: j for j in attempt.judgements.all()},
            "can_mark": can_mark(request.user, attempt),
        },
    )


# The assessor ------------------------------------------------------------------------------


@login_required
@require_GET
def evidence_page(request: HttpRequest, evidence_id: int) -> HttpResponse:
    """One evidence file in a page: its viewing copy (never the original, which may carry
    location data or be more than a browser should decode), what it is evidence for, its
    facts, a download of the original, and the way back to where the person came from."""
    evidence = access_evidence(request.user, evidence_id)
    attempt = access_attempt(request.user, evidence.attempt_id)
    held = roles_of(request.user)
    if attempt.learner_id == request.user.pk:
        back = (reverse("assessment:task", args=[attempt.cohort_id, attempt.task_id]), "the task")
    elif attempt.status != Attempt.Status.DRAFT and can_mark(request.user, attempt):
        back = (reverse("assessment:mark", args=[attempt.pk]), "marking")
    elif Role.AUDITOR in held:
        args = [attempt.cohort_id, attempt.learner_id, attempt.task.unit_id]
        back = (reverse("assessment:record", args=args), "the record")
    else:
        back = (reverse("assessment:attempt", args=[attempt.pk]), "the attempt")
    item = evidence.item
    number = None
    if item is not None:
        number = list(attempt.task.items.order_by("position", "id")).index(item) + 1
    kind = evidence.content_type.split("/", 1)[0] if evidence.preview else ""
    return render(
        request,
        "assessment/evidence.html",
        {
            "evidence": evidence,
            "attempt": attempt,
            "item": item,
            "number": number,
            "kind": kind,
            "back_url": back[0],
            "back_label": back[1],
        },
    )


@login_required
@require_GET
def mapping(request: HttpRequest, unit_id: int, cohort_id: int) -> HttpResponse:
    """The mapping matrix of a unit, for the staff of a cohort that studies it."""
    cohort = access_cohort_staff(request.user, cohort_id)
    unit = get_object_or_404(Unit, pk=unit_id, course_units__course=cohort.course)
    rows, items = selectors.mapping_matrix(unit)
    # Columns are named for people (task 2, item 3), not by the content pack's keys.
    tasks: list[Task] = []
    columns = []
    for item in items:
        if not tasks or tasks[-1].pk != item.task_id:
            tasks.append(item.task)
            number = 0
        number += 1
        columns.append({"item": item, "task_number": len(tasks), "number": number})
    return render(
        request,
        "assessment/mapping.html",
        {
            "unit": unit,
            "cohort": cohort,
            "rows": rows,
            "items": items,
            "tasks": tasks,
            "columns": columns,
            "uncovered": [r for r in rows if not r.covered],
        },
    )
