"""Enrolment: signing up, the learner's Unique Student Identifier, places in intakes (at once,
by approval, from a waiting list), invitations and staff enrolment (one at a time or from a
CSV), withdrawal and transfer."""
