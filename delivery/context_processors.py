from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse

from delivery.roles import ROLE_HOMES, Role, ordered_roles

_NAV_LABELS = {
    "learner": "My learning",
    "trainer": "Sessions",
    "assessor": "Marking",
    "auditor": "Records",
    "administrator": "Administration",
}


_EXTRA_NAV = [
    (Role.LEARNER, "delivery:my_enrolments", "My enrolments"),
    (Role.LEARNER, "credentials:wallet", "My credentials"),
    (Role.LEARNER, "catalogue:playlist", "My playlist"),
    (Role.LEARNER, "credentials:record", "My record"),
    (Role.ADMINISTRATOR, "catalogue:pathway_manage", "Pathways"),
    (Role.ADMINISTRATOR, "credentials:manage", "Credentials"),
]


def navigation(request: HttpRequest) -> dict[str, Any]:
    """One navigation entry per role the user holds, marking the one the page belongs to."""
    roles = ordered_roles(request.user)
    items = []
    for role in roles:
        url = reverse(ROLE_HOMES[role])
        items.append(
            {
                "role": role.value,
                "label": _NAV_LABELS[role.value],
                "url": url,
                "current": request.path.startswith(url) and url != "/",
            }
        )
    # Pages of the apps above that a role reaches from every page (named, not imported).
    for role, name, label in _EXTRA_NAV:
        if role in roles:
            url = reverse(name)
            items.append(
                {"role": role.value, "label": label, "url": url, "current": request.path == url}
            )
    return {
        "nav_items": items,
        "user_roles": [r.value for r in roles],
        "provider_name": settings.PROVIDER_NAME,
    }
