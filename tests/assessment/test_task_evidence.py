"""Issue 14, defects 1 and 2: evidence attached to the question that asks for it, on the real
infection control written task (question 8 wants "a video of 40 to 60 seconds"), and a task page
that runs as the learner works, keeping everything entered when a submit is refused."""

from __future__ import annotations

import os
import re
import struct
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from assessment.evidence import services as files
from assessment.models import Attempt, AuditEvent, Evidence, Item, Task
from assessment.services import save_answers, start_attempt
from delivery.models import Course, Resource
from delivery.packs import import_pack
from delivery.services import enrol_learner, mark_resource_done
from tests.assessment.test_evidence import PDF, png_bytes
from tests.assessment.test_uploads import create, patch
from tests.delivery.test_packs import SAMPLES
from tests.factories import CohortFactory

pytestmark = pytest.mark.django_db


def mp4(seconds: float, *, payload: int = 4096) -> bytes:
    """A small MP4 whose `moov/mvhd` says it lasts `seconds` (timescale 1000)."""

    def box(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", 8 + len(body)) + kind + body

    mvhd = box(b"mvhd", b"\0\0\0\0" + struct.pack(">IIII", 0, 0, 1000, int(seconds * 1000)))
    return (
        box(b"ftyp", b"isom\0\0\2\0isomiso2avc1mp41")
        + box(b"moov", mvhd)
        + box(b"mdat", os.urandom(payload))
    )


def jpeg() -> bytes:
    from io import BytesIO

    from PIL import Image

    out = BytesIO()
    Image.new("RGB", (32, 24), (10, 120, 200)).save(out, "JPEG")
    return out.getvalue()


@pytest.fixture
def written(learner: Any, assessor: Any) -> dict[str, Any]:
    """The infection control pack's written task, open to `learner` (modules studied), with
    their draft: eight questions, the last one needing a video."""
    import_pack(SAMPLES / "infection-control")
    cohort = CohortFactory(course=Course.objects.get(code="HLTSS00065"), assessors=[assessor])
    enrol_learner(learner, cohort)
    for resource in Resource.objects.filter(module__course_unit__unit__code="HLTINF006"):
        mark_resource_done(learner, resource)
    task = Task.objects.get(unit__code="HLTINF006", key="written-questions")
    attempt = start_attempt(learner, task, cohort)
    video_item = task.items.get(key="handwash-video")
    return {"cohort": cohort, "task": task, "attempt": attempt, "video": video_item}


def task_url(made: dict[str, Any]) -> str:
    return f"/assess/cohorts/{made['cohort'].pk}/tasks/{made['task'].pk}/"


def fieldset(html: str, key: str) -> str:
    """The HTML of one question's fieldset on the task page."""
    match = re.search(rf'<fieldset[^>]*id="q-{key}".*?</fieldset>', html, re.S)
    assert match, f"no fieldset for {key}"
    return match.group(0)


def answer_all(made: dict[str, Any], learner: Any) -> dict[str, str]:
    answers = {item.key: "In my own words." for item in made["task"].items.all()}
    save_answers(made["attempt"], learner=learner, answers=answers)
    return {f"answer-{key}": text for key, text in answers.items()}


# Defect 1: an upload beside the question -----------------------------------------------------


def test_it_offers_an_upload_control_beside_the_question_that_needs_evidence(
    client_for: Any, learner: Any, written: dict[str, Any]
) -> None:
    html = client_for(learner).get(task_url(written)).content.decode()
    question = fieldset(html, "handwash-video")
    assert "Attach a file to question 8" in question
    assert 'type="file"' in question
    assert f'data-item="{written["video"].pk}"' in question
    assert 'accept="video/mp4,video/webm,video/quicktime,.mov"' in question
    assert "A video of 40 to 60 seconds" in question
    # Questions answered in words only get no upload of their own.
    assert 'type="file"' not in fieldset(html, "chain")


def test_the_learner_submits_once_question_8_has_its_video(
    client_for: Any, learner: Any, written: dict[str, Any]
) -> None:
    client = client_for(learner)
    attempt = written["attempt"]
    data = {**answer_all(written, learner), "declared": "on"}
    refused = client.post(f"/assess/attempts/{attempt.pk}/submit", data)
    assert "Upload evidence for question 8" in refused.content.decode()

    content = mp4(45)
    video = str(written["video"].pk)
    url = create(client, attempt.pk, len(content), filename="handwash.mp4", item=video)["Location"]
    assert patch(client, url, 0, content).status_code == 204
    assert Evidence.objects.get().item == written["video"]

    submitted = client.post(f"/assess/attempts/{attempt.pk}/submit", data)
    assert submitted.status_code == 302
    attempt.refresh_from_db()
    assert attempt.status == Attempt.Status.SUBMITTED
    [item] = [i for i in attempt.snapshot["items"] if i["key"] == "handwash-video"]
    assert [e["name"] for e in item["evidence"]] == ["handwash.mp4"]


def test_a_jpeg_for_the_video_question_is_refused_with_the_reason_and_nothing_stored(
    client_for: Any, learner: Any, written: dict[str, Any]
) -> None:
    client = client_for(learner)
    content = jpeg()
    created = create(
        client, written["attempt"].pk, len(content), filename="hands.jpg",
        item=str(written["video"].pk),
    )  # fmt: skip
    url = created["Location"]
    refused = patch(client, url, 0, content)
    assert refused.status_code == 415
    message = refused.content.decode()
    assert message.startswith("Question 8 asks for a video (a video of 40 to 60 seconds")
    assert "JPEG photo" in message
    assert not Evidence.objects.exists()
    assert not list(files.staging_dir().glob("*.part"))
    # The same photo is welcome for the attempt as a whole.
    added = files.add_evidence(
        written["attempt"], uploaded_by=learner, name="hands.jpg", content=ContentFile(content)
    )
    assert added.item is None


def test_a_video_outside_the_asked_length_is_refused_saying_how_long_it_is(
    learner: Any, written: dict[str, Any]
) -> None:
    with pytest.raises(
        ValidationError,
        match=r"This video is 12 seconds long; question 8 asks for 40 to 60 seconds",
    ):
        files.add_evidence(
            written["attempt"],
            uploaded_by=learner,
            name="short.mp4",
            content=ContentFile(mp4(12)),
            item=written["video"],
        )
    assert not Evidence.objects.exists()
    # A length a second over is the phone's rounding, not a refusal.
    files.add_evidence(
        written["attempt"],
        uploaded_by=learner,
        name="ok.mp4",
        content=ContentFile(mp4(60.8)),
        item=written["video"],
    )


@pytest.mark.parametrize(
    ("hint", "kinds", "low", "high", "takes", "refuses"),
    [
        ("A video of 40 to 60 seconds.", ("video",), 40, 60, "video/mp4", "image/jpeg"),
        ("A photo or scan of it.", ("photo", "scan"), None, None, "application/pdf", "video/mp4"),
        ("A short film, at most 2 minutes.", ("video",), None, 120, "video/webm", "image/png"),
        ("An audio recording of your briefing.", ("audio",), None, None, "audio/mpeg", "image/png"),
        ("Your completed log book.", (), None, None, "image/png", None),
    ],
)  # fmt: skip
def test_it_reads_what_a_question_accepts_from_its_hint(
    hint: str, kinds: tuple[str, ...], low: Any, high: Any, takes: str, refuses: str | None
) -> None:
    rule = files.evidence_rule(Item(evidence_hint=hint))
    assert (rule.kinds, rule.min_seconds, rule.max_seconds) == (kinds, low, high)
    assert rule.accepts(takes)
    if refuses:
        assert not rule.accepts(refuses)


def test_a_file_moves_between_the_question_and_the_attempt_as_a_whole(
    client_for: Any, learner: Any, written: dict[str, Any]
) -> None:
    client = client_for(learner)
    attempt = written["attempt"]
    video = files.add_evidence(
        attempt, uploaded_by=learner, name="handwash.mp4", content=ContentFile(mp4(45))
    )
    moved = client.post(
        f"/assess/evidence/{video.pk}/change", {"item": written["video"].pk},
        headers={"HX-Request": "true"},
    )  # fmt: skip
    assert moved.status_code == 200
    assert moved["HX-Trigger"].startswith('{"flipside:evidence-changed"')
    video.refresh_from_db()
    assert video.item == written["video"]
    event = AuditEvent.objects.filter(action="evidence.moved").get()
    assert '"to":"handwash-video"' in event.payload.replace(" ", "")
    assert "handwash.mp4" in fieldset(
        client.get(task_url(written)).content.decode(), "handwash-video"
    )

    back = client.post(f"/assess/evidence/{video.pk}/change", {"item": ""})
    assert back.status_code == 302
    assert back["Location"].endswith("#q-handwash-video")
    video.refresh_from_db()
    assert video.item is None


def test_moving_a_photo_to_the_video_question_is_refused_beside_it_and_changes_nothing(
    client_for: Any, learner: Any, written: dict[str, Any]
) -> None:
    client = client_for(learner)
    photo = files.add_evidence(
        written["attempt"], uploaded_by=learner, name="hands.png", content=ContentFile(png_bytes())
    )
    refused = client.post(
        f"/assess/evidence/{photo.pk}/change", {"item": written["video"].pk},
        headers={"HX-Request": "true"},
    )  # fmt: skip
    assert refused.status_code == 400
    assert "Question 8 asks for a video" in refused.content.decode()
    assert 'role="alert"' in refused.content.decode()
    photo.refresh_from_db()
    assert photo.item is None
    assert not AuditEvent.objects.filter(action="evidence.moved").exists()


def test_another_learner_cannot_move_or_remove_the_file(
    client_for: Any, learner: Any, other_learner: Any, written: dict[str, Any]
) -> None:
    photo = files.add_evidence(
        written["attempt"], uploaded_by=learner, name="hands.png", content=ContentFile(PDF)
    )
    client = client_for(other_learner)
    assert client.post(f"/assess/evidence/{photo.pk}/change", {"item": ""}).status_code == 404
    assert client.post(f"/assess/evidence/{photo.pk}/change", {"remove": "1"}).status_code == 404
    assert client.get(f"/assess/attempts/{written['attempt'].pk}/evidence").status_code == 404
    photo.refresh_from_db()
    assert photo.withdrawn_at is None


def test_the_cohorts_assessor_cannot_move_or_remove_a_learners_file(
    client_for: Any, learner: Any, assessor: Any, written: dict[str, Any]
) -> None:
    photo = files.add_evidence(
        written["attempt"], uploaded_by=learner, name="notes.pdf", content=ContentFile(PDF)
    )
    client = client_for(assessor)
    for data in ({"item": written["video"].pk}, {"remove": "1"}):
        response = client.post(f"/assess/evidence/{photo.pk}/change", data)
        assert response.status_code in (403, 404)
    photo.refresh_from_db()
    assert (photo.item, photo.withdrawn_at) == (None, None)


def test_a_submitted_attempts_files_stay_where_they_are(
    client_for: Any, learner: Any, written: dict[str, Any]
) -> None:
    attempt = written["attempt"]
    video = files.add_evidence(
        attempt, uploaded_by=learner, name="handwash.mp4", content=ContentFile(mp4(45)),
        item=written["video"],
    )  # fmt: skip
    Attempt.objects.filter(pk=attempt.pk).update(status=Attempt.Status.SUBMITTED)
    client = client_for(learner)
    assert client.post(f"/assess/evidence/{video.pk}/change", {"item": ""}).status_code == 403
    assert client.get(f"/assess/evidence/{video.pk}/change").status_code == 405
    video.refresh_from_db()
    assert video.item == written["video"]


def test_the_learner_removes_a_file_from_its_question(
    client_for: Any, learner: Any, written: dict[str, Any]
) -> None:
    video = files.add_evidence(
        written["attempt"], uploaded_by=learner, name="handwash.mp4",
        content=ContentFile(mp4(45)), item=written["video"],
    )  # fmt: skip
    client = client_for(learner)
    removed = client.post(
        f"/assess/evidence/{video.pk}/change", {"remove": "1"}, headers={"HX-Request": "true"}
    )
    assert removed.status_code == 200
    assert "No file attached to question 8 yet." in removed.content.decode()
    video.refresh_from_db()
    assert video.withdrawn_at is not None


# Defect 2: the page in the learner's order; a refused submit keeps everything ----------------


def test_the_page_runs_questions_with_evidence_then_declaration_then_submit(
    client_for: Any, learner: Any, written: dict[str, Any]
) -> None:
    html = client_for(learner).get(task_url(written)).content.decode()
    order = [
        html.index('id="q-chain"'),
        html.index('id="q-handwash-video"'),
        html.index("Attach a file to question 8"),
        html.index("Other evidence for this attempt"),
        html.index("I make this declaration."),
        html.index("Submit for marking"),
    ]
    assert order == sorted(order)
    assert "Upload your evidence (below)" not in html


def test_a_refused_submit_shows_its_reasons_beside_the_button_and_at_each_question(
    client_for: Any, learner: Any, written: dict[str, Any]
) -> None:
    client = client_for(learner)
    attempt = written["attempt"]
    data = {**answer_all(written, learner), "declared": "on"}
    data["answer-chain"] = ""  # cleared, then submitted
    data["answer-spill"] = "Typed just now, never autosaved."

    response = client.post(f"/assess/attempts/{attempt.pk}/submit", data)

    assert response.status_code == 200
    html = response.content.decode()
    submit_area = html[html.index('id="submit-area"') :]
    assert "Answer question 1." in submit_area
    assert "Upload evidence for question 8" in submit_area
    assert submit_area.index("Upload evidence for question 8") < submit_area.index(
        "Submit for marking"
    )
    assert '<a href="#q-handwash-video">Upload evidence for question 8' in submit_area
    assert '<a href="#declaration">' not in submit_area  # ticked: nothing to say there
    assert "Answer question 1." in fieldset(html, "chain")
    assert "Upload evidence for question 8" in fieldset(html, "handwash-video")
    assert "Answer question" not in fieldset(html, "no-gowns")
    # Everything entered is still there: the declaration tick and the answers.
    assert re.search(r'<input type="checkbox" name="declared"[^>]* checked', html)
    assert "Typed just now, never autosaved." in fieldset(html, "spill")
    attempt.refresh_from_db()
    assert attempt.status == Attempt.Status.DRAFT
    assert attempt.answers.get(item__key="spill").text == "Typed just now, never autosaved."


def test_a_refused_submit_without_the_tick_says_so_at_the_declaration(
    client_for: Any, learner: Any, written: dict[str, Any]
) -> None:
    client = client_for(learner)
    files.add_evidence(
        written["attempt"], uploaded_by=learner, name="handwash.mp4",
        content=ContentFile(mp4(45)), item=written["video"],
    )  # fmt: skip
    data = answer_all(written, learner)
    html = client.post(f"/assess/attempts/{written['attempt'].pk}/submit", data).content.decode()
    declaration = html[html.index('class="declaration"') : html.index('id="submit-area"')]
    assert "Tick the declaration" in declaration
    assert not re.search(r'name="declared"[^>]* checked', html)
    assert "In my own words." in fieldset(html, "chain")


def test_a_resubmission_keeps_question_8s_satisfactory_video_and_submits_without_it_again(
    client_for: Any, learner: Any, assessor: Any, written: dict[str, Any]
) -> None:
    from assessment import services
    from assessment.marking import services as marking

    attempt = written["attempt"]
    data = answer_all(written, learner)
    files.add_evidence(
        attempt, uploaded_by=learner, name="handwash.mp4", content=ContentFile(mp4(45)),
        item=written["video"],
    )  # fmt: skip
    services.submit_attempt(attempt, learner=learner, declared=True)
    attempt.refresh_from_db()
    marking.mark_attempt(
        attempt,
        assessor=assessor,
        judgements=[
            marking.ItemJudgement(item.key, "NS", "Name every link.")
            if item.key == "chain"
            else marking.ItemJudgement(item.key, "S", "")
            for item in written["task"].items.all()
        ],
        feedback="Name every link.",
        declared=True,
        version=attempt.version,
    )
    client = client_for(learner)
    client.post(task_url(written))  # start attempt 2
    second = Attempt.objects.get(number=2)
    html = client.get(task_url(written)).content.decode()
    assert "handwash.mp4" in fieldset(html, "handwash-video")  # kept, and shown as kept
    assert 'type="file"' not in fieldset(html, "handwash-video")

    submitted = client.post(
        f"/assess/attempts/{second.pk}/submit",
        {"answer-chain": data["answer-chain"] + " All six links.", "declared": "on"},
    )
    assert submitted.status_code == 302
    second.refresh_from_db()
    assert second.status == Attempt.Status.SUBMITTED


# Review of issue 14's task page -------------------------------------------------------------


@pytest.mark.parametrize("ref", ["nosuch", "²", "99999999999999999999", "8x", "-1"])
def test_an_evidence_block_of_no_such_question_is_not_found(
    client_for: Any, learner: Any, written: dict[str, Any], ref: str
) -> None:
    """`²` passed str.isdigit() and failed int(); a key or a huge number escaped as a 500."""
    response = client_for(learner).get(
        f"/assess/attempts/{written['attempt'].pk}/evidence", {"item": ref}
    )
    assert response.status_code == 404


def test_an_evidence_block_of_another_tasks_question_is_not_found(
    client_for: Any, learner: Any, written: dict[str, Any]
) -> None:
    stranger = Item.objects.exclude(task=written["task"]).first()
    assert stranger is not None
    response = client_for(learner).get(
        f"/assess/attempts/{written['attempt'].pk}/evidence", {"item": stranger.pk}
    )
    assert response.status_code == 404


@pytest.mark.parametrize("htmx", [True, False])
def test_moving_a_file_to_no_such_question_says_so_and_changes_nothing(
    client_for: Any, learner: Any, written: dict[str, Any], htmx: bool
) -> None:
    photo = files.add_evidence(
        written["attempt"], uploaded_by=learner, name="hands.png", content=ContentFile(png_bytes())
    )
    client = client_for(learner)
    headers = {"HX-Request": "true"} if htmx else {}
    response = client.post(f"/assess/evidence/{photo.pk}/change", {"item": "²"}, headers=headers)
    if htmx:
        assert response.status_code == 400
        assert "There is no such question in this task." in response.content.decode()
    else:
        assert response.status_code == 302
        page = client.get(response["Location"]).content.decode()
        assert "There is no such question in this task." in page
    photo.refresh_from_db()
    assert photo.item is None
    assert not AuditEvent.objects.filter(action="evidence.moved").exists()


def test_a_refused_submit_with_a_choice_of_5000_digits_shows_the_page_again(
    client_for: Any, learner: Any, written: dict[str, Any]
) -> None:
    """The re-render converted posted choices with int(): 5,000 digits is past Python's limit
    for int(), so a refused submit was a 500. Posted choices stay the strings they were."""
    quiz = Task.objects.get(unit__code="HLTINF006", key="basics-quiz")
    attempt = start_attempt(learner, quiz, written["cohort"])
    data = {"answer-rub-or-soap": "9" * 5000, "answer-rub-or-soap-present": "1", "declared": "on"}
    response = client_for(learner).post(f"/assess/attempts/{attempt.pk}/submit", data)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Choose from the options given." in fieldset(html, "rub-or-soap")
    assert " checked" not in fieldset(html, "rub-or-soap")
    attempt.refresh_from_db()
    assert attempt.status == Attempt.Status.DRAFT


def test_a_refused_submit_keeps_the_choices_ticked_as_posted(
    client_for: Any, learner: Any, written: dict[str, Any]
) -> None:
    quiz = Task.objects.get(unit__code="HLTINF006", key="basics-quiz")
    attempt = start_attempt(learner, quiz, written["cohort"])
    data = {"answer-moments": ["0", "2"], "answer-moments-present": "1"}  # no declaration
    html = client_for(learner).post(f"/assess/attempts/{attempt.pk}/submit", data).content
    moments = fieldset(html.decode(), "moments")
    assert re.findall(r'value="(\d+)"[^>]* checked', moments) == ["0", "2"]


@pytest.mark.parametrize(
    ("hint", "kinds", "low", "high"),
    [
        ("A video of 1.5 to 2 minutes.", ("video",), 90, 120),
        ("A video of 1,5 to 2 minutes.", ("video",), 90, 120),
        ("A clip of at least 2.5 minutes.", ("video",), 150, None),
        ("A photo of the clipboard checklist.", ("photo",), None, None),
        ("Screenshots of the filmography page.", ("photo",), None, None),
        ("A video of 2 to 1 minutes.", ("video",), None, None),  # from more to less: no rule
    ],
)  # fmt: skip
def test_it_reads_decimal_lengths_and_whole_words_from_a_hint(
    hint: str, kinds: tuple[str, ...], low: Any, high: Any
) -> None:
    """ "1.5 to 2 minutes" was read as "5 to 2 minutes" (at least 300 s, at most 120 s), so no
    video could ever be accepted; "clipboard" made a photo question a video question."""
    rule = files.evidence_rule(Item(evidence_hint=hint))
    assert (rule.kinds, rule.min_seconds, rule.max_seconds) == (kinds, low, high)


def test_a_video_of_100_seconds_suits_a_question_asking_for_1_5_to_2_minutes(
    learner: Any, written: dict[str, Any]
) -> None:
    item = written["video"]
    item.evidence_hint = "A video of 1.5 to 2 minutes, both hands in view."
    item.save(update_fields=["evidence_hint"])
    added = files.add_evidence(
        written["attempt"], uploaded_by=learner, name="wash.mp4",
        content=ContentFile(mp4(100)), item=item,
    )  # fmt: skip
    assert added.item == item


def test_a_pack_whose_video_length_runs_from_more_to_less_is_refused_at_import(
    tmp_path: Any,
) -> None:
    import shutil

    from delivery.packs.schema import PackError

    pack = tmp_path / "infection-control"
    shutil.copytree(SAMPLES / "infection-control", pack)
    yaml = pack / "pack.yaml"
    yaml.write_text(
        yaml.read_text().replace("A video of 40 to 60 seconds", "A video of 60 to 40 seconds")
    )
    with pytest.raises(PackError, match="runs from more to less"):
        import_pack(pack)
    assert not Task.objects.filter(key="written-questions").exists()


def test_an_item_whose_key_is_all_digits_gets_its_own_file(
    client_for: Any, learner: Any, written: dict[str, Any]
) -> None:
    """A key of digits ("8") was taken for an item id: the file went to another question (here
    the video question, which refused the photo). Every form names the item by its id."""
    task, video = written["task"], written["video"]
    notes = Item.objects.create(
        task=task, key=str(video.pk), kind=Item.Kind.SHORT_ANSWER, prompt="Your notes.",
        position=99, evidence_required=True, evidence_hint="A photo of your notes.",
    )  # fmt: skip
    client = client_for(learner)
    html = client.get(task_url(written)).content.decode()
    question = fieldset(html, notes.key)
    assert f'data-item="{notes.pk}"' in question
    assert f'?item={notes.pk}"' in question
    sent = re.search(r'<input type="hidden" name="item" value="([^"]*)"', question)
    assert sent is not None
    response = client.post(
        reverse("assessment:evidence_upload_form", args=[written["attempt"].pk]),
        {"file": SimpleUploadedFile("notes.png", png_bytes()), "item": sent.group(1)},
    )
    assert response.status_code == 302
    assert Evidence.objects.get().item == notes
    # The move offers name questions by id too.
    page = client.get(task_url(written)).content.decode()
    assert f'<option value="{video.pk}">Question 8</option>' in fieldset(page, notes.key)


def _mark(attempt: Attempt, assessor: Any, not_satisfactory: str) -> None:
    from assessment.marking import services as marking

    attempt.refresh_from_db()
    marking.mark_attempt(
        attempt,
        assessor=assessor,
        judgements=[
            marking.ItemJudgement(
                item.key,
                *(("NS", "Name every link.") if item.key == not_satisfactory else ("S", "")),
            )
            for item in attempt.task.items.all()
        ],
        feedback="Not yet.",
        declared=True,
        version=attempt.version,
    )


def test_a_file_kept_twice_still_shows_on_the_third_attempt_and_where_it_is_marked(
    client_for: Any, learner: Any, assessor: Any, written: dict[str, Any]
) -> None:
    """The page looked for a kept answer's files on the attempt before only; kept twice, they
    are on attempt 1, and attempt 3 showed none."""
    from assessment import services

    first = written["attempt"]
    data = answer_all(written, learner)
    files.add_evidence(
        first, uploaded_by=learner, name="handwash.mp4", content=ContentFile(mp4(45)),
        item=written["video"],
    )  # fmt: skip
    services.submit_attempt(first, learner=learner, declared=True)
    _mark(first, assessor, "chain")
    client = client_for(learner)
    for number in (2, 3):
        client.post(task_url(written))  # start the next attempt
        attempt = Attempt.objects.get(task=written["task"], number=number)
        html = client.get(task_url(written)).content.decode()
        assert "handwash.mp4" in fieldset(html, "handwash-video"), f"attempt {number}"
        submitted = client.post(
            f"/assess/attempts/{attempt.pk}/submit",
            {"answer-chain": data["answer-chain"] + f" Try {number}.", "declared": "on"},
        )
        assert submitted.status_code == 302
        if number == 2:
            _mark(attempt, assessor, "chain")
    third = Attempt.objects.get(task=written["task"], number=3)
    marking = client_for(assessor).get(f"/assess/attempts/{third.pk}/mark/").content.decode()
    item = marking[marking.index('id="item-handwash-video"') :]
    assert "handwash.mp4" in item[: item.index("</fieldset>")]
    # The record says where a kept answer is from: its files are listed under that attempt.
    from assessment.records.selectors import load_record
    from delivery.records import RecordKey

    record = load_record(RecordKey(learner.pk, written["cohort"].pk, written["task"].unit_id))
    [task] = [t for t in record.tasks if t["task"] == written["task"]]
    by_number = {a["attempt"].number: a for a in task["attempts"]}
    [kept] = [i for i in by_number[3]["items"] if i["key"] == "handwash-video"]
    assert (kept["carried_forward"], kept["kept_from"]) == (True, 1)
    assert [e.original_name for e in by_number[1]["evidence"]] == ["handwash.mp4"]


def test_a_second_click_of_submit_goes_to_the_page_saying_it_was_submitted(
    client_for: Any, learner: Any, written: dict[str, Any], monkeypatch: Any
) -> None:
    """Both clicks pass the draft check; the first submits, the second then found a submitted
    attempt and showed the page with no draft and no word of what happened."""
    from assessment import services, views

    attempt = written["attempt"]
    data = answer_all(written, learner)
    files.add_evidence(
        attempt, uploaded_by=learner, name="handwash.mp4", content=ContentFile(mp4(45)),
        item=written["video"],
    )  # fmt: skip
    stale = Attempt.objects.get(pk=attempt.pk)  # as the second request read it
    services.submit_attempt(attempt, learner=learner, declared=True)  # the first click
    monkeypatch.setattr(views, "access_attempt", lambda *args, **kwargs: stale)
    client = client_for(learner)
    response = client.post(f"/assess/attempts/{attempt.pk}/submit", {**data, "declared": "on"})
    assert response.status_code == 302
    assert response["Location"] == task_url(written)
    page = client.get(response["Location"]).content.decode()
    assert "Submitted. Your assessor will mark it" in page
