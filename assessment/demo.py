"""The assessment part of the demo data (see delivery's `seed_demo` and its demo_seeded signal).

Every state a page of ours can show, on the demo logins, each reached through the same
services a person's clicks use:

- Liam (learner2) has all of HLTINF006 Satisfactory but its quiz, which waits in the queue:
  marking it Satisfactory lets the assessor record Competent and see the credential issued.
  He has asked his workplace supervisor for HLTINF007's third-party report (the link is in
  the e-mail, printed by `make run`), and his first aid quiz waits too.
- Mia (learner3) got Not Satisfactory on the HLTINF006 quiz (a resubmission is open), has a
  written task in progress, HLTINF007 by credit transfer, and a first aid quiz waiting.
- Noah (learner4) has not started: the skill set's tasks are locked. First aid is his by RPL.
- The demo auditor holds a grant over both demo courses.

Each part runs once: a second `seed_demo` finds it done and adds nothing.
"""

from __future__ import annotations

import io
import struct
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.utils import timezone
from PIL import Image

from assessment.evidence.services import add_evidence
from assessment.marking.services import ItemJudgement, mark_attempt, record_outcome
from assessment.models import Attempt, Outcome, Task, ThirdPartyRequest
from assessment.services import (
    save_answers,
    start_attempt,
    start_observation,
    submit_attempt,
)
from assessment.third_party.services import request_third_party_report
from delivery.models import AuditorGrant, Cohort, Course, Resource, Unit
from delivery.services import mark_resource_done

SUPERVISOR_EMAIL = "dana.supervisor@workplace.example"
# Where a demo link points when no public address is configured: `make run`'s own.
DEFAULT_SITE_URL = "http://127.0.0.1:8000"


def site_url() -> str:
    return str(getattr(settings, "PUBLIC_URL", "") or DEFAULT_SITE_URL)


# Small, valid files, made here so the demo needs nothing downloaded ------------------------


def demo_photo(text_colour: tuple[int, int, int] = (40, 90, 140)) -> bytes:
    """A small JPEG (a plain coloured card), as a phone photo of a form would be."""
    image = Image.new("RGB", (320, 240), (245, 245, 240))
    image.paste(text_colour, (20, 20, 300, 60))
    for row in range(80, 220, 24):
        image.paste((180, 180, 180), (20, row, 300, row + 4))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def demo_video(seconds: int = 45) -> bytes:
    """An MP4 container (ftyp, moov with its movie header, empty mdat) that says it lasts
    `seconds`: enough for type sniffing and duration checks; no picture to play."""
    ftyp = _box(b"ftyp", b"isom\0\0\2\0isomiso2avc1mp41")
    matrix = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
    mvhd = _box(
        b"mvhd",
        struct.pack(">I4I", 0, 0, 0, 1000, seconds * 1000)
        + struct.pack(">IH10x", 0x10000, 0x100)
        + matrix
        + bytes(24)
        + struct.pack(">I", 2),
    )
    return ftyp + _box(b"moov", mvhd) + _box(b"mdat", b"")


def demo_document(title: str, lines: list[str]) -> bytes:
    return (
        "\n".join([title, "=" * len(title), "", *lines, "", "(Demo document.)"]) + "\n"
    ).encode()


# Helpers ----------------------------------------------------------------------------------


def _study(learner: Any, **filters: Any) -> None:
    for resource in Resource.objects.filter(**filters):
        mark_resource_done(learner, resource)


