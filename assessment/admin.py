"""Authoring tasks and items (with their mapping) in the Django admin. Attempts, judgements,
outcomes and the audit trail are shown read-only: they change only through the services, each
with its audit event."""

from __future__ import annotations

from typing import Any

from django.contrib import admin

from assessment.models import (
    Attempt,
    AuditEvent,
    Item,
    Outcome,
    ResubmissionPolicy,
    Task,
    ThirdPartyRequest,
)


class ItemInline(admin.StackedInline):
    model = Item
    extra = 0
    ordering = ["position"]
    filter_horizontal = ["criteria", "evidence_items"]
    fields = [
        ("position", "key", "kind"),
        "prompt",
        ("choices", "correct"),
        ("evidence_required", "evidence_hint"),
        "criteria",
        "evidence_items",
    ]


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ["title", "unit", "kind", "max_attempts", "version"]
    list_filter = ["kind", "unit"]
    search_fields = ["title", "key", "unit__code"]
    filter_horizontal = ["requires_modules"]
    inlines = [ItemInline]


@admin.register(ResubmissionPolicy)
class ResubmissionPolicyAdmin(admin.ModelAdmin):
    list_display = ["cohort", "max_attempts", "window_days"]


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(Attempt)
class AttemptAdmin(ReadOnlyAdmin):
    list_display = ["task", "learner", "cohort", "number", "status", "result", "submitted_at"]
    list_filter = ["status", "result", "task__unit"]
    search_fields = ["learner__username", "learner__email", "task__title"]


@admin.register(Outcome)
class OutcomeAdmin(ReadOnlyAdmin):
    list_display = ["learner", "unit", "cohort", "code", "recorded_by", "recorded_at"]
    list_filter = ["code", "unit"]
    search_fields = ["learner__username", "learner__email", "unit__code"]


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["id", "at", "actor_label", "action", "object_type", "object_id"]
    list_filter = ["action"]
    search_fields = ["object_id", "actor_label", "action"]


@admin.register(ThirdPartyRequest)
class ThirdPartyRequestAdmin(ReadOnlyAdmin):
    list_display = ["attempt", "supervisor_email", "sent_at", "expires_at", "used_at"]
    search_fields = ["supervisor_email", "supervisor_name", "attempt__learner__username"]
    exclude = ["token_hash"]
