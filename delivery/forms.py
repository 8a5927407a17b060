from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.conf import settings
from django.contrib.auth.forms import PasswordResetForm
from django.template import loader

from delivery.links import public_origin
from delivery.tasks import send_email


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


class GridSortForm(forms.Form):
    sort = forms.RegexField(regex=r"^(name|progress|module:\d+)$", required=False)
    module = forms.IntegerField(required=False, min_value=1)
