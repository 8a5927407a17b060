"""The auditor's pages: search records, open one, download its PDF, export outcomes as CSV.

Every view asks `record_scope` first: an auditor outside their grant gets 404 for a record, an
auditor whose grants have all ended gets 403. The middleware writes each page and file an
auditor opens to the audit trail (assessment/middleware.py)."""

from __future__ import annotations

import csv
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from assessment.access import record_scope
from assessment.forms import RecordSearchForm
from assessment.records import RecordFilters, load_record, search_records
from delivery.records import RecordKey

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
    query = {k: v for k, v in request.GET.items() if k != "page"}
    return render(
        request,
        "assessment/records/search.html",
        {
            "form": form,
            "page": page,
            "query": urlencode(query),
            "scope": scope,
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
    return render(request, "assessment/records/record.html", {"record": load_record(key)})


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
    from assessment.records import outcome_rows

    form, scope = _form(request)
    filters = form.filters() if form.is_valid() else RecordFilters()
    writer = csv.writer(_Echo())

    def lines() -> Any:
        yield writer.writerow(OUTCOME_COLUMNS)
        for row in outcome_rows(scope, filters):
            yield writer.writerow(row)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="outcomes-{stamp}.csv"'
    return response
