"""Attempts from start to outcome, through the services."""

from __future__ import annotations

import hashlib
import io
from typing import Any

import pytest
import time_machine
from django.core.exceptions import ValidationError

from assessment import services
from assessment.audit.services import verify_chain
from assessment.marking import services as marking
from assessment.models import Attempt, AuditEvent, Item, Outcome, ResubmissionPolicy
from assessment.signals import unit_outcome_recorded
from delivery.models import Enrolment
from tests.factories import CriterionFactory, ItemFactory, ModuleFactory, ResourceFactory


def answer_all(attempt: Attempt, learner: Any, text: str = "My answer") -> None:
    services.save_answers(
        attempt, learner=learner, answers={i.key: text for i in attempt.task.items.all()}
    )


def submitted(learner: Any, written: dict[str, Any], cohort: Any) -> Attempt:
    attempt = services.start_attempt(learner, written["task"], cohort)
    answer_all(attempt, learner)
    return services.submit_attempt(attempt, learner=learner, declared=True)


def judge(attempt: Attempt, assessor: Any, results: dict[str, str], **kwargs: Any) -> Attempt:
    return marking.mark_attempt(
        attempt,
        assessor=assessor,
        judgements=[
            marking.ItemJudgement(k, r, "" if r == "S" else "Say more about this.")
            for k, r in results.items()
        ],
        feedback=kwargs.pop("feedback", "Thanks."),
        declared=kwargs.pop("declared", True),
        version=kwargs.pop("version", attempt.version),
        **kwargs,
    )


def test_it_starts_a_draft_once_and_audits_it(learner: Any, cohort: Any, written: Any) -> None:
    first = services.start_attempt(learner, written["task"], cohort)
    again = services.start_attempt(learner, written["task"], cohort)
    assert first == again
    assert first.status == Attempt.Status.DRAFT
    assert AuditEvent.objects.filter(action="attempt.started", object_id=str(first.pk)).count() == 1


def test_it_will_not_open_a_unit_with_an_uncovered_criterion(
    learner: Any, cohort: Any, written: Any
) -> None:
    CriterionFactory(element=written["unit"].elements.get(), number="1.9")
    with pytest.raises(ValidationError, match="mapping is incomplete"):
        services.start_attempt(learner, written["task"], cohort)
    assert not Attempt.objects.exists()


def test_it_keeps_a_task_locked_until_its_modules_are_done(
    learner: Any, cohort: Any, written: Any
) -> None:
    module = ModuleFactory(course=cohort.course, title="Pre-reading")
    ResourceFactory(module=module)
    written["task"].requires_modules.add(module)
    with pytest.raises(ValidationError, match=r"Opens when you finish Pre-reading\."):
        services.start_attempt(learner, written["task"], cohort)


def test_a_withdrawn_learner_cannot_start(learner: Any, cohort: Any, written: Any) -> None:
    Enrolment.objects.filter(learner=learner).update(status=Enrolment.Status.WITHDRAWN)
    with pytest.raises(ValidationError, match="not an active learner"):
        services.start_attempt(learner, written["task"], cohort)


def test_it_refuses_a_bad_choice_and_saves_nothing(learner: Any, cohort: Any, written: Any) -> None:
    quiz_item = ItemFactory(
        task=written["task"],
        key="mc",
        kind=Item.Kind.SINGLE_CHOICE,
        choices=["a", "b"],
        correct=[1],
    )
    attempt = services.start_attempt(learner, written["task"], cohort)
    with pytest.raises(ValidationError, match=r"Choose from the options given\."):
        services.save_answers(attempt, learner=learner, answers={"q1": "fine", "mc": ["7"]})
    assert not attempt.answers.exists()
    with pytest.raises(ValidationError, match=r"Choose one option\."):
        services.save_answers(attempt, learner=learner, answers={"mc": ["0", "1"]})
    with pytest.raises(ValidationError, match="Unknown questions: nope"):
        services.save_answers(attempt, learner=learner, answers={"nope": "x"})
    assert quiz_item.answers.count() == 0


def test_submitting_needs_every_answer_and_the_declaration(
    learner: Any, cohort: Any, written: Any
) -> None:
    attempt = services.start_attempt(learner, written["task"], cohort)
    services.save_answers(attempt, learner=learner, answers={"q1": "One"})
    with pytest.raises(ValidationError) as missing:
        services.submit_attempt(attempt, learner=learner, declared=True)
    assert missing.value.messages == ["Answer question 2."]
    services.save_answers(attempt, learner=learner, answers={"q2": "Two"})
    with pytest.raises(ValidationError, match="Tick the declaration"):
        services.submit_attempt(attempt, learner=learner, declared=False)
    attempt.refresh_from_db()
    assert attempt.status == Attempt.Status.DRAFT


