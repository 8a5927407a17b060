"""Hostile input never crashes the server: every URL pattern the resolver knows, its query
parameters, the form fields of its pages and the tus upload headers (the live room's WebSocket
messages: tests/live/test_fuzz_room.py), driven with huge and negative numbers, Unicode digits,
control characters, deep nesting and very long strings. The answer may be any refusal; never a
500, never a hang, never a body shorter or longer than its Content-Length.

Hypothesis with `derandomize=True`, so every run (and CI) tries the same examples; the number
of examples per pattern is kept small so this runs in under a minute on the embedded default.
A URL pattern added later is fuzzed without anyone listing it.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from hypothesis import HealthCheck, given
from hypothesis import settings as fuzz_settings
from hypothesis import strategies as st

from delivery.converters import MAX_ID
from tests.assessment.conftest import assess
from tests.factories import UserFactory, assessable_unit
from tests.live.factories import LiveSessionFactory

FUZZ = fuzz_settings(
    max_examples=5,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)

# Values a careless parser trips on.
NASTY = [
    "",
    "0",
    "-1",
    "-0",
    str(MAX_ID),
    str(MAX_ID + 1),
    "9" * 20,
    "9" * 5000,  # past int()'s 4300-digit limit
    "1e309",
    "NaN",
    "²",
    "١٢٣",  # Arabic-Indic digits
    "\x00",
    "a\x00b",
    "\u202e",
    "\r\nSet-Cookie: x=1",
    "\ud7ff\ufffd",
    "../../../etc/passwd",
    "%00",
    "<script>alert(1)</script>",
    "=HYPERLINK(1)",
    "[" * 3000,
    '{"a":' * 3000,
    "x" * 100_000,
    "true",
    "null",
    "module:²",
    "2026-02-30",
    "99999-01-01",
]
hostile = st.one_of(
    st.sampled_from(NASTY),
    st.integers(min_value=-(2**80), max_value=2**80).map(str),
    st.text(max_size=40),
    st.builds(
        lambda char, n: char * n,
        st.sampled_from(["9", "A", "é", "\x01", "[", "{", " "]),
        st.integers(min_value=1_000, max_value=200_000),
    ),
)

# Query parameters the views read, and a few they do not.
QUERY_NAMES = [
    "page", "q", "sort", "module", "cohort", "unit", "task", "waiting_days", "learner",
    "course", "outcome", "assessor", "date_from", "date_to", "descending", "status", "next",
    "item", "seq", "format", "o", "p", "e", "x",
]  # fmt: skip

ADMIN_QUERY = {"q": "x" * 10_000, "o": "²", "p": "9" * 20, "e": "\x00", "all": "-1"}
RANGES = ["bytes=5-2", "bytes=0-0", "bytes=-0", "bytes=²-", "bytes=0-1,2-3", "bytes=-", "x=1-2"]

_CONVERTER = re.compile(r"<(?:(?P<kind>\w+):)?(?P<name>\w+)>")
_FIELD = re.compile(r'name="([^"]{1,80})"')


def _routes(patterns: list[Any], prefix: str = "", namespace: str | None = None) -> Iterator[Any]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _routes(
                entry.url_patterns, prefix + str(entry.pattern), entry.namespace or namespace
            )
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), namespace


def all_routes() -> list[tuple[str, bool]]:
    """Every pattern as a route string (admin's regex patterns with their anchors removed),
    and whether it is Django's admin."""
    routes = {}
    for route, namespace in _routes(get_resolver().url_patterns):
        routes[route.replace("^", "").replace("$", "").replace("\\Z", "")] = namespace == "admin"
    return sorted(routes.items())


def argument(kind: str | None) -> st.SearchStrategy[str]:
    """A value for one path argument: mostly one the converter matches (a real object's id is
    among the small numbers), sometimes anything."""
    if kind == "id":
        return st.one_of(
            st.integers(min_value=1, max_value=8).map(str),
            st.sampled_from(["0", str(MAX_ID), "9" * 19]),
        )
    if kind == "uuid":
        return st.one_of(st.just(str(uuid.UUID(int=0))), st.uuids().map(str))
    if kind == "slug":
        return st.one_of(st.just("a" * 32), st.from_regex(r"[-a-zA-Z0-9_]{1,64}", fullmatch=True))
    if kind == "path":
        return hostile.map(lambda v: quote(v[:2000], safe="/"))
    return hostile.map(lambda v: quote(v[:2000], safe="") or "x")


def fill(route: str, values: dict[str, str]) -> str:
    return "/" + _CONVERTER.sub(lambda m: values[m.group("name")], route)


def check(response: Any, where: str) -> None:
    assert response.status_code < 500, f"{response.status_code} at {where}"
    if getattr(response, "streaming", False):
        body = b"".join(response.streaming_content)
        if response.has_header("Content-Length"):
            assert len(body) == int(response["Content-Length"]), where


@pytest.fixture
def world(cohort: Any, learner: Any, assessor: Any, trainer: Any) -> dict[str, Any]:
    """Something of everything: an assessed learner with evidence, a draft, a live session."""
    from assessment import services
    from delivery.services import enrol_learner

    enrol_learner(learner, cohort)
    assessed = assess(learner, assessor, cohort, assessable_unit(course=cohort.course, items=2))
    other = assessable_unit(course=cohort.course, items=1)
    assessed["draft"] = services.start_attempt(learner, other["task"], cohort)
    LiveSessionFactory(cohort=cohort, created_by=trainer)
    return assessed


@pytest.fixture
def clients(
    learner: Any, assessor: Any, trainer: Any, auditor: Any, administrator: Any
) -> list[Client]:
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    made = [Client(raise_request_exception=True)]
    for user in (learner, assessor, trainer, auditor, administrator, admin):
        client = Client(raise_request_exception=True)
        client.force_login(user)
        made.append(client)
    return made


def _field_names(clients: list[Client], route: str) -> list[str]:
    """The form fields the page of `route` shows anyone, read from its HTML (objects 1)."""
    names: set[str] = set()
    path = fill(route, {m.group("name"): "1" for m in _CONVERTER.finditer(route)})
    for client in clients:
        response = client.get(path)
        content_type = response.get("Content-Type", "")
        if response.status_code == 200 and content_type.startswith("text/html"):
            names.update(_FIELD.findall(response.content.decode()))
    return sorted(names - {"csrfmiddlewaretoken"})


def _probe(route: str, clients: list[Client], fields: list[str]) -> Any:
    """A Hypothesis test of one route: a GET with hostile query parameters, then a POST of
    hostile form fields (or JSON, or JSON nested 50,000 deep), as any persona."""
    kinds = {m.group("name"): m.group("kind") for m in _CONVERTER.finditer(route)}

    @FUZZ
    @given(
        client=st.sampled_from(clients),
        values=st.fixed_dictionaries({name: argument(kind) for name, kind in kinds.items()}),
        query=st.dictionaries(st.sampled_from(QUERY_NAMES + fields), hostile, max_size=4),
        form=st.dictionaries(st.sampled_from(fields or QUERY_NAMES), hostile, max_size=6),
        body=st.sampled_from(["form", "json", "deep"]),
        byte_range=st.one_of(
            st.none(), st.sampled_from(RANGES), hostile.map(lambda v: "bytes=" + v[:40])
        ),
    )
    def probe(
        client: Client, values: dict[str, str], query: dict[str, str], form: dict[str, str],
        body: str, byte_range: str | None,
    ) -> None:  # fmt: skip
        path = fill(route, values)
        headers = {"Range": byte_range} if byte_range else {}
        check(client.get(path, query, headers=headers), f"GET {path} {query!r:.300} {headers}")
        if body == "form":
            response = client.post(path, form)
        elif body == "json":
            response = client.post(path, json.dumps(form), content_type="application/json")
        else:
            response = client.post(path, "[" * 50_000, content_type="application/json")
        check(response, f"POST {path} {body} {form!r:.300}")

    return probe


@pytest.mark.timeout(600)
def test_no_url_pattern_answers_500_to_hostile_input(
    world: dict[str, Any], clients: list[Client]
) -> None:
    routes = all_routes()
    assert len(routes) > 70  # the resolver, not a hand-made list
    # Django's own admin (about 185 patterns, not our views) gets one hostile request each,
    # as a superuser; every other pattern a Hypothesis run.
    superuser = clients[-1]
    for route, is_admin in routes:
        if is_admin:
            path = fill(route, {m.group("name"): "1" for m in _CONVERTER.finditer(route)})
            check(superuser.get(path, ADMIN_QUERY), f"GET {path}")
        else:
            _probe(route, clients, _field_names([clients[1], superuser], route))()


TUS = "1.0.0"


@pytest.mark.timeout(300)
def test_tus_headers_never_answer_500(world: dict[str, Any], clients: list[Client]) -> None:
    learner_client = clients[1]
    draft = world["draft"]
    create_url = f"/assess/uploads/attempts/{draft.pk}/"
    started = learner_client.post(
        create_url, headers={"Tus-Resumable": TUS, "Upload-Length": "100"}
    )
    assert started.status_code == 201
    upload_url = started["Location"]
    header_names = [
        "Upload-Length", "Upload-Offset", "Upload-Metadata", "Upload-Defer-Length",
        "Tus-Resumable", "Content-Type", "Range",
    ]  # fmt: skip

    @fuzz_settings(FUZZ, max_examples=60)
    @given(
        headers=st.dictionaries(
            st.sampled_from(header_names), hostile.map(lambda v: v[:10_000]), max_size=4
        ),
        method=st.sampled_from(["POST", "PATCH", "HEAD", "DELETE", "OPTIONS"]),
        data=st.binary(max_size=200),
        tus=st.booleans(),
    )
    def probe(headers: dict[str, str], method: str, data: bytes, tus: bool) -> None:
        # Header values reach Django as WSGI strings: no line breaks or NULs in them.
        headers = {k: re.sub(r"[\x00-\x1f\x7f]", "", v) for k, v in headers.items()}
        if tus:
            headers.setdefault("Tus-Resumable", TUS)
        url = create_url if method == "POST" else upload_url
        content_type = headers.pop("Content-Type", "application/offset+octet-stream")
        response = learner_client.generic(
            method, url, data, content_type=content_type, headers=headers
        )
        check(response, f"{method} {headers!r:.300}")

    probe()
