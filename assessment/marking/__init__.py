"""Marking and outcomes: the assessor's side of an attempt.

- `selectors`: the marking queue and its counts, scoped to the assessor.
- `services`: claiming an attempt, judging it item by item with the assessor's declaration,
  the learner's unit progress, and recording the unit outcome (`unit_outcome_recorded` tells
  credentials, which listens; this app never imports it).
- `digests`: each assessor's e-mail of what arrived in their queue.
- `forms`, `views`, `urls`: the queue, the marking page, observations, the outcome page.

Other rooms use this one through `services` and `selectors`.
"""
