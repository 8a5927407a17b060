"""Input shapes: the scheduling form, and one small form per message a socket may send."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model

from delivery.models import Cohort, Module, Resource
from live.models import LiveSession, Poll


class SessionForm(forms.ModelForm):
    """Schedule or change a session. Choices are limited to the cohort's trainers and the
    course's modules and resources; the service checks the same again."""

    starts_at = forms.DateTimeField(
        label="Starts", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    ends_at = forms.DateTimeField(
        label="Ends", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    meeting_url = forms.URLField(
        label="Meeting link",
        required=False,
        assume_scheme="https",
        help_text="Zoom, Jitsi or Teams link",
    )

    class Meta:
        model = LiveSession
        fields = [  # noqa: RUF012
            "title",
            "description",
            "starts_at",
            "ends_at",
            "meeting_url",
            "trainers",
            "prework",
            "resources",
        ]
        widgets = {  # noqa: RUF012
            "trainers": forms.CheckboxSelectMultiple,
            "prework": forms.CheckboxSelectMultiple,
            "resources": forms.SelectMultiple(attrs={"size": 8}),
            "description": forms.Textarea(attrs={"rows": 3}),
        }
        labels = {  # noqa: RUF012
            "meeting_url": "Meeting link",
            "prework": "Pre-work modules",
        }

    def __init__(self, *args: Any, cohort: Cohort, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cohort = cohort
        self._choices("trainers").queryset = (
            get_user_model()
            .objects.filter(cohorts_training=cohort)
            .order_by("last_name", "first_name")
        )
        self._choices("prework").queryset = Module.objects.filter(course_id=cohort.course_id)
        self._choices("resources").queryset = Resource.objects.filter(
            module__course_id=cohort.course_id
        ).order_by("module__position", "position", "id")
        self.fields["meeting_url"].widget.attrs["placeholder"] = "https://meet.example/..."

    def _choices(self, name: str) -> forms.ModelMultipleChoiceField:
        field = self.fields[name]
        assert isinstance(field, forms.ModelMultipleChoiceField)  # noqa: S101
        return field

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        starts, ends = data.get("starts_at"), data.get("ends_at")
        if starts and ends and ends <= starts:
            self.add_error("ends_at", "The session must end after it starts.")
        meeting = data.get("meeting_url") or ""
        if meeting and not meeting.startswith("https://"):
            self.add_error("meeting_url", "Use an https:// link.")
        return data


# Messages from the room's sockets -----------------------------------------------------------


class IdListField(forms.Field):
    """One id or a list of ids, as a radio button or checkboxes send them."""

    def to_python(self, value: Any) -> list[int]:
        if value in (None, "", []):
            return []
        values = value if isinstance(value, list) else [value]
        try:
            ids = [int(v) for v in values]
        except (TypeError, ValueError):
            raise forms.ValidationError("Expected ids.") from None
        if len(ids) > 20:
            raise forms.ValidationError("Too many ids.")
        return ids


class ChatForm(forms.Form):
    text = forms.CharField(max_length=500, strip=True)


class MessageRefForm(forms.Form):
    message_id = forms.IntegerField(min_value=1)


class MuteForm(forms.Form):
    user_id = forms.IntegerField(min_value=1)
    muted = forms.BooleanField(required=False)


class UserRefForm(forms.Form):
    user_id = forms.IntegerField(min_value=1)


class SlowModeForm(forms.Form):
    seconds = forms.IntegerField(min_value=0, max_value=600)


class AskForm(forms.Form):
    text = forms.CharField(max_length=500, strip=True)
    anonymous = forms.BooleanField(required=False)


class QuestionRefForm(forms.Form):
    question_id = forms.IntegerField(min_value=1)


class LinesField(forms.Field):
    """A list of strings, or one string with an item a line (a textarea)."""

    def to_python(self, value: Any) -> list[str]:
        if value in (None, ""):
            return []
        lines = value if isinstance(value, list) else str(value).splitlines()
        if len(lines) > 20 or any(len(str(line)) > 200 for line in lines):
            raise forms.ValidationError("At most 20 options of 200 characters.")
        return [str(line).strip() for line in lines if str(line).strip()]


class PollOpenForm(forms.Form):
    question = forms.CharField(max_length=300, strip=True)
    kind = forms.ChoiceField(choices=Poll.Kind.choices)
    options = LinesField(help_text="One option a line")
    correct = forms.CharField(
        required=False, max_length=50, help_text="Numbers of the correct options, e.g. 2 or 1,3"
    )

    def clean_correct(self) -> list[int]:
        raw = self.cleaned_data.get("correct") or ""
        try:
            return [int(n) - 1 for n in str(raw).replace(" ", "").split(",") if n]
        except ValueError:
            raise forms.ValidationError("Give option numbers, e.g. 2 or 1,3.") from None


class VoteForm(forms.Form):
    poll_id = forms.IntegerField(min_value=1)
    options = IdListField()


class PollRefForm(forms.Form):
    poll_id = forms.IntegerField(min_value=1)


class PushForm(forms.Form):
    resource_id = forms.IntegerField(min_value=1)


class AckForm(forms.Form):
    seq = forms.IntegerField(min_value=0)


class EmptyForm(forms.Form):
    pass
