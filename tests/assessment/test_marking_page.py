from __future__ import annotations

import itertools
import re
from typing import Any

import pytest
import time_machine

from assessment import services
from assessment.marking import services as marking
from assessment.models import Attempt, Evidence
from delivery.roles import Role
from tests.factories import UserFactory


@pytest.fixture
def attempt(learner: Any, cohort: Any, written: dict[str, Any]) -> Attempt:
    draft = services.start_attempt(learner, written["task"], cohort)
    services.save_answers(draft, learner=learner, answers={"q1": "Wash hands", "q2": "Gloves"})
    return services.submit_attempt(draft, learner=learner, declared=True)


def url(attempt: Attempt) -> str:
    return f"/assess/attempts/{attempt.pk}/mark/"


def post_marking(client: Any, attempt: Attempt, results: dict[str, str], **extra: Any) -> Any:
    data = {"version": attempt.version, "feedback": "Good work.", "declared": "on", **extra}
    for key, result in results.items():
        data[f"result-{key}"] = result
        data[f"comment-{key}"] = "" if result == "S" else "Name the five moments."
    return client.post(url(attempt), data)


def claim_url(attempt: Attempt) -> str:
    return f"/assess/attempts/{attempt.pk}/claim"


def test_opening_the_page_shows_answers_and_claims_nothing(
    client_for: Any, assessor: Any, attempt: Attempt
) -> None:
    html = client_for(assessor).get(url(attempt)).content.decode()
    assert "Wash hands" in html
    assert "Nobody is marking this attempt yet." in html
    assert f'action="{claim_url(attempt)}"' in html
    assert '<fieldset class="marking__fields" disabled>' in html  # opens on "Start marking"
    attempt.refresh_from_db()
    assert attempt.claimed_by is None


def test_start_marking_claims_the_attempt_and_opens_the_form(
    client_for: Any, assessor: Any, attempt: Attempt
) -> None:
    client = client_for(assessor)
    response = client.post(claim_url(attempt))
    assert response.status_code == 302
    assert response["Location"] == url(attempt)
    attempt.refresh_from_db()
    assert attempt.claimed_by == assessor
    html = client.get(url(attempt)).content.decode()
    assert "You are marking this attempt" in html
    assert '<fieldset class="marking__fields">' in html


def test_of_two_assessors_starting_one_wins_and_the_other_is_told(
    client_for: Any, assessor: Any, cohort: Any, attempt: Attempt
) -> None:
    colleague = UserFactory(first_name="Cole", last_name="League", roles=[Role.ASSESSOR])
    cohort.assessors.add(colleague)
    client_for(assessor).post(claim_url(attempt))
    refused = client_for(colleague).post(claim_url(attempt), follow=True)
    html = refused.content.decode()
    assert "You have not started marking: Asha Patel is marking this attempt." in html
    assert '<fieldset class="marking__fields" disabled>' in html
    attempt.refresh_from_db()
    assert attempt.claimed_by == assessor


def test_another_assessor_sees_it_is_being_marked(
    client_for: Any, assessor: Any, cohort: Any, attempt: Attempt
) -> None:
    colleague = UserFactory(first_name="Cole", last_name="League", roles=[Role.ASSESSOR])
    cohort.assessors.add(colleague)
    client_for(assessor).post(claim_url(attempt))
    html = client_for(colleague).get(url(attempt)).content.decode()
    assert "Asha Patel is marking this attempt." in html


def test_a_lapsed_claim_can_be_taken_over(
    client_for: Any, assessor: Any, cohort: Any, attempt: Attempt
) -> None:
    colleague = UserFactory(first_name="Cole", last_name="League", roles=[Role.ASSESSOR])
    cohort.assessors.add(colleague)
    with time_machine.travel("2026-11-23 10:00 +1100", tick=False):
        client_for(assessor).post(claim_url(attempt))
    with time_machine.travel("2026-11-23 11:01 +1100", tick=False):
        assert b"Start marking" in client_for(colleague).get(url(attempt)).content
        client_for(colleague).post(claim_url(attempt))
    attempt.refresh_from_db()
    assert attempt.claimed_by == colleague


def test_claiming_is_refused_to_the_wrong_people_and_methods(
    client_for: Any, trainer: Any, other_assessor: Any, learner: Any, attempt: Attempt
) -> None:
    assert client_for(other_assessor).post(claim_url(attempt)).status_code == 404
    assert client_for(trainer).post(claim_url(attempt)).status_code == 403
    assert client_for(learner).post(claim_url(attempt)).status_code == 403
    attempt.refresh_from_db()
    assert attempt.claimed_by is None


