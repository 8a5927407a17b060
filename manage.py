#!/usr/bin/env python
from __future__ import annotations

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.core.management import execute_from_command_line

    from config.env import exit_on_env_error

    with exit_on_env_error():
        # Read the settings first: Django defers a settings error, so a command that does not
        # read them itself (makemigrations, migrate, shell) would fail later on an unrelated
        # "Models aren't loaded yet" instead of naming the variable.
        from django.conf import settings

        settings.INSTALLED_APPS  # noqa: B018
        execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
