"""Signals delivery sends to the apps above it (which connect in their AppConfig.ready(), so
delivery never imports them)."""

from __future__ import annotations

from django.dispatch import Signal

# Sent by `seed_demo` inside its transaction, after delivery's own demo data, with `users`:
# the demo users by username.
demo_seeded = Signal()
