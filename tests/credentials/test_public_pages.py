"""The public verification page, the signed JSON, the badge image and the status list: what a
stranger holding the link sees, in each state, read afresh so a revocation shows at once."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core.cache import cache
from django.utils import timezone

from credentials.models import Credential, StatusList
from credentials.services import revoke_credential
from tests.credentials.helpers import issued


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    cache.clear()


@pytest.fixture
def credential(learner: Any, unit: Any, cohort: Any, assessor: Any) -> Credential:
    return issued(learner, unit, cohort, assessor)


def page(client: Any, credential: Credential) -> str:
    response = client.get(f"/credentials/{credential.public_id}/")
    assert response.status_code == 200
    return response.content.decode()


def test_the_page_shows_a_valid_credential_with_what_a_stranger_needs(
    client: Any, credential: Credential, unit: Any
) -> None:
    html = page(client, credential)

    assert "This credential is valid." in html
    assert "Lena Nguyen" in html
    assert unit.code in html
    assert unit.title in html
    assert "Assess the scene for danger" in html  # the criteria
    assert f"/credentials/{credential.public_id}.json" in html  # verify it yourself
    assert "/.well-known/did.json" in html
    assert "did:web:flipside.example%3A8000" in html
    og_image = re.search(r'<meta property="og:image" content="([^"]+)"', html)
    assert og_image is not None
    assert (
        og_image.group(1)
        == f"https://flipside.example:8000/credentials/{credential.public_id}/image.png"
    )
    assert '<meta property="og:title" content="' in html


def test_the_page_shows_a_revoked_credential_with_its_reason_at_once(
    client: Any, credential: Credential, administrator: Any, django_capture_on_commit_callbacks: Any
) -> None:
    assert "This credential is valid." in page(client, credential)  # now cached

    with django_capture_on_commit_callbacks(execute=True):  # the cache is cleared on commit
        revoke_credential(credential, by=administrator, reason="Assessed against the wrong unit")

    html = page(client, credential)
    assert "has been revoked" in html
    assert "Assessed against the wrong unit" in html
    assert "This credential is valid." not in html


def test_the_page_shows_an_expired_credential_once_its_date_passes(
    client: Any, credential: Credential
) -> None:
    credential.valid_until = timezone.now() + timedelta(days=2)
    credential.save()
    assert "This credential is valid." in page(client, credential)

    with time_machine.travel(timezone.now() + timedelta(days=3)):
        html = page(client, credential)

    assert "This credential has expired." in html


def test_the_page_shows_a_credential_that_is_not_yet_valid(
    client: Any, credential: Credential
) -> None:
    Credential.objects.filter(pk=credential.pk).update(
        valid_from=timezone.now() + timedelta(days=10)
    )
    assert "not valid yet" in page(client, credential)


def test_a_learner_name_is_escaped_on_the_public_page(
    client: Any, credential: Credential, learner: Any
) -> None:
    learner.first_name = "<script>alert(1)</script>"
    learner.save()
    html = page(client, credential)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html


def test_an_unknown_credential_is_404(client: Any, db: None) -> None:
    assert client.get("/credentials/00000000-0000-4000-8000-000000000000/").status_code == 404
    assert client.get("/credentials/00000000-0000-4000-8000-000000000000.json").status_code == 404
    assert client.get("/credentials/not-a-uuid/").status_code == 404


def test_the_json_is_the_signed_bytes_with_the_vc_media_type(
    client: Any, credential: Credential
) -> None:
    response = client.get(f"/credentials/{credential.public_id}.json")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/vc+ld+json"
    assert response["Access-Control-Allow-Origin"] == "*"
    assert response.content == credential.document.encode()


def test_the_credential_id_answers_json_to_a_json_client_and_the_page_to_a_browser(
    client: Any, credential: Credential
) -> None:
    url = json.loads(credential.document)["id"].split(":8000", 1)[1]

    as_json = client.get(url, HTTP_ACCEPT="application/vc+ld+json")
    in_browser = client.get(url, HTTP_ACCEPT="text/html")

    assert as_json.content == credential.document.encode()
    assert in_browser.status_code == 302
    assert in_browser["Location"] == f"/credentials/{credential.public_id}/"


def test_the_badge_image_is_a_png_without_a_credential(client: Any, credential: Credential) -> None:
    from credentials import baking

    response = client.get(f"/credentials/{credential.public_id}/image.png")

    assert response["Content-Type"] == "image/png"
    assert response.content.startswith(b"\x89PNG")
    with pytest.raises(baking.NoBakedCredential):
        baking.unbake(response.content)


def test_the_status_list_is_served_signed_and_follows_revocation(
    client: Any, credential: Credential, administrator: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from credentials import status

    url = f"/credentials/status/{credential.status_list_id}"
    before = client.get(url)
    assert before["Content-Type"] == "application/vc+ld+json"
    encoded = json.loads(before.content)["credentialSubject"]["encodedList"]
    assert not status.get_bit(status.decode(encoded), credential.status_index)

    with django_capture_on_commit_callbacks(execute=True):
        revoke_credential(credential, by=administrator, reason="Wrong learner")

    after = json.loads(client.get(url).content)
    assert status.get_bit(
        status.decode(after["credentialSubject"]["encodedList"]), credential.status_index
    )
    assert after["proof"][0]["proofValue"] != json.loads(before.content)["proof"][0]["proofValue"]
    assert client.get(f"/credentials/status/{StatusList.objects.count() + 5}").status_code == 404


def test_public_views_take_a_fixed_number_of_queries(
    client: Any, credential: Credential, django_assert_max_num_queries: Any
) -> None:
    """Read from the database on every request (a revocation must show at once), in a
    fixed number of queries."""
    for _ in range(2):
        with django_assert_max_num_queries(6):
            page(client, credential)
        with django_assert_max_num_queries(1):
            client.get(f"/credentials/{credential.public_id}.json")
        with django_assert_max_num_queries(1):
            client.get(f"/credentials/status/{credential.status_list_id}")


def test_a_revocation_by_another_process_is_seen_at_once(
    client: Any, credential: Credential, administrator: Any
) -> None:
    """Another process (a management command, a second web process) revokes: its writes reach
    the database but never this process's memory. Here its on-commit work never runs in this
    process (the test's transaction is not committed), exactly as for another process."""
    from credentials import status

    assert "This credential is valid." in page(client, credential)
    list_url = f"/credentials/status/{credential.status_list_id}"
    client.get(list_url)

    revoke_credential(credential, by=administrator, reason="Issued to the wrong learner")

    html = page(client, credential)
    assert "has been revoked" in html
    assert "Issued to the wrong learner" in html
    served = json.loads(client.get(list_url).content)
    encoded = served["credentialSubject"]["encodedList"]
    assert status.get_bit(status.decode(encoded), credential.status_index)


def test_the_achievement_carries_its_image_and_aligns_to_the_national_register(
    client: Any, credential: Credential, unit: Any
) -> None:
    achievement = json.loads(credential.document)["credentialSubject"]["achievement"]

    assert achievement["image"]["type"] == "Image"
    assert achievement["alignment"] == [
        {
            "type": ["Alignment"],
            "targetName": f"{unit.code} {unit.title}",
            "targetUrl": f"https://training.gov.au/Training/Details/{unit.code}",
            "targetCode": unit.code,
            "targetFramework": "training.gov.au, the National Register of VET",
            "targetType": "ceasn:Competency",
        }
    ]
    image = client.get(achievement["image"]["id"].split(":8000", 1)[1])
    assert image["Content-Type"] == "image/png"
    assert image.content.startswith(b"\x89PNG")


def test_the_achievement_id_resolves_to_a_page_and_to_json(
    client: Any, credential: Credential, unit: Any
) -> None:
    achievement_id = json.loads(credential.document)["credentialSubject"]["achievement"]["id"]
    path = achievement_id.split(":8000", 1)[1]

    page_html = client.get(path).content.decode()
    as_json = client.get(path, HTTP_ACCEPT="application/ld+json").json()

    assert unit.title in page_html
    assert "Assess the scene for danger" in page_html
    assert as_json["id"] == achievement_id
    assert as_json["humanCode"] == unit.code
    assert client.get("/achievements/00000000-0000-4000-8000-000000000000").status_code == 404


def test_only_an_administrator_re_renders_a_certificate(
    client_for: Any, credential: Credential, administrator: Any, learner: Any
) -> None:
    url = f"/credentials/{credential.public_id}/certificate/render"
    assert client_for(learner).post(url).status_code == 403
    credential.refresh_from_db()
    assert not credential.certificate

    assert client_for(administrator).post(url).status_code == 302

    credential.refresh_from_db()  # eager in unit tests: rendered and stored
    assert credential.certificate.name.startswith("certificates/")
