"""Ids in paths and query strings (delivery/converters.py, delivery.forms.IdField): an id no
bigint can hold is a 404 or an ignored filter, never an OverflowError (a 500)."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import NoReverseMatch, resolve, reverse
from django.urls.exceptions import Resolver404

from delivery.converters import MAX_ID, parse_id

HUGE = "9" * 20  # past 2**63 - 1


@pytest.mark.parametrize(
    "path",
    [
        f"/learn/courses/{HUGE}/",
        f"/learn/resources/{HUGE}/",
        f"/learn/cohorts/{HUGE}/progress.csv",
        f"/assess/cohorts/{HUGE}/tasks/",
        f"/assess/records/{HUGE}/1/1/",
        f"/assess/records/1/{HUGE}/1/",
        f"/assess/attempts/{HUGE}/",
        f"/live/{HUGE}/",
        f"/live/{HUGE}/attendance.csv",
        f"/learn/courses/{MAX_ID + 1}/",
    ],
)
def test_it_answers_404_for_an_id_past_a_bigint(
    client_for: Any, administrator: Any, path: str
) -> None:
    with pytest.raises(Resolver404):
        resolve(path)
    assert client_for(administrator).get(path).status_code == 404


def test_it_still_resolves_the_largest_id(learner: Any, client_for: Any) -> None:
    match = resolve(f"/learn/courses/{MAX_ID}/")
    assert match.kwargs == {"cohort_id": MAX_ID}
    assert client_for(learner).get(f"/learn/courses/{MAX_ID}/").status_code == 404
    assert reverse("delivery:course", args=[12]) == "/learn/courses/12/"
    with pytest.raises(NoReverseMatch):
        reverse("delivery:course", args=[MAX_ID + 1])


@pytest.mark.parametrize(
    "query",
    [
        f"unit={HUGE}",
        f"cohort={HUGE}",
        f"task={HUGE}",
        "cohort=²",
        "unit=-1",
        f"cohort={HUGE}&unit={HUGE}&task={HUGE}&waiting_days={HUGE}",
    ],
)
def test_it_ignores_a_queue_filter_past_a_bigint(
    client_for: Any, assessor: Any, cohort: Any, query: str
) -> None:
    response = client_for(assessor).get(f"{reverse('assessment:queue')}?{query}")
    assert response.status_code == 200


@pytest.mark.parametrize("query", [f"cohort={HUGE}", "cohort=²", "cohort=-5", "cohort=x"])
def test_it_refuses_a_records_cohort_past_a_bigint(
    client_for: Any, administrator: Any, query: str
) -> None:
    response = client_for(administrator).get(f"{reverse('assessment:audit_search')}?{query}")
    assert response.status_code == 400  # the search form's answer to any invalid filter
    assert "Select a valid choice" in response.content.decode()


@pytest.mark.parametrize(
    "query", [f"sort=module:{HUGE}", "sort=module:²", f"module={HUGE}", "module=٣", "page=²"]
)
def test_it_refuses_a_progress_sort_or_module_past_a_bigint(
    client_for: Any, trainer: Any, cohort: Any, query: str
) -> None:
    url = reverse("delivery:cohort_progress", args=[cohort.pk])
    response = client_for(trainer).get(f"{url}?{query}")
    assert response.status_code == 400  # the grid's answer to any invalid parameter
    html = response.content.decode()
    assert '<div class="form-error" role="alert"><p>' in html
    assert '<table class="table grid">' in html  # with the grid, the parameter left out


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1", 1),
        (str(MAX_ID), MAX_ID),
        (str(MAX_ID + 1), None),
        ("0", None),
        ("²", None),
        ("-3", None),
        ("", None),
        (" 1", None),
        (None, None),
        (True, None),
        (7, 7),
    ],
)
def test_it_parses_ids(value: Any, expected: int | None) -> None:
    assert parse_id(value) == expected
