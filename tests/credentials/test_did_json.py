"""The issuer's DID document at /.well-known/did.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from credentials import keys
from credentials.keys import issuer_did
from credentials.models import SigningKey
from credentials.services import issue_unit_credential
from delivery.services import enrol_learner
from tests.credentials.test_signing import run_node_verifier
from tests.factories import assessable_unit

URL = "/.well-known/did.json"


@pytest.fixture(autouse=True)
def _host(settings: Any) -> None:
    settings.PUBLIC_URL = "https://flipside.example:8000"
    settings.CREDENTIALS_HOST = ""


@pytest.mark.parametrize(
    ("host", "did"),
    [
        ("flipside.example", "did:web:flipside.example"),
        ("flipside.example:8000", "did:web:flipside.example%3A8000"),
        ("Localhost:8000", "did:web:localhost%3A8000"),
    ],
)
def test_it_makes_the_issuer_did_from_the_host(host: str, did: str) -> None:
    assert issuer_did(host) == did


@pytest.mark.parametrize("host", ["", "example.com/path"])
def test_it_refuses_what_is_not_a_host(host: str) -> None:
    with pytest.raises(ValueError, match="not a host"):
        issuer_did(host)


def test_it_lists_every_key_as_a_multikey_of_the_issuer(client: Any, db: None) -> None:
    first = keys.active_signing_key()
    second = keys.rotate_signing_key()

    response = client.get(URL)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/did+json"
    document = response.json()
    did = "did:web:flipside.example%3A8000"
    assert document["id"] == did
    assert document["verificationMethod"] == [
        {
            "id": f"{did}#{key.public_multikey}",
            "type": "Multikey",
            "controller": did,
            "publicKeyMultibase": key.public_multikey,
        }
        for key in (first, second)
    ]
    assert document["assertionMethod"] == [
        f"{did}#{first.public_multikey}",
        f"{did}#{second.public_multikey}",
    ]
    assert "encrypted_private_key" not in response.content.decode()


def test_it_is_empty_before_the_first_key(client: Any, db: None) -> None:
    assert client.get(URL).json()["verificationMethod"] == []
    assert not SigningKey.objects.exists()


def test_it_refuses_the_wrong_method(client: Any, db: None) -> None:
    assert client.post(URL).status_code == 405


def test_it_serves_the_document_that_verifies_an_issued_credential_in_node(
    client: Any, learner: Any, cohort: Any, assessor: Any, tmp_path: Path
) -> None:
    from assessment.models import Outcome

    enrol_learner(learner, cohort)
    unit = assessable_unit(course=cohort.course)["unit"]
    outcome = Outcome.objects.create(
        learner=learner, unit=unit, cohort=cohort, code="20", recorded_by=assessor
    )
    credential = issue_unit_credential(outcome.pk)
    assert credential is not None
    credential_file = tmp_path / "credential.json"
    credential_file.write_text(credential.document)
    did_json = tmp_path / "did.json"
    did_json.write_bytes(client.get(URL).content)
    status_url = json.loads(credential.document)["credentialStatus"]["statusListCredential"]
    status_list = tmp_path / "status.json"
    status_list.write_bytes(client.get(status_url.split(":8000", 1)[1]).content)

    completed = run_node_verifier(credential_file, did_json, status_list)

    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert json.loads(completed.stdout)["verified"] is True
