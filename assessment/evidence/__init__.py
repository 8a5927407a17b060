"""Evidence: the files learners and assessors add to attempts.

- `services`: what a file really is (sniffing against an allow-list), storing it privately with
  its SHA-256, the evidence rules of an item, viewing copies of photos and videos, and the
  staging area of resumable (tus) uploads.
- `video`: pure reading and cleaning of ISO-BMFF media (no ORM, no storage).
- `retention`: the retention policy, legal holds and the purge of evidence past it.
- `views`, `urls`: the tus endpoint, the plain upload form, serving files and withdrawing them.

Other rooms use this one through `services`.
"""
