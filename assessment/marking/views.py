"""The assessor's pages: the marking queue, marking an attempt (claimed first), opening an
observation, and the unit outcome with its documents."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from assessment import selectors, services
from assessment.marking import selectors as queue_selectors
from assessment.marking import services as marking
from assessment.marking.forms import OutcomeForm, QueueFilterForm
from assessment.models import Attempt, Outcome, OutcomeDocument, Task
from assessment.permissions import access_attempt, can_mark
from delivery.models import Unit
from delivery.permissions import access_cohort_staff, role_required
from delivery.records import RecordKey, record_sections
from delivery.roles import Role, roles_of


def _errors(exc: ValidationError) -> list[str]:
    return [str(m) for m in exc.messages]


class _CountedPaginator(Paginator):
    """A paginator told how many there are, when that is already known, instead of counting
    them again in the database."""

    def __init__(self, object_list: Any, per_page: int, count: int | None) -> None:
        super().__init__(object_list, per_page)
        if count is not None:
            self.count = count  # sets the cached_property's value


@role_required(Role.ASSESSOR, Role.ADMINISTRATOR)
@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    """Attempts waiting for marking in the assessor's cohorts, oldest first, with counts:
    read afresh on every visit, in a fixed number of queries however many are waiting. The
    page's count comes from the counts by cohort and task unless waiting time is filtered."""
    scope = queue_selectors.queue_scope(request.user)
    form = QueueFilterForm(request.GET)
    filters = (
        queue_selectors.QueueFilters(**form.cleaned_data)
        if form.is_valid()
        else queue_selectors.QueueFilters()
    )
    counts = queue_selectors.queue_counts(scope)
    attempts = queue_selectors.marking_queue(scope, filters)
    page = _CountedPaginator(attempts, 50, counts.matching(filters)).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "assessment/queue.html",
        {
            "form": form,
            "page": page,
            "rows": queue_selectors.queue_rows(cast(QuerySet[Attempt], page.object_list)),
            "counts": counts,
            "query": request.GET.urlencode(),
            "filtered": bool(request.GET),
        },
    )


@role_required(Role.ASSESSOR, Role.ADMINISTRATOR)
@require_http_methods(["GET", "POST"])
def mark(request: HttpRequest, pk: int) -> HttpResponse:
    """The marking page: the attempt as submitted, its evidence and judgements so far, read on
    every visit in a fixed number of queries. Reading the page claims nothing: the assessor
    claims the attempt with "Start marking" (`claim`), and the form opens to them.

    After a save: to the unit outcome when that made every task of the unit Satisfactory
    (recording Competent is what the learner waits for), else back to the queue."""
    attempt = access_attempt(request.user, pk)
    if not can_mark(request.user, attempt):
        raise PermissionDenied
    if attempt.status == Attempt.Status.DRAFT:
        raise Http404("Not submitted")
    if request.method == "GET":
        context = _marking_page(attempt)
        context["claim"] = _claim_state(attempt, request.user)
        return render(request, "assessment/mark.html", context)

    items = list(attempt.task.items.order_by("position", "id"))
    posted = {
        item.id: {
            "result": request.POST.get(f"result-{item.key}", ""),
            "comment": request.POST.get(f"comment-{item.key}", ""),
        }
        for item in items
    }
    try:
        version = int(request.POST.get("version", "-1"))
    except ValueError:
        version = -1
    stale = None
    try:
        marked = marking.mark_attempt(
            attempt,
            assessor=request.user,
            judgements=[
                marking.ItemJudgement(
                    item.key, posted[item.id]["result"], posted[item.id]["comment"]
                )
                for item in items
                if posted[item.id]["result"]
            ],
            feedback=request.POST.get("feedback", ""),
            declared=request.POST.get("declared") == "on",
            version=version,
            observed_on=parse_date(request.POST.get("observed_on", "") or "") or None,
            observed_at_place=request.POST.get("observed_at_place", ""),
        )
    except marking.StaleMarking as exc:
        stale = attempt = exc.attempt
        errors = _errors(exc)
        status = 409
    except ValidationError as exc:
        errors = _errors(exc)
        status = 400
    else:
        told = f"Marked. {marked.learner.get_full_name()} will be told."
        unit = marked.task.unit
        if _outcome_due(marked):
            messages.success(
                request,
                f"{told} Every task of {unit.code} is now Satisfactory: record the unit outcome.",
            )
            return redirect("assessment:outcome", marked.cohort_id, marked.learner_id, unit.pk)
        messages.success(request, told)
        return redirect("assessment:queue")
    context = _marking_page(
        attempt, items=items, posted=posted, stale=stale, feedback=request.POST.get("feedback")
    )
    context["errors"] = errors
    context["claim"] = _claim_state(attempt, request.user)
    return render(request, "assessment/mark.html", context, status=status)