def test_claiming_needs_a_post(client_for: Any, assessor: Any, attempt: Attempt) -> None:
    assert client_for(assessor).get(claim_url(attempt)).status_code == 405
    attempt.refresh_from_db()
    assert attempt.claimed_by is None


def test_a_marked_attempt_cannot_be_claimed(
    client_for: Any, assessor: Any, attempt: Attempt
) -> None:
    client = client_for(assessor)
    post_marking(client, attempt, {"q1": "S", "q2": "NS"})
    html = client.post(claim_url(attempt), follow=True).content.decode()
    assert "Only an attempt waiting for marking can be claimed." in html
    attempt.refresh_from_db()
    assert attempt.claimed_by is None


def test_it_records_the_judgement(client_for: Any, assessor: Any, attempt: Attempt) -> None:
    response = post_marking(client_for(assessor), attempt, {"q1": "S", "q2": "NS"})
    assert response.status_code == 302
    attempt.refresh_from_db()
    assert (attempt.status, attempt.result, attempt.feedback) == ("marked", "NS", "Good work.")


def test_it_explains_a_missing_declaration_and_saves_nothing(
    client_for: Any, assessor: Any, attempt: Attempt
) -> None:
    response = post_marking(client_for(assessor), attempt, {"q1": "S", "q2": "S"}, declared="")
    assert response.status_code == 400
    assert b"Tick the assessor declaration" in response.content
    attempt.refresh_from_db()
    assert attempt.status == Attempt.Status.SUBMITTED


def test_a_stale_save_is_refused_and_shows_the_other_marking(
    client_for: Any, assessor: Any, cohort: Any, attempt: Attempt
) -> None:
    colleague = UserFactory(first_name="Cole", last_name="League", roles=[Role.ASSESSOR])
    cohort.assessors.add(colleague)
    opened = Attempt.objects.get(pk=attempt.pk)
    post_marking(client_for(assessor), opened, {"q1": "S", "q2": "S"})
    response = post_marking(client_for(colleague), opened, {"q1": "NS", "q2": "NS"})
    html = response.content.decode()
    assert response.status_code == 409
    assert "Asha Patel marked this attempt while you had it open" in html
    assert "Saved by Asha Patel: Satisfactory" in html
    attempt.refresh_from_db()
    assert attempt.result == "S"


def test_an_assessor_of_another_cohort_cannot_see_or_mark(
    client_for: Any, other_assessor: Any, attempt: Attempt
) -> None:
    client = client_for(other_assessor)
    assert client.get(url(attempt)).status_code == 404
    assert post_marking(client, attempt, {"q1": "S", "q2": "S"}).status_code == 404
    attempt.refresh_from_db()
    assert attempt.status == Attempt.Status.SUBMITTED


def test_the_cohorts_trainer_may_not_mark(client_for: Any, trainer: Any, attempt: Attempt) -> None:
    assert client_for(trainer).get(url(attempt)).status_code == 403


def test_a_learner_may_not_open_another_learners_attempt(
    client_for: Any, other_learner: Any, attempt: Attempt
) -> None:
    assert client_for(other_learner).get(f"/assess/attempts/{attempt.pk}/").status_code == 404


def test_the_learner_sees_their_own_attempt(
    client_for: Any, learner: Any, attempt: Attempt
) -> None:
    html = client_for(learner).get(f"/assess/attempts/{attempt.pk}/").content.decode()
    assert "Wash hands" in html
    assert "I declare that this work is my own" in html


# user, roles, the attempt with its task, unit, cohort, course, learner and claim and whether the
# user assesses its cohort, the items, the judgements with their assessors, the evidence; and
# the session, read from the database on a client's first visit.
MARKING_QUERIES = 7


def test_its_query_count_does_not_grow_with_items_judgements_or_evidence(
    client_for: Any,
    assessor: Any,
    learner: Any,
    cohort: Any,
    written: dict[str, Any],  # the learner, enrolled
    django_assert_max_num_queries: Any,
) -> None:
    from tests.factories import assessable_unit

    def submitted(items: int) -> Attempt:
        made = assessable_unit(course=cohort.course, items=items)
        draft = services.start_attempt(learner, made["task"], cohort)
        answers = {f"q{i}": "x" for i in range(1, items + 1)}
        services.save_answers(draft, learner=learner, answers=answers)
        return services.submit_attempt(draft, learner=learner, declared=True)

    small, large = submitted(2), submitted(40)
    keys = [item.key for item in large.task.items.all()]
    marking.mark_attempt(
        large,
        assessor=assessor,
        judgements=[marking.ItemJudgement(key, "NS", "Say more.") for key in keys],
        feedback="Again please.",
        declared=True,
        version=large.version,
    )
    for n, item in enumerate([*large.task.items.all()[:20], None, None]):
        Evidence.objects.create(
            attempt=large,
            item=item,
            file=f"evidence/e{n}.pdf",
            original_name=f"Log book page {n}.pdf",
            size=1000,
            sha256="0" * 64,
            content_type="application/pdf",
            uploaded_by=learner,
        )
    for attempt in (small, large):
        client = client_for(assessor)
        with django_assert_max_num_queries(MARKING_QUERIES):
            response = client.get(url(attempt))
        assert response.content.count(b'class="card marking-item"') == len(attempt.task.items.all())
    assert b"Say more." in response.content  # the large one's judgements and files, shown
    assert b"Log book page 21.pdf" in response.content


