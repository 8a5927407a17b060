"""My record (issue 16): the learner's every unit, outcome and credential as a page, a PDF and a
signed CLR 2.0 credential that Digital Bazaar's verifier accepts (and refuses once tampered);
only the learner's own; a fixed number of queries however much they hold."""

from __future__ import annotations

import io
import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from pypdf import PdfReader

from assessment.models import AuditEvent, Outcome
from credentials import keys
from credentials.models import Achievement, Credential, LearnerRecord, StackedCredit
from credentials.selectors import learner_holdings
from credentials.services import issue_learner_record, issue_unit_credential, revoke_credential
from credentials.signing import did_document_resolver, verify_credential
from delivery.models import Course
from tests.credentials.helpers import competent, verify_independently
from tests.credentials.stacking import Stack, make_stack
from tests.factories import CohortFactory, UnitFactory


@pytest.fixture
def stack(learner: Any, assessor: Any) -> Stack:
    return make_stack(learner, assessor)


@pytest.fixture
def earned(stack: Stack, learner: Any, assessor: Any) -> list[Credential]:
    """HLTINF006 and HLTINF007 earned in two intakes, and the skill set they stack into."""
    for unit, cohort in ((stack.hltinf006, stack.intake_006), (stack.hltinf007, stack.intake_007)):
        issue_unit_credential(competent(learner, unit, cohort, assessor).pk)
    return list(Credential.objects.filter(learner=learner).order_by("issued_at", "id"))


def text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_the_record_page_shows_units_credentials_and_what_they_stack_from(
    earned: list[Credential], learner: Any, assessor: Any, stack: Stack, client_for: Any
) -> None:
    first = earned[0]
    # One credential expiring soon, one expired, one revoked: each in words.
    lapsing = UnitFactory(code="HLTAID011", title="Provide first aid")
    aid_course = Course.objects.create(code="HLTAID011-SU", title="First aid", validity_months=36)
    aid_course.course_units.create(unit=lapsing, position=1)
    aid = CohortFactory(course=aid_course, name="January intake")
    aid_credential = issue_unit_credential(competent(learner, lapsing, aid, assessor).pk)
    assert aid_credential is not None
    Credential.objects.filter(pk=aid_credential.pk).update(
        valid_until=timezone.now() + timedelta(days=20)
    )

    page = text(client_for(learner).get("/credentials/record/").content.decode())

    assert "My record" in page
    assert "HLTINF006 Apply basic principles of infection control Competent" in page
    assert "Infection control, March intake" in page
    assert "Infection Prevention and Control Skill Set" in page
    issued = timezone.localtime(first.valid_from)
    assert f"HLTINF006 credited from your credential of {issued.day} {issued:%B %Y}" in page
    assert "Valid, expiring soon" in page
    assert "20" not in re.findall(r"\b\d\d\b(?= Competent)", page)  # words, never codes


def test_lapsed_credentials_say_expired_and_revoked(
    earned: list[Credential], learner: Any, administrator: Any, client_for: Any
) -> None:
    Credential.objects.filter(pk=earned[0].pk).update(valid_until=timezone.now())
    revoke_credential(earned[1], by=administrator, reason="Issued in error")

    page = text(client_for(learner).get("/credentials/record/").content.decode())

    assert "Expired" in page
    assert "Revoked" in page


def test_a_credited_unit_is_shown_with_its_justification(
    stack: Stack, learner: Any, assessor: Any, client_for: Any
) -> None:
    Outcome.objects.create(
        learner=learner, unit=stack.hltinf006, cohort=stack.skill_set_intake, code="60",
        justification="Competent in HLTINF006 on 3 Mar 2026 in Infection control, March intake",
    )  # fmt: skip

    page = text(client_for(learner).get("/credentials/record/").content.decode())

    assert "Credit transfer Competent in HLTINF006 on 3 Mar 2026" in page
    assert "No credentials yet" in page


def test_the_record_pdf_holds_the_same_record(
    earned: list[Credential], learner: Any, client_for: Any
) -> None:
    response = client_for(learner).get("/credentials/record/record.pdf")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    content = " ".join(" ".join(page.extract_text().split()) for page in reader.pages)
    assert "Learner record" in content
    assert "Lena Nguyen" in content
    assert "HLTINF007" in content
    assert "Infection Prevention and Control Skill Set" in content
    assert "HLTINF006 credited from your credential of" in content


def test_another_learner_sees_only_their_own_record(
    earned: list[Credential], other_learner: Any, client_for: Any
) -> None:
    page = client_for(other_learner).get("/credentials/record/").content.decode()

    assert "HLTINF006" not in page
    assert "No credentials yet" in page
    assert client_for(None).get("/credentials/record/").status_code == 302


# --- the signed Comprehensive Learner Record ---------------------------------------------------


