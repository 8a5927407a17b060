"""Deployment checks of our own settings, run by `manage.py check --deploy`."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register


@register(Tags.security, deploy=True)
def check_public_url(app_configs: Any = None, **kwargs: Any) -> list[Error | Warning]:
    """Production needs the public address: without it every link that leaves the site (in
    credentials, certificates' QR codes, e-mails) would name localhost and be dead."""
    if getattr(settings, "PUBLIC_URL_SET", False):
        if str(settings.PUBLIC_URL).startswith("http://"):
            return [
                Warning(
                    f"PUBLIC_URL is {settings.PUBLIC_URL}, plain http.",
                    hint="Serve production over https and set PUBLIC_URL=https://...",
                    id="flipside.W002",
                )
            ]
        return []
    if getattr(settings, "CREDENTIALS_HOST", ""):
        return [
            Warning(
                f"PUBLIC_URL is not set; links are built as {settings.PUBLIC_URL} from "
                "CREDENTIALS_HOST, as before PUBLIC_URL existed.",
                hint=f"Set PUBLIC_URL={settings.PUBLIC_URL} (the same address) to say so.",
                id="flipside.W001",
            )
        ]
    return [
        Error(
            "PUBLIC_URL is not set, so every absolute link (credentials, QR codes, e-mails) "
            f"would point at {settings.PUBLIC_URL}.",
            hint="Set PUBLIC_URL to the address people reach this site at, e.g. "
            "https://learn.example.edu.au",
            id="flipside.E001",
        )
    ]


@register(Tags.compatibility, deploy=True)
def check_rto_code(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    """An RTO must show its code on every certification it issues."""
    if getattr(settings, "PROVIDER_RTO_CODE", ""):
        return []
    return [
        Warning(
            "PROVIDER_RTO_CODE is not set: certificates and credential pages show no RTO code.",
            hint="Set PROVIDER_RTO_CODE to the provider's code on training.gov.au.",
            id="flipside.W003",
        )
    ]
