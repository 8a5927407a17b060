"""The credential section of an auditor's record (registered in `CredentialsConfig.ready`)."""

from __future__ import annotations

from collections.abc import Sequence

from django.urls import reverse

from credentials.documents import site_url
from credentials.models import Credential
from delivery.records import RecordKey, RecordSection, SectionData


def load(keys: Sequence[RecordKey]) -> dict[RecordKey, SectionData]:
    """Each record's credentials (the unit's, from any of its outcomes), one query in all."""
    wanted = set(keys)
    found: dict[RecordKey, SectionData] = {key: {"credentials": []} for key in keys}
    credentials = Credential.objects.filter(
        outcome__learner_id__in={k.learner_id for k in keys},
        outcome__cohort_id__in={k.cohort_id for k in keys},
        achievement__unit_id__in={k.unit_id for k in keys},
    ).select_related("achievement", "outcome", "revoked_by")
    for credential in credentials.order_by("issued_at", "id"):
        outcome = credential.outcome
        assert outcome is not None  # noqa: S101 - filtered on the outcome above
        key = RecordKey(outcome.learner_id, outcome.cohort_id, outcome.unit_id)
        if key not in wanted:
            continue
        found[key]["credentials"].append(
            {
                "id": str(credential.public_id),
                "achievement": f"{credential.achievement.human_code} {credential.achievement.name}",
                "status": credential.status.label,
                "issued_at": credential.issued_at.isoformat(),
                "valid_until": credential.valid_until.isoformat()
                if credential.valid_until
                else None,
                "revoked_at": credential.revoked_at.isoformat() if credential.revoked_at else None,
                "revocation_reason": credential.revocation_reason,
                "outcome": outcome.pk,
                "url": site_url(reverse("credentials:page", args=[credential.public_id])),
            }
        )
    return found


SECTION = RecordSection(
    key="credential",
    title="Credential",
    template="credentials/_record_section.html",
    load=load,
    order=10,
)
