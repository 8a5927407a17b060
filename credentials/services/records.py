"""The learner's Comprehensive Learner Record (CLR 2.0), signed by the issuer like a badge and
stored, so its `id` URL dereferences to the bytes the learner took away; signed again only
when what it holds has changed."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from assessment.audit.services import record_event
from credentials import keys
from credentials.clr import RecordData, build_record
from credentials.documents import dump_document, site_url, stored_document
from credentials.models import Credential, LearnerRecord, StackedCredit
from credentials.openbadges import new_salt
from credentials.services.achievements import issuer_profile
from credentials.services.issuance import subject_id
from credentials.services.proofs import sign_as_issuer


def record_url(public_id: uuid.UUID) -> str:
    return site_url(reverse("credentials:clr", args=[public_id]))


def _fingerprint(credential_ids: list[str], key_pk: int, issuer_id: str) -> str:
    """What a record holds and who signs it: the same fingerprint, the same record."""
    text = "\n".join([issuer_id, str(key_pk), *sorted(credential_ids)])
    return hashlib.sha256(text.encode()).hexdigest()


def issue_learner_record(learner: Any) -> LearnerRecord:
    """The learner's signed CLR holding every credential issued to them and not revoked
    (expired ones too: they verify, as expired), with their achievements and how they stack.

    Returns the latest stored record when nothing it holds has changed (same credentials, same
    key, same issuer): downloading twice signs once. Locks the learner's row, so two downloads
    at once sign once. Raises `ValidationError` when the learner holds no credential. Writes
    its audit event in the transaction.
    """
    with transaction.atomic():
        get_user_model().objects.select_for_update().filter(pk=learner.pk).first()
        credentials = list(
            Credential.objects.filter(learner=learner, revoked_at__isnull=True)
            .select_related("achievement")
            .order_by("issued_at", "id")
        )
        if not credentials:
            raise ValidationError(
                "You hold no credentials yet: your record can be signed once you have one."
            )
        issuer = issuer_profile()
        key = keys.active_signing_key()
        fingerprint = _fingerprint([str(c.public_id) for c in credentials], key.pk, issuer.id)
        latest = LearnerRecord.objects.filter(learner=learner).order_by("-issued_at", "-id").first()
        if latest is not None and latest.fingerprint == fingerprint:
            return latest
        parts = [
            (
                site_url(f"/achievements/{unit_achievement}"),
                site_url(f"/achievements/{course_achievement}"),
            )
            for unit_achievement, course_achievement in StackedCredit.objects.filter(
                course_credential__in=credentials, unit_credential__isnull=False
            ).values_list(
                "unit_credential__achievement__public_id",
                "course_credential__achievement__public_id",
            )
        ]
        public_id = uuid.uuid4()
        now = timezone.now()
        name = learner.get_full_name() or learner.get_username()
        unsigned = build_record(
            RecordData(
                id=record_url(public_id),
                issuer=issuer,
                name=f"Comprehensive Learner Record of {name} at {issuer.name}",
                description=(
                    f"Every credential issued to this learner by {settings.PROVIDER_NAME} and "
                    "not revoked, as issued, with the achievements they attest."
                ),
                learner_email=learner.email,
                salt=new_salt(),
                subject_id=subject_id(issuer.id, learner.pk),
                valid_from=now,
                credentials=[stored_document(c) for c in credentials],
                parts=parts,
            )
        )
        signed, signing_key = sign_as_issuer(unsigned, issuer_id=issuer.id, now=now)
        record = LearnerRecord.objects.create(
            public_id=public_id,
            learner=learner,
            issued_at=now,
            fingerprint=fingerprint,
            signing_key=signing_key,
            document=dump_document(signed),
        )
        record_event(
            "learner_record.issued",
            record,
            actor=learner,
            learner=learner,
            data={"public_id": str(public_id), "credentials": len(credentials)},
        )
        return record
