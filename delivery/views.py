from __future__ import annotations

import mimetypes
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlencode, urlsplit

from csp.decorators import csp_update
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.templatetags.static import static
from django.utils.cache import patch_cache_control
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.middleware import HtmxDetails

from delivery import selectors, services
from delivery.content import render_markdown, video_transcript
from delivery.forms import (
    AnnouncementForm,
    GridForm,
    MarkDoneForm,
    MediaPositionForm,
    OpenModuleForm,
)
from delivery.models import Announcement, Resource
from delivery.permissions import (
    access_cohort,
    access_cohort_staff,
    access_resource,
    role_required,
)
from delivery.roles import ROLE_HOMES, Role, ordered_roles
from delivery.spreadsheets import csv_writer


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def home(request: HttpRequest) -> HttpResponse:
    """Send each user to the home of their first role; a user with no role is told so. A
    visitor not signed in lands on the public catalogue (the catalogue app's, named only)."""
    if not request.user.is_authenticated:
        return redirect("catalogue:index")
    roles = ordered_roles(request.user)
    if roles:
        return redirect(ROLE_HOMES[roles[0]])
    return render(request, "delivery/no_role.html", status=403)


@require_GET
@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness for a load balancer: the process answers through the full middleware stack."""
    return HttpResponse("ok", content_type="text/plain")


@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico whatever the page's <link rel="icon"> says: send them to
    the icon. Temporary (302), since the static file's name carries its hash."""
    response = redirect(static("favicon.svg"))
    patch_cache_control(response, public=True, max_age=86400)
    return response


def login_locked_out(request: HttpRequest, credentials: Any) -> HttpResponse:
    """django-axes' lockout page, in the product's words (AXES_LOCKOUT_CALLABLE)."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return render(request, "registration/locked_out.html", {"minutes": minutes}, status=429)


# The learner ------------------------------------------------------------------------------


@role_required(Role.LEARNER)
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    playlists = selectors.learner_playlists(request.user, expand="current")
    announcements = selectors.learner_announcements(request.user)
    return render(
        request,
        "delivery/dashboard.html",
        {"playlists": playlists, "announcements": announcements},
    )


@role_required(Role.LEARNER)
@require_GET
def course(request: HtmxHttpRequest, cohort_id: int) -> HttpResponse:
    """The course with every module folded but the one in hand; `?module=<id>` unfolds one
    more, and from htmx (a folded module being opened) answers with that module's body only."""
    form = OpenModuleForm(request.GET)
    wanted = form.cleaned_data["module"] if form.is_valid() else None
    playlists = selectors.learner_playlists(
        request.user, cohort_id=cohort_id, expand="course", open_module=wanted
    )
    if not playlists:
        raise Http404("No such course")
    playlist = playlists[0]
    module = playlist.module(wanted) if wanted else None
    asked = request.GET.get("module")
    problem = "That is not a module of this course." if asked and module is None else ""
    if request.htmx and module:
        return render(
            request,
            "delivery/_playlist.html#module-body",
            {"module": module, "playlist": playlist},
        )
    if request.htmx and problem:
        return HttpResponse(problem, status=404, content_type="text/plain")
    return render(
        request,
        "delivery/course.html",
        {"playlist": playlist, "problem": problem},
        status=400 if problem else 200,
    )


@login_required
@require_GET
def resource(request: HttpRequest, pk: int) -> HttpResponse:
    item, enrolment = access_resource(request.user, pk)
    context: dict[str, Any] = {"resource": item, "enrolment": enrolment, "done": False}
    if enrolment is not None:
        playlist = selectors.learner_playlists(
            request.user, cohort_id=enrolment.cohort_id, expand="all"
        )[0]
        module = next(m for u in playlist.units for m in u.modules if m.id == item.module_id)
        if module.locked_by:
            return render(
                request, "delivery/locked.html", {"resource": item, "module": module}, status=403
            )
        order = [r for u in playlist.units for m in u.modules for r in m.resources]
        index = next(i for i, r in enumerate(order) if r.id == item.id)
        context.update(
            playlist=playlist,
            done=order[index].done,
            previous=order[index - 1] if index else None,
            following=order[index + 1] if index + 1 < len(order) else None,
        )
        if not playlist.read_only:
            progress = services.record_resource_opened(request.user, item)
            context["position"] = progress.position_seconds
    context["body"] = render_markdown(item.body)
    if item.kind == Resource.Kind.VIDEO:
        # Offered whether or not the embedded player loads: its host may be unreachable.
        context["embed_host"] = urlsplit(item.embed_url).hostname if item.embed_url else ""
        context["transcript"] = video_transcript(item)
    return render(request, "delivery/resource.html", context)


@login_required
@require_GET
@xframe_options_sameorigin
@csp_update({"frame-ancestors": ["'self'"]})  # type: ignore[arg-type]
def resource_file(request: HttpRequest, pk: int, part: str) -> FileResponse:
    """The resource's file or captions, for those who may open the resource; PDFs, media and
    captions shown in the page, anything else downloaded."""
    item, _ = access_resource(request.user, pk)
    field = item.captions if part == "captions" else item.file
    if not field:
        raise Http404("No file")
    name = PurePosixPath(field.name or "file").name
    content_type = "text/vtt" if part == "captions" else mimetypes.guess_type(name)[0]
    content_type = content_type or "application/octet-stream"
    inline = content_type == "application/pdf" or content_type.split("/")[0] in {
        "video",
        "audio",
        "image",
        "text",
    }
    if content_type in {"text/html", "image/svg+xml"}:  # could run script: download only
        inline = False
    return FileResponse(
        field.open("rb"), as_attachment=not inline, filename=name, content_type=content_type
    )


