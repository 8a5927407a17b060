"""Authoring tasks and items (with their mapping) in the Django admin. Attempts, judgements,
outcomes and the audit trail are shown read-only: they change only through the services, each
with its audit event."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import transaction

from assessment.audit.services import record_event
from assessment.models import (
    Attempt,
    AuditEvent,
    AuditorGrant,
    Item,
    LegalHold,
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


@admin.register(AuditorGrant)
class AuditorGrantAdmin(admin.ModelAdmin):
    """Administrators grant an external auditor time-limited access to some courses or cohorts.
    Each grant, and each change to one, is written to the audit trail."""

    list_display = ["auditor", "starts_at", "ends_at", "reason", "granted_by"]
    list_select_related = ["auditor", "granted_by"]
    filter_horizontal = ["courses", "cohorts"]
    fields = ["auditor", ("starts_at", "ends_at"), "reason", "courses", "cohorts"]
    autocomplete_fields = ["auditor"]

    def save_model(self, request: Any, obj: AuditorGrant, form: Any, change: bool) -> None:
        if not change:
            obj.granted_by = request.user
        with transaction.atomic():
            super().save_model(request, obj, form, change)

    def save_related(self, request: Any, form: Any, formsets: Any, change: bool) -> None:
        with transaction.atomic():
            super().save_related(request, form, formsets, change)
            grant = form.instance
            record_event(
                "auditor_grant.changed" if change else "auditor_grant.created",
                grant,
                actor=request.user,
                data={
                    "auditor": grant.auditor.get_username(),
                    "starts_at": grant.starts_at,
                    "ends_at": grant.ends_at,
                    "courses": sorted(c.code for c in grant.courses.all()),
                    "cohorts": sorted(c.pk for c in grant.cohorts.all()),
                    "reason": grant.reason,
                },
            )


@admin.register(LegalHold)
class LegalHoldAdmin(admin.ModelAdmin):
    """A legal hold stops the retention policy purging a learner's evidence. Placed here;
    released with the action (both audited); never deleted."""

    list_display = ["learner", "unit", "reason", "placed_at", "placed_by", "released_at"]
    list_filter = [("released_at", admin.EmptyFieldListFilter)]
    list_select_related = ["learner", "unit", "placed_by"]
    fields = ["learner", "unit", "reason", "placed_by", "placed_at", "released_at"]
    readonly_fields = ["placed_by", "placed_at", "released_at"]
    autocomplete_fields = ["learner"]
    actions = ["release"]

    def get_readonly_fields(self, request: Any, obj: LegalHold | None = None) -> list[str]:
        if obj is not None:  # a hold is never edited: released, and placed anew if need be
            return ["learner", "unit", "reason", "placed_by", "placed_at", "released_at"]
        return list(self.readonly_fields)

    def save_model(self, request: Any, obj: LegalHold, form: Any, change: bool) -> None:
        if change:
            return
        from assessment.evidence.retention import place_hold

        placed = place_hold(obj.learner, unit=obj.unit, reason=obj.reason, by=request.user)
        obj.pk = placed.pk

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    @admin.action(description="Release the selected holds")
    def release(self, request: Any, queryset: Any) -> None:
        from assessment.evidence.retention import release_hold

        for hold in queryset.filter(released_at__isnull=True):
            release_hold(hold, by=request.user)