def _answers(task: Task, *, wrong: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Right answers to the choice items (a wrong one for the keys in `wrong`), and plausible
    text for the others."""
    answers: dict[str, Any] = {}
    for item in task.items.all():
        if item.auto_marked:
            right = [int(i) for i in item.correct]
            if item.key in wrong:
                right = [next(i for i in range(len(item.choices)) if i not in right)]
            answers[item.key] = [str(i) for i in right]
        elif item.kind != item.Kind.CHECKLIST:
            answers[item.key] = (
                "I would clean my hands first, then ask my supervisor what the workplace "
                "procedure says, and follow it."
            )
    return answers


def _submitted(learner: Any, task: Task, cohort: Cohort, **kwargs: Any) -> Attempt:
    attempt = start_attempt(learner, task, cohort)
    save_answers(attempt, learner=learner, answers=_answers(task, **kwargs))
    for item in task.items.filter(evidence_required=True):
        video = "video" in item.evidence_hint.lower()
        add_evidence(
            attempt,
            uploaded_by=learner,
            name="handwash.mp4" if video else "observation-sheet.jpg",
            content=ContentFile(demo_video() if video else demo_photo()),
            item=item,
        )
    return submit_attempt(attempt, learner=learner, declared=True)


def _mark(attempt: Attempt, assessor: Any, *, not_satisfactory: dict[str, str]) -> Attempt:
    attempt.refresh_from_db()
    judgements = [
        ItemJudgement(
            item.key,
            "NS" if item.key in not_satisfactory else "S",
            not_satisfactory.get(item.key, ""),
        )
        for item in attempt.task.items.all()
    ]
    feedback = (
        "Good work: every item is satisfactory."
        if not not_satisfactory
        else "Nearly there: read the comment on each Not Satisfactory item and try again."
    )
    return mark_attempt(
        attempt,
        assessor=assessor,
        judgements=judgements,
        feedback=feedback,
        declared=True,
        version=attempt.version,
        observed_on=(
            timezone.localdate() - timedelta(days=3)
            if attempt.task.kind == Task.Kind.OBSERVATION
            else None
        ),
        observed_at_place="Riverbend simulated care room",
    )


def _task(unit: str, key: str) -> Task | None:
    return Task.objects.filter(unit__code=unit, key=key).first()


# The parts ----------------------------------------------------------------------------------


def _liam(users: dict[str, Any], skill_set: Cohort, first_aid: Cohort) -> str | None:
    """Returns the supervisor's link when it is made (only its hash is kept)."""
    learner, assessor = users["learner2"], users["assessor"]
    quiz = _task("HLTINF006", "basics-quiz")
    written = _task("HLTINF006", "written-questions")
    observation = _task("HLTINF006", "practical-observation")
    report = _task("HLTINF007", "supervisor-report")
    first_aid_quiz = _task("HLTAID011", "knowledge-quiz")
    if not (quiz and written and observation and report and first_aid_quiz):
        return None
    if Attempt.objects.filter(learner=learner, task=quiz).exists():
        return None
    _study(learner, module__course=skill_set.course)
    _study(learner, module__course=first_aid.course)
    _mark(_submitted(learner, written, skill_set), assessor, not_satisfactory={})
    watched = start_observation(assessor, learner, observation, skill_set)
    _mark(watched, assessor, not_satisfactory={})
    _submitted(learner, quiz, skill_set)  # the last of HLTINF006, waiting for marking
    _submitted(learner, first_aid_quiz, first_aid)
    if not ThirdPartyRequest.objects.filter(attempt__learner=learner).exists():
        _, link = request_third_party_report(
            learner,
            report,
            skill_set,
            requested_by=learner,
            supervisor_email=SUPERVISOR_EMAIL,
            base_url=site_url(),
        )
        return link
    return None


def _mia(users: dict[str, Any], skill_set: Cohort, first_aid: Cohort) -> None:
    learner, assessor = users["learner3"], users["assessor"]
    quiz = _task("HLTINF006", "basics-quiz")
    written = _task("HLTINF006", "written-questions")
    first_aid_quiz = _task("HLTAID011", "knowledge-quiz")
    unit = Unit.objects.filter(code="HLTINF007").first()
    if not (quiz and written and first_aid_quiz and unit):
        return
    if Attempt.objects.filter(learner=learner, task=quiz).exists():
        return
    _study(learner, module__course_unit__unit__code="HLTINF006")
    _study(learner, module__course=first_aid.course)
    # One wrong answer: the quiz is Not Satisfactory, with a comment, and a resubmission open.
    attempt = _submitted(learner, quiz, skill_set, wrong=frozenset({"droplet"}))
    _mark(
        attempt,
        assessor,
        not_satisfactory={
            "droplet": "Droplets travel about a metre: look again at the extra precautions "
            "in the hand hygiene and PPE module."
        },
    )
    # Started, not finished: a draft with the first answers saved.
    draft = start_attempt(learner, written, skill_set)
    started = dict(list(_answers(written).items())[:3])
    save_answers(draft, learner=learner, answers=started)
    _submitted(learner, first_aid_quiz, first_aid)
    record_outcome(
        learner,
        unit,
        skill_set,
        code=Outcome.Code.CREDIT_TRANSFER,
        recorded_by=assessor,
        justification="HLTINF007 completed at Eastside TAFE in 2025 (statement of attainment "
        "checked against the national register).",
        documents=[
            (
                "statement-of-attainment-HLTINF007.txt",
                ContentFile(
                    demo_document(
                        "Statement of attainment",
                        [
                            "Mia Kowalski",
                            "HLTINF007 Implement and monitor infection "
                            "prevention and control standards",
                            "Eastside TAFE, 2025",
                        ],
                    )
                ),
            )
        ],
    )


def _noah(users: dict[str, Any], first_aid: Cohort) -> None:
    learner, assessor = users["learner4"], users["assessor"]
    unit = Unit.objects.filter(code="HLTAID011").first()
    if unit is None or Outcome.objects.filter(learner=learner, unit=unit).exists():
        return
    record_outcome(
        learner,
        unit,
        first_aid,
        code=Outcome.Code.RPL_GRANTED,
        recorded_by=assessor,
        justification="Works as a volunteer surf lifesaver: current first aid and CPR "
        "practice confirmed by the club's training officer, with two observed drills.",
        documents=[
            (
                "rpl-portfolio-HLTAID011.txt",
                ContentFile(
                    demo_document(
                        "RPL portfolio",
                        [
                            "Noah Tran",
                            "Club training officer's statement",
                            "Two observed CPR and bleeding-control drills",
                        ],
                    )
                ),
            )
        ],
    )


def _auditor_grant(users: dict[str, Any]) -> None:
    auditor = users["auditor"]
    if AuditorGrant.objects.filter(auditor=auditor).exists():
        return
    now = timezone.now()
    grant = AuditorGrant.objects.create(
        auditor=auditor,
        starts_at=now - timedelta(days=7),
        ends_at=now + timedelta(days=90),
        reason="ASQA audit (demo), ref. DEMO-0001",
        granted_by=users["admin"],
    )
    grant.courses.set(Course.objects.filter(code__in=["HLTSS00065", "HLTAID011"]))


def seed(sender: Any, users: dict[str, Any], **kwargs: Any) -> None:
    """Once per part; see the module's docstring for who is where."""
    skill_set = Cohort.objects.filter(name="Demo cohort", course__code="HLTSS00065").first()
    # By name: the catalogue's demo intakes of the same course come and go around it.
    first_aid = Cohort.objects.filter(
        name="First aid, weekend class", course__code="HLTAID011"
    ).first()
    if skill_set is None or first_aid is None:
        return
    link = _liam(users, skill_set, first_aid)
    if link and kwargs.get("stdout"):
        kwargs["stdout"].write(
            f"Liam asked his supervisor for a workplace report; the e-mailed link: {link}"
        )
    _mia(users, skill_set, first_aid)
    _noah(users, first_aid)
    _auditor_grant(users)
