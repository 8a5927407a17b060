"""What a question asks for: the evidence rule read from an item's words (`evidence_hint`),
checked against a file's kind and a video's length, and finding the item a form names.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import IO

from django.core.exceptions import ValidationError

from assessment.evidence import video
from assessment.evidence.files import ACCEPTED_TYPES, DOCX, PPTX, XLSX, UnsupportedFileType
from assessment.models import Attempt, Item
from assessment.selectors import question_numbers

_ITEM_ID = re.compile(r"[0-9]{1,18}")


def find_item(attempt: Attempt, ref: str | int | None) -> Item | None:
    """The item of the attempt's task with the id `ref` (what every form, the tus metadata and
    the evidence blocks send); empty: the attempt as a whole. By id only: a key may be all
    digits ("8" is a legal key), so guessing between id and key picked the wrong question.
    Anything else (a key, "²", a number no column holds) is "no such question"."""
    if ref in (None, ""):
        return None
    text = str(ref).strip()
    item = None
    # ASCII digits only, and few enough for a bigint: str.isdigit() accepts "²", int() does not.
    if _ITEM_ID.fullmatch(text):
        item = Item.objects.filter(task_id=attempt.task_id, pk=int(text)).first()
    if item is None:
        raise ValidationError("There is no such question in this task.", code="no_item")
    return item


# What a question asks for -------------------------------------------------------------------
# An item says what evidence it wants in words (`evidence_hint`, e.g. "A video of 40 to 60
# seconds, filmed so that both hands are in view"); content packs have no separate field for the
# accepted types, so the rule is read from those words. What can be checked is: the kind of file
# (a video, a photo, a recording, a document) and a video's length. A hint that names no kind
# accepts every type on the allow-list.

_KIND_TYPES: dict[str, frozenset[str]] = {
    "video": frozenset(t for t in ACCEPTED_TYPES if t.startswith("video/")),
    "photo": frozenset(t for t in ACCEPTED_TYPES if t.startswith("image/")),
    "audio": frozenset(t for t in ACCEPTED_TYPES if t.startswith("audio/")),
    "document": frozenset({"application/pdf", DOCX, XLSX, PPTX, "text/plain"}),
    "scan": frozenset({"application/pdf"}),
}
_KIND_WORDS: dict[str, tuple[str, ...]] = {
    "video": ("video", "film", "clip", "movie"),
    "photo": ("photo", "picture", "image", "scan", "screenshot"),
    "audio": ("audio", "sound recording", "voice recording", "podcast"),
    "document": ("document", "pdf", "word file", "spreadsheet", "report", "written plan"),
    "scan": ("scan",),
}
_KIND_NAMES = {"video": "a video", "photo": "a photo", "audio": "an audio recording"}
_KIND_ACCEPT = {
    "video": "video/mp4,video/webm,video/quicktime,.mov",
    "photo": "image/jpeg,image/png,image/webp,image/heic,.heic",
    "audio": "audio/mpeg,audio/mp4,.m4a,audio/ogg,audio/wav,.wav",
    "document": "application/pdf,.docx,.xlsx,.pptx,text/plain,.txt",
    "scan": "application/pdf",
}
ACCEPT_ALL = ",".join(_KIND_ACCEPT[k] for k in ("photo", "video", "audio", "document"))
# A number may have decimals, written either way ("1.5 minutes", "1,5 minutes").
_NUMBER = r"\d+(?:[.,]\d+)?"
_LENGTH = re.compile(
    rf"(?:({_NUMBER})\s*(?:to|-|\u2013)\s*)?({_NUMBER})\s*(seconds?|secs?|minutes?|mins?)\b",
    re.IGNORECASE,
)
# Whole words (a plural too): "clip" is a video, "clipboard" is not.
_KIND_PATTERNS = {
    kind: re.compile(r"\b(?:" + "|".join(map(re.escape, words)) + r")s?\b")
    for kind, words in _KIND_WORDS.items()
}


def _number(text: str) -> float:
    return float(text.replace(",", "."))


@dataclass(frozen=True)
class EvidenceRule:
    """What evidence one question accepts: content types (empty: any accepted type) and, for a
    video, a length in seconds (either bound may be missing)."""

    kinds: tuple[str, ...] = ()
    min_seconds: float | None = None
    max_seconds: float | None = None

    @property
    def types(self) -> frozenset[str]:
        return frozenset().union(*(_KIND_TYPES[k] for k in self.kinds))

    @property
    def accept(self) -> str:
        """The file input's `accept` list: the browser's picker offers these first."""
        if not self.kinds:
            return ACCEPT_ALL
        return ",".join(_KIND_ACCEPT[k] for k in self.kinds)

    @property
    def described(self) -> str:
        """ "a video", "a photo or a PDF scan": what the question asks for, in words."""
        names = [_KIND_NAMES.get(k, "a document") for k in self.kinds if k != "scan"]
        if "scan" in self.kinds and "document" not in self.kinds:
            names.append("a PDF scan")
        return " or ".join(dict.fromkeys(names))

    def accepts(self, content_type: str) -> bool:
        return not self.kinds or content_type in self.types


def evidence_rule(item: Item | None) -> EvidenceRule:
    """The rule of `item`'s evidence, read from its hint; no item (the attempt as a whole) and
    a hint without a kind of file accept any accepted type."""
    hint = (item.evidence_hint if item is not None else "").lower()
    if not hint:
        return EvidenceRule()
    kinds = tuple(k for k, pattern in _KIND_PATTERNS.items() if pattern.search(hint))
    low = high = None
    if "video" in kinds:
        match = _LENGTH.search(hint)
        if match:
            scale = 60 if match.group(3).startswith("min") else 1
            high = _number(match.group(2)) * scale
            low = _number(match.group(1)) * scale if match.group(1) else None
            if low is None and "at least" in hint[: match.start()]:
                low, high = high, None
            if low is not None and high is not None and low > high:
                # "2 to 1 minutes" asks for nothing a video can be: no length rule, rather
                # than one that refuses every video. Content-pack import refuses such hints.
                low = high = None
    return EvidenceRule(kinds, low, high)


def hint_problem(hint: str) -> str:
    """What is wrong with an evidence hint as a rule ("" if nothing), for content-pack import:
    a video length from more to less ("2 to 1 minutes") would ask for no length at all."""
    text = hint.lower()
    match = _LENGTH.search(text) if _KIND_PATTERNS["video"].search(text) else None
    if match and match.group(1) and _number(match.group(1)) > _number(match.group(2)):
        return (
            f"the video length {match.group(0)!r} runs from more to less: "
            "write the shorter length first"
        )
    return ""


def question_label(item: Item) -> str:
    """ "question 8": the number the learner sees on the task page, never its key."""
    number = question_numbers(item.task_id).get(item.pk)
    return f"question {number}" if number else "this question"


def _seconds(value: float) -> str:
    if value >= 120 and value % 60 == 0:
        return f"{value / 60:.0f} minutes"
    return f"{value:.0f} seconds"


def check_item_evidence(
    item: Item | None, content_type: str, *, length: float | None = None
) -> None:
    """Refuse a file the question cannot use, saying why: UnsupportedFileType for the wrong kind
    of file (a JPEG for a video), ValidationError for a video outside the asked length. A length
    that could not be read is not checked."""
    if item is None:
        return
    rule = evidence_rule(item)
    if not rule.accepts(content_type):
        what = ACCEPTED_TYPES.get(content_type, content_type)
        raise UnsupportedFileType(
            f"{question_label(item).capitalize()} asks for {rule.described}"
            f" ({item.evidence_hint[:1].lower()}{item.evidence_hint[1:].rstrip('.')});"
            f" this file ({what}) is not one. "
            "Choose another file, or add this one to the attempt as a whole."
        )
    if length is None or (rule.min_seconds is None and rule.max_seconds is None):
        return
    # A second either side: phones round the length they show.
    short = rule.min_seconds is not None and length < rule.min_seconds - 1
    long = rule.max_seconds is not None and length > rule.max_seconds + 1
    if short or long:
        if rule.min_seconds is not None and rule.max_seconds is not None:
            asked = f"{rule.min_seconds:.0f} to {_seconds(rule.max_seconds)}"
        elif rule.min_seconds is not None:
            asked = f"at least {_seconds(rule.min_seconds)}"
        else:
            asked = f"at most {_seconds(rule.max_seconds or 0)}"
        raise ValidationError(
            f"This video is {_seconds(round(length))} long; {question_label(item)} asks for "
            f"{asked}. Film it again, or trim it, and upload that.",
            code="wrong_length",
        )


def media_length(fileobj: IO[bytes], content_type: str) -> float | None:
    """A video's length in seconds, where its container says it (MP4, QuickTime)."""
    if content_type not in video.ISO_BMFF_TYPES or not content_type.startswith("video/"):
        return None
    fileobj.seek(0, os.SEEK_END)
    size = fileobj.tell()
    return video.duration(fileobj, size)
