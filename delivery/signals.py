"""Signals delivery sends to the apps above it (which connect in their AppConfig.ready(), so
delivery never imports them)."""

from __future__ import annotations

from django.dispatch import Signal

# Sent by `seed_demo` inside its transaction, after delivery's own demo data, with `users`:
# the demo users by username.
demo_seeded = Signal()

# Sent after the transaction that enrolled a learner commits (`delivery.services.enrol_learner`
# and the enrolment flows), with `enrolment`: apps above record what follows from it (assessment
# credits units the learner already holds, so nothing is assessed twice).
learner_enrolled = Signal()
