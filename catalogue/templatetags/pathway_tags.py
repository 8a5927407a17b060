"""What the catalogue's course page asks of pathways and playlists (its partials)."""

from __future__ import annotations

from typing import Any

from django import template

from catalogue.models import Pathway, PlaylistItem
from catalogue.pathways.selectors import pathways_for_course
from delivery.models import Course
from delivery.roles import Role, has_role

register = template.Library()


@register.simple_tag
def course_pathways(course: Course) -> list[Pathway]:
    """Published pathways with a step naming the course or one of its units."""
    return pathways_for_course(course)


@register.simple_tag
def playlist_state(course: Course, user: Any) -> str:
    """ "saved", "save" (a learner who has not saved it), or "" (anyone else)."""
    if not has_role(user, Role.LEARNER):
        return ""
    return "saved" if PlaylistItem.objects.filter(learner=user, course=course).exists() else "save"
