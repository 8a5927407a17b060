from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError

from delivery.enrolment.services import clean_usi
from delivery.forms import RowChoiceField
from delivery.models import Cohort

USI_HELP = (
    "Your Unique Student Identifier: 10 letters and digits, from usi.gov.au. We need it before "
    "your first enrolment is confirmed."
)


class UsiField(forms.CharField):
    """A USI typed as people do (spaces, dashes, lower case), kept normalised; checked in words."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", "Unique Student Identifier (USI)")
        kwargs.setdefault("max_length", 20)
        kwargs.setdefault("help_text", USI_HELP)
        super().__init__(**kwargs)

    def clean(self, value: Any) -> str:
        return clean_usi(super().clean(value) or "")


class NameFields(forms.Form):
    first_name = forms.CharField(label="First name", max_length=150)
    last_name = forms.CharField(label="Last name", max_length=150)


class PasswordFields(forms.Form):
    password1 = forms.CharField(
        label="Password",
        strip=False,
        max_length=128,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="At least 8 characters, not only digits, not a common password.",
    )
    password2 = forms.CharField(
        label="Password again",
        strip=False,
        max_length=128,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def check_passwords(self, user: Any = None) -> None:
        first, second = self.cleaned_data.get("password1"), self.cleaned_data.get("password2")
        if first and second and first != second:
            self.add_error("password2", "The two passwords differ.")
        elif first:
            try:
                password_validation.validate_password(first, user)
            except ValidationError as error:
                self.add_error("password1", error)


class SignUpForm(NameFields, PasswordFields):
    email = forms.EmailField(label="E-mail address", max_length=140)
    usi = UsiField(required=False)
    field_order = ("first_name", "last_name", "email", "usi", "password1", "password2")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        self.check_passwords()
        return cleaned


class InvitationSignUpForm(NameFields, PasswordFields):
    usi = UsiField(required=False)
    field_order = ("first_name", "last_name", "usi", "password1", "password2")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        self.check_passwords()
        return cleaned


class DetailsForm(NameFields):
    usi = UsiField(required=True)


class NextForm(forms.Form):
    next = forms.CharField(required=False, max_length=2000)


class DecideForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[("approve", "Approve"), ("decline", "Decline")], widget=forms.RadioSelect
    )
    reason = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Reason (the learner reads it; required to decline)",
    )


class EnrolOneForm(forms.Form):
    email = forms.EmailField(
        label="E-mail address",
        max_length=254,
        help_text="A learner with an account is enrolled at once; anyone else is invited.",
    )


class CsvForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="Columns: email, first_name, last_name, usi (and intake, optional). "
        "UTF-8, with a header row.",
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Reason (kept in the audit trail; the learner reads it)",
    )


class TransferForm(ReasonForm):
    to = RowChoiceField(queryset=Cohort.objects.none(), label="Move to intake")
    field_order = ("to", "reason")

    def __init__(self, *args: Any, intakes: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["to"].queryset = intakes  # type: ignore[attr-defined]
