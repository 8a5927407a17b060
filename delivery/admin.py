"""Authoring in the Django admin: a unit with its elements, criteria and evidence; a course with
its units and modules; a module with its resources. Positions order everything."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import models

from delivery.models import (
    Announcement,
    Cohort,
    ContentPack,
    Course,
    CourseUnit,
    Element,
    Enrolment,
    EnrolmentRequest,
    EvidenceItem,
    Invitation,
    LearnerProfile,
    Module,
    PerformanceCriterion,
    Resource,
    Unit,
    WaitingListEntry,
)


class ElementInline(admin.TabularInline):
    model = Element
    extra = 0
    show_change_link = True


class EvidenceItemInline(admin.TabularInline):
    model = EvidenceItem
    extra = 0


@admin.register(Unit)
class UnitAdmin(admin.ModelAdmin):
    list_display = ["code", "title", "version", "status"]
    list_filter = ["status"]
    search_fields = ["code", "title"]
    inlines = [ElementInline, EvidenceItemInline]


class PerformanceCriterionInline(admin.TabularInline):
    model = PerformanceCriterion
    extra = 0
    ordering = ["position", "id"]


@admin.register(Element)
class ElementAdmin(admin.ModelAdmin):
    list_display = ["unit", "number", "title"]
    list_filter = ["unit"]
    search_fields = ["title", "unit__code"]
    inlines = [PerformanceCriterionInline]


class CourseUnitInline(admin.TabularInline):
    model = CourseUnit
    extra = 0
    autocomplete_fields = ["unit"]
    ordering = ["position"]


class ModuleInline(admin.TabularInline):
    model = Module
    extra = 0
    fields = ["position", "key", "title", "course_unit"]
    ordering = ["course_unit__position", "position"]
    show_change_link = True


@admin.register(Course)
class CourseAdmin(admin.ModelAdmin):
    list_display = ["code", "title", "kind", "validity_months"]
    list_filter = ["kind"]
    search_fields = ["code", "title"]
    inlines = [CourseUnitInline, ModuleInline]


# Addresses typed without a scheme are taken as https (Django 6's default, chosen now); every
# admin with a URL field uses this.
HTTPS_URLS: dict[type[models.Field[Any, Any]], dict[str, Any]] = {
    models.URLField: {"assume_scheme": "https"}
}


class ResourceInline(admin.StackedInline):
    model = Resource
    formfield_overrides = HTTPS_URLS
    extra = 0
    ordering = ["position"]
    fields = [
        ("position", "key", "kind", "estimated_minutes"),
        "title",
        "body",
        ("file", "captions"),
        ("embed_url", "url"),
    ]


@admin.register(Module)
class ModuleAdmin(admin.ModelAdmin):
    list_display = ["title", "course", "course_unit", "position"]
    list_filter = ["course"]
    search_fields = ["title", "key", "course__code"]
    filter_horizontal = ["prerequisites"]
    inlines = [ResourceInline]

    def formfield_for_manytomany(self, db_field: Any, request: Any, **kwargs: Any) -> Any:
        # Only modules of the same course can be prerequisites.
        if db_field.name == "prerequisites" and request.resolver_match.kwargs.get("object_id"):
            module = Module.objects.filter(pk=request.resolver_match.kwargs["object_id"]).first()
            if module:
                kwargs["queryset"] = Module.objects.filter(course=module.course).exclude(
                    pk=module.pk
                )
        return super().formfield_for_manytomany(db_field, request, **kwargs)


@admin.register(Resource)
class ResourceAdmin(admin.ModelAdmin):
    formfield_overrides = HTTPS_URLS
    list_display = ["title", "kind", "module", "position", "estimated_minutes"]
    list_filter = ["kind", "module__course"]
    search_fields = ["title", "key", "module__title"]


class EnrolmentInline(admin.TabularInline):
    model = Enrolment
    extra = 0
    autocomplete_fields = ["learner"]


@admin.register(Cohort)
class CohortAdmin(admin.ModelAdmin):
    list_display = ["name", "course", "starts_on", "ends_on"]
    list_filter = ["course"]
    search_fields = ["name", "course__title", "course__code"]
    filter_horizontal = ["trainers", "assessors"]
    inlines = [EnrolmentInline]


@admin.register(Enrolment)
class EnrolmentAdmin(admin.ModelAdmin):
    list_display = ["learner", "cohort", "status", "enrolled_at"]
    list_filter = ["status", "cohort__course"]
    search_fields = ["learner__username", "learner__email", "cohort__name"]
    autocomplete_fields = ["learner", "cohort"]


@admin.register(Announcement)
class AnnouncementAdmin(admin.ModelAdmin):
    list_display = ["title", "cohort", "author", "created_at"]
    list_filter = ["cohort__course"]
    search_fields = ["title", "body"]


@admin.register(ContentPack)
class ContentPackAdmin(admin.ModelAdmin):
    list_display = ["key", "title", "version", "imported_at"]
    readonly_fields = ["key", "title", "version", "sha256", "imported_at"]

    def has_add_permission(self, request: Any) -> bool:
        return False  # packs arrive through `manage.py import_pack`


# --- Enrolment (issue 16): read-only here; staff work on an intake's People page, where every
# change goes through delivery.enrolment.services (places, e-mails, the audit trail).


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(LearnerProfile)
class LearnerProfileAdmin(ReadOnlyAdmin):
    list_display = ["user", "usi", "updated_at"]
    search_fields = ["user__username", "user__email", "usi"]


@admin.register(EnrolmentRequest)
class EnrolmentRequestAdmin(ReadOnlyAdmin):
    list_display = ["learner", "cohort", "status", "created_at", "decided_by"]
    list_filter = ["status"]
    search_fields = ["learner__email", "cohort__name"]


@admin.register(WaitingListEntry)
class WaitingListEntryAdmin(ReadOnlyAdmin):
    list_display = ["learner", "cohort", "status", "joined_at", "offer_expires_at"]
    list_filter = ["status"]
    search_fields = ["learner__email", "cohort__name"]


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdmin):
    list_display = ["email", "cohort", "created_at", "expires_at", "accepted_at"]
    search_fields = ["email", "cohort__name"]
    exclude = ["token_hash"]
