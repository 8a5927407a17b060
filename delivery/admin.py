from __future__ import annotations

from django.contrib import admin

from delivery.models import Cohort, Course, CourseUnit, Enrolment, Unit


@admin.register(Unit)
class UnitAdmin(admin.ModelAdmin):
    list_display = ["code", "title"]
    search_fields = ["code", "title"]


class CourseUnitInline(admin.TabularInline):
    model = CourseUnit
    extra = 0
    autocomplete_fields = ["unit"]
    ordering = ["position"]


@admin.register(Course)
class CourseAdmin(admin.ModelAdmin):
    list_display = ["code", "title", "kind"]
    list_filter = ["kind"]
    search_fields = ["code", "title"]
    inlines = [CourseUnitInline]


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
