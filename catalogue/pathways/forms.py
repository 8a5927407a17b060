"""What staff type to define a pathway and its steps."""

from __future__ import annotations

from typing import Any, cast

from django import forms

from catalogue.models import PathwayStep
from catalogue.pathways.services import split_codes


class PathwayForm(forms.Form):
    key = forms.SlugField(
        max_length=80, help_text="A short id for links and content packs, e.g. infection-control."
    )
    title = forms.CharField(max_length=255)
    summary = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    goal_code = forms.CharField(
        label="Goal",
        max_length=40,
        help_text="The code of the end-goal credential: a unit, a skill set or a milestone.",
    )

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if editing:
            del self.fields["key"]


class StepForm(forms.Form):
    key = forms.SlugField(max_length=80, help_text="A short id, e.g. basics.")
    title = forms.CharField(max_length=255)
    requirement = forms.ChoiceField(choices=PathwayStep.Requirement.choices)
    choose = forms.IntegerField(
        min_value=1,
        required=False,
        label="How many to choose",
        help_text="Only for “choose some”: how many of the achievements the learner needs.",
    )
    codes = forms.CharField(
        label="Units and courses",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Codes, separated by commas or spaces, e.g. HLTINF006, HLTSS00065.",
    )
    after = forms.MultipleChoiceField(
        label="Recommended after",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Steps a learner is advised to take first (not enforced).",
    )
    position = forms.IntegerField(min_value=0, required=False, help_text="Order in the list.")
    milestone_name = forms.CharField(
        max_length=255,
        required=False,
        label="Milestone credential",
        help_text="A name gives learners reaching this step a milestone credential.",
    )
    milestone_description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), required=False, label="Milestone description"
    )

    def __init__(self, *args: Any, step_keys: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.MultipleChoiceField, self.fields["after"]).choices = step_keys

    def clean_codes(self) -> list[str]:
        codes = split_codes(self.cleaned_data["codes"])
        if not codes:
            raise forms.ValidationError("Name at least one unit or course code.")
        return codes
