"""The public catalogue's pages: the list with its search and filters, and a course's page.
Anyone may read them, signed in or not (selectors in catalogue.browse)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from catalogue import browse
from delivery.enrolment.selectors import intake_states
from delivery.roles import Role, has_role


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    """Every published course, searched and filtered from the query string; with htmx, only
    the results are sent back, so the list follows the filters as they change."""
    form = browse.CatalogueFilters(request.GET)
    form.is_valid()  # (a bad filter is named on the page and left out; the others apply)
    filters = form.cleaned_data
    # Every match in one query (rather than a count and a page of the same search).
    rows = browse.card_rows(browse.search_courses(filters))
    page = Paginator(rows, browse.PER_PAGE).get_page(request.GET.get("page"))
    query = urlencode(
        [(k, v) for k, values in request.GET.lists() if k != "page" for v in values if v]
    )
    context = {
        "form": form,
        "page": page,
        "offers": browse.offers(browse.page_courses(list(page.object_list))),
        "query": query,
        "filtered": bool(query),
        # A course's page is this address and its code (catalogue:course), joined in the
        # template rather than reversed once per card.
        "catalogue_url": reverse("catalogue:index"),
    }
    if getattr(request, "htmx", False):
        return render(request, "catalogue/browse/index.html#results", context)
    context["areas"] = browse.areas()
    return render(request, "catalogue/browse/index.html", context)


@require_GET
def course(request: HttpRequest, code: str) -> HttpResponse:
    """A course as the catalogue offers it; unpublished ones only to administrators."""
    page = browse.course_page(request.user, code)
    return render(
        request,
        "catalogue/browse/course.html",
        {
            "page": page,
            "offer": page.offer,
            "course": page.offer.course,
            "preview": has_role(request.user, Role.ADMINISTRATOR),
            # Each intake's enrol box, for this visitor, in a fixed number of queries.
            "states": intake_states(request.user, [i.cohort for i in page.offer.intakes]),
        },
    )
