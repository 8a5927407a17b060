from __future__ import annotations

from django import forms


class RecordSearchForm(forms.Form):
    q = forms.CharField(
        label="Learner, unit or cohort",
        min_length=2,
        max_length=100,
        help_text="A learner's name, e-mail or username; a unit code; a cohort name.",
    )