def test_submitting_freezes_a_snapshot_and_twice_is_refused(
    learner: Any, cohort: Any, written: Any
) -> None:
    attempt = submitted(learner, written, cohort)
    assert attempt.snapshot["task"]["version"] == 1
    assert [i["answer"]["text"] for i in attempt.snapshot["items"]] == ["My answer", "My answer"]
    with pytest.raises(ValidationError, match="already been submitted"):
        services.submit_attempt(attempt, learner=learner, declared=True)
    with pytest.raises(ValidationError, match="can no longer be changed"):
        services.save_answers(attempt, learner=learner, answers={"q1": "changed"})
    assert attempt.answers.get(item__key="q1").text == "My answer"


def test_choice_items_are_marked_on_submission(learner: Any, cohort: Any, written: Any) -> None:
    ItemFactory(
        task=written["task"], key="mc", kind=Item.Kind.SINGLE_CHOICE, choices=["a", "b"],
        correct=[1], criteria=[written["items"][0].criteria.get()],
    )  # fmt: skip
    attempt = services.start_attempt(learner, written["task"], cohort)
    services.save_answers(attempt, learner=learner, answers={"q1": "x", "q2": "y", "mc": ["0"]})
    services.submit_attempt(attempt, learner=learner, declared=True)
    judgement = attempt.judgements.get(item__key="mc")
    assert (judgement.result, judgement.automatic) == ("NS", True)


def test_marking_needs_every_item_a_comment_on_ns_and_the_declaration(
    learner: Any, assessor: Any, cohort: Any, written: Any
) -> None:
    attempt = submitted(learner, written, cohort)
    with pytest.raises(ValidationError, match=r"Judge every item: item 2 not judged yet\."):
        judge(attempt, assessor, {"q1": "S"})
    with pytest.raises(ValidationError, match=r"Not Satisfactory item: item 2\."):
        marking.mark_attempt(
            attempt, assessor=assessor, judgements=[
                marking.ItemJudgement("q1", "S"), marking.ItemJudgement("q2", "NS")
            ], feedback="", declared=True, version=attempt.version,
        )  # fmt: skip
    with pytest.raises(ValidationError, match="assessor declaration"):
        judge(attempt, assessor, {"q1": "S", "q2": "S"}, declared=False)
    attempt.refresh_from_db()
    assert attempt.status == Attempt.Status.SUBMITTED
    assert not attempt.judgements.filter(automatic=False).exists()


def test_a_second_assessor_saving_stale_marking_is_told_and_overwrites_nothing(
    learner: Any, assessor: Any, other_assessor: Any, cohort: Any, written: Any
) -> None:
    attempt = submitted(learner, written, cohort)
    opened_at = attempt.version
    judge(attempt, assessor, {"q1": "S", "q2": "S"}, version=opened_at)
    with pytest.raises(marking.StaleMarking, match="Asha Patel marked this attempt"):
        judge(attempt, other_assessor, {"q1": "NS", "q2": "NS"}, version=opened_at)
    attempt.refresh_from_db()
    assert attempt.result == "S"
    assert set(attempt.judgements.values_list("result", flat=True)) == {"S"}


def test_ns_opens_a_resubmission_with_s_items_carried_forward(
    learner: Any, assessor: Any, cohort: Any, written: Any
) -> None:
    first = submitted(learner, written, cohort)
    judge(first, assessor, {"q1": "S", "q2": "NS"})
    second = services.start_attempt(learner, written["task"], cohort)
    assert (second.number, second.previous) == (2, first)
    carried = second.answers.get(item__key="q1")
    assert carried.carried_forward
    services.save_answers(second, learner=learner, answers={"q1": "sneaky edit", "q2": "Better"})
    carried.refresh_from_db()
    assert carried.text == "My answer"
    services.submit_attempt(second, learner=learner, declared=True)
    assert second.judgements.get(item__key="q1").result == "S"


def test_attempts_beyond_the_limit_are_refused(
    learner: Any, assessor: Any, cohort: Any, written: Any
) -> None:
    ResubmissionPolicy.objects.create(cohort=cohort, max_attempts=2)
    for _ in range(2):
        judge(submitted(learner, written, cohort), assessor, {"q1": "NS", "q2": "NS"})
    with pytest.raises(ValidationError, match="used all 2 attempts"):
        services.start_attempt(learner, written["task"], cohort)


