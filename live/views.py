from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from delivery import selectors as delivery_selectors
from delivery.models import Cohort
from delivery.permissions import access_cohort, role_required
from delivery.roles import Role
from delivery.spreadsheets import csv_writer
from live import rendering, selectors, services
from live.forms import SessionForm
from live.models import LiveSession
from live.permissions import (
    RoomRole,
    access_attendance,
    access_live_session,
    room_role,
    visible_sessions,
)


@role_required(Role.TRAINER)
@require_GET
def sessions(request: HttpRequest) -> HttpResponse:
    """The trainer's home: the cohorts they teach and the sessions of those cohorts."""
    cohorts = delivery_selectors.staff_cohorts(Cohort.objects.taught_by(request.user))
    mine = selectors.trainer_sessions(request.user)
    return render(
        request,
        "live/sessions.html",
        {
            "cohorts": cohorts,
            "upcoming": mine.filter(pk__in=LiveSession.objects.upcoming().values("pk")).order_by(
                "starts_at", "id"
            ),
            "past": mine.exclude(pk__in=LiveSession.objects.upcoming().values("pk"))[:20],
        },
    )


@role_required(Role.TRAINER, Role.ASSESSOR, Role.AUDITOR, Role.ADMINISTRATOR)
@require_GET
def records(request: HttpRequest) -> HttpResponse:
    """Every session the user may see, newest first, with attendance: how auditors find a
    session's attendance long after it ended."""
    page = Paginator(selectors.session_records(visible_sessions(request.user)), 50).get_page(
        request.GET.get("page")
    )
    return render(request, "live/records.html", {"page": page})


@role_required(Role.TRAINER)
@require_http_methods(["GET", "POST"])
def session_new(request: HttpRequest, cohort_id: int) -> HttpResponse:
    cohort = access_cohort(request.user, cohort_id, write=True)
    form = SessionForm(request.POST or None, cohort=cohort, initial={"trainers": [request.user.pk]})
    if request.method == "POST" and form.is_valid():
        try:
            session = services.schedule_session(cohort, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "Session scheduled; learners see it on their dashboard.")
            return redirect("live:session", pk=session.pk)
    return render(request, "live/session_form.html", {"cohort": cohort, "form": form})


@role_required(Role.TRAINER, Role.ADMINISTRATOR)
@require_http_methods(["GET", "POST"])
def session_edit(request: HttpRequest, pk: int) -> HttpResponse:
    session = access_live_session(request.user, pk, write=True)
    form = SessionForm(request.POST or None, instance=session, cohort=session.cohort)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_session(session, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "Session updated.")
            return redirect("live:session", pk=session.pk)
    return render(
        request,
        "live/session_form.html",
        {"cohort": session.cohort, "form": form, "session": session},
    )


@login_required
@require_GET
def session_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The session's page: when, where, pre-work (the learner's own, or who has not done it),
    and the way into the room once it opens."""
    session = access_live_session(request.user, pk)
    role = room_role(request.user, session)
    is_trainer = role == RoomRole.TRAINER
    context = {
        "session": session,
        "role": role,
        "is_trainer": is_trainer,
        "can_see_attendance": is_trainer or role is None,
        "open": session.is_open(),
        "over": session.is_over(),
        "resources": session.resources.select_related("module"),
        "prework": (
            selectors.prework_for_trainer(session)
            if is_trainer
            else selectors.prework_for_learner(session, request.user)
            if role == RoomRole.LEARNER
            else []
        ),
    }
    return render(request, "live/session.html", context)


@login_required
@require_GET
def room(request: HttpRequest, pk: int) -> HttpResponse:
    session = access_live_session(request.user, pk)
    role = room_role(request.user, session)
    if role is None:
        raise PermissionDenied
    if session.is_over():
        messages.info(request, "This session has ended.")
        return redirect("live:session", pk=session.pk)
    if role == RoomRole.LEARNER and not session.is_open():
        messages.info(request, "The room opens shortly before the session starts.")
        return redirect("live:session", pk=session.pk)
    staff = role == RoomRole.TRAINER
    context = rendering.room_context(session, request.user, staff=staff)
    context["course_resources"] = (
        selectors.course_resources(session).select_related("module") if staff else []
    )
    return render(request, "live/room.html", context)


@role_required(Role.TRAINER, Role.ADMINISTRATOR)
@require_http_methods(["GET", "POST"])
def session_end(request: HttpRequest, pk: int) -> HttpResponse:
    """Ending a class cannot be undone, so the room only links here: the trainer confirms on a
    page of its own, which needs no script and no dialog box to guard it."""
    session = access_live_session(request.user, pk, write=True)
    if request.method == "POST":
        services.end_session(session, by=request.user)
        messages.success(request, "The session has ended. Attendance is final.")
        return redirect("live:attendance", pk=session.pk)
    if session.ended_at is not None:
        messages.info(request, "This session has already ended.")
        return redirect("live:session", pk=session.pk)
    present = selectors.present_users(session)
    return render(request, "live/session_end.html", {"session": session, "present": present})


@login_required
@require_GET
def attendance(request: HttpRequest, pk: int) -> HttpResponse:
    session = access_attendance(request.user, pk)
    rows = selectors.attendance_report(session)
    return render(
        request,
        "live/attendance.html",
        {"session": session, "rows": rows, "attended": sum(r.attended for r in rows)},
    )


@login_required
@require_GET
def attendance_csv(request: HttpRequest, pk: int) -> HttpResponse:
    session = access_attendance(request.user, pk)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    filename = f"attendance-{session.cohort.course.code}-{session.pk}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv_writer(response)
    writer.writerow(
        [
            "username",
            "first_name",
            "last_name",
            "email",
            "enrolled",
            "attended",
            "first_joined_utc",
            "last_left_utc",
            "minutes",
            "late",
        ]
    )
    for row in selectors.attendance_report(session):
        user = row.user
        writer.writerow(
            [
                user.username,
                user.first_name,
                user.last_name,
                user.email,
                "yes" if row.enrolled else "no",
                "yes" if row.attended else "no",
                row.first_joined_at.isoformat() if row.first_joined_at else "",
                row.last_left_at.isoformat() if row.last_left_at else "",
                row.minutes,
                "yes" if row.late else "no",
            ]
        )
    return response
