"""`manage.py revoke_credential PUBLIC_ID --reason TEXT`: revoke from a shell, as the admin
page does (the same service: the bit set, the list re-signed, the audit event)."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from credentials.keys import IssuerMismatch
from credentials.models import Credential
from credentials.services import revoke_credential
from delivery.roles import Role, has_role


class Command(BaseCommand):
    help = "Revoke an issued credential, with the reason its public page and the audit show."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("public_id", help="The credential's id (from its page's address)")
        parser.add_argument("--reason", required=True, help="Why it is revoked (shown publicly)")
        parser.add_argument("--by", default="", help="The administrator's username, for the audit")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            public_id = uuid.UUID(str(options["public_id"]))
            credential = Credential.objects.select_related("achievement").get(public_id=public_id)
        except (ValueError, Credential.DoesNotExist):
            raise CommandError(f"No credential {options['public_id']!r}.") from None
        by = None
        if options["by"]:
            by = get_user_model().objects.filter(username=options["by"]).first()
            if by is None or not has_role(by, Role.ADMINISTRATOR):
                raise CommandError(f"{options['by']!r} is not an administrator.")
        try:
            revoked = revoke_credential(credential, by=by, reason=str(options["reason"]))
        except IssuerMismatch as exc:
            raise CommandError(f"Not revoked: {exc}") from None
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if revoked:
            self.stdout.write(f"Revoked {credential.achievement.name} ({credential.public_id}).")
        else:
            self.stdout.write("That credential was already revoked; nothing changed.")
