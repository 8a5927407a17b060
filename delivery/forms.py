from __future__ import annotations

from collections.abc import Collection
from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.core.exceptions import ValidationError
from django.template import loader

from delivery.converters import MAX_ID, parse_id
from delivery.links import public_origin
from delivery.tasks import send_email


class IdField(forms.IntegerField):
    """A row's id in a query or form: 1 .. the largest bigint, so a 20-digit one is an invalid
    value (a filter ignored, a form refused), never an overflow in the database."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(**kwargs)


class RowChoiceField(forms.ModelChoiceField):
    """ModelChoiceField that refuses an id no row can have before it reaches the database."""

    def to_python(self, value: Any) -> Any:
        if value in self.empty_values:
            return None
        model = self.queryset.model if self.queryset is not None else None
        if parse_id(value) is None and not (model is not None and isinstance(value, model)):
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return super().to_python(value)


class LoginForm(AuthenticationForm):
    """Django's sign-in form with the username's length enforced. Django sets the limit on the
    field after the field made its validators, so only the browser checked it: a 3,000-character
    name reached authenticate() and django-axes' record of the failure (a varchar(255), so a
    500 on PostgreSQL). Such a name gets the usual answer to a wrong sign-in."""

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username") or ""
        limit = getattr(self.fields["username"], "max_length", None) or 150
        if len(username) > limit:
            raise self.get_invalid_login_error()
        return super().clean()


class QueuedPasswordResetForm(PasswordResetForm):
    """Password reset whose e-mail goes through Celery, so a slow mail server never holds a page.

    The answer is the same whether or not the address is known (Django's own behaviour).
    The link in it is built from PUBLIC_URL.
    """

    def send_mail(
        self,
        subject_template_name: str,
        email_template_name: str,
        context: dict[str, Any],
        from_email: str | None,
        to_email: str,
        html_email_template_name: str | None = None,
    ) -> None:
        # The link is opened from an inbox: the deployment's public address, not the Host
        # header of the request that asked (a client-chosen or internal name).
        origin = urlsplit(public_origin())
        context = {
            **context,
            "protocol": origin.scheme,
            "domain": origin.netloc,
            "site_name": settings.PROVIDER_NAME,
        }
        subject = "".join(loader.render_to_string(subject_template_name, context).splitlines())
        body = loader.render_to_string(email_template_name, context)
        html = (
            loader.render_to_string(html_email_template_name, context)
            if html_email_template_name
            else ""
        )
        send_email.delay_on_commit(subject, body, [to_email], html=html, from_email=from_email)


class MarkDoneForm(forms.Form):
    done = forms.BooleanField(required=False, initial=True)
    next = forms.CharField(required=False, max_length=300)


class MediaPositionForm(forms.Form):
    position = forms.IntegerField(min_value=0, max_value=24 * 3600)
    duration = forms.IntegerField(min_value=1, max_value=24 * 3600, required=False)


class AnnouncementForm(forms.Form):
    title = forms.CharField(max_length=200)
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 8}),
        max_length=20_000,
        help_text="Markdown: **bold**, *italic*, lists, links. Learners are e-mailed a copy.",
    )


class OpenModuleForm(forms.Form):
    """The course page's `?module=<id>`: a module to show unfolded."""

    module = IdField(
        required=False,
        error_messages=dict.fromkeys(
            ("invalid", "min_value", "max_value"), "That is not a module of this course."
        ),
    )


class GridForm(forms.Form):
    """The progress grid's search, sort, page and pre-work check, all in the URL so a view can
    be bookmarked and shared. `module_ids`: the course's modules, the only ones to sort or
    check by. The view uses whatever is valid and says what is not."""

    q = forms.CharField(required=False, max_length=100, label="Find a learner")
    # [0-9], not \d: \d also matches digits such as "²" that int() refuses.
    sort = forms.RegexField(
        regex=r"^(name|progress|module:[0-9]{1,19})$",
        required=False,
        error_messages={
            "invalid": "The grid sorts by learner, overall progress or one module; "
            "choose a column heading to sort by it."
        },
    )
    page = forms.IntegerField(
        required=False,
        error_messages={"invalid": "A page is a whole number, such as 2."},
    )
    module = IdField(
        required=False,
        error_messages=dict.fromkeys(
            ("invalid", "min_value", "max_value"), "Choose a module of this course from the list."
        ),
    )

    def __init__(self, *args: Any, module_ids: Collection[int] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.module_ids = set(module_ids)

    def clean_sort(self) -> str:
        sort: str = self.cleaned_data["sort"] or "name"
        if sort.startswith("module:") and int(sort.split(":")[1]) not in self.module_ids:
            raise ValidationError(
                "That module is not in this course any more; choose a column heading to sort "
                "by one of its modules."
            )
        return sort

    def clean_module(self) -> int | None:
        module: int | None = self.cleaned_data["module"]
        if module is not None and module not in self.module_ids:
            raise ValidationError("That module is not in this course; choose one from the list.")
        return module
