"""Fixtures for the credentials tests: a fixed issuer host, a unit ready to be credentialed,
and the official OB 3.0 schema."""

from __future__ import annotations

import json
from typing import Any

import pytest
from jsonschema import Draft201909Validator

from delivery.services import enrol_learner
from tests.credentials.helpers import SCHEMA_PATH
from tests.factories import CriterionFactory, ElementFactory, assessable_unit


@pytest.fixture(autouse=True)
def _host(settings: Any) -> None:
    settings.PUBLIC_URL = "https://flipside.example:8000"
    settings.CREDENTIALS_HOST = ""


@pytest.fixture
def schema_validator() -> Draft201909Validator:
    schema = json.loads(SCHEMA_PATH.read_text())
    Draft201909Validator.check_schema(schema)
    return Draft201909Validator(schema)


@pytest.fixture
def unit(cohort: Any, learner: Any) -> Any:
    """A unit of the cohort's course with a task, an element and a criterion (the element's
    title holds a control character, which must never reach a signed credential)."""
    enrol_learner(learner, cohort)
    made = assessable_unit(course=cohort.course)["unit"]
    element = ElementFactory(unit=made, number=2, title="Respond to\x07 an emergency")
    CriterionFactory(element=element, number="2.1", text="Assess the scene for danger")
    return made
