from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import format_html_join
from django.utils.safestring import SafeString, mark_safe

from delivery.content import render_markdown

register = template.Library()


@register.filter(name="markdown")
def markdown_filter(source: str, top: int = 2) -> SafeString:
    """Markdown rendered and sanitised (see delivery/content.py); `|markdown:3` for text under
    a section's <h2>, so its headings start at <h3>."""
    return render_markdown(source, top=int(top))


@register.filter
def duration(minutes: int) -> str:
    """45 -> "45 min", 90 -> "1 h 30 min"."""
    hours, rest = divmod(int(minutes or 0), 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h {rest} min" if rest else f"{hours} h"


@register.simple_tag
def grid_cells(row: Any) -> SafeString:
    """A grid row's cells. Built here rather than in a template loop: a 50-learner page of a
    50-module course is 2,500 cells, and per-variable localisation and escaping dominated its
    time. Safe without escaping: every part is an integer or a literal."""
    return mark_safe(  # noqa: S308 - integers and literals only
        "".join(
            [
                f'<td class="num cell{_cell_state(done, total)}">{int(done)}/{int(total)}</td>'
                for done, total in row.cells
            ]
        )
    )


def _cell_state(done: int, total: int) -> str:
    # A module with nothing in it counts as done.
    return " cell--done" if done >= total else " cell--started" if done else ""


@register.simple_tag
def grid_headings(modules: Any, sort: str, prefix: str) -> SafeString:
    """The grid's module column headings, each a link that sorts by its module (the link keeps
    the search in `prefix`). Built here for the reason grid_cells is."""
    sorted_by = mark_safe(' aria-sort="ascending"')
    current = mark_safe(' aria-current="true"')
    return format_html_join(
        "",
        '<th scope="col" class="num"{}><a href="{}sort=module:{}" title="{}"{}>'
        '<span class="visually-hidden">Module </span>{}</a></th>',
        (
            (
                sorted_by if sort == f"module:{m.id}" else "",
                prefix,
                m.id,
                m.title,
                current if sort == f"module:{m.id}" else "",
                number,
            )
            for number, m in enumerate(modules, start=1)
        ),
    )


@register.filter
def get_item(mapping: Any, key: Any) -> Any:
    """`{{ outcomes|get_item:unit.pk }}`: a dict lookup by a variable key."""
    return mapping.get(key) if hasattr(mapping, "get") else None
