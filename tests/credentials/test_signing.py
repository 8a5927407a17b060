"""eddsa-rdfc-2022 signing and verification, against 1EdTech's vectors and an independent verifier.

A credential is worth what a stranger can verify, so the interoperability tests matter most:
we accept what 1EdTech's tooling signed, and Digital Bazaar's verifier accepts what we sign.
"""

from __future__ import annotations

import copy
import json
import shutil
import socket
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pyld.jsonld import JsonLdError

from credentials.jsonld import (
    CONTEXT_FILES,
    ContextNotAllowedError,
    canonize,
    disallowed_context_in,
    document_loader,
)
from credentials.signing import (
    KeyResolutionError,
    ProofError,
    decode_multikey,
    did_document_resolver,
    did_key_for,
    did_key_resolver,
    encode_multikey,
    generate_private_key,
    sign_credential,
    verify_credential,
)
from tests.conftest import need_service

VECTORS = Path(__file__).resolve().parent / "vectors"
NODE_DIR = Path(__file__).resolve().parent / "node"
CREATED = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)

# The issuers' public keys, pinned here rather than trusted from the vectors: 1EdTech's
# verification methods are "<issuer URL>#<Multikey>", and the validator resolves them by reading
# the Multikey in the fragment. did:key methods carry their key in the DID itself.
VECTOR_KEYS = {
    "https://example.com/issuers/876543#z6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi": (
        "z6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi"
    ),
    "https://1edtech.edu/issuers/565049#z6Mknyb2Gb4NxzW3xSr9ChTtdQZ1zs77piQ3r9SaJ9vMzmrs": (
        "z6Mknyb2Gb4NxzW3xSr9ChTtdQZ1zs77piQ3r9SaJ9vMzmrs"
    ),
}


def vector_key(verification_method: str) -> Ed25519PublicKey:
    if verification_method.startswith("did:key:"):
        return did_key_resolver(verification_method)
    try:
        return decode_multikey(VECTOR_KEYS[verification_method])
    except KeyError:
        raise KeyResolutionError(f"unknown test key {verification_method}") from None


def load_vector(name: str) -> dict[str, Any]:
    return json.loads((VECTORS / f"1edtech-validator-{name}.json").read_text())


def unsigned_credential(issuer_id: str) -> dict[str, Any]:
    """A minimal OpenBadgeCredential like the ones we will issue."""
    return {
        "@context": [
            "https://www.w3.org/ns/credentials/v2",
            "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
        ],
        "id": "urn:uuid:6a4c7f4e-3a63-4f0c-9a2b-0f5b8f1f0c11",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": issuer_id, "type": ["Profile"], "name": "Flipside Training"},
        "name": "HLTAID011 Provide First Aid",
        "validFrom": "2026-03-01T09:30:00Z",
        "validUntil": "2029-03-01T09:30:00Z",
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "identifier": [
                {
                    "type": "IdentityObject",
                    "identityHash": "sha256$" + "0b3a1c0e0f6f6a4b8f7f5d0e0e2c7a1f" * 2,
                    "identityType": "emailAddress",
                    "hashed": True,
                    "salt": "c0ffee",
                }
            ],
            "achievement": {
                "id": "https://flipside.example/achievements/HLTAID011",
                "type": ["Achievement"],
                "name": "Provide First Aid",
                "description": "Provide a first aid response to a casualty.",
                "criteria": {"narrative": "Assessed Competent against HLTAID011."},
                "humanCode": "HLTAID011",
            },
        },
    }


@pytest.fixture(scope="module")
def private_key() -> Ed25519PrivateKey:
    return generate_private_key()


@pytest.fixture(scope="module")
def signed(private_key: Ed25519PrivateKey) -> dict[str, Any]:
    did = did_key_for(private_key.public_key()).partition("#")[0]
    return sign_credential(
        unsigned_credential(did),
        private_key=private_key,
        verification_method=did_key_for(private_key.public_key()),
        created=CREATED,
    )


