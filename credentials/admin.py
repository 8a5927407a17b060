from __future__ import annotations

from django.contrib import admin

from credentials.models import Achievement, Credential, IssuerProfile, SigningKey


@admin.register(Achievement)
class AchievementAdmin(admin.ModelAdmin):
    list_display = ["human_code", "name", "validity_months"]
    search_fields = ["human_code", "name"]
    readonly_fields = ["unit", "course", "public_id"]


@admin.register(IssuerProfile)
class IssuerProfileAdmin(admin.ModelAdmin):
    list_display = ["name", "url", "email"]


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
    list_display = ["public_id", "learner", "achievement", "issued_at", "valid_until"]
    list_select_related = ["learner", "achievement"]
    search_fields = ["public_id", "learner__email", "achievement__human_code"]
    raw_id_fields = ["learner", "outcome"]
    readonly_fields = [
        "public_id", "learner", "achievement", "outcome", "signing_key",
        "issued_at", "valid_from", "valid_until", "document",
    ]  # fmt: skip

    def has_add_permission(self, request: object) -> bool:
        return False
