"""The learner keeps and shares their credentials, in Chromium at both sizes: the wallet lists
valid ones first with every action visible, the credential page gives its owner the same
actions, and the certificate they download verifies on the verify page. axe on every page
(the faded cards of lapsed credentials were a colour-contrast failure)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from credentials.models import Credential
from credentials.services import revoke_credential
from delivery.roles import Role
from delivery.services import enrol_learner
from tests.credentials.helpers import issued
from tests.e2e.conftest import sized
from tests.e2e.test_login import sign_in
from tests.factories import PASSWORD, CohortFactory, UserFactory, assessable_unit


@pytest.mark.django_db(transaction=True)
@sized
def test_the_learner_shares_a_credential_and_verifies_its_certificate(
    page: Any, journey: Any, tmp_path: Any
) -> None:
    learner = UserFactory(
        username="e2e-holder", first_name="Lena", last_name="Nguyen", roles=[Role.LEARNER]
    )
    assessor = UserFactory(username="e2e-assessor", roles=[Role.ASSESSOR])
    admin = UserFactory(username="e2e-admin", roles=[Role.ADMINISTRATOR])
    cohort = CohortFactory()
    enrol_learner(learner, cohort)
    units = [assessable_unit(course=cohort.course)["unit"] for _ in range(3)]
    valid, expired, revoked = (issued(learner, unit, cohort, assessor) for unit in units)
    Credential.objects.filter(pk=expired.pk).update(
        valid_until=timezone.now() - timedelta(days=1), issued_at=timezone.now()
    )
    revoke_credential(revoked, by=admin, reason="Issued in error.")

    sign_in(page, learner.username, PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_have_text("My learning")
    walk = journey("credential-sharing")
    walk.visit(lambda: page.get_by_role("link", name="My credentials").click(), "wallet")

    cards = page.locator(".wallet__item")
    expect(cards).to_have_count(3)
    expect(cards.nth(0)).to_contain_text(valid.achievement.name)
    expect(cards.nth(0)).to_contain_text("Valid")
    expect(cards.nth(2)).to_contain_text("Revoked")
    expect(cards.nth(2)).to_contain_text("Reason: Issued in error.")
    first = cards.nth(0)
    for name in ("Copy link", "Add to LinkedIn", "Share on Facebook"):
        expect(first.get_by_role(first_role(name), name=name)).to_be_visible()
    linkedin = first.get_by_role("link", name="Add to LinkedIn").get_attribute("href") or ""
    cert_url = parse_qs(urlparse(linkedin).query)["certUrl"][0]
    assert cert_url.startswith(("http://", "https://"))
    assert cert_url.endswith(f"/credentials/{valid.public_id}/")

    walk.visit(lambda: first.get_by_role("link", name=valid.achievement.name).click(), "page")
    owner = page.get_by_role("region", name="Your credential: keep and share it")
    expect(owner).to_be_visible()
    expect(owner.get_by_role("link", name="Add to LinkedIn")).to_be_visible()
    with page.expect_download() as download:
        owner.get_by_role("link", name="Certificate (PDF)").click()
    pdf = tmp_path / "certificate.pdf"
    download.value.save_as(pdf)

    walk.visit(lambda: page.get_by_role("link", name="verify page").click(), "verify")
    page.get_by_label("Or choose a file").set_input_files(str(pdf))
    walk.visit(lambda: page.get_by_role("button", name="Verify").click(), "verified")
    expect(page.get_by_role("heading", name="Verified: this credential is valid")).to_be_visible()
    expect(page.get_by_text("a certificate PDF, carrying a credential")).to_be_visible()


def first_role(name: str) -> str:
    return "button" if name == "Copy link" else "link"