# Read afresh on every visit -------------------------------------------------------------


def test_each_visit_gets_its_own_csrf_token_and_the_claim_notice(
    client_for: Any, assessor: Any, cohort: Any, attempt: Attempt
) -> None:
    colleague = UserFactory(first_name="Cole", last_name="League", roles=[Role.ASSESSOR])
    cohort.assessors.add(colleague)
    client_for(assessor).post(claim_url(attempt))
    mine = client_for(assessor).get(url(attempt))
    theirs = client_for(colleague).get(url(attempt))
    assert b"is marking this attempt" not in mine.content
    assert b"Asha Patel is marking this attempt." in theirs.content
    assert mine.context["csrf_token"] != theirs.context["csrf_token"]
    assert str(theirs.context["csrf_token"]).encode() in theirs.content
    assert b"Wash hands" in theirs.content


def test_a_saved_marking_shows_on_the_next_visit(
    client_for: Any, assessor: Any, attempt: Attempt
) -> None:
    client = client_for(assessor)
    assert b"Saving again records a new judgement" not in client.get(url(attempt)).content
    post_marking(client, attempt, {"q1": "S", "q2": "NS"})
    html = client.get(url(attempt)).content.decode()
    assert "Saving again records a new judgement" in html
    assert "Name the five moments." in html
    assert f'name="version" value="{attempt.version + 1}"' in html


def test_a_form_opened_before_someone_else_saved_cannot_overwrite_it(
    client_for: Any, assessor: Any, cohort: Any, attempt: Attempt
) -> None:
    colleague = UserFactory(first_name="Cole", last_name="League", roles=[Role.ASSESSOR])
    cohort.assessors.add(colleague)
    client_for(assessor).get(url(attempt))  # opened at version 0
    assert post_marking(client_for(colleague), attempt, {"q1": "S", "q2": "S"}).status_code == 302
    # The first assessor posts the form they opened, at version 0.
    stale = post_marking(client_for(assessor), attempt, {"q1": "NS", "q2": "NS"})
    assert stale.status_code == 409
    attempt.refresh_from_db()
    assert attempt.result == "S"


def test_starting_again_renews_ones_own_claim_only_now_and_then(
    client_for: Any, assessor: Any, attempt: Attempt
) -> None:
    client = client_for(assessor)
    with time_machine.travel("2026-11-23 10:00 +1100", tick=False):
        client.post(claim_url(attempt))
    attempt.refresh_from_db()
    claimed_at = attempt.claimed_at
    with time_machine.travel("2026-11-23 10:04 +1100", tick=False):
        client.post(claim_url(attempt))
        client.get(url(attempt))
    attempt.refresh_from_db()
    assert attempt.claimed_at == claimed_at  # again within five minutes: nothing written
    with time_machine.travel("2026-11-23 10:30 +1100", tick=False):
        client.get(url(attempt))
    attempt.refresh_from_db()
    assert attempt.claimed_at == claimed_at  # reading never writes
    with time_machine.travel("2026-11-23 10:31 +1100", tick=False):
        client.post(claim_url(attempt))
    attempt.refresh_from_db()
    assert attempt.claimed_at > claimed_at


def test_an_attempt_number_no_column_can_hold_is_not_found(client_for: Any, assessor: Any) -> None:
    response = client_for(assessor).get("/assess/attempts/99999999999999999999/mark/")
    assert response.status_code == 404


# --- on from marking (issue 14, defect 7) -------------------------------------------------------