# --- 1EdTech vectors ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["simple", "complete"])
def test_it_accepts_the_1edtech_signed_credentials(name: str) -> None:
    result = verify_credential(load_vector(name), resolve_key=vector_key)

    assert result.verified, result.failure
    assert [check.name for check in result.checks] == [
        "proof",
        "suite",
        "issuer",
        "key",
        "signature",
    ]


def test_it_accepts_the_1edtech_did_key_credential() -> None:
    # Its issuer is a urn:uuid, not the did:key that signed it, so only the signature can be
    # checked; our own credentials always pass the issuer check as well.
    document = load_vector("simple-did-key-method")

    assert verify_credential(document, resolve_key=did_key_resolver, check_issuer=False).verified
    refused = verify_credential(document, resolve_key=did_key_resolver)
    assert refused.failure is not None
    assert refused.failure.name == "issuer"


def test_it_rejects_a_tampered_1edtech_credential() -> None:
    document = load_vector("complete")
    document["credentialSubject"]["achievement"]["name"] = "Something else"

    result = verify_credential(document, resolve_key=vector_key)

    assert result.failure is not None
    assert result.failure.name == "signature"


# --- our own signatures ---------------------------------------------------------------------------


def test_it_verifies_a_credential_we_signed(signed: dict[str, Any]) -> None:
    result = verify_credential(signed, resolve_key=did_key_resolver)

    assert result.verified, result.failure
    assert bool(result)


def test_it_adds_one_proof_array_and_changes_nothing_else(
    private_key: Ed25519PrivateKey, signed: dict[str, Any]
) -> None:
    did = did_key_for(private_key.public_key()).partition("#")[0]
    original = unsigned_credential(did)

    assert {k: v for k, v in signed.items() if k != "proof"} == original
    assert signed["proof"] == [
        {
            "type": "DataIntegrityProof",
            "cryptosuite": "eddsa-rdfc-2022",
            "created": "2026-03-01T09:30:00Z",
            "verificationMethod": did_key_for(private_key.public_key()),
            "proofPurpose": "assertionMethod",
            "proofValue": signed["proof"][0]["proofValue"],
        }
    ]
    assert signed["proof"][0]["proofValue"].startswith("z")


def test_it_does_not_mutate_the_input(private_key: Ed25519PrivateKey) -> None:
    document = unsigned_credential("did:example:issuer")
    before = copy.deepcopy(document)

    sign_credential(
        document,
        private_key=private_key,
        verification_method="did:example:issuer#1",
        created=CREATED,
    )

    assert document == before


def test_it_refuses_to_sign_over_an_existing_proof_or_a_naive_date(
    private_key: Ed25519PrivateKey, signed: dict[str, Any]
) -> None:
    with pytest.raises(ProofError, match="already has a proof"):
        sign_credential(signed, private_key=private_key, verification_method="x", created=CREATED)
    with pytest.raises(ProofError, match="timezone-aware"):
        sign_credential(
            unsigned_credential("did:example:issuer"),
            private_key=private_key,
            verification_method="did:example:issuer#1",
            created=datetime(2026, 3, 1),  # noqa: DTZ001 - the point of the test
        )


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("name",), "HLTAID011 Provide First Aid (Advanced)"),
        (("validFrom",), "2026-03-02T09:30:00Z"),
        (("credentialSubject", "achievement", "name"), "Provide CPR"),
        (("proof", 0, "created"), "2026-03-01T09:31:00Z"),
    ],
)
def test_it_rejects_a_tampered_field(
    signed: dict[str, Any], path: tuple[str | int, ...], value: str
) -> None:
    tampered = copy.deepcopy(signed)
    target: Any = tampered
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value

    result = verify_credential(tampered, resolve_key=did_key_resolver)

    assert result.failure is not None
    assert result.failure.name == "signature"
    assert result.failure.reason == "the signature does not match the credential"


