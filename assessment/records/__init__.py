"""Auditor records: everything about one learner's assessment in one unit, as auditors need it.

- `access`: who may read records, and how much (a grant's scope; delivery owns the rule).
- `selectors`: searching records, loading one or many, the outcomes CSV's rows.
- `pdf`, `pdf_assets`: the record as PDF (with its JSON attached) and the fonts it may load.
- `exports`: bulk exports, built by a Celery worker into one archive.
- `middleware`: auditors stay read-only, and each record they open is written to the trail.
- `forms`, `views`, `urls`: the search page, the record page and PDF, exports, outcomes CSV.

Other rooms read records through `selectors`.
"""