def test_marking_the_units_last_task_satisfactory_goes_on_to_the_outcome(
    client_for: Any, assessor: Any, learner: Any, cohort: Any, attempt: Attempt
) -> None:
    client = client_for(assessor)
    response = post_marking(client, attempt, {"q1": "S", "q2": "S"})
    unit = attempt.task.unit
    outcome_url = f"/assess/cohorts/{cohort.pk}/learners/{learner.pk}/units/{unit.pk}/outcome/"
    assert response.status_code == 302
    assert response["Location"] == outcome_url
    html = client.get(outcome_url).content.decode()
    assert f"Every task of {unit.code} is now Satisfactory: record the unit outcome." in html


def test_marking_not_satisfactory_goes_back_to_the_queue(
    client_for: Any, assessor: Any, attempt: Attempt
) -> None:
    response = post_marking(client_for(assessor), attempt, {"q1": "S", "q2": "NS"})
    assert response["Location"] == "/assess/queue/"


def test_marking_again_after_competent_goes_back_to_the_queue(
    client_for: Any, assessor: Any, learner: Any, cohort: Any, attempt: Attempt
) -> None:
    client = client_for(assessor)
    post_marking(client, attempt, {"q1": "S", "q2": "S"})
    marking.record_outcome(learner, attempt.task.unit, cohort, code="20", recorded_by=assessor)
    attempt.refresh_from_db()
    assert post_marking(client, attempt, {"q1": "S", "q2": "S"})["Location"] == "/assess/queue/"


def test_the_all_satisfactory_shortcut_is_offered_with_every_item_still_shown(
    client_for: Any, assessor: Any, attempt: Attempt
) -> None:
    client = client_for(assessor)
    client.post(claim_url(attempt))
    html = client.get(url(attempt)).content.decode()
    assert "Mark every item Satisfactory" in html
    assert "data-all-satisfactory hidden" in html  # shown by static/js/marking.js
    assert 'src="/static/js/marking.js"' in html
    assert html.count('class="card marking-item"') == 2
    assert html.count('value="S" checked') == 0  # nothing is ticked for the assessor


def test_item_headings_follow_the_page_heading(
    client_for: Any, assessor: Any, attempt: Attempt
) -> None:
    """axe's heading-order: each item's title is an h2 under the page's h1, so the answer's
    h3 inside it no longer skips a level."""
    html = client_for(assessor).get(url(attempt)).content.decode()
    levels = [int(level) for level in re.findall(r"<h([1-6])[ >]", html)]
    assert levels[0] == 1
    assert all(later - earlier <= 1 for earlier, later in itertools.pairwise(levels)), levels


def test_a_refused_save_names_items_by_number_not_by_key(
    client_for: Any, assessor: Any, attempt: Attempt
) -> None:
    response = post_marking(client_for(assessor), attempt, {"q1": "S"})
    html = response.content.decode()
    assert response.status_code == 400
    assert "Judge every item: item 2 not judged yet." in html
    assert "q2 not judged" not in html


def test_each_item_shows_its_answer_choices_and_judgement_so_far(
    client_for: Any, assessor: Any, learner: Any, cohort: Any
) -> None:
    """A choice item lists its options with the learner's choice and the right one, and its
    automatic judgement's note; a typed item keeps its comment as saved, and a refused save
    shows what was posted rather than what was saved."""
    from delivery.services import enrol_learner
    from tests.factories import ItemFactory, assessable_unit

    made = assessable_unit(course=cohort.course, items=1)
    ItemFactory(
        task=made["task"],
        key="pick",
        position=9,
        kind="single_choice",
        choices=["Soap", "Sanitiser", "Water alone"],
        correct=[1],
    )
    enrol_learner(learner, cohort)
    draft = services.start_attempt(learner, made["task"], cohort)
    services.save_answers(draft, learner=learner, answers={"q1": "Rub hands", "pick": "0"})
    attempt = services.submit_attempt(draft, learner=learner, declared=True)
    client = client_for(assessor)
    client.post(claim_url(attempt))

    html = client.get(url(attempt)).content.decode()
    assert '<li class="chosen"><strong>Chosen:</strong> Soap</li>' in html
    assert '<li>Sanitiser <span class="meta">(correct)</span></li>' in html
    assert "<li>Water alone</li>" in html
    assert '<span class="meta">Marked automatically.</span>' in html
    assert re.search(r'name="result-pick" value="NS" checked', html)
    assert "Rub hands" in html

    attempt.refresh_from_db()
    refused = post_marking(client, attempt, {"q1": "NS"}, declared="")
    assert refused.status_code == 400
    refused_html = refused.content.decode()
    assert re.search(r'name="result-q1" value="NS" checked', refused_html)
    assert 'name="comment-q1" rows="2">Name the five moments.</textarea>' in refused_html
    # The automatic note stays beside its item, never in the comment box.
    assert 'name="comment-pick" rows="2"></textarea>' in refused_html
