"""Forms of the learner's attempt flow."""

from __future__ import annotations

from django import forms


class SubmitForm(forms.Form):
    declared = forms.BooleanField(required=False, label="I declare that this work is my own.")
