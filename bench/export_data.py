"""The export benchmark's work, in a child process with the scratch environment.

`python -m bench.export_data build N` inserts N assessment records straight into the scratch
database (bulk inserts: a learner per five records, five units, one marked attempt per record
with three evidence files of random bytes behind a PDF header, 20 to 60 KB each, written into
the scratch storage; an outcome and one audit event per record). `python -m bench.export_data
export` runs the export job in this process and reports its time, its archive, and the process's
peak RSS (`resource.getrusage(RUSAGE_SELF).ru_maxrss`, the kernel's high-water mark) beside the
RSS just before the job. Each prints one JSON line that bench/export.py reads.

`python -m bench.export_data prerender` stores every record's PDF as a deployment has them:
rendered in the background after each record changed (here all at once, in parallel, by the
same code: `stored.render_missing`), before any export starts. `export AUDITOR cold` first
deletes every stored PDF, so the export renders them all (in parallel); it also reports the
peak RSS of the largest render process (`RUSAGE_CHILDREN`: its processes have ended by then).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import resource
import sys
import time
from typing import Any

UNITS = 5
FILES_PER_RECORD = 3
PDF_HEAD = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"


def _setup() -> None:
    import django

    django.setup()


def _rss_mib() -> float:
    """The resident set now, from /proc (Linux)."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def build(count: int) -> dict[str, Any]:
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.utils import timezone

    from assessment.audit.services import record_event
    from assessment.models import Attempt, Evidence, Item, Judgement, Outcome, Task
    from delivery.models import Cohort, Course, CourseUnit, Enrolment, Unit
    from delivery.roles import Role
    from delivery.services import grant_role

    rng = random.Random(7)
    users = get_user_model()
    now = timezone.now()
    learners_needed = -(-count // UNITS)
    media = settings.MEDIA_ROOT / "evidence" / "bench"
    media.mkdir(parents=True, exist_ok=True)
    written = 0
    with transaction.atomic():
        assessor = users.objects.create_user("bench-assessor", "asha@example.test", "x")
        grant_role(assessor, Role.ASSESSOR)
        auditor = users.objects.create_user("bench-auditor", "audrey@example.test", "x")
        grant_role(auditor, Role.AUDITOR)
        course = Course.objects.create(code="BSB30120", title="Certificate III in Business")
        cohort = Cohort.objects.create(course=course, name="Bench cohort", starts_on=now.date())
        units, tasks, items = [], [], {}
        for n in range(UNITS):
            unit = Unit.objects.create(code=f"BSBXPT{n:03d}", title=f"Work safely {n}")
            CourseUnit.objects.create(course=course, unit=unit, position=n)
            task = Task.objects.create(unit=unit, key="written", title="Written", kind="written")
            items[task.pk] = [
                Item.objects.create(
                    task=task, key=f"q{i}", position=i, kind="short_answer", prompt=f"Question {i}?"
                )
                for i in (1, 2)
            ]
            units.append(unit)
            tasks.append(task)
        learners = users.objects.bulk_create(
            users(
                username=f"bench-learner-{n}",
                email=f"learner{n}@example.test",
                first_name="Learner",
                last_name=f"Number{n:05d}",
                password="!",  # noqa: S106 - unusable
            )
            for n in range(learners_needed)
        )
        Enrolment.objects.bulk_create(Enrolment(learner=lr, cohort=cohort) for lr in learners)
        pairs = [(lr, i) for lr in learners for i in range(UNITS)][:count]
        attempts = Attempt.objects.bulk_create(
            Attempt(
                task=tasks[i],
                learner=learner,
                cohort=cohort,
                status="marked",
                result="S",
                submitted_at=now,
                declaration="I declare this is my own work.",
                marked_by=assessor,
                marked_at=now,
                feedback="Well done.",
                assessor_declaration="I assessed this fairly.",
                snapshot={
                    "task": {"version": 1},
                    "items": [
                        {
                            "key": item.key,
                            "kind": item.kind,
                            "prompt": item.prompt,
                            "answer": {"text": f"Answer of {learner.username} to {item.key}."},
                        }
                        for item in items[tasks[i].pk]
                    ],
                },
            )
            for learner, i in pairs
        )
        evidence, judgements = [], []
        for attempt in attempts:
            for item in items[attempt.task_id]:
                judgements.append(
                    Judgement(attempt=attempt, item=item, result="S", assessor=assessor)
                )
            for f in range(FILES_PER_RECORD):
                body = PDF_HEAD + os.urandom(rng.randint(20_000, 60_000))
                name = f"evidence/bench/{attempt.pk}-{f}.pdf"
                (settings.MEDIA_ROOT / name).write_bytes(body)
                written += len(body)
                evidence.append(
                    Evidence(
                        attempt=attempt,
                        file=name,
                        original_name=f"workplace-report-{f + 1}.pdf",
                        size=len(body),
                        sha256=hashlib.sha256(body).hexdigest(),
                        content_type="application/pdf",
                        uploaded_by=attempt.learner,
                    )
                )
        Evidence.objects.bulk_create(evidence, batch_size=1000)
        Judgement.objects.bulk_create(judgements, batch_size=1000)
        outcomes = Outcome.objects.bulk_create(
            Outcome(learner=learner, unit=units[i], cohort=cohort, code="20", recorded_by=assessor)
            for learner, i in pairs
        )
        for outcome, (learner, i) in zip(outcomes, pairs, strict=True):
            record_event(
                "outcome.recorded",
                outcome,
                actor=assessor,
                learner=learner,
                unit=units[i],
                data={"code": "20"},
            )
    return {
        "records": len(pairs),
        "files": len(evidence),
        "evidence_bytes": written,
        "evidence_dir": str(media),
        "auditor": auditor.pk,
    }


def prerender() -> dict[str, Any]:
    from assessment.records.access import RecordScope
    from assessment.records.selectors import RecordFilters, row_key, search_records
    from assessment.records.stored import render_missing, render_processes

    rows = search_records(RecordScope(everything=True), RecordFilters())
    keys = [row_key(row) for row in rows.iterator(chunk_size=2000)]
    started = time.perf_counter()
    counts = render_missing(keys)
    return {
        "seconds": time.perf_counter() - started,
        "processes": render_processes(),
        **counts,
    }


def export(auditor_id: int, cold: bool = False) -> dict[str, Any]:
    from django.contrib.auth import get_user_model

    from assessment.models import RecordExport, RecordPdf
    from assessment.records import exports
    from assessment.records.pdf import render_record_pdf
    from assessment.records.selectors import RecordFilters, load_record, search_records
    from assessment.records.stored import delete_stored_pdfs, render_processes
    from delivery.records import RecordKey

    if cold:
        rows = RecordPdf.objects.values_list("learner_id", "cohort_id", "unit_id")
        delete_stored_pdfs([RecordKey(*row) for row in rows])
    stored_before = RecordPdf.objects.count()
    auditor = get_user_model().objects.get(pk=auditor_id)
    # As a worker would be after its first job: modules imported, fonts and stylesheet loaded.
    scope = exports.record_scope(auditor)
    first = search_records(scope, RecordFilters()).first()
    assert first is not None  # noqa: S101 - a bench precondition
    render_record_pdf(load_record(exports.row_key(first)))
    made = RecordExport.objects.create(requested_by=auditor, filters=RecordFilters().as_json())
    rss_before = _rss_mib()
    started = time.perf_counter()
    status = exports.build_record_export(made.pk)
    seconds = time.perf_counter() - started
    made.refresh_from_db()
    if status != "done":
        sys.exit(f"the export ended {status}: {made.error}")
    return {
        "seconds": seconds,
        "records": made.done,
        "stored_before": stored_before,
        "processes": render_processes(),
        "archive_bytes": made.size,
        "rss_before_mib": rss_before,
        "peak_rss_mib": _peak_mib(),
        "pool_peak_rss_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }


if __name__ == "__main__":
    _setup()
    if sys.argv[1] == "build":
        result = build(int(sys.argv[2]))
    elif sys.argv[1] == "prerender":
        result = prerender()
    else:
        result = export(int(sys.argv[2]), cold=sys.argv[3:] == ["cold"])
    print(json.dumps(result))
