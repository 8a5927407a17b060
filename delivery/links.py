"""Absolute URLs, from the one setting that says where people reach this deployment.

Links that leave the site (in e-mails, QR codes, LinkedIn, signed credentials) cannot be built
from the request: a background job has none, and a request's Host is whatever the client sent.
`settings.PUBLIC_URL` (scheme, host and port) is their single source.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings


def public_origin() -> str:
    """`scheme://host[:port]` of the deployment, without a trailing slash."""
    return str(settings.PUBLIC_URL).rstrip("/")


def public_host() -> str:
    """The host[:port] of `PUBLIC_URL`."""
    return urlsplit(public_origin()).netloc


def absolute_url(path: str) -> str:
    """`path` (as `reverse()` gives it, starting with /) on the public origin."""
    if not path.startswith("/"):
        raise ValueError(f"not an absolute path: {path!r}")
    return public_origin() + path
