"""Input shapes: the scheduling form, and one small form per message a socket may send."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model

from delivery.models import Cohort, Module, Resource
from live.models import LiveSession, Poll


class PersonChoiceField(forms.ModelMultipleChoiceField):
    """People listed by the name others know them by, not their login."""

    def label_from_instance(self, obj: Any) -> str:
        return str(obj.get_full_name() or obj.get_username())


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
        field_classes = {"trainers": PersonChoiceField}  # noqa: RUF012
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
#
# A socket sends JSON, not a browser's form data: any field may arrive as a number, a boolean,
# an object or a nested list. Django's fields were made for strings and turn most of those into
# one (`str({"a": 1})` is a fine chat message to a CharField, `bool([0])` a fine "true"), so
# every field below accepts only the JSON types its meaning allows and refuses the rest with a
# message, before any service runs.

# Ids are primary keys (BigAutoField): anything larger would only overflow the database.
MAX_ID = 2**63 - 1


class TextField(forms.CharField):
    """Text, sent as a JSON string; numbers, booleans, lists and objects are refused."""

    def to_python(self, value: Any) -> str:
        if value is not None and not isinstance(value, str):
            raise forms.ValidationError("Send text.", code="invalid")
        return str(super().to_python(value))


class TextChoiceField(forms.ChoiceField):
    """One of the choices, sent as a JSON string."""

    def to_python(self, value: Any) -> str:
        if value is not None and not isinstance(value, str):
            raise forms.ValidationError("Send one of the choices as text.", code="invalid")
        return str(super().to_python(value))


class _AsSent(forms.Widget):
    """Hands the field the value as sent (a checkbox widget would already have made it a
    bool, whatever it was)."""

    def value_from_datadict(self, data: Any, files: Any, name: str) -> Any:
        return data.get(name)


class FlagField(forms.BooleanField):
    """true or false (absent is false); `bool()` of anything else would read as true."""

    widget = _AsSent

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> bool:
        if value is None:
            return False
        if not isinstance(value, bool):
            raise forms.ValidationError("Send true or false.", code="invalid")
        return value


def _whole_number(value: Any) -> int:
    """A JSON integer, or digits in a string (what a <select> or number input sends)."""
    if isinstance(value, bool):  # a bool is an int to Python, never an id or a count
        raise TypeError
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return int(value.strip())
    raise TypeError


class WholeNumberField(forms.IntegerField):
    """An integer within its limits; floats, booleans, lists and objects are refused."""

    def __init__(self, *, min_value: int = 1, max_value: int = MAX_ID, **kwargs: Any) -> None:
        super().__init__(min_value=min_value, max_value=max_value, **kwargs)

    def to_python(self, value: Any) -> int | None:
        if value in self.empty_values:
            return None
        try:
            return _whole_number(value)
        except TypeError:
            raise forms.ValidationError("Send a whole number.", code="invalid") from None


class IdListField(forms.Field):
    """One id or a list of ids, as a radio button or checkboxes send them."""

    def to_python(self, value: Any) -> list[int]:
        if value in (None, "", []):
            return []
        values = value if isinstance(value, list) else [value]
        if len(values) > 20:
            raise forms.ValidationError("Too many ids.")
        try:
            ids = [_whole_number(v) for v in values]
        except TypeError:
            raise forms.ValidationError("Expected ids.") from None
        if any(not 1 <= i <= MAX_ID for i in ids):
            raise forms.ValidationError("Expected ids.")
        return ids


class ChatForm(forms.Form):
    text = TextField(max_length=500, strip=True)


class MessageRefForm(forms.Form):
    message_id = WholeNumberField()


class MuteForm(forms.Form):
    user_id = WholeNumberField()
    muted = FlagField()


class UserRefForm(forms.Form):
    user_id = WholeNumberField()


class SlowModeForm(forms.Form):
    seconds = WholeNumberField(min_value=0, max_value=600)


class AskForm(forms.Form):
    text = TextField(max_length=500, strip=True)
    anonymous = FlagField()


class QuestionRefForm(forms.Form):
    question_id = WholeNumberField()


class LinesField(forms.Field):
    """A list of strings, or one string with an item a line (a textarea). Anything else (a
    number, an object, a list holding one) is refused, not turned into text."""

    def to_python(self, value: Any) -> list[str]:
        if value in (None, ""):
            return []
        if isinstance(value, str):
            lines = value.splitlines()
        elif isinstance(value, list) and all(isinstance(line, str) for line in value):
            lines = value
        else:
            raise forms.ValidationError(
                "Send the options as text, one a line, or as a list of text."
            )
        if len(lines) > 20 or any(len(line) > 200 for line in lines):
            raise forms.ValidationError("At most 20 options of 200 characters.")
        return [line.strip() for line in lines if line.strip()]


class PollOpenForm(forms.Form):
    question = TextField(max_length=300, strip=True)
    kind = TextChoiceField(choices=Poll.Kind.choices)
    options = LinesField(help_text="One option a line")
    correct = TextField(
        required=False, max_length=50, help_text="Numbers of the correct options, e.g. 2 or 1,3"
    )

    def clean_correct(self) -> list[int]:
        raw = self.cleaned_data.get("correct") or ""
        numbers = [n for n in raw.replace(" ", "").split(",") if n]
        if not all(n.isascii() and n.isdigit() for n in numbers):
            raise forms.ValidationError("Give option numbers, e.g. 2 or 1,3.")
        return [int(n) - 1 for n in numbers]


class VoteForm(forms.Form):
    poll_id = WholeNumberField()
    options = IdListField()


class PollRefForm(forms.Form):
    poll_id = WholeNumberField()


class PushForm(forms.Form):
    resource_id = WholeNumberField()


class AckForm(forms.Form):
    seq = WholeNumberField(min_value=0)


class EmptyForm(forms.Form):
    pass