def test_the_clr_holds_the_credentials_as_issued_and_verifies(
    earned: list[Credential], learner: Any, tmp_path: Path
) -> None:
    signed = issue_learner_record(learner)
    document = json.loads(signed.document)

    assert document["type"] == ["VerifiableCredential", "ClrCredential"]
    assert document["@context"][1] == (
        "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json"
    )
    assert document["id"] == f"https://flipside.example:8000/credentials/records/{signed.public_id}"
    subject = document["credentialSubject"]
    assert subject["type"] == ["ClrSubject"]
    assert subject["verifiableCredential"] == [json.loads(c.document) for c in earned]
    assert {a["humanCode"] for a in subject["achievement"]} == {
        "HLTINF006", "HLTINF007", "HLTSS00065",
    }  # fmt: skip
    assert [a["associationType"] for a in subject["association"]] == ["isPartOf", "isPartOf"]
    assert learner.email not in signed.document
    assert verify_credential(
        document, resolve_key=did_document_resolver(keys.did_document())
    ).verified
    path = tmp_path / "clr.json"
    path.write_text(signed.document)

    returncode, output = verify_independently(path, tmp_path)

    assert returncode == 0, output
    assert output["verified"] is True


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(
            lambda d: d["credentialSubject"]["verifiableCredential"].pop(), id="credential-removed"
        ),
        pytest.param(
            lambda d: d["credentialSubject"]["achievement"][0].update(name="Brain surgery"),
            id="achievement",
        ),
        pytest.param(lambda d: d.update(validFrom="2020-01-01T00:00:00Z"), id="date"),
    ],
)
def test_a_tampered_clr_fails_digital_bazaars_verifier(
    earned: list[Credential], learner: Any, tmp_path: Path, tamper: Any
) -> None:
    document = json.loads(issue_learner_record(learner).document)
    tamper(document)
    path = tmp_path / "clr.json"
    path.write_text(json.dumps(document))

    returncode, output = verify_independently(path, tmp_path)

    assert returncode == 1, output
    assert output["verified"] is False


def test_a_revoked_credential_leaves_the_next_clr(
    earned: list[Credential], learner: Any, administrator: Any
) -> None:
    first = issue_learner_record(learner)
    assert issue_learner_record(learner) == first  # nothing changed: signed once
    revoke_credential(earned[0], by=administrator, reason="Issued in error")

    second = issue_learner_record(learner)

    assert second != first
    held = json.loads(second.document)["credentialSubject"]["verifiableCredential"]
    assert [c["id"] for c in held] == [
        f"https://flipside.example:8000/credentials/{c.public_id}" for c in earned[1:]
    ]
    assert AuditEvent.objects.filter(action="learner_record.issued").count() == 2


def test_downloading_the_clr_signs_it_and_serves_it_at_its_id(
    earned: list[Credential], learner: Any, client_for: Any, client: Any
) -> None:
    response = client_for(learner).post("/credentials/record/clr")

    signed = LearnerRecord.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/credentials/records/{signed.public_id}?download=1"
    download = client_for(learner).get(response["Location"])
    assert download["Content-Disposition"] == 'attachment; filename="learner-record.clr.json"'
    assert download.content.decode() == signed.document
    # Its id dereferences for whoever the learner gave the link, as a credential's does.
    assert client.get(f"/credentials/records/{signed.public_id}").content == download.content


def test_a_learner_with_no_credential_is_told_and_nothing_is_signed(
    learner: Any, client_for: Any, db: None
) -> None:
    response = client_for(learner).post("/credentials/record/clr", follow=True)

    assert "You hold no credentials yet" in response.content.decode()
    assert not LearnerRecord.objects.exists()
    assert not AuditEvent.objects.exists()
    assert client_for(learner).get("/credentials/record/clr").status_code == 405


# --- learner_holdings ---------------------------------------------------------------------------


def test_holdings_name_each_achievement_in_force_and_when_it_ends(
    earned: list[Credential],
    learner: Any,
    administrator: Any,
    django_assert_num_queries: Any,
) -> None:
    revoke_credential(earned[1], by=administrator, reason="Issued in error")
    Credential.objects.filter(pk=earned[2].pk).update(
        valid_until=timezone.now() + timedelta(days=30)
    )

    with django_assert_num_queries(1):
        holdings = learner_holdings(learner)

    assert set(holdings) == {earned[0].achievement_id, earned[2].achievement_id}
    assert holdings[earned[0].achievement_id].valid_until is None
    assert holdings[earned[0].achievement_id].expiring is False
    assert holdings[earned[2].achievement_id].expiring is True
    assert learner_holdings(learner, now=timezone.now() + timedelta(days=31)).keys() == {
        earned[0].achievement_id
    }


# --- query counts -------------------------------------------------------------------------------


def hold(learner: Any, count: int) -> None:
    """`count` unit credentials (rows only: the record page never reads their signed JSON),
    every tenth a course credential stacked from two of them."""
    key = keys.active_signing_key()
    cohort = CohortFactory(name="Bulk intake")
    assessor = cohort.assessors.first() or learner
    units = UnitFactory.create_batch(count)
    achievements = Achievement.objects.bulk_create(
        Achievement(unit=u, name=u.title, human_code=u.code) for u in units
    )
    outcomes = Outcome.objects.bulk_create(
        Outcome(learner=learner, unit=u, cohort=cohort, code="20", recorded_by=assessor)
        for u in units
    )
    now = timezone.now()
    credentials = Credential.objects.bulk_create(
        Credential(
            learner=learner, achievement=a, outcome=o, signing_key=key, valid_from=now,
            valid_until=now + timedelta(days=i), document="{}",
        )
        for i, (a, o) in enumerate(zip(achievements, outcomes, strict=True))
    )  # fmt: skip
    StackedCredit.objects.bulk_create(
        StackedCredit(course_credential=credentials[i], unit=units[i + j],
                      unit_credential=credentials[i + j], outcome=outcomes[i + j])
        for i in range(0, count - 2, 10) for j in (1, 2)
    )  # fmt: skip


@pytest.mark.parametrize("count", [10, 120])
def test_the_record_page_takes_a_fixed_number_of_queries(
    learner: Any, client_for: Any, django_assert_max_num_queries: Any, count: int
) -> None:
    hold(learner, count)
    client = client_for(learner)

    with django_assert_max_num_queries(10):
        response = client.get("/credentials/record/")

    assert response.status_code == 200
    assert response.content.decode().count('class="record-credential ') == count
