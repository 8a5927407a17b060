"""The public verify page and endpoint: each check reported with its reason, for good and bad
credentials alike, never a server error; rate-limited; bounded in size."""

from __future__ import annotations

import copy
import io
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from credentials import badge, baking, keys
from credentials.models import Credential
from credentials.services import revoke_credential, stored_document
from credentials.signing import generate_private_key, sign_credential
from tests.credentials.helpers import issued

VECTORS = Path(__file__).resolve().parent / "vectors"
URL = "/credentials/verify"


@pytest.fixture(autouse=True)
def _fresh_limits() -> None:
    cache.clear()


@pytest.fixture
def credential(learner: Any, unit: Any, cohort: Any, assessor: Any) -> Credential:
    return issued(learner, unit, cohort, assessor)


def post_json(client: Any, body: bytes | str) -> dict[str, Any]:
    response = client.post(URL, data=body, content_type="application/json")
    assert response.status_code == 200, response.content
    result: dict[str, Any] = response.json()
    return result


def check(result: dict[str, Any], name: str) -> dict[str, Any]:
    found = [c for c in result["checks"] if c["check"] == name]
    assert found, result
    return found[-1]


def test_an_issued_credential_verifies_with_every_check_listed(
    client: Any, credential: Credential
) -> None:
    result = post_json(client, credential.document)

    assert result["verified"] is True
    assert result["status"] == "valid"
    names = [c["check"] for c in result["checks"]]
    for name in ("format", "type", "schema", "issuer", "key", "signature", "dates", "status"):
        assert name in names
    assert all(c["result"] == "pass" for c in result["checks"])


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(
            lambda d: d["credentialSubject"]["achievement"].update(name="Brain surgery"), id="name"
        ),
        pytest.param(lambda d: d.update(validFrom="2020-01-01T00:00:00Z"), id="date"),
        pytest.param(
            lambda d: d["credentialSubject"].update(
                id="urn:uuid:00000000-0000-4000-8000-000000000000"
            ),
            id="subject",
        ),
    ],
)
def test_a_tampered_credential_fails_its_signature(
    client: Any, credential: Credential, tamper: Any
) -> None:
    document = stored_document(credential)
    tamper(document)

    result = post_json(client, json.dumps(document))

    assert result["verified"] is False
    assert result["status"] == "invalid"
    assert check(result, "signature") == {
        "check": "signature",
        "result": "fail",
        "reason": "the signature does not match the credential",
    }


def test_a_credential_signed_with_another_key_is_refused(
    client: Any, credential: Credential
) -> None:
    document = stored_document(credential)
    del document["proof"]
    issuer = document["issuer"]["id"]
    method = f"{issuer}#z6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi"  # not ours
    forged = sign_credential(
        document,
        private_key=generate_private_key(),
        verification_method=method,
        created=timezone.now(),
    )

    result = post_json(client, json.dumps(forged))

    assert result["verified"] is False
    assert check(result, "key")["result"] == "fail"
    assert "unknown verification method" in check(result, "key")["reason"]


def test_our_key_under_an_unlisted_method_id_is_refused(
    client: Any, credential: Credential
) -> None:
    document = stored_document(credential)
    document["proof"][0]["verificationMethod"] = document["issuer"]["id"] + "#key-99"

    result = post_json(client, json.dumps(document))

    assert result["verified"] is False
    assert "unknown verification method" in check(result, "key")["reason"]


def test_a_revoked_credential_is_reported_revoked_with_the_reason(
    client: Any, credential: Credential, administrator: Any
) -> None:
    revoke_credential(credential, by=administrator, reason="Wrong learner")

    result = post_json(client, credential.document)

    assert result["verified"] is False
    assert result["status"] == "revoked"
    assert check(result, "status") == {
        "check": "status",
        "result": "fail",
        "reason": "revoked by the issuer: Wrong learner",
    }
    assert check(result, "signature")["result"] == "pass"


def test_an_expired_credential_is_reported_expired(
    client: Any, learner: Any, unit: Any, cohort: Any, assessor: Any
) -> None:
    cohort.course.validity_months = 12
    cohort.course.save()
    credential = issued(learner, unit, cohort, assessor)
    import time_machine

    with time_machine.travel(timezone.now() + timedelta(days=400)):
        result = post_json(client, credential.document)

    assert result["status"] == "expired"
    assert check(result, "dates")["result"] == "fail"
    assert check(result, "dates")["reason"].startswith("expired on ")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "not an object"),
        (b"\xff\xfe\x00", "not UTF-8"),
        (b'{"type": ["VerifiableCredential"]}', "not an Open Badges 3.0 credential"),
        (b"[" * 100_000 + b"]" * 100_000, "nested more than 64 levels deep"),
    ],
)
def test_malformed_input_is_reported_not_raised(
    client: Any, db: None, body: bytes, reason: str
) -> None:
    result = post_json(client, body)

    assert result["verified"] is False
    assert reason in result["checks"][-1]["reason"]


