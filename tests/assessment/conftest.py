from __future__ import annotations

from typing import Any

import pytest

from delivery.services import enrol_learner
from tests.factories import assessable_unit


@pytest.fixture
def written(cohort: Any, learner: Any) -> dict[str, Any]:
    """A written task of two short-answer items in a unit of the learner's course, fully mapped;
    the learner is enrolled in `cohort` (assessed by `assessor`)."""
    enrol_learner(learner, cohort)
    return assessable_unit(course=cohort.course, items=2)


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def png_bytes() -> bytes:
    from io import BytesIO

    from PIL import Image

    buffer = BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()


def assess(
    learner: Any, assessor: Any, cohort: Any, made: dict[str, Any], *, files: bool = True
) -> dict[str, Any]:
    """One learner's whole assessment in a unit through the services: answers, evidence (a PDF
    and a photo), the declaration, marking S with the assessor's declaration, and Competent."""
    from django.core.files.base import ContentFile

    from assessment import services
    from assessment.evidence.services import add_evidence
    from assessment.marking import services as marking

    task, unit = made["task"], made["unit"]
    attempt = services.start_attempt(learner, task, cohort)
    services.save_answers(
        attempt, learner=learner, answers={"q1": "Wash hands first.", "q2": "Gloves, gown."}
    )
    evidence = []
    if files:
        evidence = [
            add_evidence(attempt, uploaded_by=learner, name="audit.pdf", content=ContentFile(PDF)),
            add_evidence(
                attempt, uploaded_by=learner, name="photo.png", content=ContentFile(png_bytes())
            ),
        ]
    services.submit_attempt(attempt, learner=learner, declared=True)
    attempt.refresh_from_db()
    marking.mark_attempt(
        attempt,
        assessor=assessor,
        judgements=[
            marking.ItemJudgement("q1", "S", "Clear."),
            marking.ItemJudgement("q2", "S", ""),
        ],
        feedback="Well done.",
        declared=True,
        version=attempt.version,
    )
    outcome = marking.record_outcome(learner, unit, cohort, code="20", recorded_by=assessor)
    return {
        "attempt": attempt,
        "evidence": evidence,
        "outcome": outcome,
        "unit": unit,
        "task": task,
        "cohort": cohort,
        "learner": learner,
    }


@pytest.fixture
def assessed(written: dict[str, Any], learner: Any, assessor: Any, cohort: Any) -> dict[str, Any]:
    """The learner's record in `written`'s unit, assessed Competent, with two evidence files."""
    return assess(learner, assessor, cohort, written)
