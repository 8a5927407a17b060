"""Answers for failures of the services under a request, rather than a bare server error."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

log = logging.getLogger(__name__)

DATABASE_LOST = (
    "The connection to the database was lost while we worked on this. Nothing was saved: "
    "please try again."
)


class DatabaseUnavailableMiddleware:
    """A database connection lost in the middle of a request (a failover, a restart, a
    terminated backend) rolls the request's transaction back, so nothing is half-written; the
    person is told exactly that, with 503 and Retry-After, so a form can be sent again and a
    tus client retries by itself. Django opens a new connection for the next request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, (OperationalError, InterfaceError)):
            return None
        log.warning(
            "database unavailable during %s %s: %s", request.method, request.path, exception
        )
        if "text/html" in request.headers.get("Accept", "") and not request.headers.get(
            "HX-Request"
        ):
            body = render_to_string("503_database.html", {"message": DATABASE_LOST})
            response = HttpResponse(body, status=503)
        else:
            response = HttpResponse(
                DATABASE_LOST, status=503, content_type="text/plain; charset=utf-8"
            )
        response["Retry-After"] = "5"
        return response
