"""Signals other apps listen to. `credentials` connects to `unit_outcome_recorded` in its
AppConfig.ready(), so this app never imports it.

`unit_outcome_recorded` is sent after the outcome's transaction commits, with
`outcome_id` (the new Outcome's pk) as its only argument.
"""

from __future__ import annotations

from django.dispatch import Signal

unit_outcome_recorded = Signal()