def test_it_rejects_a_changed_proof_value(signed: dict[str, Any]) -> None:
    tampered = copy.deepcopy(signed)
    value = tampered["proof"][0]["proofValue"]
    tampered["proof"][0]["proofValue"] = value[:-1] + ("2" if value[-1] != "2" else "3")

    result = verify_credential(tampered, resolve_key=did_key_resolver)

    assert result.failure is not None
    assert result.failure.name == "signature"


@pytest.mark.parametrize(
    ("proof_value", "reason"),
    [
        ("not-multibase", "proofValue is not multibase base58btc"),
        ("z0OIl", "proofValue is not valid base58btc"),
        ("z3mJr7AoUXx2Wqd", "proofValue is not a 64-byte Ed25519 signature"),
    ],
)
def test_it_reports_a_malformed_proof_value(
    signed: dict[str, Any], proof_value: str, reason: str
) -> None:
    tampered = copy.deepcopy(signed)
    tampered["proof"][0]["proofValue"] = proof_value

    result = verify_credential(tampered, resolve_key=did_key_resolver)

    assert result.failure is not None
    assert result.failure.reason == reason


def test_it_reports_a_missing_proof(signed: dict[str, Any]) -> None:
    unsigned = {k: v for k, v in signed.items() if k != "proof"}

    result = verify_credential(unsigned, resolve_key=did_key_resolver)

    assert not result.verified
    assert result.failure is not None
    assert result.failure.name == "proof"


@pytest.mark.parametrize(
    ("field", "value"),
    [("type", "Ed25519Signature2020"), ("cryptosuite", "ecdsa-rdfc-2019")],
)
def test_it_reports_an_unsupported_suite(signed: dict[str, Any], field: str, value: str) -> None:
    tampered = copy.deepcopy(signed)
    tampered["proof"][0][field] = value

    result = verify_credential(tampered, resolve_key=did_key_resolver)

    assert result.failure is not None
    assert result.failure.name == "suite"


def test_it_reports_a_wrong_key(signed: dict[str, Any]) -> None:
    other = generate_private_key().public_key()

    result = verify_credential(signed, resolve_key=lambda _method: other)

    assert result.failure is not None
    assert result.failure.name == "signature"


def test_it_reports_a_key_that_does_not_resolve(signed: dict[str, Any]) -> None:
    result = verify_credential(signed, resolve_key=did_document_resolver({"id": "did:web:x"}))

    assert result.failure is not None
    assert result.failure.name == "key"
    assert "did not resolve" in result.failure.reason


def test_it_reports_a_signer_that_is_not_the_issuer(private_key: Ed25519PrivateKey) -> None:
    forged = sign_credential(
        unsigned_credential("https://tafe.example/issuer"),
        private_key=private_key,
        verification_method=did_key_for(private_key.public_key()),
        created=CREATED,
    )

    result = verify_credential(forged, resolve_key=did_key_resolver)

    assert result.failure is not None
    assert result.failure.name == "issuer"


def test_it_reports_a_context_outside_the_loader(signed: dict[str, Any]) -> None:
    tampered = copy.deepcopy(signed)
    tampered["@context"] = [*tampered["@context"], "https://evil.example/context.json"]

    result = verify_credential(tampered, resolve_key=did_key_resolver)

    assert result.failure is not None
    assert result.failure.name == "canonicalization"
    assert result.failure.reason == "context not allowed: https://evil.example/context.json"


# --- keys and resolvers ---------------------------------------------------------------------------


def test_it_round_trips_a_multikey(private_key: Ed25519PrivateKey) -> None:
    multikey = encode_multikey(private_key.public_key())

    assert multikey.startswith("z6Mk")
    assert decode_multikey(multikey) == private_key.public_key()


@pytest.mark.parametrize(
    "value",
    [
        "6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi",  # no multibase prefix
        "zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme",  # secp256k1, not Ed25519
        "z6Mk",  # too short
    ],
)
def test_it_refuses_a_key_that_is_not_an_ed25519_multikey(value: str) -> None:
    with pytest.raises(KeyResolutionError):
        decode_multikey(value)


