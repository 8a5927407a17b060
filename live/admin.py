"""Administrators see sessions and their attendance; the room's own records are read-only
here (they change only through the room, so the attendance report stays trustworthy)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from delivery.admin import HTTPS_URLS
from live.models import Attendance, LiveSession, Presence


class PresenceInline(admin.TabularInline):
    model = Presence
    extra = 0
    readonly_fields = ["joined_at", "left_at"]
    can_delete = False


@admin.register(LiveSession)
class LiveSessionAdmin(admin.ModelAdmin):
    list_display = ["title", "cohort", "starts_at", "ends_at", "ended_at"]
    list_filter = ["ended_at"]
    search_fields = ["title", "cohort__name", "cohort__course__code"]
    autocomplete_fields = ["trainers"]
    filter_horizontal = ["resources", "prework"]
    readonly_fields = ["seq", "ended_at", "pushed_resource", "pushed_at", "created_at"]
    list_select_related = ["cohort"]
    formfield_overrides = HTTPS_URLS


@admin.register(Attendance)
class AttendanceAdmin(admin.ModelAdmin):
    list_display = ["session", "user", "first_joined_at", "last_left_at", "seconds", "late"]
    list_select_related = ["session", "user"]
    search_fields = ["user__username", "user__last_name", "session__title"]
    inlines = [PresenceInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
