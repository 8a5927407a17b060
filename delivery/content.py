"""Course content as pages show it, without the database: Markdown rendered and sanitised, and a
video's transcript read from its captions. Used by the views and the `markdown` template filter.

What each kind of resource must have is the Resource's own rule, in `Resource.clean()`
(delivery/models.py), so that the admin, content-pack import and forms all check it there."""

from __future__ import annotations

import html
import logging
import re
from typing import TYPE_CHECKING

import nh3
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt
from markdown_it.token import Token

if TYPE_CHECKING:
    from delivery.models import Resource

logger = logging.getLogger(__name__)

# CommonMark with tables; raw HTML in the source is not passed through, and nh3 then removes
# anything active that Markdown itself can produce (javascript: links, for one).
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")

_ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "em", "h2", "h3", "h4", "h5", "h6", "hr",
    "i", "img", "li", "ol", "p", "pre", "strong", "table", "tbody", "td", "th", "thead", "tr",
    "ul",
}  # fmt: skip
_ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "th": {"align"},
    "td": {"align"},
}


def _outline_headings(tokens: list[Token], top: int) -> None:
    """Renumber the author's headings into an outline under the page's own: the first level
    used becomes `top`, and no level is skipped (an author who starts at `###`, or jumps from
    `##` to `####`, would otherwise break the page's heading order for screen readers)."""
    open_levels: list[int] = []  # the author's levels of the headings enclosing this one
    tag = ""
    for token in tokens:
        if token.type == "heading_open":
            level = int(token.tag[1:])
            while open_levels and open_levels[-1] >= level:
                open_levels.pop()
            open_levels.append(level)
            tag = token.tag = f"h{min(top + len(open_levels) - 1, 6)}"
        elif token.type == "heading_close":
            token.tag = tag


def render_markdown(source: str, *, top: int = 2) -> SafeString:
    """Markdown as safe HTML; its headings start at `top` (the page has its own <h1>, and a
    section's text sits under that section's heading) and follow on without gaps."""
    tokens = _markdown.parse(source or "")
    _outline_headings(tokens, top)
    rendered = _markdown.renderer.render(tokens, _markdown.options, {})
    clean = nh3.clean(
        rendered,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    return mark_safe(clean)  # noqa: S308 - sanitised by nh3 just above


def transcript_lines(vtt: str) -> list[str]:
    """The words of a WebVTT captions file, cue by cue, without timings, cue ids, notes or
    markup: a transcript to read beside a video, and instead of one that does not load."""
    lines: list[str] = []
    for block in re.split(r"\r?\n[ \t]*\r?\n", vtt.lstrip("\ufeff")):
        rows = block.strip().splitlines()
        timing = next((i for i, row in enumerate(rows) if "-->" in row), None)
        if timing is None or rows[0].startswith(("WEBVTT", "NOTE", "STYLE", "REGION")):
            continue
        text = " ".join(row.strip() for row in rows[timing + 1 :] if row.strip())
        text = html.unescape(re.sub(r"<[^>]*>", "", text)).strip()
        if text and (not lines or lines[-1] != text):  # a rolling caption repeats its line
            lines.append(text)
    return lines


# Captions past this size are not a transcript anyone reads on a page.
TRANSCRIPT_MAX_BYTES = 512 * 1024


def video_transcript(resource: Resource) -> list[str]:
    """The transcript of a video, from its captions file; empty when it has none, or when the
    file cannot be read (gone from storage, unreadable): the page shows the video without a
    transcript rather than failing. Bytes that are not UTF-8 read as replacement characters."""
    if not resource.captions:
        return []
    try:
        with resource.captions.open("rb") as captions:
            raw = captions.read(TRANSCRIPT_MAX_BYTES)
    except OSError:
        logger.warning("captions of resource %s could not be read", resource.pk, exc_info=True)
        return []
    return transcript_lines(raw.decode("utf-8", errors="replace"))