def _outcome_due(attempt: Attempt) -> bool:
    """This Satisfactory attempt completed its unit and no current outcome says Competent."""
    if attempt.result != Attempt.Result.SATISFACTORY:
        return False
    unit = attempt.task.unit
    if not marking.unit_progress(attempt.learner, unit, attempt.cohort).all_satisfactory:
        return False
    current = Outcome.objects.current().filter(
        learner=attempt.learner_id, unit=unit, cohort=attempt.cohort_id
    )
    return not any(outcome.competent for outcome in current)


def _claim_state(attempt: Attempt, user: Any) -> dict[str, Any] | None:
    """Who is marking a waiting attempt, for the page's claim panel: `mine` (the form is open
    to this assessor), `other` (a colleague's claim, younger than CLAIM_LAPSES_AFTER) or
    `open` (nobody's, or a lapsed claim: "Start marking" takes it). None once marked."""
    if attempt.status != Attempt.Status.SUBMITTED:
        return None
    since = attempt.claimed_at
    if attempt.claimed_by_id == user.pk and since is not None:
        return {"state": "mine", "since": since}
    if attempt.claimed_by_id and since and timezone.now() - since < marking.CLAIM_LAPSES_AFTER:
        holder = get_user_model().objects.filter(pk=attempt.claimed_by_id).first()
        name = (holder.get_full_name() or holder.get_username()) if holder else "Someone"
        return {"state": "other", "name": name, "since": since}
    return {"state": "open"}


@role_required(Role.ASSESSOR, Role.ADMINISTRATOR)
@require_POST
def claim(request: HttpRequest, pk: int) -> HttpResponse:
    """ "Start marking": claim a waiting attempt, so colleagues see who has it. Of two assessors
    claiming at once one wins and the other is told (`marking.claim_attempt` locks the row)."""
    attempt = access_attempt(request.user, pk)
    if not can_mark(request.user, attempt):
        raise PermissionDenied
    if attempt.status == Attempt.Status.DRAFT:
        raise Http404("Not submitted")
    try:
        marking.claim_attempt(attempt, assessor=request.user)
    except ValidationError as exc:
        messages.error(request, f"You have not started marking: {_errors(exc)[0]}")
    # On success the page itself says the assessor is marking it.
    return redirect("assessment:mark", attempt.pk)


def _marking_page(
    attempt: Attempt,
    *,
    items: list[Any] | None = None,
    posted: dict[int, dict[str, str]] | None = None,
    stale: Attempt | None = None,
    feedback: str | None = None,
) -> dict[str, Any]:
    """The marking page's context but the visit's claim and errors: the form's fields, as
    submitted and as judged so far (or as just posted), in three queries however many items."""
    if items is None:
        items = list(attempt.task.items.order_by("position", "id"))
    posted = posted or {}
    existing = {j.item_id: j for j in attempt.judgements.select_related("assessor")}
    evidence = list(attempt.evidence.filter(withdrawn_at__isnull=True))
    # A kept answer's files are on the attempt it was first given in, however often kept.
    kept = selectors.kept_evidence(attempt)
    submitted_items = {i["key"]: i for i in (attempt.snapshot or {}).get("items", [])}
    rows = []
    for item in items:
        judgement = existing.get(item.id)
        sent = posted.get(item.id, {})
        submitted = submitted_items.get(item.key) or {}
        answer = submitted.get("answer") or {}
        chosen = answer.get("choices") or ()
        correct = item.correct or ()
        rows.append(
            {
                "item": item,
                "judgement": judgement,
                # As posted, else as judged so far: the radio checked and the comment's text.
                "result": sent.get("result") or (judgement.result if judgement else ""),
                "comment": sent.get("comment")
                or (judgement.comment if judgement and not judgement.automatic else ""),
                "automatic": bool(judgement and judgement.automatic),
                "answer": answer,
                "choices": [
                    (choice, n in chosen, n in correct)
                    for n, choice in enumerate(submitted.get("choices") or ())
                ],
                "evidence": [e for e in evidence if e.item_id == item.id] + kept.get(item.id, []),
            }
        )
    return {
        "attempt": attempt,
        "errors": [],
        "stale": stale,
        # Each row's values worked out here: in the template, every judgement or answer a row
        # lacks was a failed lookup, the costliest kind, a dozen a row.
        "rows": rows,
        "general_evidence": [e for e in evidence if e.item_id is None],
        "declaration": marking.ASSESSOR_DECLARATION,
        "feedback": attempt.feedback if feedback is None else feedback,
    }


