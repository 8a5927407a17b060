"""Signals other apps listen to. `credentials` connects to `unit_outcome_recorded` in its
AppConfig.ready(), so this app never imports it.

`unit_outcome_recorded` is sent after the outcome's transaction commits, with
`outcome_id` (the new Outcome's pk) as its only argument.

`record_changed` is sent inside the transaction that changed what a record shows, with `key`
(the record's `RecordKey`) and `reason` ("outcome", "judgement", "evidence", "evidence_purged",
or "credential", sent by credentials when it issues or revokes the unit's credential). The
records room listens (`records/changes.py`, connected in `AssessmentConfig.ready`): it renders
the record's PDF in the background, or drops the stored PDFs of purged evidence, so the rooms
that change records need not import it.
"""

from __future__ import annotations

from django.dispatch import Signal

unit_outcome_recorded = Signal()
record_changed = Signal()
