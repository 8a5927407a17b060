"""Changes to a learner's playlist: saving a course, moving it, taking it off."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.http import Http404

from catalogue.models import PlaylistItem
from delivery.models import Course


def save_course(learner: Any, course: Course) -> tuple[PlaylistItem, bool]:
    """Put a course at the end of the learner's playlist; saving it again changes nothing and
    returns the item already there (created False). Two saves at once: the unique constraint
    keeps one, and the loser returns it."""
    existing = PlaylistItem.objects.filter(learner=learner, course=course).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            last = PlaylistItem.objects.filter(learner=learner).aggregate(last=Max("position"))
            item = PlaylistItem.objects.create(
                learner=learner, course=course, position=(last["last"] or 0) + 1
            )
    except IntegrityError:
        return PlaylistItem.objects.get(learner=learner, course=course), False
    return item, True


def _own_item(learner: Any, pk: int) -> PlaylistItem:
    """The learner's own item, locked; someone else's or a missing one is 404 (never told
    apart)."""
    item = PlaylistItem.objects.select_for_update().filter(pk=pk, learner=learner).first()
    if item is None:
        raise Http404
    return item


@transaction.atomic
def move_item(learner: Any, pk: int, *, direction: str) -> PlaylistItem:
    """Swap the item with its neighbour above ("up") or below ("down"); at either end it stays.
    The learner's items are renumbered 1..n first, so equal positions cannot stall a move."""
    item = _own_item(learner, pk)
    items = list(
        PlaylistItem.objects.select_for_update().filter(learner=learner).order_by("position", "id")
    )
    index = next(i for i, other in enumerate(items) if other.pk == item.pk)
    target = index - 1 if direction == "up" else index + 1
    if 0 <= target < len(items):
        items[index], items[target] = items[target], items[index]
    changed = []
    for position, other in enumerate(items, start=1):
        if other.position != position:
            other.position = position
            changed.append(other)
    PlaylistItem.objects.bulk_update(changed, ["position"])
    return item


@transaction.atomic
def remove_item(learner: Any, pk: int) -> Course:
    """Take the item off the learner's playlist; returns its course (for the message)."""
    item = _own_item(learner, pk)
    course = item.course
    item.delete()
    return course
