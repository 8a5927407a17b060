"""The audit trail: an append-only, hash-chained log of every change to assessment (and the
auditors' reads), checked by `manage.py verify_audit`.

- `services`: `record_event` (appends one link under a lock), `verify_chain`, and the chain's
  canonical form (`canonical_json`, `link_hash`, `GENESIS`) that records check against.

Every other room writes its events through `services.record_event`.
"""
