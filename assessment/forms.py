from __future__ import annotations

from django import forms

from assessment.models import Outcome


class RecordSearchForm(forms.Form):
    q = forms.CharField(
        label="Learner, unit or cohort",
        min_length=2,
        max_length=100,
        help_text="A learner's name, e-mail or username; a unit code; a cohort name.",
    )


class QueueFilterForm(forms.Form):
    cohort = forms.IntegerField(required=False, min_value=1)
    unit = forms.IntegerField(required=False, min_value=1)
    task = forms.IntegerField(required=False, min_value=1)
    waiting_days = forms.IntegerField(required=False, min_value=1, max_value=365)


class SubmitForm(forms.Form):
    declared = forms.BooleanField(required=False, label="I declare that this work is my own.")


class OutcomeForm(forms.Form):
    code = forms.ChoiceField(choices=Outcome.Code.choices, widget=forms.RadioSelect)
    justification = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=10_000,
        help_text="Required for RPL and credit transfer, and for a correction.",
    )
