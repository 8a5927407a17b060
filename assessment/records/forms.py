from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet

from assessment.models import Outcome
from assessment.records.selectors import RecordFilters
from delivery.forms import RowChoiceField
from delivery.models import Cohort


class RecordSearchForm(forms.Form):
    """The auditor's filters; every field optional, so an empty search lists every record."""

    learner = forms.CharField(
        required=False,
        max_length=100,
        label="Learner",
        help_text="Name, e-mail, username or learner id.",
    )
    unit = forms.CharField(required=False, max_length=40, label="Unit code")
    course = forms.CharField(required=False, max_length=40, label="Course code")
    cohort = RowChoiceField(queryset=Cohort.objects.none(), required=False)
    outcome = forms.ChoiceField(
        required=False,
        choices=[("", "Any"), ("none", "No outcome yet"), *Outcome.Code.choices],
    )
    assessor = forms.CharField(
        required=False, max_length=100, help_text="Who marked an attempt or recorded the outcome."
    )
    date_from = forms.DateField(
        required=False, label="Assessed from", widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        required=False, label="Assessed to", widget=forms.DateInput(attrs={"type": "date"})
    )
    sort = forms.ChoiceField(
        required=False,
        choices=[
            ("learner", "Learner"),
            ("unit", "Unit"),
            ("cohort", "Cohort"),
            ("outcome", "Outcome date"),
        ],
    )
    descending = forms.BooleanField(required=False, label="Newest / Z first")

    def __init__(self, *args: Any, cohorts: QuerySet[Cohort] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if cohorts is not None:
            self.fields["cohort"].queryset = cohorts.select_related("course").order_by("name")  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            raise forms.ValidationError("The start date is after the end date.")
        return cleaned

    def filters(self) -> RecordFilters:
        data = self.cleaned_data
        return RecordFilters(
            learner=data.get("learner") or "",
            unit=data.get("unit") or "",
            course=data.get("course") or "",
            cohort_id=data["cohort"].pk if data.get("cohort") else None,
            outcome=data.get("outcome") or "",
            assessor=data.get("assessor") or "",
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            sort=data.get("sort") or "learner",
            descending=bool(data.get("descending")),
        )
