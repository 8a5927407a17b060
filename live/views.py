from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from delivery import selectors
from delivery.models import Cohort
from delivery.permissions import role_required
from delivery.roles import Role


@role_required(Role.TRAINER)
@require_GET
def sessions(request: HttpRequest) -> HttpResponse:
    """The trainer's home: the cohorts they teach (live sessions are scheduled per cohort)."""
    cohorts = selectors.staff_cohorts(Cohort.objects.taught_by(request.user))
    return render(request, "live/sessions.html", {"cohorts": cohorts})
