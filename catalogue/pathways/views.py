"""Pathway pages: the public list and map (with the learner's position when signed in), a
learner's "set as my goal", and the administrators' pages that define pathways."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from catalogue.models import Pathway, PathwayStep
from catalogue.pathways import selectors, services
from catalogue.pathways.forms import PathwayForm, StepForm
from catalogue.pathways.svg import layout
from delivery.permissions import role_required
from delivery.roles import Role, has_role


@require_GET
def pathways(request: HttpRequest) -> HttpResponse:
    found = list(selectors.published_pathways())
    goals = selectors.learner_goal_ids(request.user)
    rows = [selectors.pathway_view(p, goals=goals) for p in found]
    return render(request, "catalogue/pathways/list.html", {"rows": rows})


@require_GET
def pathway(request: HttpRequest, key: str) -> HttpResponse:
    view = selectors.pathway_for_page(key, request.user)
    if view is None:
        raise Http404
    return render(
        request,
        "catalogue/pathways/detail.html",
        {
            "view": view,
            "map": layout(view),
            "is_learner": has_role(request.user, Role.LEARNER),
        },
    )


@role_required(Role.LEARNER)
@require_POST
def pathway_goal(request: HttpRequest, key: str) -> HttpResponse:
    found = get_object_or_404(Pathway, key=key, published=True)
    on = request.POST.get("action") != "remove"
    services.set_goal(request.user, found, on=on)
    if on:
        messages.success(request, f"“{found.title}” is one of your goals: see it in your playlist.")
    else:
        messages.success(request, f"You are no longer working toward “{found.title}”.")
    if request.POST.get("next") == "playlist":
        return redirect("catalogue:playlist")
    return redirect("catalogue:pathway", key=found.key)


# --- administrators ------------------------------------------------------------------------


def _admin_pathway(key: str) -> Pathway:
    return get_object_or_404(Pathway.objects.select_related("goal"), key=key)


@role_required(Role.ADMINISTRATOR)
@require_GET
def manage(request: HttpRequest) -> HttpResponse:
    found = Pathway.objects.select_related("goal").order_by("title", "id")
    return render(request, "catalogue/pathways/manage.html", {"pathways": found})


@role_required(Role.ADMINISTRATOR)
@require_http_methods(["GET", "POST"])
def pathway_new(request: HttpRequest) -> HttpResponse:
    form = PathwayForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            made = services.create_pathway(**form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, "Pathway created. Add its steps, then publish it.")
            return redirect("catalogue:pathway_edit", key=made.key)
    return render(request, "catalogue/pathways/form.html", {"form": form, "pathway": None})


@role_required(Role.ADMINISTRATOR)
@require_http_methods(["GET", "POST"])
def pathway_edit(request: HttpRequest, key: str) -> HttpResponse:
    found = _admin_pathway(key)
    initial = {"title": found.title, "summary": found.summary, "goal_code": found.goal.human_code}
    form = PathwayForm(request.POST or None, initial=initial, editing=True)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_pathway(found, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, "Pathway saved.")
            return redirect("catalogue:pathway_edit", key=found.key)
    view = selectors.pathway_view(selectors.pathways_queryset().get(pk=found.pk))
    return render(
        request,
        "catalogue/pathways/edit.html",
        {
            "form": form,
            "pathway": found,
            "view": view,
            "map": layout(view),
            "problems": selectors.pathway_problems(found),
        },
    )


@role_required(Role.ADMINISTRATOR)
@require_POST
def pathway_publish(request: HttpRequest, key: str) -> HttpResponse:
    found = _admin_pathway(key)
    publish = request.POST.get("published") == "1"
    try:
        services.publish_pathway(found, published=publish)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, "Published." if publish else "Withdrawn from the catalogue.")
    return redirect("catalogue:pathway_edit", key=found.key)


def _step_form(request: HttpRequest, found: Pathway, step: PathwayStep | None) -> StepForm:
    keys = [(s.key, s.title) for s in found.steps.order_by("position", "id") if s != step]
    initial = {}
    if step is not None:
        initial = {
            "key": step.key,
            "title": step.title,
            "requirement": step.requirement,
            "choose": step.choose,
            "codes": ", ".join(a.human_code for a in step.achievements.all()),
            "after": [b.key for b in step.after.all()],
            "position": step.position,
            "milestone_name": step.milestone.name if step.milestone else "",
            "milestone_description": step.milestone.description if step.milestone else "",
        }
    return StepForm(request.POST or None, initial=initial, step_keys=keys)


@role_required(Role.ADMINISTRATOR)
@require_http_methods(["GET", "POST"])
def step_edit(request: HttpRequest, key: str, step_key: str | None = None) -> HttpResponse:
    found = _admin_pathway(key)
    step = None
    if step_key is not None:
        step = get_object_or_404(found.steps.select_related("milestone"), key=step_key)
    form = _step_form(request, found, step)
    if request.method == "POST" and form.is_valid():
        try:
            services.save_step(found, step=step, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, "Step saved.")
            return redirect("catalogue:pathway_edit", key=found.key)
    return render(
        request, "catalogue/pathways/step_form.html", {"form": form, "pathway": found, "step": step}
    )


@role_required(Role.ADMINISTRATOR)
@require_POST
def step_delete(request: HttpRequest, key: str, step_key: str) -> HttpResponse:
    found = _admin_pathway(key)
    step = get_object_or_404(found.steps, key=step_key)
    try:
        services.delete_step(step)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, f"Step “{step.title}” removed.")
    return redirect("catalogue:pathway_edit", key=found.key)
