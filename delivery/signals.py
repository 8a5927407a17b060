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

# Sent inside the transaction that ends an enrolment early (`delivery.enrolment.services`:
# a withdrawal, or a transfer to another intake of the course), with `enrolment` (already
# saved with its status, `end_reason` and, for a transfer, `transferred_to`), `actor` (the
# staff member) and `action` ("enrolment.withdrawn" or "enrolment.transferred"). Receivers
# run in that transaction, so what they write (assessment's audit trail) commits with it.
enrolment_ended = Signal()
