"""Auditors: every page and file they open is written to the audit trail, and an account that
is only an auditor cannot change anything (any unsafe request is refused before a view runs).

One middleware rather than a decorator on each view, so a view added later (an evidence file,
a live attendance report) is covered without anyone remembering to."""

from __future__ import annotations

from collections.abc import Callable

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import Resolver404, ResolverMatch, resolve

from assessment.audit.services import record_event
from assessment.models import Evidence
from assessment.records.access import is_read_only_auditor
from assessment.records.selectors import ACCESS_ACTION
from delivery.roles import Role, roles_of

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
# What a read-only auditor may still post: signing out, and starting an export of records
# (which changes no record; the export itself is audited).
POLLED_VIEWS = {"assessment:export"}
AUDITOR_MAY_POST = {"login", "logout", "password_reset", "assessment:export_start"}


class AuditorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or Role.AUDITOR not in roles_of(user):
            return self.get_response(request)
        if request.method not in SAFE_METHODS and is_read_only_auditor(user):
            match = request.resolver_match or _resolve(request)
            if match is None or match.view_name not in AUDITOR_MAY_POST:
                return render(request, "403.html", status=403)
        response = self.get_response(request)
        if request.method in SAFE_METHODS and 200 <= response.status_code < 300:
            match = request.resolver_match
            # A progress bar asking every two seconds is not the auditor opening anything.
            polling = (
                request.headers.get("HX-Request") == "true"
                and match is not None
                and (match.view_name in POLLED_VIEWS)
            )
            if not polling:
                self._log(request, response)
        return response

    def _log(self, request: HttpRequest, response: HttpResponse) -> None:
        match = request.resolver_match
        kwargs = match.kwargs if match else {}
        learner_id, unit_id = kwargs.get("learner_id"), kwargs.get("unit_id")
        if "evidence_id" in kwargs:  # a file: counted against the record it belongs to
            owner = (
                Evidence.objects.filter(pk=kwargs["evidence_id"])
                .values_list("attempt__learner_id", "attempt__task__unit_id")
                .first()
            )
            learner_id, unit_id = owner if owner else (None, None)
        with transaction.atomic():
            record_event(
                ACCESS_ACTION,
                request.user,
                actor=request.user,
                learner=_Pk(learner_id) if learner_id else None,
                unit=_Pk(unit_id) if unit_id else None,
                data={
                    "path": request.get_full_path()[:1000],
                    "view": match.view_name if match else "",
                    "content_type": response.get("Content-Type", "")[:100],
                },
            )


class _Pk:
    """Just a primary key, for an audit event's learner or unit column."""

    def __init__(self, pk: int) -> None:
        self.pk = pk


def _resolve(request: HttpRequest) -> ResolverMatch | None:
    try:
        return resolve(request.path_info)
    except Resolver404:
        return None
