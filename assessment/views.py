from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from assessment import selectors
from assessment.forms import RecordSearchForm
from delivery import selectors as delivery_selectors
from delivery.models import Cohort
from delivery.permissions import role_required
from delivery.roles import Role


@role_required(Role.ASSESSOR)
@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    """The assessor's home: the cohorts assigned to them to mark."""
    cohorts = delivery_selectors.staff_cohorts(Cohort.objects.assessed_by(request.user))
    return render(request, "assessment/queue.html", {"cohorts": cohorts})


@role_required(Role.AUDITOR)
@require_GET
def audit_search(request: HttpRequest) -> HttpResponse:
    form = RecordSearchForm(request.GET or None)
    page = None
    if form.is_valid():
        results = selectors.search_enrolments(query=form.cleaned_data["q"])
        page = Paginator(results, 25).get_page(request.GET.get("page"))
    return render(request, "assessment/audit_search.html", {"form": form, "page": page})
