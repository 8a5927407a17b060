"""Signals credentials sends to the apps above it (which connect in their AppConfig.ready(),
so credentials never imports them)."""

from __future__ import annotations

from django.dispatch import Signal

# Sent after the transaction that issued a credential commits (unit, course and milestone
# credentials alike), with `credential`: the catalogue issues the milestones it reaches.
credential_issued = Signal()
