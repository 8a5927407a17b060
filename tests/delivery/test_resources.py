"""Opening resources, marking them done, media progress, files and content rules."""

from __future__ import annotations

import itertools
import re
from html.parser import HTMLParser
from typing import Any

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile

from delivery.content import render_markdown, transcript_lines
from delivery.models import Enrolment, Resource, ResourceProgress
from delivery.services import enrol_learner
from tests.factories import ModuleFactory, ResourceFactory


@pytest.fixture
def text(cohort: Any, learner: Any) -> Resource:
    enrol_learner(learner, cohort)
    module = ModuleFactory(course=cohort.course, title="Standard precautions")
    first = ResourceFactory(
        module=module, title="Why hands matter", body="# Wash\n\n**Twenty** seconds."
    )
    ResourceFactory(module=module, title="Gloves on, gloves off")
    return first


def url(resource: Resource, suffix: str = "") -> str:
    return f"/learn/resources/{resource.pk}/{suffix}"


def test_it_shows_a_text_resource_and_records_the_opening(
    client_for: Any, learner: Any, text: Resource
) -> None:
    response = client_for(learner).get(url(text))
    html = response.content.decode()
    assert response.status_code == 200
    assert "<h2>Wash</h2>" in html
    assert "<strong>Twenty</strong>" in html
    assert "Gloves on, gloves off →" in html
    assert ResourceProgress.objects.get(learner=learner, resource=text).completed_at is None


def test_it_refuses_a_learner_from_another_course(
    client_for: Any, other_learner: Any, text: Resource, enrolled: None
) -> None:
    assert client_for(other_learner).get(url(text)).status_code == 404
    assert client_for(other_learner).post(url(text, "done")).status_code == 404


def test_it_refuses_an_outsider(client_for: Any, outsider: Any, text: Resource) -> None:
    assert client_for(outsider).get(url(text)).status_code == 404


def test_it_lets_the_cohorts_trainer_preview_without_recording(
    client_for: Any, trainer: Any, text: Resource
) -> None:
    html = client_for(trainer).get(url(text)).content.decode()
    assert "You are previewing this resource as staff." in html
    assert not ResourceProgress.objects.filter(learner=trainer).exists()


def test_the_other_assessor_cannot_preview(
    client_for: Any, other_assessor: Any, text: Resource, other_cohort: Any
) -> None:
    assert client_for(other_assessor).get(url(text)).status_code == 404


def test_it_marks_done_without_javascript(client_for: Any, learner: Any, text: Resource) -> None:
    response = client_for(learner).post(url(text, "done"), {"done": "on"})
    assert response.status_code == 302
    assert response["Location"] == url(text)
    assert ResourceProgress.objects.get(learner=learner, resource=text).completed_at is not None


