"""Course content rules that do not need the database: Markdown rendering and sanitising, and
what each kind of resource must have. Used by the admin, content-pack import and the views."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import nh3
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

if TYPE_CHECKING:
    from delivery.models import Resource

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


def render_markdown(source: str) -> SafeString:
    # The page has its own <h1>; an author's top-level heading becomes the next level down.
    html = _markdown.render(source or "").replace("<h1>", "<h2>").replace("</h1>", "</h2>")
    clean = nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    return mark_safe(clean)  # noqa: S308 - sanitised by nh3 just above


def embed_host_allowed(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "https" and parts.hostname in settings.VIDEO_EMBED_HOSTS


def check_resource(resource: Resource) -> None:
    """What each kind needs; raises ValidationError naming the field."""
    kind = resource.kind
    if kind == "text" and not resource.body.strip():
        raise ValidationError({"body": "A text resource needs some text."})
    if kind == "video":
        if bool(resource.file) == bool(resource.embed_url):
            raise ValidationError(
                {"file": "A video needs either an uploaded file or an embed address, not both."}
            )
        if resource.embed_url and not embed_host_allowed(resource.embed_url):
            hosts = ", ".join(settings.VIDEO_EMBED_HOSTS)
            raise ValidationError(
                {"embed_url": f"Videos can be embedded only from these hosts: {hosts}."}
            )
    if kind in {"audio", "file"} and not resource.file:
        raise ValidationError({"file": f"A {kind} resource needs a file."})
    if kind == "link" and not resource.url:
        raise ValidationError({"url": "A link needs an address."})
    if resource.captions and kind != "video":
        raise ValidationError({"captions": "Only videos have captions."})
