"""Forms of the marking queue and the unit outcome."""

from __future__ import annotations

from django import forms

from assessment.models import Outcome
from delivery.forms import IdField


class QueueFilterForm(forms.Form):
    cohort = IdField(required=False)
    unit = IdField(required=False)
    task = IdField(required=False)
    waiting_days = forms.IntegerField(required=False, min_value=1, max_value=365)


class OutcomeForm(forms.Form):
    code = forms.ChoiceField(choices=Outcome.Code.choices, widget=forms.RadioSelect)
    justification = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=10_000,
        help_text="Required for RPL and credit transfer, and for a correction.",
    )