@role_required(Role.LEARNER)
@require_POST
def resource_done(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    item, enrolment = access_resource(request.user, pk, write=True)
    form = MarkDoneForm(request.POST)
    done = form.is_valid() and form.cleaned_data["done"]
    services.mark_resource_done(request.user, item, done=done)
    if request.htmx:
        if enrolment is None:  # cannot happen: write access implies an enrolment
            raise Http404
        playlist = selectors.learner_playlists(request.user, cohort_id=enrolment.cohort_id)[0]
        return render(
            request,
            "delivery/_done_control.html",
            {"resource": item, "done": done, "playlist": playlist, "oob": True},
        )
    target = form.cleaned_data.get("next", "") if form.is_valid() else ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect("delivery:resource", pk=item.pk)


@role_required(Role.LEARNER)
@require_POST
def resource_position(request: HttpRequest, pk: int) -> HttpResponse:
    """The player's periodic report of how far the learner has got."""
    item, _ = access_resource(request.user, pk, write=True)
    form = MediaPositionForm(request.POST)
    if not form.is_valid():
        return HttpResponse(form.errors.as_text(), status=400, content_type="text/plain")
    progress = services.record_media_position(
        request.user,
        item,
        position=form.cleaned_data["position"],
        duration=form.cleaned_data["duration"],
    )
    return HttpResponse("done" if progress.completed_at else "", content_type="text/plain")


@role_required(Role.LEARNER)
@require_POST
def announcement_read(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    announcement = get_object_or_404(
        Announcement.objects.filter(cohort__enrolments__learner=request.user.pk).distinct(), pk=pk
    )
    services.mark_announcement_read(request.user, announcement)
    if request.htmx:
        return HttpResponse("")
    return redirect("delivery:dashboard")


# Staff ------------------------------------------------------------------------------------


@login_required
@require_GET
def cohort_progress(request: HttpRequest, cohort_id: int) -> HttpResponse:
    """One page of the cohort's learners x modules, searched and sorted as the URL says. What
    is wrong in the URL is said (400) and left out; the rest still applies."""
    cohort = access_cohort_staff(request.user, cohort_id)
    modules = selectors.grid_modules(cohort)
    form = GridForm(request.GET, module_ids=[m.id for m in modules])
    form.is_valid()
    query = {k: form.cleaned_data.get(k) for k in ("q", "sort", "module")}
    grid = selectors.cohort_grid(
        cohort,
        modules=modules,
        q=query["q"] or "",
        sort=query["sort"] or "name",
        page=form.cleaned_data.get("page") or 1,
    )
    prework = None
    module = next((m for m in modules if m.id == query["module"]), None)
    if module is not None:
        done, missing = selectors.prework_check(cohort, module)
        prework = {"module": module, "done": done, "missing": missing}
    kept = {k: v for k, v in query.items() if v}
    return render(
        request,
        "delivery/cohort_progress.html",
        {
            "cohort": cohort,
            "grid": grid,
            "form": form,
            "q": query["q"] or "",
            "sort": query["sort"] or "name",
            "prework": prework,
            # Links keep the rest of the view: sorting keeps the search, paging keeps both.
            "sort_prefix": "?" + (urlencode({"q": kept["q"]}) + "&" if "q" in kept else ""),
            "page_query": urlencode(kept),
            "can_announce": cohort.trainers.filter(pk=request.user.pk or 0).exists(),
        },
        status=400 if form.errors else 200,
    )


@login_required
@require_GET
def cohort_progress_csv(request: HttpRequest, cohort_id: int) -> HttpResponse:
    cohort = access_cohort_staff(request.user, cohort_id)
    grid = selectors.cohort_grid(cohort)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    filename = f"progress-{cohort.course.code}-{cohort.pk}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv_writer(response)
    writer.writerow(
        ["username", "first_name", "last_name", "email", "status", "percent"]
        + [f"{m.key} ({m.title})" for m in grid.modules]
    )
    for row in grid.rows:
        learner = row.enrolment.learner
        writer.writerow(
            [learner.username, learner.first_name, learner.last_name, learner.email]
            + [row.enrolment.status, row.percent]
            + [f"{cell.done}/{cell.total}" for cell in row.cells]
        )
    return response


@role_required(Role.TRAINER)
@require_http_methods(["GET", "POST"])
def announcement_new(request: HttpRequest, cohort_id: int) -> HttpResponse:
    cohort = access_cohort(request.user, cohort_id, write=True)
    form = AnnouncementForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.post_announcement(cohort, author=request.user, **form.cleaned_data)
        messages.success(request, "Announcement posted; learners are being e-mailed.")
        return redirect("delivery:cohort_progress", cohort_id=cohort.pk)
    return render(request, "delivery/announcement_form.html", {"cohort": cohort, "form": form})
