"""Prepares the stock project in the scratch folder and signs a user in: run as
`python -m bench.stock.data` with DJANGO_SETTINGS_MODULE=bench.stock.settings; prints a JSON
line with its Cookie header."""

from __future__ import annotations

import json
from typing import Any


def build() -> dict[str, Any]:
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from bench.data import cookie_for

    call_command("migrate", "--no-input", verbosity=0)
    user = get_user_model().objects.create_user(
        "bench-floor", "floor@example.test", "x", first_name="Flo", last_name="Orr"
    )
    return {"cookie": cookie_for(user)}


if __name__ == "__main__":
    import django

    django.setup()
    print(json.dumps(build()))
