"""The learner's wallet and downloads, the administrators' list and revocation page, expiry
reminders, and who may see what: each rule tried as the wrong user."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from django.core.management import call_command
from django.utils import timezone

from assessment.models import AuditEvent
from credentials import baking
from credentials.models import Credential, ExpiryReminder
from credentials.services import revoke_credential, send_expiry_reminders
from tests.credentials.helpers import issued


@pytest.fixture
def credential(learner: Any, unit: Any, cohort: Any, assessor: Any) -> Credential:
    return issued(learner, unit, cohort, assessor)


def test_the_wallet_lists_the_learners_credentials_with_every_way_to_share(
    client_for: Any, credential: Credential, learner: Any
) -> None:
    response = client_for(learner).get("/credentials/wallet/")

    html = response.content.decode()
    assert response.status_code == 200
    assert credential.achievement.name in html
    for path in ("certificate.pdf", "badge.png", "badge.svg"):
        assert f"/credentials/{credential.public_id}/{path}" in html
    assert f"/credentials/{credential.public_id}.json" in html
    assert f'data-copy="https://flipside.example:8000/credentials/{credential.public_id}/"' in html
    assert "https://www.linkedin.com/profile/add?" in html


def test_the_linkedin_link_carries_the_certification(credential: Credential) -> None:
    from credentials.views import linkedin_url

    credential.valid_until = credential.valid_from + timedelta(days=3 * 365)
    query = parse_qs(urlparse(linkedin_url(credential)).query)

    assert query["startTask"] == ["CERTIFICATION_NAME"]
    assert query["name"] == [credential.achievement.name]
    assert query["certId"] == [str(credential.public_id)]
    assert query["certUrl"] == [
        f"https://flipside.example:8000/credentials/{credential.public_id}/"
    ]
    assert query["issueYear"] == [str(credential.valid_from.year)]
    assert query["expirationYear"] == [str(credential.valid_until.year)]


def test_a_learner_sees_only_their_own_wallet(
    client_for: Any, credential: Credential, other_learner: Any
) -> None:
    html = client_for(other_learner).get("/credentials/wallet/").content.decode()
    assert credential.achievement.name not in html
    assert "You have no credentials yet." in html


def test_the_wallet_needs_a_sign_in(client: Any, db: None) -> None:
    response = client.get("/credentials/wallet/")
    assert response.status_code == 302
    assert "/login" in response["Location"]


def test_the_baked_png_holds_the_signed_credential_exactly(
    client_for: Any, credential: Credential, learner: Any
) -> None:
    response = client_for(learner).get(f"/credentials/{credential.public_id}/badge.png")

    assert response["Content-Type"] == "image/png"
    assert "attachment" in response["Content-Disposition"]
    assert baking.unbake(response.content) == credential.document


def test_the_baked_svg_holds_the_signed_credential(
    client_for: Any, credential: Credential, learner: Any
) -> None:
    response = client_for(learner).get(f"/credentials/{credential.public_id}/badge.svg")

    assert response["Content-Type"] == "image/svg+xml"
    assert json.loads(baking.unbake(response.content)) == json.loads(credential.document)


def test_the_certificate_is_rendered_on_demand_and_stored(
    client_for: Any, credential: Credential, learner: Any
) -> None:
    Credential.objects.filter(pk=credential.pk).update(certificate="")

    response = client_for(learner).get(f"/credentials/{credential.public_id}/certificate.pdf")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content).startswith(b"%PDF")
    credential.refresh_from_db()
    assert credential.certificate.name.startswith("certificates/")
    assert credential.certificate_rendered_at is not None


@pytest.mark.parametrize("path", ["badge.png", "badge.svg", "certificate.pdf"])
def test_another_learner_cannot_download_someone_elses(
    client_for: Any, credential: Credential, other_learner: Any, trainer: Any, path: str
) -> None:
    for user in (other_learner, trainer):
        assert (
            client_for(user).get(f"/credentials/{credential.public_id}/{path}").status_code == 404
        )


@pytest.mark.parametrize("path", ["badge.png", "certificate.pdf"])
def test_auditors_and_administrators_may_download(
    client_for: Any, credential: Credential, auditor: Any, administrator: Any, path: str
) -> None:
    for user in (auditor, administrator):
        assert (
            client_for(user).get(f"/credentials/{credential.public_id}/{path}").status_code == 200
        )


def test_a_badge_in_another_format_is_404(
    client_for: Any, credential: Credential, learner: Any
) -> None:
    assert (
        client_for(learner).get(f"/credentials/{credential.public_id}/badge.gif").status_code == 404
    )


# --- administrators ---------------------------------------------------------------------------


def test_an_administrator_revokes_with_a_reason(
    client_for: Any, credential: Credential, administrator: Any
) -> None:
    client = client_for(administrator)
    assert client.get(f"/credentials/{credential.public_id}/revoke").status_code == 200

    response = client.post(
        f"/credentials/{credential.public_id}/revoke", {"reason": "Assessed the wrong learner"}
    )

    assert response.status_code == 302
    credential.refresh_from_db()
    assert credential.status == Credential.Status.REVOKED
    assert credential.revoked_by == administrator
    assert AuditEvent.objects.filter(action="credential.revoked").count() == 1


def test_a_revocation_without_a_reason_changes_nothing(
    client_for: Any, credential: Credential, administrator: Any
) -> None:
    response = client_for(administrator).post(
        f"/credentials/{credential.public_id}/revoke", {"reason": "   "}
    )

    assert response.status_code == 400
    assert (
        "This field is required." in response.content.decode()
        or "Say why" in response.content.decode()
    )
    credential.refresh_from_db()
    assert credential.revoked_at is None


@pytest.mark.parametrize("who", ["learner", "assessor", "auditor", "trainer"])
def test_only_administrators_revoke_or_list(
    client_for: Any, credential: Credential, request: Any, who: str
) -> None:
    client = client_for(request.getfixturevalue(who))

    assert (
        client.post(f"/credentials/{credential.public_id}/revoke", {"reason": "x"}).status_code
        == 403
    )
    assert client.get("/credentials/manage/").status_code == 403
    credential.refresh_from_db()
    assert credential.revoked_at is None


def test_the_list_filters_by_status_and_shows_what_expires_soon(
    client_for: Any,
    credential: Credential,
    administrator: Any,
    learner: Any,
    cohort: Any,
    assessor: Any,
) -> None:
    from tests.factories import assessable_unit

    soon = issued(learner, assessable_unit(course=cohort.course)["unit"], cohort, assessor)
    Credential.objects.filter(pk=soon.pk).update(valid_until=timezone.now() + timedelta(days=20))
    revoke_credential(credential, by=administrator, reason="Wrong learner")
    client = client_for(administrator)

    revoked = client.get("/credentials/manage/", {"status": "revoked"}).content.decode()
    valid = client.get("/credentials/manage/", {"status": "valid"}).content.decode()

    assert credential.achievement.name in revoked
    assert soon.achievement.name not in revoked.split("Expiring in the next 90 days")[0]
    assert soon.achievement.name in valid.split("Expiring in the next 90 days")[1]
    assert credential.achievement.name not in valid.split("Expiring in the next 90 days")[0]


def test_the_list_takes_a_fixed_number_of_queries(
    client_for: Any,
    administrator: Any,
    learner: Any,
    cohort: Any,
    assessor: Any,
    django_assert_max_num_queries: Any,
) -> None:
    from tests.factories import assessable_unit

    for _ in range(30):
        made = issued(learner, assessable_unit(course=cohort.course)["unit"], cohort, assessor)
        Credential.objects.filter(pk=made.pk).update(
            valid_until=timezone.now() + timedelta(days=30)
        )
    client = client_for(administrator)
    with django_assert_max_num_queries(12):
        assert client.get("/credentials/manage/").status_code == 200


# --- expiry reminders -----------------------------------------------------------------------------


def test_reminders_go_at_90_and_30_days_once_each(
    credential: Credential,
    learner: Any,
    mailoutbox: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    now = timezone.now()
    Credential.objects.filter(pk=credential.pk).update(valid_until=now + timedelta(days=80))

    with django_capture_on_commit_callbacks(execute=True):  # e-mails are queued on commit
        assert send_expiry_reminders(now=now) == 1
        assert send_expiry_reminders(now=now) == 0  # a second run sends nothing
        assert send_expiry_reminders(now=now + timedelta(days=55)) == 1  # 25 days left
        assert send_expiry_reminders(now=now + timedelta(days=56)) == 0

    assert sorted(ExpiryReminder.objects.values_list("days_before", flat=True)) == [30, 90]
    assert len(mailoutbox) == 2
    assert mailoutbox[0].to == [learner.email]
    assert "expires on" in mailoutbox[0].subject


def test_no_reminder_for_revoked_or_far_off_or_unexpiring_credentials(
    credential: Credential, administrator: Any, mailoutbox: Any
) -> None:
    now = timezone.now()
    assert send_expiry_reminders(now=now) == 0  # no validUntil
    Credential.objects.filter(pk=credential.pk).update(valid_until=now + timedelta(days=200))
    assert send_expiry_reminders(now=now) == 0
    Credential.objects.filter(pk=credential.pk).update(valid_until=now + timedelta(days=20))
    revoke_credential(credential, by=administrator, reason="Wrong learner")
    assert send_expiry_reminders(now=now) == 0
    assert mailoutbox == []


def test_the_wallet_shows_an_open_reminder_until_dismissed(
    client_for: Any, credential: Credential, learner: Any, other_learner: Any
) -> None:
    Credential.objects.filter(pk=credential.pk).update(
        valid_until=timezone.now() + timedelta(days=25)
    )
    send_expiry_reminders()
    reminder = ExpiryReminder.objects.get()
    client = client_for(learner)
    assert (
        "Renewing it takes a new assessment" in client.get("/credentials/wallet/").content.decode()
    )

    assert (
        client_for(other_learner).post(f"/credentials/reminders/{reminder.pk}/dismiss").status_code
        == 404
    )
    assert client.post(f"/credentials/reminders/{reminder.pk}/dismiss").status_code == 302

    assert (
        "Renewing it takes a new assessment"
        not in client.get("/credentials/wallet/").content.decode()
    )


# --- export ---------------------------------------------------------------------------------------


def test_export_credentials_writes_what_an_offline_verifier_needs(
    credential: Credential, tmp_path: Path
) -> None:
    out = tmp_path / "export"
    call_command("export_credentials", "--out", str(out))

    assert (out / "credentials" / f"{credential.public_id}.json").read_text() == credential.document
    did = json.loads((out / "did.json").read_text())
    assert did["id"] == "did:web:flipside.example%3A8000"
    index = json.loads((out / "index.json").read_text())
    status_file = out / next(iter(index["status_lists"].values()))
    assert json.loads(status_file.read_text())["type"][1] == "BitstringStatusListCredential"
    assert index["credentials"][0]["id"] == str(credential.public_id)


def test_export_credentials_refuses_a_folder_with_files(tmp_path: Path, db: None) -> None:
    from django.core.management.base import CommandError

    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(CommandError, match="not empty"):
        call_command("export_credentials", "--out", str(tmp_path))
    assert (tmp_path / "keep.txt").read_text() == "mine"


# --- sharing, on the wallet and on the credential page -----------------------------------------

SHARING = ("Copy link", "Add to LinkedIn", "Share on Facebook")
DOWNLOADS = ("certificate.pdf", "badge.png", "badge.svg")


def test_the_wallet_lists_valid_credentials_before_expired_and_revoked_ones(
    client_for: Any,
    learner: Any,
    cohort: Any,
    assessor: Any,
    administrator: Any,
) -> None:
    from tests.factories import assessable_unit

    made = [assessable_unit(course=cohort.course)["unit"] for _ in range(3)]
    revoked, expired, valid = (issued(learner, unit, cohort, assessor) for unit in made)
    revoke_credential(revoked, by=administrator, reason="Wrong unit")
    Credential.objects.filter(pk=expired.pk).update(valid_until=timezone.now() - timedelta(days=1))
    # The newest is the revoked one, then the expired: newest-first would list them first.
    Credential.objects.filter(pk=revoked.pk).update(issued_at=timezone.now() + timedelta(hours=2))
    Credential.objects.filter(pk=expired.pk).update(issued_at=timezone.now() + timedelta(hours=1))

    html = client_for(learner).get("/credentials/wallet/").content.decode()

    positions = [html.index(c.achievement.name) for c in (valid, expired, revoked)]
    assert positions == sorted(positions)


def test_every_sharing_action_is_on_the_wallet_as_a_visible_button(
    client_for: Any, credential: Credential, learner: Any
) -> None:
    html = client_for(learner).get("/credentials/wallet/").content.decode()

    for label in SHARING:
        assert label in html
    assert "https://www.facebook.com/sharer/sharer.php?u=https%3A%2F%2Fflipside.example" in html
    # The header's light-on-dark style is never used on the page's white cards.
    main = html[html.index("<main") :]
    assert "button--quiet" not in main


def test_the_owner_finds_every_action_on_the_credential_page(
    client_for: Any, credential: Credential, learner: Any
) -> None:
    html = client_for(learner).get(f"/credentials/{credential.public_id}/").content.decode()

    assert "Your credential: keep and share it" in html
    for label in SHARING:
        assert label in html
    for path in DOWNLOADS:
        assert f"/credentials/{credential.public_id}/{path}" in html
    assert f"/credentials/{credential.public_id}.json" in html
    assert "https://www.linkedin.com/profile/add?" in html
    assert f'data-copy="https://flipside.example:8000/credentials/{credential.public_id}/"' in html


@pytest.mark.parametrize("who", ["anonymous", "other_learner", "administrator"])
def test_nobody_else_sees_the_owners_actions_on_the_credential_page(
    client_for: Any, credential: Credential, request: Any, who: str
) -> None:
    user = None if who == "anonymous" else request.getfixturevalue(who)
    html = client_for(user).get(f"/credentials/{credential.public_id}/").content.decode()

    assert "This credential is valid." in html
    assert "Your credential: keep and share it" not in html
    for label in SHARING:
        assert label not in html


def test_a_revoked_credential_offers_its_downloads_but_no_sharing(
    client_for: Any, credential: Credential, learner: Any, administrator: Any
) -> None:
    revoke_credential(credential, by=administrator, reason="Wrong unit")

    for url in ("/credentials/wallet/", f"/credentials/{credential.public_id}/"):
        html = client_for(learner).get(url).content.decode()
        for label in SHARING:
            assert label not in html
        assert f"/credentials/{credential.public_id}/certificate.pdf" in html
        assert "Sharing links are offered while a credential is valid" in html


def test_the_public_page_shows_the_providers_rto_code(
    client: Any, credential: Credential, settings: Any
) -> None:
    settings.PROVIDER_RTO_CODE = "91234"
    html = client.get(f"/credentials/{credential.public_id}/").content.decode()
    assert "(RTO 91234)" in html


def test_the_linkedin_month_is_the_providers_as_on_the_certificate(
    credential: Credential,
) -> None:
    """Attained at 20:30 UTC on 31 March is 1 April in Sydney, as the certificate says."""
    from datetime import UTC, datetime

    from credentials.views import linkedin_url

    credential.valid_from = datetime(2026, 3, 31, 20, 30, tzinfo=UTC)
    credential.valid_until = datetime(2029, 3, 31, 20, 30, tzinfo=UTC)
    query = parse_qs(urlparse(linkedin_url(credential)).query)

    assert (query["issueYear"], query["issueMonth"]) == (["2026"], ["4"])
    assert (query["expirationYear"], query["expirationMonth"]) == (["2029"], ["4"])
