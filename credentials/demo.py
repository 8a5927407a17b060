"""The credentials part of the demo data (delivery's `seed_demo` sends `demo_seeded`).

Lena, the demo learner, holds one of every kind a newcomer should see: two unit credentials
and the skill set they complete (valid), a first aid credential from over three years ago
(expired), and its renewal, revoked by an administrator with a reason.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from assessment.audit.services import record_event
from assessment.models import Outcome
from credentials.models import Credential
from credentials.openbadges import add_months
from credentials.services import issue_unit_credential, revoke_credential
from delivery.models import Cohort, Unit


def _outcome(
    learner: Any,
    unit: Unit,
    cohort: Cohort,
    assessor: Any,
    at: datetime,
    supersedes: Outcome | None = None,
) -> Outcome:
    # Recorded as the assessor would have, with its audit event, but dated in the past: the
    # outcome service records "now" and needs marked attempts, which the demo does not fake.
    outcome = Outcome.objects.create(
        learner=learner,
        unit=unit,
        cohort=cohort,
        code=Outcome.Code.COMPETENT,
        recorded_by=assessor,
        recorded_at=at,
        supersedes=supersedes,
    )
    record_event(
        "outcome.recorded",
        outcome,
        actor=assessor,
        learner=learner,
        unit=unit,
        data={
            "code": outcome.code,
            "justification": "",
            "supersedes": supersedes.pk if supersedes else None,
            "documents": [],
            "demo": True,
        },
    )
    return outcome


@transaction.atomic
def seed(sender: Any, users: dict[str, Any], **kwargs: Any) -> None:
    """Once: a second `seed_demo` finds Lena's credentials and adds nothing."""
    learner, assessor, admin = users["learner"], users["assessor"], users["admin"]
    if Credential.objects.filter(learner=learner).exists():
        return
    skill_set = Cohort.objects.filter(name="Demo cohort", course__code="HLTSS00065").first()
    # By name: the catalogue's demo intakes of the same course come and go around it.
    first_aid = Cohort.objects.filter(
        name="First aid, weekend class", course__code="HLTAID011"
    ).first()
    units = {unit.code: unit for unit in Unit.objects.filter(code__startswith="HLT")}
    if (
        skill_set is None
        or first_aid is None
        or not {"HLTINF006", "HLTINF007", "HLTAID011"} <= set(units)
    ):
        return
    now = timezone.now()
    for code, days_ago in (("HLTINF006", 20), ("HLTINF007", 6)):
        outcome = _outcome(
            learner, units[code], skill_set, assessor, now - timedelta(days=days_ago)
        )
        issue_unit_credential(outcome.pk)  # the second also issues the skill set credential

    expired = _outcome(learner, units["HLTAID011"], first_aid, assessor, add_months(now, -40))
    issue_unit_credential(expired.pk)
    renewal = _outcome(
        learner, units["HLTAID011"], first_aid, assessor, now - timedelta(days=35), expired
    )
    renewed = issue_unit_credential(renewal.pk)
    if renewed is not None:
        revoke_credential(
            renewed,
            by=admin,
            reason=(
                "Issued in error: the practical observation was recorded against the wrong "
                "learner. A reassessment has been booked."
            ),
        )
