"""`seed_demo` leaves Lena with a credential in each state, so a newcomer sees the wallet and
the verification page's states at once."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from credentials.models import Credential


@pytest.mark.django_db
def test_the_demo_learner_holds_valid_revoked_expired_and_skill_set_credentials(
    settings: Any, django_capture_on_commit_callbacks: Any, client: Any
) -> None:
    settings.DEBUG = True
    for _ in range(2):  # the second run adds nothing
        with django_capture_on_commit_callbacks(execute=True):
            call_command("seed_demo", stdout=StringIO())

    held = {
        (c.achievement.human_code, c.status)
        for c in Credential.objects.filter(learner__username="learner").select_related(
            "achievement"
        )
    }
    assert held == {
        ("HLTINF006", Credential.Status.VALID),
        ("HLTINF007", Credential.Status.VALID),
        ("HLTSS00065", Credential.Status.VALID),
        # The milestone of the sample pack's pathway, reached with HLTINF006.
        ("INFECTION-CONTROL-CARE-WORK-BASICS", Credential.Status.VALID),
        ("HLTAID011", Credential.Status.EXPIRED),
        ("HLTAID011", Credential.Status.REVOKED),
    }
    revoked = Credential.objects.get(revoked_at__isnull=False)
    assert "wrong learner" in revoked.revocation_reason
    page = client.get(f"/credentials/{revoked.public_id}/").content.decode()
    assert "has been revoked" in page
    # Rendered in the background after issue (eagerly here, on commit).
    assert all(c.certificate for c in Credential.objects.all())
