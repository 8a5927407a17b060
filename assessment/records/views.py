"""The auditor's pages: search records, open one, download its PDF, export outcomes as CSV,
and bulk exports of records (start one, watch its progress, download its archive).

Every view asks `record_scope` first: an auditor outside their grant gets 404 for a record, an
auditor whose grants have all ended gets 403. The middleware writes each page and file an
auditor opens to the audit trail (assessment/records/middleware.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    StreamingHttpResponse,
)
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.views.decorators.http import require_GET, require_http_methods

from assessment.models import Outcome
from assessment.records.access import record_scope
from assessment.records.forms import RecordSearchForm
from assessment.records.selectors import RecordFilters, load_record, search_records
from delivery.records import RecordKey
from delivery.spreadsheets import csv_writer

PAGE_SIZE = 50


def _form(request: HttpRequest) -> tuple[RecordSearchForm, Any]:
    scope = record_scope(request.user)
    form = RecordSearchForm(request.GET or None, cohorts=scope.cohorts())
    return form, scope


@login_required
@require_GET
def search(request: HttpRequest) -> HttpResponse:
    """Every record in the auditor's scope, filtered, sorted and paginated."""
    form, scope = _form(request)
    filters = form.filters() if form.is_valid() else RecordFilters()
    status = 400 if request.GET and not form.is_valid() else 200
    page = Paginator(search_records(scope, filters), PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = rows = list(page.object_list)
    labels = dict(Outcome.Code.choices)
    for row in rows:  # people read the outcome's name; the code is for the CSV
        row["outcome"] = labels.get(row["outcome_code"], "")
    query = {k: v for k, v in request.GET.items() if k != "page"}
    return render(
        request,
        "assessment/records/search.html",
        {
            "form": form,
            "page": page,
            "query": urlencode(query),
            "scope": scope,
            "export_url": reverse("assessment:export_start"),
            # The form is written out by hand (search.html); its choices come from the form.
            "cohorts": form.fields["cohort"].queryset,  # type: ignore[attr-defined]
            "outcome_choices": form.fields["outcome"].choices,  # type: ignore[attr-defined]
            "sort_choices": form.fields["sort"].choices,  # type: ignore[attr-defined]
        },
        status=status,
    )


@login_required
@require_GET
def record(request: HttpRequest, cohort_id: int, learner_id: int, unit_id: int) -> HttpResponse:
    """Everything about one learner's assessment in one unit."""
    scope = record_scope(request.user)
    if not scope.allows(cohort_id):
        raise Http404("No such record.")
    key = _existing(RecordKey(learner_id, cohort_id, unit_id))
    pdf_url = reverse("assessment:record_pdf", args=[cohort_id, learner_id, unit_id])
    return render(
        request,
        "assessment/records/record.html",
        {"record": load_record(key), "record_pdf_url": pdf_url},
    )


@login_required
@require_GET
def record_pdf(request: HttpRequest, cohort_id: int, learner_id: int, unit_id: int) -> HttpResponse:
    """The record as a PDF/A-3b document (assessment/records/pdf.py), downloaded: the stored
    rendering when it is the record's present state (records/stored.py), rendered otherwise."""
    from assessment.records.pdf import json_bytes, record_json, render_record_pdf
    from assessment.records.stored import stored_pdf_for

    scope = record_scope(request.user)
    if not scope.allows(cohort_id):
        raise Http404("No such record.")
    record = load_record(_existing(RecordKey(learner_id, cohort_id, unit_id)))
    document = json_bytes(record_json(record))
    pdf = stored_pdf_for(record, document) or render_record_pdf(record, document=document)
    response = HttpResponse(pdf, content_type="application/pdf")
    name = f"record-{learner_id}-{record.unit.code}-{cohort_id}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{_safe_name(name)}"'
    return response


def _safe_name(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def _existing(key: RecordKey) -> RecordKey:
    from delivery.models import CourseUnit, Enrolment

    enrolled = Enrolment.objects.filter(learner_id=key.learner_id, cohort_id=key.cohort_id)
    in_course = CourseUnit.objects.filter(unit_id=key.unit_id, course__cohorts__id=key.cohort_id)
    if not enrolled.exists() or not in_course.exists():
        raise Http404("No such record.")
    return key


# --- outcomes CSV ---------------------------------------------------------------------------

OUTCOME_COLUMNS = [
    "learner_id",
    "family_name",
    "given_names",
    "email",
    "unit_code",
    "unit_title",
    "course_code",
    "cohort",
    "outcome_code",
    "outcome",
    "start_date",
    "end_date",
    "assessor",
]


class _Echo:
    def write(self, value: str) -> str:
        return value


@login_required
@require_GET
def outcomes_csv(request: HttpRequest) -> StreamingHttpResponse:
    """One row per learner per unit with a current outcome, for a student management system:
    national VET outcome identifiers (20 competent, 30 not yet competent, 51 RPL granted,
    60 credit transfer), activity start and end dates, and who recorded it. Streamed, so a
    provider's whole history does not sit in memory; filtered like the search page."""
    from assessment.records.selectors import outcome_rows

    form, scope = _form(request)
    filters = form.filters() if form.is_valid() else RecordFilters()
    writer = csv_writer(_Echo())

    def lines() -> Any:
        yield writer.writerow(OUTCOME_COLUMNS)
        for row in outcome_rows(scope, filters):
            yield writer.writerow(row)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="outcomes-{stamp}.csv"'
    return response


# --- bulk exports ---------------------------------------------------------------------------


def _described(form: RecordSearchForm) -> list[tuple[str, str]]:
    """The filters in force, as (label, value) pairs for people."""
    if not form.is_bound or not form.is_valid():
        return []
    shown = []
    for name, value in form.cleaned_data.items():
        if value in (None, "", False) or name in {"sort", "descending"}:
            continue
        field = form.fields[name]
        # A choice's name ("Competent"), not its value ("20"); a date as people write it.
        words = dict(getattr(field, "choices", None) or ()).get(value, value)
        if isinstance(words, dt.date):
            words = date_format(words, "j M Y")
        shown.append((str(field.label or name.replace("_", " ").capitalize()), str(words)))
    return shown


def _describe_json(scope: Any, filters: dict[str, Any]) -> list[tuple[str, str]]:
    data = {k: v for k, v in filters.items() if v not in (None, "", False)}
    if data.get("cohort_id"):
        data["cohort"] = data.pop("cohort_id")
    form = RecordSearchForm(data, cohorts=scope.cohorts())
    return _described(form)


@login_required
@require_http_methods(["GET", "POST"])
def exports(request: HttpRequest) -> HttpResponse:
    """GET: the user's exports, and a form to export the records matching the search filters in
    the query. POST (allowed to read-only auditors): start that export."""
    from assessment.models import RecordExport
    from assessment.records.exports import start_record_export

    scope = record_scope(request.user)
    posted = request.method == "POST"
    data = request.POST if posted else request.GET
    form = RecordSearchForm(data if posted else (data or None), cohorts=scope.cohorts())
    if posted and form.is_valid():
        export = start_record_export(request.user, filters=form.filters())
        return redirect("assessment:export", export.public_id)
    filters = form.filters() if form.is_valid() else RecordFilters()
    query = {k: v for k, v in request.GET.items() if k != "page"}
    context = {
        "form": form,
        "count": search_records(scope, filters).count(),
        "described": _described(form),
        "query": urlencode(query),
        "exports": RecordExport.objects.filter(requested_by_id=request.user.pk)[:50],
    }
    status = 400 if form.is_bound and not form.is_valid() else 200
    return render(request, "assessment/records/exports.html", context, status=status)


@login_required
@require_GET
def export(request: HttpRequest, public_id: UUID) -> HttpResponse:
    """One export's progress; htmx polls its `progress` fragment until it is finished."""
    from assessment.models import RecordExport
    from assessment.records.exports import access_record_export

    scope = record_scope(request.user)
    made = access_record_export(request.user, public_id)
    finished = made.status not in {RecordExport.Status.QUEUED, RecordExport.Status.RUNNING}
    context = {"export": made, "export_finished": finished}
    if getattr(request, "htmx", False):
        return render(request, "assessment/records/export.html#progress", context)
    context["described"] = _describe_json(scope, made.filters)
    return render(request, "assessment/records/export.html", context)


@login_required
@require_GET
def export_download(request: HttpRequest, public_id: UUID) -> HttpResponseBase:
    """The archive, for whoever requested it (or an administrator), until it expires (410)."""
    from assessment.models import RecordExport
    from assessment.records.exports import (
        access_record_export,
        archive_name,
        export_days,
        is_expired,
        open_archive,
    )

    record_scope(request.user)
    made = access_record_export(request.user, public_id)
    gone = {"export": made, "days": export_days()}
    if is_expired(made):
        return render(request, "assessment/records/export_gone.html", gone, status=410)
    if made.status != RecordExport.Status.DONE or not made.archive:
        raise Http404("The archive is not ready.")
    try:
        handle = open_archive(made)
    except OSError:
        return render(request, "assessment/records/export_gone.html", gone, status=410)
    return FileResponse(
        handle, as_attachment=True, filename=archive_name(made), content_type="application/zip"
    )
