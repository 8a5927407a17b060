"""The learner's playlist: the page, saving a course from the catalogue, moving, removing.
The buttons are plain forms (they work without JavaScript)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST
from django_htmx.middleware import HtmxDetails

from catalogue.playlist import selectors, services
from delivery.models import Course
from delivery.permissions import role_required
from delivery.roles import Role


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


@role_required(Role.LEARNER)
@require_GET
def playlist(request: HttpRequest) -> HttpResponse:
    page = selectors.playlist_page(request.user)
    return render(request, "catalogue/playlist/page.html", {"page": page})


def _back(request: HttpRequest) -> HttpResponse:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return HttpResponseRedirect(target)
    return redirect("catalogue:playlist")


@role_required(Role.LEARNER)
@require_POST
def save(request: HttpRequest, course_id: int) -> HttpResponse:
    course = get_object_or_404(Course, pk=course_id, published=True)
    _, created = services.save_course(request.user, course)
    if created:
        messages.success(request, f"{course.title} is saved in your playlist.")
    else:
        messages.info(request, f"{course.title} is in your playlist already.")
    return _back(request)


@role_required(Role.LEARNER)
@require_POST
def move(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    direction = "up" if request.POST.get("direction") == "up" else "down"
    services.move_item(request.user, pk, direction=direction)
    if request.htmx:  # the list alone, the moved item's button focused again
        page = selectors.playlist_page(request.user)
        context = {"page": page, "moved": pk, "direction": direction}
        return render(request, "catalogue/playlist/page.html#items", context)
    return redirect("catalogue:playlist")


@role_required(Role.LEARNER)
@require_POST
def remove(request: HttpRequest, pk: int) -> HttpResponse:
    course = services.remove_item(request.user, pk)
    messages.success(request, f"{course.title} is off your playlist.")
    return redirect("catalogue:playlist")
