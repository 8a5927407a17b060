"""The credentials app's services, one module per concern, in import order (each imports only
those above it):

- `proofs`: signing a document as the deployment's issuer
- `achievements`: achievements on first use, the issuer as credentials name it
- `status_lists`: signing status lists, a list with room, a random index in it
- `certificates`: certificate PDFs, stored, queued, rendered on demand
- `issuance`: unit and course credentials
- `revocation`: revoking, with the list signed again
- `reminders`: expiry reminders
- `hosting`: moving the issuer to a new host
- `records`: the learner's signed Comprehensive Learner Record (CLR 2.0)

The public names are re-exported here, so callers keep `from credentials.services import ...`.
Modules of this package import one another by their full names, never through this one.
"""

from __future__ import annotations

from credentials.documents import (
    credential_url,
    site_url,
    status_list_url,
    stored_document,
)
from credentials.services.achievements import (
    achievement_for_course,
    achievement_for_unit,
    achievement_json,
    issuer_profile,
)
from credentials.services.certificates import ensure_certificate, queue_certificate
from credentials.services.hosting import IssuerMove, move_issuer_host
from credentials.services.issuance import (
    COURSE_KINDS_WITH_CREDENTIAL,
    issue_course_credential,
    issue_stacked_credentials,
    issue_unit_credential,
    subject_id,
)
from credentials.services.records import issue_learner_record, record_url
from credentials.services.reminders import send_expiry_reminders
from credentials.services.revocation import revoke_credential
from credentials.services.status_lists import sign_status_list

__all__ = [
    "COURSE_KINDS_WITH_CREDENTIAL",
    "IssuerMove",
    "achievement_for_course",
    "achievement_for_unit",
    "achievement_json",
    "credential_url",
    "ensure_certificate",
    "issue_course_credential",
    "issue_learner_record",
    "issue_stacked_credentials",
    "issue_unit_credential",
    "issuer_profile",
    "move_issuer_host",
    "queue_certificate",
    "record_url",
    "revoke_credential",
    "send_expiry_reminders",
    "sign_status_list",
    "site_url",
    "status_list_url",
    "stored_document",
    "subject_id",
]
