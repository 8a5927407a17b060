from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from delivery import selectors
from delivery.permissions import role_required
from delivery.roles import ROLE_HOMES, Role, ordered_roles


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Send each user to the home of their first role; a user with no role is told so."""
    roles = ordered_roles(request.user)
    if roles:
        return redirect(ROLE_HOMES[roles[0]])
    return render(request, "delivery/no_role.html", status=403)


@require_GET
@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness for a load balancer: the process answers through the full middleware stack."""
    return HttpResponse("ok", content_type="text/plain")


@role_required(Role.LEARNER)
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    enrolments = selectors.learner_enrolments(request.user)
    return render(request, "delivery/dashboard.html", {"enrolments": enrolments})


def login_locked_out(request: HttpRequest, credentials: Any) -> HttpResponse:
    """django-axes' lockout page, in the product's words (AXES_LOCKOUT_CALLABLE)."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return render(request, "registration/locked_out.html", {"minutes": minutes}, status=429)