def test_a_resubmission_after_the_window_is_refused(
    learner: Any, assessor: Any, cohort: Any, written: Any
) -> None:
    ResubmissionPolicy.objects.create(cohort=cohort, window_days=14)
    with time_machine.travel("2026-12-01 10:00 +1100", tick=False):
        judge(submitted(learner, written, cohort), assessor, {"q1": "NS", "q2": "S"})
    with (
        time_machine.travel("2026-12-20 10:00 +1100", tick=False),
        pytest.raises(ValidationError, match="window closed on 15 December 2026"),
    ):
        services.start_attempt(learner, written["task"], cohort)


def test_competent_needs_every_task_satisfactory_and_is_announced_after_commit(
    learner: Any,
    assessor: Any,
    cohort: Any,
    written: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    unit = written["unit"]
    attempt = submitted(learner, written, cohort)
    with pytest.raises(ValidationError, match="0 of 1 are"):
        marking.record_outcome(learner, unit, cohort, code="20", recorded_by=assessor)
    judge(attempt, assessor, {"q1": "S", "q2": "S"})
    heard: list[int] = []

    def listener(sender: Any, outcome_id: int, **kwargs: Any) -> None:
        heard.append(outcome_id)

    unit_outcome_recorded.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            outcome = marking.record_outcome(learner, unit, cohort, code="20", recorded_by=assessor)
        assert heard == []  # not before the commit
        for callback in callbacks:
            callback()
    finally:
        unit_outcome_recorded.disconnect(listener)
    assert heard == [outcome.pk]
    assert outcome.competent


def test_an_outcome_is_corrected_by_a_new_one_that_supersedes_it(
    learner: Any, assessor: Any, cohort: Any, written: Any
) -> None:
    judge(submitted(learner, written, cohort), assessor, {"q1": "S", "q2": "S"})
    first = marking.record_outcome(
        learner, written["unit"], cohort, code="20", recorded_by=assessor
    )
    with pytest.raises(ValidationError, match="already recorded as Competent"):
        marking.record_outcome(learner, written["unit"], cohort, code="20", recorded_by=assessor)
    second = marking.record_outcome(
        learner, written["unit"], cohort, code="30", recorded_by=assessor,
        justification="Evidence found to be copied.",
    )  # fmt: skip
    assert second.supersedes == first
    assert list(Outcome.objects.current()) == [second]


def test_rpl_needs_a_justification_and_a_document(
    learner: Any, assessor: Any, cohort: Any, written: Any
) -> None:
    justification = "Ten years as an infection control nurse; statement of service attached."
    with pytest.raises(ValidationError, match="justification and attach the evidence"):
        marking.record_outcome(learner, written["unit"], cohort, code="51", recorded_by=assessor)
    with pytest.raises(ValidationError, match="justification and attach the evidence"):
        marking.record_outcome(
            learner, written["unit"], cohort, code="51", recorded_by=assessor,
            justification=justification,
        )  # fmt: skip
    outcome = marking.record_outcome(
        learner, written["unit"], cohort, code="51", recorded_by=assessor,
        justification=justification,
        documents=[("service.pdf", io.BytesIO(b"%PDF-1.4\n%%EOF\n"))],
    )  # fmt: skip
    assert outcome.documents.get().sha256 == hashlib.sha256(b"%PDF-1.4\n%%EOF\n").hexdigest()
    assert outcome.competent


def test_nyc_follows_attempts_running_out(
    learner: Any, assessor: Any, cohort: Any, written: Any
) -> None:
    ResubmissionPolicy.objects.create(cohort=cohort, max_attempts=1)
    with pytest.raises(ValidationError, match="attempts have run out"):
        marking.record_outcome(learner, written["unit"], cohort, code="30", recorded_by=assessor)
    judge(submitted(learner, written, cohort), assessor, {"q1": "NS", "q2": "S"})
    outcome = marking.record_outcome(
        learner, written["unit"], cohort, code="30", recorded_by=assessor
    )
    assert not outcome.competent


def test_the_whole_flow_leaves_an_unbroken_audit_trail(
    learner: Any, assessor: Any, cohort: Any, written: Any
) -> None:
    first = submitted(learner, written, cohort)
    judge(first, assessor, {"q1": "S", "q2": "NS"})
    second = services.start_attempt(learner, written["task"], cohort)
    services.save_answers(second, learner=learner, answers={"q2": "Better"})
    services.submit_attempt(second, learner=learner, declared=True)
    judge(second, assessor, {"q1": "S", "q2": "S"})
    marking.record_outcome(learner, written["unit"], cohort, code="20", recorded_by=assessor)
    actions = list(AuditEvent.objects.values_list("action", flat=True))
    assert actions.count("attempt.submitted") == 2
    assert actions[-1] == "outcome.recorded"
    check = verify_chain()
    assert check.ok
    assert check.checked == len(actions)