def test_it_resolves_a_did_key_with_or_without_fragment() -> None:
    did = "did:key:z6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi"
    key = decode_multikey("z6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi")

    assert did_key_resolver(did) == key
    assert did_key_resolver(f"{did}#z6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi") == key
    with pytest.raises(KeyResolutionError, match="fragment"):
        did_key_resolver(f"{did}#z6Mknyb2Gb4NxzW3xSr9ChTtdQZ1zs77piQ3r9SaJ9vMzmrs")
    with pytest.raises(KeyResolutionError):
        did_key_resolver("did:web:example.com#key-1")


def did_web_document(private_key: Ed25519PrivateKey, did: str) -> dict[str, Any]:
    return {
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
        "id": did,
        "verificationMethod": [
            {
                "id": f"{did}#key-1",
                "type": "Multikey",
                "controller": did,
                "publicKeyMultibase": encode_multikey(private_key.public_key()),
            }
        ],
        # Absolute, as /.well-known/did.json should publish them; relative ones are tested below.
        "assertionMethod": [f"{did}#key-1"],
    }


def test_it_verifies_against_a_did_web_document(private_key: Ed25519PrivateKey) -> None:
    did = "did:web:flipside.example%3A8000"
    credential = sign_credential(
        unsigned_credential(did),
        private_key=private_key,
        verification_method=f"{did}#key-1",
        created=CREATED,
    )

    document = did_web_document(private_key, did)
    relative = {**document, "assertionMethod": ["#key-1"]}

    for did_document in (document, relative):
        resolver = did_document_resolver(did_document)
        assert verify_credential(credential, resolve_key=resolver).verified


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"controller": "did:web:other.example"}, "controller"),
        ({"type": "JsonWebKey2020"}, "Multikey"),
    ],
)
def test_it_refuses_a_did_web_method_that_is_not_ours(
    private_key: Ed25519PrivateKey, change: dict[str, str], message: str
) -> None:
    did = "did:web:flipside.example"
    document = did_web_document(private_key, did)
    document["verificationMethod"][0].update(change)

    with pytest.raises(KeyResolutionError, match=message):
        did_document_resolver(document)(f"{did}#key-1")


def test_it_refuses_a_did_web_method_that_is_not_an_assertion_method(
    private_key: Ed25519PrivateKey,
) -> None:
    did = "did:web:flipside.example"
    document = did_web_document(private_key, did)
    document["assertionMethod"] = []

    with pytest.raises(KeyResolutionError, match="assertionMethod"):
        did_document_resolver(document)(f"{did}#key-1")


# --- the document loader --------------------------------------------------------------------------


def test_it_serves_each_local_context() -> None:
    for url in CONTEXT_FILES:
        remote = document_loader(url)
        assert remote["documentUrl"] == url
        assert "@context" in remote["document"]