def test_a_huge_body_is_refused_with_413(client: Any, db: None) -> None:
    response = client.post(URL, data=b"x" * (3 * 1024 * 1024), content_type="application/json")

    assert response.status_code == 413
    assert "Too large" in response.json()["error"]


def test_a_baked_png_verifies_and_an_image_without_one_is_reported(
    client: Any, credential: Credential
) -> None:
    baked = baking.bake_png(badge.badge_png("First aid", "HLTAID011"), credential.document)
    plain = io.BytesIO()
    Image.new("RGB", (8, 8), "white").save(plain, "PNG")

    good = client.post(
        URL,
        {"file": SimpleUploadedFile("badge.png", baked, "image/png")},
        HTTP_ACCEPT="application/json",
    )
    bad = client.post(
        URL,
        {"file": SimpleUploadedFile("photo.png", plain.getvalue(), "image/png")},
        HTTP_ACCEPT="application/json",
    )

    assert good.json()["verified"] is True
    assert {
        "check": "format",
        "result": "pass",
        "reason": "a credential was found baked in the image",
    } in good.json()["checks"]
    assert bad.json()["verified"] is False
    assert check(bad.json(), "format")["result"] == "fail"


def test_a_baked_svg_verifies(client: Any, credential: Credential) -> None:
    baked = baking.bake_svg(badge.badge_svg("First aid", "HLTAID011"), credential.document)
    response = client.post(
        URL,
        {"file": SimpleUploadedFile("badge.svg", baked.encode(), "image/svg+xml")},
        HTTP_ACCEPT="application/json",
    )
    assert response.json()["verified"] is True


def test_the_page_form_shows_each_check(client: Any, credential: Credential) -> None:
    response = client.post(URL, {"credential": credential.document})

    html = response.content.decode()
    assert response.status_code == 200
    assert "Verified: this credential is valid" in html
    assert "the signature matches the credential" in html


def test_an_empty_form_says_what_to_do(client: Any, db: None) -> None:
    response = client.post(URL, {"credential": ""})
    assert response.status_code == 400
    assert "Paste a credential or choose a file" in response.content.decode()


def test_a_1edtech_credential_is_read_and_its_foreign_key_named(client: Any, db: None) -> None:
    # 1EdTech's did:key vector names a urn:uuid issuer: a did:key that is not the issuer's
    # cannot vouch for it (Digital Bazaar's verifier refuses it too). Its signature itself is
    # checked against pinned keys in test_signing.py.
    vector = (VECTORS / "1edtech-validator-simple-did-key-method.json").read_bytes()

    result = post_json(client, vector)

    assert check(result, "schema")["result"] == "pass"
    assert check(result, "issuer")["result"] == "fail"
    assert "does not belong to issuer urn:uuid:" in check(result, "issuer")["reason"]


def test_another_issuers_did_web_is_not_fetched(client: Any, credential: Credential) -> None:
    document = copy.deepcopy(stored_document(credential))
    document["issuer"]["id"] = "did:web:evil.example"
    document["proof"][0]["verificationMethod"] = "did:web:evil.example#k"

    result = post_json(client, json.dumps(document))

    assert result["verified"] is False
    assert "would have to be fetched" in check(result, "key")["reason"]


def test_verification_is_rate_limited(client: Any, credential: Credential, settings: Any) -> None:
    settings.CREDENTIALS_VERIFY_RATE = "3/m"
    for _ in range(3):
        assert (
            client.post(URL, data=credential.document, content_type="application/json").status_code
            == 200
        )

    refused = client.post(URL, data=credential.document, content_type="application/json")

    assert refused.status_code == 429
    assert "Too many" in refused.json()["error"]


def test_the_did_key_of_our_issuer_is_ours() -> None:
    assert keys.issuer_did("flipside.example:8000") == "did:web:flipside.example%3A8000"


# --- deep nesting, certificates, dates and reasons ---------------------------------------------

DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize("kind", ["png", "svg"])
def test_a_badge_carrying_json_nested_100000_deep_is_refused_cheaply(
    client: Any, db: None, kind: str
) -> None:
    """Anyone may post to this endpoint: a deeply nested document must not reach a recursive
    parser (a RecursionError, a 500, a worker burnt), and is refused with the reason."""
    import time

    if kind == "png":
        image = baking.bake_png(badge.badge_png("First aid", "HLTAID011"), DEEP)
    else:
        image = baking.bake_svg(badge.badge_svg("First aid", "HLTAID011"), DEEP).encode()
    started = time.process_time()

    as_json = client.post(
        URL,
        {"file": SimpleUploadedFile(f"badge.{kind}", image, f"image/{kind}")},
        HTTP_ACCEPT="application/json",
    )
    page = client.post(URL, {"file": SimpleUploadedFile(f"badge.{kind}", image)})

    assert as_json.status_code == 200
    assert as_json.json()["verified"] is False
    assert "nested more than 64 levels deep" in check(as_json.json(), "format")["reason"]
    assert page.status_code == 200
    assert "nested more than 64 levels deep" in page.content.decode()
    assert time.process_time() - started < 5  # generous: the scan is linear


