"""Sections of an assessment record contributed by the apps that own the data.

The auditor's record of one learner in one unit (assessment's) also shows the credential it led
to (credentials') and the learner's attendance at the cohort's live sessions (live's). Neither
of those apps may be imported by assessment, so each registers a section here, in the bottom
layer, from its `AppConfig.ready()`; the record page, its PDF and the bulk export render every
registered section the same way.

A section loads many records at once (`load(keys)`, a fixed number of queries whatever the
number of keys) and returns, per key, plain data (JSON-serialisable: it goes into the export's
record JSON as it is) that its template renders.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple


class RecordKey(NamedTuple):
    learner_id: int
    cohort_id: int
    unit_id: int


SectionData = dict[str, Any]
Loader = Callable[[Sequence[RecordKey]], dict[RecordKey, SectionData]]


@dataclass(frozen=True)
class RecordSection:
    key: str
    title: str
    template: str
    load: Loader
    order: int = 100


_sections: dict[str, RecordSection] = {}


def register_section(section: RecordSection) -> None:
    """Add (or, on a second `ready()`, replace) a section."""
    _sections[section.key] = section


def record_sections() -> list[RecordSection]:
    return sorted(_sections.values(), key=lambda section: (section.order, section.key))