def test_it_loads_each_fixed_context_once_not_per_credential(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The contexts never change, so once processed they are reused: signing a credential must
    not read and process them again (that was most of the cost of issuing one)."""
    from credentials import jsonld

    loaded: list[str] = []

    def counting_loader(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
        loaded.append(url)
        return document_loader(url, options)

    monkeypatch.setattr(jsonld, "document_loader", counting_loader)
    document = {k: v for k, v in load_vector("complete").items() if k != "proof"}
    first = canonize(document)
    after_first = len(loaded)
    assert canonize(document) == first
    assert len(loaded) == after_first


def test_a_callers_inline_context_is_read_afresh_each_time() -> None:
    """Resolved contexts are cached (credentials/jsonld.py): none may answer for a document's
    own inline context after it has changed."""
    context = {"name": "https://schema.org/name"}
    document = {"@context": context, "@id": "urn:example:1", "name": "Lena"}
    first = canonize(document)
    assert "<https://schema.org/name>" in first
    context["name"] = "https://example.org/vocab#name"
    second = canonize(document)
    assert "<https://example.org/vocab#name>" in second
    assert "<https://schema.org/name>" not in second


def test_scoped_contexts_of_our_files_give_the_same_n_quads_as_pyld_alone() -> None:
    from pyld import jsonld as pyld_jsonld
    from pyld.context_resolver import ContextResolver

    from credentials import jsonld

    for name in ("complete", "simple"):
        document = {k: v for k, v in load_vector(name).items() if k != "proof"}
        plain = pyld_jsonld.normalize(
            document,
            {
                **jsonld.CANONIZE_OPTIONS,
                "documentLoader": document_loader,
                "contextResolver": ContextResolver({}, document_loader),
            },
        )
        assert canonize(document) == plain
        assert canonize(document) == plain  # and again, from the identity cache


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/context.json",
        "https://www.w3.org/2018/credentials/v1",
        "file:///etc/passwd",
        "https://www.w3.org/ns/credentials/v2/",
    ],
)
def test_it_refuses_any_other_context_url(url: str) -> None:
    with pytest.raises(ContextNotAllowedError):
        document_loader(url)
    with pytest.raises(JsonLdError) as caught:
        canonize({"@context": [url], "name": "x"})
    refused = disallowed_context_in(caught.value)
    assert refused is not None
    assert refused.url == url


def test_it_never_opens_a_socket(
    monkeypatch: pytest.MonkeyPatch, private_key: Ed25519PrivateKey
) -> None:
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("the JSON-LD loader tried to open a socket")

    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    document = load_vector("complete")

    assert canonize({k: v for k, v in document.items() if k != "proof"})
    assert verify_credential(document, resolve_key=vector_key).verified
    with pytest.raises(JsonLdError):
        canonize({"@context": ["https://example.com/ctx.json"], "name": "x"})


# --- independent verification (Digital Bazaar's @digitalbazaar/vc in Node) ------------------------


def run_node_verifier(*files: Path) -> subprocess.CompletedProcess[str]:
    node = shutil.which("node")
    if node is None or not (NODE_DIR / "node_modules" / "@digitalbazaar" / "vc").is_dir():
        need_service(
            "needs node and tests/credentials/node/node_modules: "
            "npm ci --prefix tests/credentials/node"
        )
    return subprocess.run(
        [str(node), str(NODE_DIR / "verify.mjs"), *map(str, files)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_it_is_verified_by_digital_bazaars_verifier(signed: dict[str, Any], tmp_path: Path) -> None:
    credential = tmp_path / "credential.json"
    credential.write_text(json.dumps(signed))

    completed = run_node_verifier(credential)

    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert json.loads(completed.stdout)["verified"] is True


@pytest.mark.parametrize("relative", [False, True])
def test_it_is_verified_by_digital_bazaars_verifier_with_a_did_web_document(
    private_key: Ed25519PrivateKey, tmp_path: Path, relative: bool
) -> None:
    did = "did:web:flipside.example%3A8000"
    credential = tmp_path / "credential.json"
    credential.write_text(
        json.dumps(
            sign_credential(
                unsigned_credential(did),
                private_key=private_key,
                verification_method=f"{did}#key-1",
                created=CREATED,
            )
        )
    )
    did_json = tmp_path / "did.json"
    document = did_web_document(private_key, did)
    if relative:
        document["assertionMethod"] = ["#key-1"]
    did_json.write_text(json.dumps(document))

    completed = run_node_verifier(credential, did_json)

    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_it_is_rejected_by_digital_bazaars_verifier_when_tampered(
    signed: dict[str, Any], tmp_path: Path
) -> None:
    tampered = copy.deepcopy(signed)
    tampered["name"] = "Something else"
    credential = tmp_path / "credential.json"
    credential.write_text(json.dumps(tampered))

    completed = run_node_verifier(credential)

    assert completed.returncode == 1, completed.stdout + completed.stderr
    assert "Invalid signature." in json.loads(completed.stdout)["errors"]
