"""The five roles, held as Django groups; a user may hold several.

Role homes are named by URL name, not imported, so this bottom-layer module does not depend on
the apps above it.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class Role(StrEnum):
    LEARNER = "learner"
    TRAINER = "trainer"
    ASSESSOR = "assessor"
    AUDITOR = "auditor"
    ADMINISTRATOR = "administrator"

    @property
    def label(self) -> str:
        return self.value.capitalize()


# Where each role lands after login, and which home wins for a user holding several roles:
# staff work comes first, a learner's own study last.
ROLE_HOMES: dict[Role, str] = {
    Role.TRAINER: "live:sessions",
    Role.ASSESSOR: "assessment:queue",
    Role.AUDITOR: "assessment:audit_search",
    Role.ADMINISTRATOR: "admin:index",
    Role.LEARNER: "delivery:dashboard",
}

_CACHE_ATTR = "_flipside_roles"


def roles_of(user: Any) -> frozenset[Role]:
    """The roles a user holds, read once per request and cached on the user object."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return frozenset()
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is None:
        names = set(user.groups.values_list("name", flat=True))
        cached = frozenset(role for role in Role if role.value in names)
        if user.is_superuser:
            cached |= {Role.ADMINISTRATOR}
        setattr(user, _CACHE_ATTR, cached)
    return cached


def forget_roles(user: Any) -> None:
    """Drop the cached roles after they change (services call this)."""
    if hasattr(user, _CACHE_ATTR):
        delattr(user, _CACHE_ATTR)


def has_role(user: Any, *roles: Role) -> bool:
    return bool(roles_of(user) & set(roles))


def ordered_roles(user: Any) -> list[Role]:
    held = roles_of(user)
    return [role for role in ROLE_HOMES if role in held]
