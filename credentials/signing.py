"""Ed25519 Data Integrity proofs (cryptosuite `eddsa-rdfc-2022`) for Verifiable Credentials.

A pure module: no models, no settings, no network. It follows W3C "Data Integrity EdDSA
Cryptosuites v1.0" section 3.3 (eddsa-rdfc-2022) so that any conforming verifier accepts what
we sign, and we accept what they sign:

    proofConfig  = proof options without `proofValue`, with the document's `@context`
    hashData     = SHA-256(RDFC-1.0(proofConfig)) || SHA-256(RDFC-1.0(document without proof))
    proofValue   = "z" + base58btc(Ed25519.sign(hashData))

Public keys are `Multikey`s: "z" + base58btc(0xed 0x01 || 32-byte key), which is also the
method-specific identifier of a `did:key`. Keys are resolved by a caller-supplied function
(`resolve_key`) so that issuance, the verify page and tests decide whom they trust.

The shape follows `django/contrib/auth/tokens.py`: one small class, a module-level default
instance, and functions that delegate to it.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import base58
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from pyld.jsonld import JsonLdError

from credentials.jsonld import canonize, disallowed_context_in

PROOF_TYPE = "DataIntegrityProof"
CRYPTOSUITE = "eddsa-rdfc-2022"
PROOF_PURPOSE = "assertionMethod"
MULTIBASE_BASE58BTC = "z"
ED25519_PUB_MULTICODEC = b"\xed\x01"
ED25519_PUBLIC_KEY_LENGTH = 32
ED25519_SIGNATURE_LENGTH = 64

KeyResolver = Callable[[str], Ed25519PublicKey]


class KeyResolutionError(LookupError):
    """A verification method could not be turned into a trusted Ed25519 public key."""


# --- keys ---------------------------------------------------------------------------------------


def generate_private_key() -> Ed25519PrivateKey:
    """A new Ed25519 signing key (from the OS CSPRNG, via OpenSSL)."""
    return Ed25519PrivateKey.generate()


def encode_multikey(public_key: Ed25519PublicKey) -> str:
    """`publicKeyMultibase` of a Multikey: "z6Mk..." for every Ed25519 key."""
    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return MULTIBASE_BASE58BTC + base58.b58encode(ED25519_PUB_MULTICODEC + raw).decode("ascii")


def decode_multikey(multibase: str) -> Ed25519PublicKey:
    """The Ed25519 public key in a Multikey string; `KeyResolutionError` if it is anything else."""
    if not multibase.startswith(MULTIBASE_BASE58BTC):
        raise KeyResolutionError("public key is not multibase base58btc (no 'z' prefix)")
    try:
        decoded = base58.b58decode(multibase[1:])
    except ValueError as exc:
        raise KeyResolutionError("public key is not valid base58btc") from exc
    if not decoded.startswith(ED25519_PUB_MULTICODEC):
        raise KeyResolutionError("public key is not an Ed25519 multikey (multicodec 0xed01)")
    raw = decoded[len(ED25519_PUB_MULTICODEC) :]
    if len(raw) != ED25519_PUBLIC_KEY_LENGTH:
        raise KeyResolutionError("Ed25519 public key must be 32 bytes")
    return Ed25519PublicKey.from_public_bytes(raw)


def did_key_for(public_key: Ed25519PublicKey) -> str:
    """The `did:key` verification method id for `public_key` (`did:key:z6Mk...#z6Mk...`)."""
    multikey = encode_multikey(public_key)
    return f"did:key:{multikey}#{multikey}"


# --- key resolvers ------------------------------------------------------------------------------


def did_key_resolver(verification_method: str) -> Ed25519PublicKey:
    """Resolve `did:key:z6Mk...` or `did:key:z6Mk...#z6Mk...` offline: the key is the DID.

    The fragment, when present, must repeat the identifier (as the did:key method defines it),
    so a method id cannot smuggle a second key past a caller who checks the DID.
    """
    if not verification_method.startswith("did:key:"):
        raise KeyResolutionError(f"not a did:key verification method: {verification_method}")
    did, _, fragment = verification_method.partition("#")
    identifier = did.removeprefix("did:key:")
    if fragment and fragment != identifier:
        raise KeyResolutionError("did:key fragment does not match its identifier")
    return decode_multikey(identifier)


def did_document_resolver(did_document: Mapping[str, Any]) -> KeyResolver:
    """A resolver for the `assertionMethod` keys of one DID document (e.g. our `did:web`).

    The app publishes `/.well-known/did.json`; verification of our own credentials resolves
    against that dict, never by fetching it. A method resolves only if it is a `Multikey`, its
    `controller` equals the document `id` exactly, and it is listed under `assertionMethod`
    (by reference or embedded), because only those keys may sign credentials.
    """
    did = did_document.get("id")
    if not isinstance(did, str) or not did:
        raise KeyResolutionError("DID document has no id")

    def absolute(method_id: str) -> str:
        return did + method_id if method_id.startswith("#") else method_id

    methods: dict[str, Mapping[str, Any]] = {}
    for method in did_document.get("verificationMethod", []):
        if isinstance(method, Mapping) and isinstance(method.get("id"), str):
            methods[absolute(method["id"])] = method
    assertion: set[str] = set()
    for entry in did_document.get("assertionMethod", []):
        if isinstance(entry, str):
            assertion.add(absolute(entry))
        elif isinstance(entry, Mapping) and isinstance(entry.get("id"), str):
            methods[absolute(entry["id"])] = entry
            assertion.add(absolute(entry["id"]))

    def resolve(verification_method: str) -> Ed25519PublicKey:
        method = methods.get(verification_method)
        if method is None:
            raise KeyResolutionError(f"unknown verification method: {verification_method}")
        if verification_method not in assertion:
            raise KeyResolutionError("verification method is not an assertionMethod")
        if method.get("type") != "Multikey":
            raise KeyResolutionError("verification method is not a Multikey")
        if method.get("controller") != did:
            raise KeyResolutionError("verification method controller is not the DID")
        multibase = method.get("publicKeyMultibase")
        if not isinstance(multibase, str):
            raise KeyResolutionError("verification method has no publicKeyMultibase")
        return decode_multikey(multibase)

    return resolve


# --- results ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """One step of verification, and in words why it passed or failed."""

    name: str
    ok: bool
    reason: str


@dataclass(frozen=True)
class VerificationResult:
    """Every check run, in order; verification stops at the first failure of a proof."""

    checks: list[Check] = field(default_factory=list)

    @property
    def verified(self) -> bool:
        return bool(self.checks) and all(check.ok for check in self.checks)

    @property
    def failure(self) -> Check | None:
        return next((check for check in self.checks if not check.ok), None)

    def __bool__(self) -> bool:
        return self.verified


class ProofError(ValueError):
    """A proof could not be produced for this document."""


# --- the suite ----------------------------------------------------------------------------------


def format_created(created: datetime) -> str:
    """XSD dateTime in UTC with seconds precision, as verifiers and the OB schema expect."""
    if created.tzinfo is None or created.utcoffset() is None:
        raise ProofError("created must be timezone-aware")
    return created.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


class EddsaRdfc2022:
    """Create and verify `DataIntegrityProof`s with cryptosuite `eddsa-rdfc-2022`."""

    def _hash_data(self, document: Mapping[str, Any], proof_config: Mapping[str, Any]) -> bytes:
        # Spec 3.3.4 "Hashing": the proof config hash comes first.
        config_hash = hashlib.sha256(canonize(dict(proof_config)).encode("utf-8")).digest()
        document_hash = hashlib.sha256(canonize(dict(document)).encode("utf-8")).digest()
        return config_hash + document_hash

    def sign(
        self,
        document: Mapping[str, Any],
        *,
        private_key: Ed25519PrivateKey,
        verification_method: str,
        created: datetime,
    ) -> dict[str, Any]:
        """A deep copy of `document` with one proof added as `proof: [..]`; nothing else changes.

        Raises `ProofError` if the document already has a proof (we would not cover it) or has
        no `@context`, and `pyld.jsonld.JsonLdError` if it is not valid JSON-LD or uses a
        context outside the local files.
        """
        if "proof" in document:
            raise ProofError("document already has a proof")
        if "@context" not in document:
            raise ProofError("document has no @context")
        unsecured = copy.deepcopy(dict(document))
        proof: dict[str, Any] = {
            "type": PROOF_TYPE,
            "cryptosuite": CRYPTOSUITE,
            "created": format_created(created),
            "verificationMethod": verification_method,
            "proofPurpose": PROOF_PURPOSE,
        }
        proof_config = {**proof, "@context": unsecured["@context"]}
        signature = private_key.sign(self._hash_data(unsecured, proof_config))
        proof["proofValue"] = MULTIBASE_BASE58BTC + base58.b58encode(signature).decode("ascii")
        return {**unsecured, "proof": [proof]}

    def verify(
        self, document: Mapping[str, Any], *, resolve_key: KeyResolver, check_issuer: bool = True
    ) -> VerificationResult:
        """Check every proof on `document`; all must pass, and there must be at least one.

        Never raises for bad input: each failure is a `Check` with its reason, so the verify
        page can show it. `resolve_key` decides which keys are trusted; it should raise
        `KeyResolutionError` (any `LookupError` or `ValueError` is reported the same way).
        With `check_issuer`, each proof's verification method must belong to the issuer (its
        id before `#` equals the issuer id), as `@digitalbazaar/vc` also requires: otherwise any
        valid did:key signature would vouch for any issuer name.
        """
        checks: list[Check] = []
        proofs = document.get("proof") if isinstance(document, Mapping) else None
        if isinstance(proofs, Mapping):
            proofs = [proofs]
        if not isinstance(proofs, list) or not proofs:
            checks.append(Check("proof", False, "the credential has no proof"))
            return VerificationResult(checks)
        checks.append(Check("proof", True, f"{len(proofs)} proof(s) present"))
        unsecured = {key: value for key, value in document.items() if key != "proof"}
        for proof in proofs:
            proof_checks = self._verify_proof(unsecured, proof, resolve_key, check_issuer)
            checks.extend(proof_checks)
            if not proof_checks[-1].ok:
                break
        return VerificationResult(checks)

    def _verify_proof(
        self, unsecured: dict[str, Any], proof: Any, resolve_key: KeyResolver, check_issuer: bool
    ) -> list[Check]:
        checks: list[Check] = []

        def fail(name: str, reason: str) -> list[Check]:
            checks.append(Check(name, False, reason))
            return checks

        if not isinstance(proof, Mapping):
            return fail("proof", "the proof is not a JSON object")
        if proof.get("type") != PROOF_TYPE or proof.get("cryptosuite") != CRYPTOSUITE:
            return fail(
                "suite",
                f"unsupported proof: type {proof.get('type')!r}, "
                f"cryptosuite {proof.get('cryptosuite')!r} (expected {PROOF_TYPE}, {CRYPTOSUITE})",
            )
        if proof.get("proofPurpose") != PROOF_PURPOSE:
            return fail("suite", f"proof purpose is {proof.get('proofPurpose')!r}, not assertion")
        checks.append(Check("suite", True, f"{PROOF_TYPE} with {CRYPTOSUITE}"))

        created = proof.get("created")
        if created is not None:
            try:
                parsed = datetime.fromisoformat(str(created))
            except ValueError:
                return fail("created", f"proof created is not a date-time: {created!r}")
            if parsed.tzinfo is None:
                return fail("created", "proof created has no time zone")

        method = proof.get("verificationMethod")
        if not isinstance(method, str) or not method:
            return fail("key", "the proof names no verification method")
        if check_issuer:
            issuer = unsecured.get("issuer")
            issuer_id = issuer.get("id") if isinstance(issuer, Mapping) else issuer
            controller = method.partition("#")[0]
            if not isinstance(issuer_id, str) or controller != issuer_id:
                return fail(
                    "issuer", f"verification method {method} does not belong to issuer {issuer_id}"
                )
            checks.append(Check("issuer", True, f"verification method belongs to {issuer_id}"))
        try:
            public_key = resolve_key(method)
        except (LookupError, ValueError) as exc:
            return fail("key", f"verification method {method} did not resolve: {exc}")
        checks.append(Check("key", True, f"verification method {method} resolved"))

        proof_value = proof.get("proofValue")
        if not isinstance(proof_value, str) or not proof_value.startswith(MULTIBASE_BASE58BTC):
            return fail("signature", "proofValue is not multibase base58btc")
        try:
            signature = base58.b58decode(proof_value[1:])
        except ValueError:
            return fail("signature", "proofValue is not valid base58btc")
        if len(signature) != ED25519_SIGNATURE_LENGTH:
            return fail("signature", "proofValue is not a 64-byte Ed25519 signature")

        # Spec 3.3.2 "Verify Proof": the proof's own @context, when present, must be the
        # document's (a prefix is allowed there; we sign with it equal, and accept a prefix).
        proof_config = {k: v for k, v in proof.items() if k != "proofValue"}
        document_context = unsecured.get("@context")
        if "@context" in proof_config:
            proof_context = proof_config["@context"]
            as_list = proof_context if isinstance(proof_context, list) else [proof_context]
            doc_list = document_context if isinstance(document_context, list) else []
            if doc_list[: len(as_list)] != as_list:
                return fail("signature", "the proof's @context does not match the document's")
        proof_config["@context"] = document_context

        try:
            hash_data = self._hash_data(unsecured, proof_config)
        except JsonLdError as exc:
            refused = disallowed_context_in(exc)
            if refused is not None:
                return fail("canonicalization", f"context not allowed: {refused.url}")
            return fail("canonicalization", f"not valid JSON-LD: {exc}")
        try:
            # OpenSSL's Ed25519 verification does not branch on secret data.
            public_key.verify(signature, hash_data)
        except InvalidSignature:
            return fail("signature", "the signature does not match the credential")
        checks.append(Check("signature", True, "the signature matches the credential"))
        return checks


default_suite = EddsaRdfc2022()


def sign_credential(
    document: dict[str, Any],
    *,
    private_key: Ed25519PrivateKey,
    verification_method: str,
    created: datetime,
) -> dict[str, Any]:
    """Sign with the default suite; see `EddsaRdfc2022.sign`."""
    return default_suite.sign(
        document,
        private_key=private_key,
        verification_method=verification_method,
        created=created,
    )


def verify_credential(
    document: dict[str, Any], *, resolve_key: KeyResolver, check_issuer: bool = True
) -> VerificationResult:
    """Verify with the default suite; see `EddsaRdfc2022.verify`."""
    return default_suite.verify(document, resolve_key=resolve_key, check_issuer=check_issuer)
