from __future__ import annotations

from django.contrib import admin

from credentials.models import Achievement, Credential, IssuerProfile, SigningKey, StatusList
from delivery.admin import HTTPS_URLS


@admin.register(Achievement)
class AchievementAdmin(admin.ModelAdmin):
    list_display = ["human_code", "name", "validity_months"]
    search_fields = ["human_code", "name"]
    readonly_fields = ["unit", "course", "public_id"]


@admin.register(IssuerProfile)
class IssuerProfileAdmin(admin.ModelAdmin):
    list_display = ["name", "url", "email"]
    formfield_overrides = HTTPS_URLS


@admin.register(SigningKey)
class SigningKeyAdmin(admin.ModelAdmin):
    list_display = ["public_multikey", "created_at", "retired_at"]
    # Keys are made and retired by rotate_signing_key(); the private half is never shown.
    fields = ["public_multikey", "created_at", "retired_at"]
    readonly_fields = ["public_multikey", "created_at", "retired_at"]

    def has_add_permission(self, request: object) -> bool:
        return False


@admin.register(Credential)
class CredentialAdmin(admin.ModelAdmin):
    """Read-only: a credential is changed only by revoking it (the Credentials page, which
    asks for a reason, re-signs the status list and audits it)."""

    list_display = ["public_id", "learner", "achievement", "issued_at", "valid_until", "status"]
    list_select_related = ["learner", "achievement"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["public_id", "learner__email", "achievement__human_code"]
    readonly_fields = [
        "public_id", "learner", "achievement", "outcome", "signing_key",
        "issued_at", "valid_from", "valid_until", "status_list", "status_index",
        "revoked_at", "revocation_reason", "revoked_by", "certificate",
        "certificate_rendered_at", "document",
    ]  # fmt: skip

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        return False


@admin.register(StatusList)
class StatusListAdmin(admin.ModelAdmin):
    list_display = ["id", "size", "signed_at"]
    fields = ["size", "signed_at", "document"]
    readonly_fields = ["size", "signed_at", "document"]

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False
