"""Credentials benchmarks' work done in the scratch database, in a child process with the
scratch environment: `python -m bench.credentials_data issue N` measures issuance in-process,
`python -m bench.credentials_data verify` makes one credential to serve. Each prints a JSON line
the benchmark reads."""

from __future__ import annotations

import json
import statistics
import sys
import time
from typing import Any


def _setup() -> None:
    import django

    django.setup()


def _outcomes(count: int) -> list[Any]:
    """`count` Competent outcomes, each for its own unit of one course, for one learner."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from assessment.models import Outcome
    from delivery.models import Cohort, Course, CourseUnit, Element, PerformanceCriterion, Unit
    from delivery.roles import Role
    from delivery.services import enrol_learner, grant_role

    users = get_user_model().objects
    learner = users.create_user("bench-learner", "lena@example.test", first_name="Lena")
    assessor = users.create_user("bench-assessor", "asha@example.test", first_name="Asha")
    grant_role(learner, Role.LEARNER)
    grant_role(assessor, Role.ASSESSOR)
    course = Course.objects.create(code="BSB40120", title="Certificate IV in Business")
    cohort = Cohort.objects.create(
        course=course, name="Bench cohort", starts_on=timezone.localdate()
    )
    enrol_learner(learner, cohort)
    outcomes = []
    for n in range(count):
        unit = Unit.objects.create(code=f"BSBWHS{n:04d}", title=f"Contribute to safety {n}")
        CourseUnit.objects.create(course=course, unit=unit, position=n)
        for e in range(1, 4):
            element = Element.objects.create(unit=unit, number=e, title=f"Element {e} of the unit")
            for c in range(1, 4):
                PerformanceCriterion.objects.create(
                    element=element, number=f"{e}.{c}", text=f"Criterion {e}.{c}, done safely"
                )
        outcomes.append(
            Outcome.objects.create(
                learner=learner, unit=unit, cohort=cohort, code="20", recorded_by=assessor
            )
        )
    return outcomes


def issue(count: int) -> dict[str, Any]:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from weasyprint import HTML

    from credentials import services
    from credentials.certificate import render_certificate_pdf
    from credentials.models import Credential
    from credentials.services import issuance

    outcomes = _outcomes(count + 1)
    # Certificates are rendered by their own task after issue; timed separately below.
    issuance._after_issue = lambda credential: None  # type: ignore[assignment]
    services.issue_unit_credential(outcomes.pop().pk)  # first use: key, list, achievement cache

    started = time.perf_counter()
    for outcome in outcomes:
        services.issue_unit_credential(outcome.pk)
    issue_seconds = time.perf_counter() - started

    documents = [c.document.encode() for c in Credential.objects.all()[:count]]
    key = Ed25519PrivateKey.generate()
    started = time.perf_counter()
    for document in documents:
        key.sign(document)
    sign_seconds = time.perf_counter() - started

    credentials = list(Credential.objects.select_related("achievement", "learner")[:10])
    render_certificate_pdf(credentials[0])  # fonts and stylesheet loaded once, as in a worker
    html = HTML(string="<html lang='en'><h1>Certificate</h1><p>Lena Nguyen, Competent.</p>")
    html.write_pdf()
    pdf_times, plain_times = [], []
    for credential in credentials:
        started = time.perf_counter()
        render_certificate_pdf(credential)
        pdf_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        HTML(
            string="<html lang='en'><h1>Certificate</h1><p>Lena Nguyen, Competent.</p>"
        ).write_pdf()
        plain_times.append(time.perf_counter() - started)
    return {
        "issued": len(outcomes),
        "issue_seconds": issue_seconds,
        "sign_seconds": sign_seconds,
        "pdf_median": statistics.median(pdf_times),
        "plain_median": statistics.median(plain_times),
    }


def verify() -> dict[str, Any]:
    from credentials.services import issue_unit_credential

    credential = issue_unit_credential(_outcomes(1)[0].pk)
    assert credential is not None  # noqa: S101 - a bench precondition
    return {
        "page_path": f"/credentials/{credential.public_id}/",
        "json_path": f"/credentials/{credential.public_id}.json",
    }


if __name__ == "__main__":
    _setup()
    name = sys.argv[1]
    result = issue(int(sys.argv[2])) if name == "issue" else verify()
    print(json.dumps(result))
