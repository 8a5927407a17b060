"""One address, PUBLIC_URL, behind every absolute URL a credential carries; the issuer DID
stored with each status list and credential; a process configured for another host refuses to
sign for this issuer; moving a deployment to a new host (move_issuer_host)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from assessment.models import AuditEvent
from credentials import keys, status
from credentials.certificate import certificate_data
from credentials.models import Credential, StatusList
from credentials.services import revoke_credential, send_expiry_reminders
from credentials.verification import verify_submission
from credentials.views import linkedin_url
from tests.credentials.helpers import competent, issued, verify_independently

DEMO = "http://127.0.0.1:8000"


@pytest.fixture
def credential(learner: Any, unit: Any, cohort: Any, assessor: Any, settings: Any) -> Credential:
    settings.PUBLIC_URL = DEMO
    return issued(learner, unit, cohort, assessor)


def _urls(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [url for key, item in value.items() if key != "proof" for url in _urls(item)]
    if isinstance(value, list):
        return [url for item in value for url in _urls(item)]
    return [value] if isinstance(value, str) and "://" in value else []


def test_every_url_a_credential_carries_is_on_public_url(credential: Credential) -> None:
    document = json.loads(credential.document)
    ours = [
        url
        for url in _urls(document)
        if not url.startswith(("https://www.w3.org", "https://purl.imsglobal.org"))
        and "training.gov.au" not in url
    ]

    assert document["id"] == f"{DEMO}/credentials/{credential.public_id}"
    assert document["credentialStatus"]["statusListCredential"].startswith(
        f"{DEMO}/credentials/status/"
    )
    assert document["credentialSubject"]["achievement"]["id"].startswith(f"{DEMO}/achievements/")
    assert ours
    assert all(url.startswith(DEMO + "/") or url == DEMO for url in ours), ours
    assert document["issuer"]["id"] == "did:web:127.0.0.1%3A8000"
    assert "localhost" not in credential.document


def test_shared_links_and_the_certificates_qr_code_use_public_url(
    client_for: Any, credential: Credential, learner: Any
) -> None:
    page_url = f"{DEMO}/credentials/{credential.public_id}/"
    query = parse_qs(urlparse(linkedin_url(credential)).query)
    html = client_for(learner).get("/credentials/wallet/").content.decode()

    assert query["certUrl"] == [page_url]
    assert f'data-copy="{page_url}"' in html
    # The QR code encodes the verification URL (the credential's id, which opens its page).
    assert certificate_data(credential).verification_url == (
        f"{DEMO}/credentials/{credential.public_id}"
    )


def test_the_expiry_e_mail_links_to_public_url(
    credential: Credential, django_capture_on_commit_callbacks: Any
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    Credential.objects.filter(pk=credential.pk).update(
        valid_until=timezone.now() + timedelta(days=20)
    )
    with django_capture_on_commit_callbacks(execute=True):
        send_expiry_reminders()

    assert f"{DEMO}/credentials/wallet/" in mail.outbox[0].body


def test_the_issuer_did_is_stored_with_the_list_and_the_credential(
    credential: Credential,
) -> None:
    status_list = StatusList.objects.get(pk=credential.status_list_id)
    assert credential.issuer_id == "did:web:127.0.0.1%3A8000"
    assert status_list.issuer_id == "did:web:127.0.0.1%3A8000"
    assert json.loads(status_list.document)["issuer"] == status_list.issuer_id


def test_a_process_configured_for_another_host_refuses_to_revoke_and_changes_nothing(
    credential: Credential, administrator: Any, settings: Any
) -> None:
    """As when a management command runs without the deployment's PUBLIC_URL: it must not
    re-sign the list as did:web:localhost%3A8000."""
    status_list = StatusList.objects.get(pk=credential.status_list_id)
    before = (status_list.document, bytes(status_list.bits))
    settings.PUBLIC_URL = "http://localhost:8000"

    with pytest.raises(keys.IssuerMismatch) as refused:
        revoke_credential(credential, by=administrator, reason="Wrong learner")

    message = str(refused.value)
    assert "did:web:127.0.0.1%3A8000" in message
    assert "did:web:localhost%3A8000" in message
    assert "move_issuer_host" in message
    status_list.refresh_from_db()
    credential.refresh_from_db()
    assert (status_list.document, bytes(status_list.bits)) == before
    assert credential.revoked_at is None
    assert not AuditEvent.objects.filter(action="credential.revoked").exists()


def test_a_process_configured_for_another_host_refuses_to_issue(
    credential: Credential, learner: Any, unit: Any, cohort: Any, assessor: Any, settings: Any
) -> None:
    from credentials.services import issue_unit_credential

    settings.PUBLIC_URL = "http://localhost:8000"
    outcome = competent(learner, unit, cohort, assessor)
    credential.outcome.superseded_by = outcome
    credential.outcome.save()
    # Expired, so the new outcome is a renewal: while it is in force, nothing new is signed.
    Credential.objects.filter(pk=credential.pk).update(valid_until=timezone.now())

    with pytest.raises(keys.IssuerMismatch):
        issue_unit_credential(outcome.pk)
    assert Credential.objects.count() == 1


def test_the_administrators_revoke_page_says_why_it_refused(
    client_for: Any, credential: Credential, administrator: Any, settings: Any
) -> None:
    settings.PUBLIC_URL = "http://localhost:8000"
    response = client_for(administrator).post(
        f"/credentials/{credential.public_id}/revoke", {"reason": "Wrong learner"}, follow=True
    )
    assert response.status_code == 200
    assert "Not revoked: refusing to sign status list" in response.content.decode()
    credential.refresh_from_db()
    assert credential.revoked_at is None


def test_the_did_web_host_can_be_kept_while_public_url_moves(
    learner: Any, unit: Any, cohort: Any, assessor: Any, settings: Any
) -> None:
    settings.PUBLIC_URL = "https://new.example.edu.au"
    settings.CREDENTIALS_HOST = "old.example.edu.au"
    credential = issued(learner, unit, cohort, assessor)
    document = json.loads(credential.document)
    assert document["issuer"]["id"] == "did:web:old.example.edu.au"
    assert document["id"].startswith("https://new.example.edu.au/credentials/")


def test_moving_to_a_new_host_re_signs_everything_that_then_verifies(
    credential: Credential,
    administrator: Any,
    settings: Any,
    tmp_path: Path,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.PUBLIC_URL = "https://learn.example.edu.au"
    with django_capture_on_commit_callbacks(execute=True):
        call_command("move_issuer_host")

    credential.refresh_from_db()
    document = json.loads(credential.document)
    new_did = "did:web:learn.example.edu.au"
    assert credential.issuer_id == new_did
    assert document["issuer"]["id"] == new_did
    assert document["id"] == f"https://learn.example.edu.au/credentials/{credential.public_id}"
    assert document["proof"][0]["verificationMethod"].startswith(new_did + "#")
    assert "127.0.0.1" not in credential.document
    assert StatusList.objects.get().issuer_id == new_did
    assert AuditEvent.objects.filter(action="credential.moved").count() == 1
    assert credential.certificate_rendered_at is not None  # rendered again on commit
    assert verify_submission(credential.document.encode()).verdict == "valid"
    credential_file = tmp_path / "credential.json"
    credential_file.write_text(credential.document)
    returncode, output = verify_independently(credential_file, tmp_path)
    assert returncode == 0, output

    # The moved issuer revokes, and both verifiers see it.
    revoke_credential(credential, by=administrator, reason="Wrong learner")
    assert verify_submission(credential.document.encode()).verdict == "revoked"
    returncode, output = verify_independently(credential_file, tmp_path)
    assert returncode == 1, output
    assert output["revoked"] is True
    list_document = json.loads(StatusList.objects.get().document)
    assert list_document["id"].startswith("https://learn.example.edu.au/credentials/status/")
    assert status.get_bit(
        status.decode(list_document["credentialSubject"]["encodedList"]), credential.status_index
    )


def test_moving_twice_moves_nothing_more_and_a_dry_run_changes_nothing(
    credential: Credential, settings: Any
) -> None:
    from io import StringIO

    settings.PUBLIC_URL = "https://learn.example.edu.au"
    out = StringIO()
    call_command("move_issuer_host", "--dry-run", stdout=out)
    assert "Would move 1 status list(s) and 1 credential(s) from did:web:127.0.0.1%3A8000" in (
        out.getvalue()
    )
    credential.refresh_from_db()
    assert credential.issuer_id == "did:web:127.0.0.1%3A8000"

    call_command("move_issuer_host", stdout=StringIO())
    again = StringIO()
    call_command("move_issuer_host", stdout=again)
    assert "Nothing to move" in again.getvalue()
    assert AuditEvent.objects.filter(action="credential.moved").count() == 1


def test_the_issuing_task_logs_why_it_refused_and_does_not_fail_the_caller(
    credential: Credential,
    learner: Any,
    unit: Any,
    cohort: Any,
    assessor: Any,
    settings: Any,
    caplog: Any,
) -> None:
    """In the embedded mode the task runs inside the assessor's request: a misconfigured
    process logs the reason instead of answering the assessor with a server error."""
    from credentials.tasks import issue_credentials_for_outcome

    settings.PUBLIC_URL = "http://localhost:8000"
    outcome = competent(learner, unit, cohort, assessor)
    credential.outcome.superseded_by = outcome
    credential.outcome.save()
    # Expired, so the new outcome is a renewal: while it is in force, nothing new is signed.
    Credential.objects.filter(pk=credential.pk).update(valid_until=timezone.now())

    assert issue_credentials_for_outcome.delay(outcome.pk).get() is None
    assert Credential.objects.count() == 1
    assert "refusing to sign" in caplog.text
    assert "did:web:127.0.0.1%3A8000" in caplog.text


def test_the_migration_fills_in_the_issuer_of_existing_lists_and_credentials(
    credential: Credential,
) -> None:
    """Rows issued before the column existed get the DID their stored documents name."""
    import importlib

    from django.apps import apps

    migration = importlib.import_module("credentials.migrations.0003_issuer_id")
    Credential.objects.update(issuer_id="")
    StatusList.objects.update(issuer_id="")

    migration.fill_issuer_ids(apps, None)

    credential.refresh_from_db()
    assert credential.issuer_id == "did:web:127.0.0.1%3A8000"
    assert StatusList.objects.get().issuer_id == "did:web:127.0.0.1%3A8000"