def test_json_nested_just_past_the_recursion_limit_is_refused_before_the_schema(
    client: Any, db: None
) -> None:
    """Shallow enough for json.loads, deep enough to break recursive validators later."""
    nested: Any = {}
    for _ in range(900):
        nested = {"a": nested}
    document = {"type": ["VerifiableCredential", "OpenBadgeCredential"], "x": nested}

    result = post_json(client, json.dumps(document))

    assert result["verified"] is False
    assert "nested more than 64 levels deep" in check(result, "format")["reason"]


def test_a_certificate_pdf_verifies_and_says_what_was_found(
    client: Any, credential: Credential
) -> None:
    from credentials.certificate import render_certificate_pdf

    pdf = render_certificate_pdf(credential)

    as_json = client.post(
        URL,
        {"file": SimpleUploadedFile("certificate.pdf", pdf, "application/pdf")},
        HTTP_ACCEPT="application/json",
    )
    page = client.post(URL, {"file": SimpleUploadedFile("certificate.pdf", pdf)})

    assert as_json.json()["verified"] is True
    assert check(as_json.json(), "format") == {
        "check": "format",
        "result": "pass",
        "reason": "well-formed JSON",
    }
    assert {
        "check": "format",
        "result": "pass",
        "reason": "a certificate PDF, carrying a credential as credential.json",
    } in as_json.json()["checks"]
    html = page.content.decode()
    assert "Verified: this credential is valid" in html
    assert "a certificate PDF, carrying a credential as credential.json" in html


def test_a_pdf_without_a_credential_or_broken_is_reported_not_raised(client: Any, db: None) -> None:
    from weasyprint import HTML

    plain = HTML(string="<p>Not a certificate</p>").write_pdf()
    for body in (plain, b"%PDF-1.7\n" + b"\x00garbage" * 100):
        response = client.post(
            URL,
            {"file": SimpleUploadedFile("x.pdf", body, "application/pdf")},
            HTTP_ACCEPT="application/json",
        )
        assert response.status_code == 200
        assert response.json()["verified"] is False
        assert check(response.json(), "format")["result"] == "fail"
    assert "carries no credential" in check(response_for(client, plain), "format")["reason"]


def response_for(client: Any, body: bytes) -> dict[str, Any]:
    response = client.post(
        URL,
        {"file": SimpleUploadedFile("x.pdf", body, "application/pdf")},
        HTTP_ACCEPT="application/json",
    )
    result: dict[str, Any] = response.json()
    return result


def test_the_verify_answer_and_the_public_page_show_the_same_dates(
    client: Any, credential: Credential, settings: Any
) -> None:
    """Issued at 20:30 UTC on the 1st is the 2nd in Sydney: both pages say the 2nd, with the
    UTC instant on hover."""
    import re
    from datetime import UTC, datetime

    from credentials.documents import dump_document as _dump
    from credentials.services.proofs import sign_as_issuer as _sign

    at = datetime(2026, 3, 1, 20, 30, tzinfo=UTC)
    until = datetime(2029, 3, 1, 20, 30, tzinfo=UTC)
    document = stored_document(credential)
    document.pop("proof")
    document["validFrom"] = "2026-03-01T20:30:00Z"
    document["validUntil"] = "2029-03-01T20:30:00Z"
    signed, _ = _sign(document, issuer_id=document["issuer"]["id"], now=timezone.now())
    Credential.objects.filter(pk=credential.pk).update(
        document=_dump(signed), valid_from=at, valid_until=until
    )

    report = client.post(URL, {"credential": _dump(signed)}).content.decode()
    public = client.get(f"/credentials/{credential.public_id}/").content.decode()
    as_json = post_json(client, _dump(signed))

    def times(html: str) -> list[str]:
        return re.findall(r"<time [^>]*>[^<]+</time>", html)

    expected = [
        '<time datetime="2026-03-01T20:30:00Z" title="1 March 2026, 20:30 UTC">2 March 2026</time>',
        '<time datetime="2029-03-01T20:30:00Z" title="1 March 2029, 20:30 UTC">2 March 2029</time>',
    ]
    assert times(report) == expected
    assert times(public) == expected
    assert check(as_json, "dates")["reason"] == "valid from 2 March 2026 until 2 March 2029"


def test_a_reason_ending_in_a_full_stop_is_not_given_a_second(
    client: Any, credential: Credential, administrator: Any
) -> None:
    revoke_credential(credential, by=administrator, reason="Issued to the wrong learner.")

    public = client.get(f"/credentials/{credential.public_id}/").content.decode()
    report = client.post(URL, {"credential": credential.document}).content.decode()

    assert "Reason: Issued to the wrong learner.</p>" in public
    assert "wrong learner.." not in public
    assert "Reason: Issued to the wrong learner.</dd>" in report
    assert "wrong learner.." not in report
