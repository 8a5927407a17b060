"""Issue 14, defect 3: the learner's task list says which tasks are locked and why, and on what
a unit's outcome rests, instead of "Not started" everywhere."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from assessment.models import Outcome
from tests.factories import ModuleFactory, ResourceFactory, assessable_unit

pytestmark = pytest.mark.django_db


def tasks_page(client: Any, cohort: Any) -> str:
    response = client.get(f"/assess/cohorts/{cohort.pk}/tasks/")
    assert response.status_code == 200
    return response.content.decode()


def row(html: str, title: str) -> str:
    """The table row of one task."""
    match = re.search(
        rf"<tr>\s*<th scope=\"row\"><a [^>]*>{re.escape(title)}</a>.*?</tr>", html, re.S
    )
    assert match, f"no row for {title}"
    return match.group(0)


def unit_section(html: str, unit: Any) -> str:
    start = html.index(f'aria-labelledby="unit-{unit.pk}"')
    return html[start : html.index("</section>", start)]


def test_a_task_behind_a_module_says_locked_and_what_unlocks_it(
    client_for: Any, learner: Any, cohort: Any, written: dict[str, Any]
) -> None:
    module = ModuleFactory(course=cohort.course, title="Hand hygiene and PPE")
    ResourceFactory(module=module)
    written["task"].requires_modules.add(module)

    html = tasks_page(client_for(learner), cohort)

    status = row(html, written["task"].title)
    assert "Locked" in status
    assert "Opens when you finish Hand hygiene and PPE." in status
    assert "Not started" not in status


def test_the_list_and_the_task_page_give_the_same_reason_for_a_lock(
    client_for: Any, learner: Any, cohort: Any, written: dict[str, Any]
) -> None:
    """Review of issue 14: the list re-implemented the task page's lock rules, and an
    incomplete mapping was worded two ways. One helper (selectors.lock_reason) words both."""
    from assessment.selectors import learner_task_list
    from assessment.services import task_availability
    from tests.factories import CriterionFactory

    element = written["unit"].elements.get()
    CriterionFactory(element=element, number="1.9", position=9)  # no item covers it
    task = written["task"]
    reason = task_availability(learner, task, cohort).reason
    assert reason == "This unit is not open for assessment yet: its mapping is incomplete."
    by_unit, _ = learner_task_list(learner, cohort)
    [listed] = [r for rows in by_unit.values() for r in rows if r.task == task]
    assert listed.locked == reason
    client = client_for(learner)
    assert reason in row(tasks_page(client, cohort), task.title)
    page = client.get(f"/assess/cohorts/{cohort.pk}/tasks/{task.pk}/").content.decode()
    assert reason in page


def test_an_open_task_not_yet_started_still_says_not_started(
    client_for: Any, learner: Any, cohort: Any, written: dict[str, Any]
) -> None:
    status = row(tasks_page(client_for(learner), cohort), written["task"].title)
    assert "Not started" in status
    assert "Locked" not in status


@pytest.mark.parametrize(
    ("code", "justification", "basis"),
    [
        (
            Outcome.Code.RPL_GRANTED,
            "Five years as an enrolled nurse",
            "Competent through recognition of prior learning",
        ),
        (
            Outcome.Code.CREDIT_TRANSFER,
            "HLTINF006 from TAFE NSW, 2024",
            "Competent by credit transfer (you hold this unit from earlier study)",
        ),
        (Outcome.Code.COMPETENT, "", "not through these tasks"),
    ],
)
def test_a_competent_unit_says_on_what_its_outcome_rests_and_its_tasks_are_not_needed(
    client_for: Any,
    learner: Any,
    assessor: Any,
    cohort: Any,
    written: dict[str, Any],
    code: str,
    justification: str,
    basis: str,
) -> None:
    Outcome.objects.create(
        learner=learner,
        unit=written["unit"],
        cohort=cohort,
        code=code,
        justification=justification,
        recorded_by=assessor,
    )

    html = tasks_page(client_for(learner), cohort)

    section = unit_section(html, written["unit"])
    assert basis in section
    assert justification in section
    assert ">Competent<" in section
    status = row(html, written["task"].title)
    assert "Not needed" in status
    assert "Not started" not in status
    if code == Outcome.Code.COMPETENT:
        assert assessor.get_full_name() in section


def test_another_learners_outcome_is_not_shown(
    client_for: Any,
    learner: Any,
    other_learner: Any,
    assessor: Any,
    cohort: Any,
    written: dict[str, Any],
) -> None:
    from delivery.services import enrol_learner

    enrol_learner(other_learner, cohort)
    Outcome.objects.create(
        learner=other_learner,
        unit=written["unit"],
        cohort=cohort,
        code=Outcome.Code.RPL_GRANTED,
        justification="Someone else's RPL",
        recorded_by=assessor,
    )
    html = tasks_page(client_for(learner), cohort)
    assert "Someone else's RPL" not in html
    assert "Not started" in row(html, written["task"].title)


def test_the_list_costs_the_same_queries_for_more_units_and_tasks(
    client_for: Any, learner: Any, cohort: Any, written: dict[str, Any]
) -> None:
    client = client_for(learner)
    module = ModuleFactory(course=cohort.course)
    ResourceFactory(module=module)
    written["task"].requires_modules.add(module)
    tasks_page(client, cohort)
    with CaptureQueriesContext(connection) as few:
        tasks_page(client, cohort)
    for _ in range(3):
        more = assessable_unit(course=cohort.course, items=2)
        more["task"].requires_modules.add(module)
    with CaptureQueriesContext(connection) as many:
        html = tasks_page(client, cohort)
    assert html.count("Locked") == 4
    assert len(many) == len(few)


def test_the_task_page_of_a_unit_granted_by_rpl_says_the_task_is_not_needed(
    client_for: Any, learner: Any, assessor: Any, cohort: Any, written: dict[str, Any]
) -> None:
    Outcome.objects.create(
        learner=learner,
        unit=written["unit"],
        cohort=cohort,
        code=Outcome.Code.RPL_GRANTED,
        justification="Five years as an enrolled nurse",
        recorded_by=assessor,
    )
    url = f"/assess/cohorts/{cohort.pk}/tasks/{written['task'].pk}/"
    html = client_for(learner).get(url).content.decode()
    assert "through recognition of prior learning" in html
    assert "this task is not needed" in html
    assert "You can start this task now." not in html