@role_required(Role.ASSESSOR, Role.ADMINISTRATOR)
@require_http_methods(["GET", "POST"])
def outcome(request: HttpRequest, cohort_id: int, learner_id: int, unit_id: int) -> HttpResponse:
    cohort = access_cohort_staff(request.user, cohort_id)
    if not (
        cohort.assessors.filter(pk=request.user.pk or 0).exists()
        or Role.ADMINISTRATOR in roles_of(request.user)
    ):
        raise PermissionDenied
    learner = get_object_or_404(get_user_model(), pk=learner_id, enrolments__cohort=cohort)
    unit = get_object_or_404(Unit, pk=unit_id, course_units__course=cohort.course)
    progress = marking.unit_progress(learner, unit, cohort)
    history = list(
        Outcome.objects.filter(learner=learner, unit=unit, cohort=cohort)
        .select_related("recorded_by")
        .prefetch_related("documents")
    )
    current = history[0] if history else None
    # Every task Satisfactory and nothing recorded yet: Competent is what is due, offered first.
    due = progress.all_satisfactory and not (current and current.competent)
    initial = {"code": Outcome.Code.COMPETENT} if due else {}
    form = OutcomeForm(request.POST or None, initial=initial)
    errors: list[str] = []
    if request.method == "POST" and form.is_valid():
        try:
            marking.record_outcome(
                learner,
                unit,
                cohort,
                code=form.cleaned_data["code"],
                justification=form.cleaned_data["justification"],
                recorded_by=request.user,
                documents=[(f.name or "document", f) for f in request.FILES.getlist("documents")],
            )
        except ValidationError as exc:
            errors = _errors(exc)
        else:
            messages.success(
                request,
                f"Outcome recorded for {learner.get_full_name()}: "
                f"{Outcome.Code(form.cleaned_data['code']).label}.",
            )
            return redirect(request.path)
    key = RecordKey(learner.pk, cohort.pk, unit.pk)
    return render(
        request,
        "assessment/outcome.html",
        {
            "cohort": cohort,
            "learner": learner,
            "unit": unit,
            "form": form,
            "errors": errors,
            "progress": progress,
            "due": due,
            "current": current,
            "history": history,
            "tasks": selectors.learner_tasks(learner, cohort).get(unit, []),
            # What other apps keep about this record (the credential the outcome led to, and
            # its state), registered in delivery by the apps above this one: see
            # delivery/records.py. Assessment never imports them.
            "sections": [
                {"section": section, "data": section.load([key]).get(key, {})}
                for section in record_sections()
            ],
        },
        status=400 if errors else 200,
    )


@login_required
@require_GET
def outcome_document(request: HttpRequest, pk: int) -> FileResponse:
    """An RPL or credit transfer document, for the learner and the cohort's staff; always
    downloaded (never shown in the page), with the sniffed type."""
    document = get_object_or_404(OutcomeDocument.objects.select_related("outcome__cohort"), pk=pk)
    if document.outcome.learner_id != request.user.pk:
        access_cohort_staff(request.user, document.outcome.cohort_id)
    response = FileResponse(
        document.file.open("rb"),
        as_attachment=True,
        filename=document.original_name,
        content_type=document.content_type,
    )
    response["Cache-Control"] = "private"
    return response


@role_required(Role.ASSESSOR, Role.ADMINISTRATOR)
@require_POST
def observe(request: HttpRequest, cohort_id: int, learner_id: int, task_id: int) -> HttpResponse:
    """Open an observation of a learner: it goes straight to the marking page."""
    cohort = access_cohort_staff(request.user, cohort_id)
    if not (
        cohort.assessors.filter(pk=request.user.pk or 0).exists()
        or Role.ADMINISTRATOR in roles_of(request.user)
    ):
        raise PermissionDenied
    learner = get_object_or_404(get_user_model(), pk=learner_id, enrolments__cohort=cohort)
    the_task = get_object_or_404(Task, pk=task_id, unit__course_units__course=cohort.course)
    try:
        attempt = services.start_observation(request.user, learner, the_task, cohort)
    except ValidationError as exc:
        for message in _errors(exc):
            messages.error(request, message)
        return redirect("assessment:outcome", cohort.pk, learner.pk, the_task.unit_id)
    return redirect("assessment:mark", attempt.pk)
