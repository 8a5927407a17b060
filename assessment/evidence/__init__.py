"""Evidence: the files learners and assessors add to attempts.

- `files`: what a file really is (sniffing against an allow-list), limits, names, SHA-256.
- `rules`: what a question asks for (kind of file, a video's length), read from its words.
- `previews`: viewing copies of photos (re-encoded) and of videos and recordings (`video`).
- `video`: pure reading and cleaning of ISO-BMFF media (no ORM, no storage).
- `services`: storing a file and its row with the audit event, withdrawing and moving files,
  and the staging area of resumable (tus) uploads; the room's door (see its `__all__`).
- `retention`: the retention policy, legal holds and the purge of evidence past it.
- `views`, `urls`: the tus endpoint, the plain upload form, serving files and withdrawing them.

Other rooms use this one through `services`.
"""