def test_it_marks_done_in_place_with_htmx(client_for: Any, learner: Any, text: Resource) -> None:
    response = client_for(learner).post(
        url(text, "done"), {"done": "on"}, headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Mark as not done" in html
    assert 'hx-swap-oob="true"' in html
    assert "50% done · 1 of 2 resources" in html


def test_it_undoes_done(client_for: Any, learner: Any, text: Resource) -> None:
    client = client_for(learner)
    client.post(url(text, "done"), {"done": "on"})
    client.post(url(text, "done"), {"done": ""})
    assert ResourceProgress.objects.get(learner=learner, resource=text).completed_at is None


def test_it_will_not_redirect_off_site_after_marking_done(
    client_for: Any, learner: Any, text: Resource
) -> None:
    response = client_for(learner).post(
        url(text, "done"), {"done": "on", "next": "https://evil.example/"}
    )
    assert response["Location"] == url(text)


def test_it_refuses_to_record_progress_for_a_withdrawn_learner(
    client_for: Any, learner: Any, text: Resource
) -> None:
    Enrolment.objects.filter(learner=learner).update(status=Enrolment.Status.WITHDRAWN)
    client = client_for(learner)
    page = client.get(url(text)).content.decode()
    assert "read-only" in page
    assert client.post(url(text, "done"), {"done": "on"}).status_code == 403
    assert not ResourceProgress.objects.filter(learner=learner, completed_at__isnull=False).exists()


def test_it_refuses_get_on_done(client_for: Any, learner: Any, text: Resource) -> None:
    assert client_for(learner).get(url(text, "done")).status_code == 405


def test_a_locked_resource_says_what_opens_it(
    client_for: Any, learner: Any, text: Resource, cohort: Any
) -> None:
    later = ModuleFactory(course=cohort.course, title="Workplace practice", requires=[text.module])
    locked = ResourceFactory(module=later)
    response = client_for(learner).get(url(locked))
    assert response.status_code == 403
    assert "opens when you finish Standard precautions" in response.content.decode()


def test_media_progress_keeps_the_furthest_point_and_completes_near_the_end(
    client_for: Any, learner: Any, text: Resource
) -> None:
    video = ResourceFactory(module=text.module, kind="video", body="")
    video.file.save("talk.mp4", ContentFile(b"\x00" * 64))
    client = client_for(learner)
    assert client.post(url(video, "position"), {"position": 50, "duration": 100}).content == b""
    client.post(url(video, "position"), {"position": 10, "duration": 100})
    progress = ResourceProgress.objects.get(learner=learner, resource=video)
    assert (progress.position_seconds, progress.completed_at) == (50, None)
    assert client.post(url(video, "position"), {"position": 96, "duration": 100}).content == b"done"


@pytest.mark.parametrize(
    "data", [{}, {"position": "-5"}, {"position": "x"}, {"position": 3, "duration": 0}]
)
def test_media_progress_refuses_bad_reports(
    client_for: Any, learner: Any, text: Resource, data: dict[str, Any]
) -> None:
    response = client_for(learner).post(url(text, "position"), data)
    assert response.status_code == 400
    assert not ResourceProgress.objects.filter(learner=learner).exists()


def test_it_serves_a_pdf_inline_framed_only_by_us(
    client_for: Any, learner: Any, text: Resource
) -> None:
    pdf = ResourceFactory(module=text.module, kind="file")
    pdf.file.save("guide.pdf", ContentFile(b"%PDF-1.4 test"))
    response = client_for(learner).get(url(pdf, "file"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("inline")
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert b"".join(response.streaming_content) == b"%PDF-1.4 test"


@pytest.mark.parametrize("name", ["notes.docx", "diagram.svg", "page.html"])
def test_it_downloads_other_files_and_anything_active(
    client_for: Any, learner: Any, text: Resource, name: str
) -> None:
    item = ResourceFactory(module=text.module, kind="file")
    item.file.save(name, ContentFile(b"<svg onload=alert(1)>"))
    response = client_for(learner).get(url(item, "file"))
    assert response["Content-Disposition"].startswith("attachment")


def test_it_does_not_serve_files_to_someone_outside_the_course(
    client_for: Any, other_learner: Any, text: Resource, enrolled: None
) -> None:
    pdf = ResourceFactory(module=text.module, kind="file")
    pdf.file.save("guide.pdf", ContentFile(b"%PDF-1.4 test"))
    assert client_for(other_learner).get(url(pdf, "file")).status_code == 404


@pytest.mark.parametrize(
    "source",
    [
        "<script>alert(1)</script>",
        "[click](javascript:alert(1))",
        '<img src=x onerror="alert(1)">',
        "<a href='#' onclick='alert(1)'>x</a>",
    ],
)
def test_markdown_renders_inert(source: str) -> None:
    tags = _tags(str(render_markdown(source)))
    assert all(tag != "script" for tag, _ in tags)
    for _, attrs in tags:
        assert not [name for name, _ in attrs if name.startswith("on")], attrs
        assert not [v for _, v in attrs if v and v.strip().lower().startswith("javascript:")]


def _tags(html: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    found: list[tuple[str, list[tuple[str, str | None]]]] = []

    class Collector(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found.append((tag, attrs))

    Collector().feed(html)
    return found


def test_the_inertness_check_sees_an_active_tag() -> None:
    assert _tags('<img src=x onerror="alert(1)">') == [
        ("img", [("src", "x"), ("onerror", "alert(1)")])
    ]


def test_markdown_keeps_ordinary_formatting() -> None:
    html = str(render_markdown("Read [the guide](https://example.org/g) *first*."))
    assert (
        '<a href="https://example.org/g" rel="noopener noreferrer nofollow">the guide</a>' in html
    )
    assert "<em>first</em>" in html


@pytest.mark.django_db
def test_a_video_embed_from_another_host_is_refused_at_save() -> None:
    video = ResourceFactory.build(
        module=ModuleFactory(), kind="video", body="", embed_url="https://evil.example/embed/1"
    )
    with pytest.raises(ValidationError, match="only from these hosts"):
        video.full_clean()


@pytest.mark.django_db
def test_a_video_embed_from_an_allowed_host_is_accepted() -> None:
    video = ResourceFactory.build(
        module=ModuleFactory(),
        kind="video",
        body="",
        embed_url="https://www.youtube-nocookie.com/embed/abc123",
    )
    video.full_clean()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kind", "fields", "message"),
    [
        ("text", {"body": ""}, "needs some text"),
        ("link", {"url": ""}, "needs an address"),
        ("audio", {}, "needs a file"),
        ("video", {}, "either an uploaded file or an embed"),
    ],
)
def test_each_kind_needs_its_content(kind: str, fields: dict[str, str], message: str) -> None:
    resource = ResourceFactory.build(module=ModuleFactory(), kind=kind, **fields)
    with pytest.raises(ValidationError, match=message):
        resource.full_clean()


# Headings in order (axe `heading-order`) ------------------------------------------------------


def _heading_levels(html: str) -> list[int]:
    return [int(tag[1]) for tag, _ in _tags(html) if tag in {f"h{n}" for n in range(1, 7)}]


def test_a_text_resource_keeps_its_headings_in_order(
    client_for: Any, learner: Any, text: Resource
) -> None:
    """An author who starts at ### (as the demo packs' "Try this" do) or skips a level would
    put an <h3> straight under the page's <h1>."""
    text.body = "Intro.\n\n### Try this\n\nThink.\n\n## Then\n\n#### Detail\n\n###### Deep"
    text.save()
    html = client_for(learner).get(url(text)).content.decode()
    main = html[html.index("<main") : html.index("</main>")]
    levels = _heading_levels(main)
    assert levels[0] == 1
    assert all(b <= a + 1 for a, b in itertools.pairwise(levels)), levels
    assert "<h2>Try this</h2>" in html
    assert "<h3>Detail</h3>" in html


@pytest.mark.parametrize(
    ("source", "top", "expected"),
    [
        ("### Try this", 2, [2]),
        ("# A\n\n## B\n\n# C", 2, [2, 3, 2]),
        ("# A\n\n### B\n\n## C\n\n#### D", 2, [2, 3, 3, 4]),
        ("## A\n\n#### B", 3, [3, 4]),
        ("# 1\n## 2\n### 3\n#### 4\n##### 5\n###### 6", 2, [2, 3, 4, 5, 6, 6]),
    ],
)
def test_markdown_headings_follow_on_from_the_page(
    source: str, top: int, expected: list[int]
) -> None:
    assert _heading_levels(str(render_markdown(source, top=top))) == expected


# A video whose player does not load ------------------------------------------------------


@pytest.fixture
def embedded(text: Resource) -> Resource:
    return ResourceFactory(
        module=text.module,
        kind="video",
        title="How to wash your hands",
        body="Watch the order of the steps.",
        embed_url="https://www.youtube-nocookie.com/embed/3PmVJQUCm4E",
    )


def test_an_embedded_video_always_offers_its_link(
    client_for: Any, learner: Any, embedded: Resource
) -> None:
    html = client_for(learner).get(url(embedded)).content.decode()
    link = re.search(
        r'<a href="https://www.youtube-nocookie.com/embed/3PmVJQUCm4E"[^>]*>(.*?)</a>', html
    )
    assert link, "no link to the video outside its player"
    assert link.group(1).startswith("Open the video at www.youtube-nocookie.com")
    assert "Transcript" not in html  # it has no captions


VTT = """WEBVTT

NOTE made by hand

1
00:00:00.000 --> 00:00:03.000
Wet your hands with <b>clean</b> water.

00:00:03.000 --> 00:00:06.000 align:start
<v Narrator>Apply soap &amp; rub
palm to palm.

00:00:06.000 --> 00:00:07.000
<v Narrator>Apply soap &amp; rub
palm to palm.
"""


def test_a_video_with_captions_shows_their_transcript_beside_the_player(
    client_for: Any, learner: Any, embedded: Resource
) -> None:
    embedded.captions.save("wash.vtt", ContentFile(VTT.encode()))
    html = client_for(learner).get(url(embedded)).content.decode()
    section = html[html.index('<section class="transcript"') :]
    section = section[: section.index("</section>")]
    assert '<h2 id="transcript-heading">Transcript</h2>' in section
    assert "<p>Wet your hands with clean water.</p>" in section
    assert section.count("Apply soap &amp; rub palm to palm.") == 1
    assert "-->" not in section
    assert "NOTE" not in section
    assert "or read the transcript below" in html


def test_a_captions_file_missing_from_storage_shows_the_video_without_a_transcript(
    client_for: Any, learner: Any, embedded: Resource
) -> None:
    """Review of issue 14: the captions were opened on every view, and a file gone from
    storage (a restore without media, a purge) made the resource page a 500."""
    embedded.captions.save("wash.vtt", ContentFile(VTT.encode()))
    embedded.captions.storage.delete(embedded.captions.name)
    response = client_for(learner).get(url(embedded))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Open the video at www.youtube-nocookie.com" in html
    assert "Transcript" not in html
    assert "or read the transcript below" not in html


def test_captions_that_are_not_utf8_still_show_their_words(
    client_for: Any, learner: Any, embedded: Resource
) -> None:
    embedded.captions.save(
        "wash.vtt", ContentFile(b"WEBVTT\n\n00:00.000 --> 00:02.000\nCaf\xe9 hands\n")
    )
    response = client_for(learner).get(url(embedded))
    assert response.status_code == 200
    assert "Caf\ufffd hands" in response.content.decode()


def test_the_transcript_reader_keeps_only_the_words() -> None:
    assert transcript_lines("\ufeff" + VTT.replace("\n", "\r\n")) == [
        "Wet your hands with clean water.",
        "Apply soap & rub palm to palm.",
    ]
    assert transcript_lines("WEBVTT\n\nnot a cue\n") == []


# The browser's icon ------------------------------------------------------------------------


def test_favicon_ico_leads_to_the_icon(client: Any) -> None:
    """Browsers ask for /favicon.ico on every site, signed in or not."""
    response = client.get("/favicon.ico")
    assert response.status_code == 302
    assert response["Location"] == f"{settings.STATIC_URL}favicon.svg"
    assert finders.find("favicon.svg")
    assert "max-age=86400" in response["Cache-Control"]
    assert client.post("/favicon.ico").status_code == 405
