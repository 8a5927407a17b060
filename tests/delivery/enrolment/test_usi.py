from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from delivery.enrolment.usi import check_character, normalise_usi, validate_usi
from tests.delivery.enrolment.conftest import make_usi

# Computed with the Luhn mod N algorithm over the USI character set (delivery/enrolment/usi.py),
# checked by hand against the published algorithm's steps for the first.
VALID = ["A6J9ZWYSFU", "8Z3SV2WKGY", "8N3332SFV8", "3GWZGQGGX3", "L3U8DL9PVX"]


@pytest.mark.parametrize("usi", VALID)
def test_it_accepts_valid_usis(usi: str) -> None:
    validate_usi(usi)


def test_it_accepts_what_it_makes() -> None:
    for n in range(200):
        validate_usi(make_usi(n * 7919))


def test_it_computes_the_check_character_by_hand() -> None:
    # "22222222" + "3": from the right, "3" (index 1) doubled is 2; the "2"s (index 0) add 0.
    assert check_character("222222223") == "Y"  # sum 2; (32 - 2) % 32 = 30 -> "Y"


@pytest.mark.parametrize(
    ("usi", "words"),
    [
        ("A6J9ZWYSF", "has 10 characters; this one has 9"),
        ("A6J9ZWYSFUX", "this one has 11"),
        ("A6J9ZWYSF0", "“0”"),
        ("I6J9ZWYSFU", "“I”"),
        ("A6J9ZWYSFV", "last character does not match"),
        ("6AJ9ZWYSFU", "last character does not match"),  # neighbours swapped
    ],
)
def test_it_refuses_in_words(usi: str, words: str) -> None:
    with pytest.raises(ValidationError) as refused:
        validate_usi(usi)
    assert words in refused.value.messages[0]


def test_it_reads_what_people_type() -> None:
    assert normalise_usi(" a6j9-zwys fu ") == "A6J9ZWYSFU"
