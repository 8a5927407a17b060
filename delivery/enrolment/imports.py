"""Staff enrol many learners from a CSV: every row is checked first, and the file is enrolled
whole or not at all.

Columns (a header row names them, in any order): `email` (required), `first_name`,
`last_name`, `usi` and `intake` (optional; when given, the intake's name or number, which must
be the intake being uploaded to). UTF-8, with or without a byte-order mark (what Excel writes
as "CSV UTF-8"). A file larger than ENROLMENT_CSV_MAX_BYTES or with more rows than
ENROLMENT_CSV_MAX_ROWS is refused before it is read.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from delivery.enrolment import services
from delivery.enrolment.selectors import places_left, with_places
from delivery.enrolment.usi import normalise_usi, validate_usi
from delivery.models import Cohort, Enrolment, LearnerProfile

COLUMNS = ("email", "first_name", "last_name", "usi", "intake")


@dataclass(frozen=True)
class Row:
    line: int
    email: str
    first_name: str
    last_name: str
    usi: str


@dataclass
class CsvCheck:
    """The outcome of checking a file: its rows, and every problem found (line 0: the file)."""

    rows: list[Row] = field(default_factory=list)
    problems: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and bool(self.rows)

    def refuse(self, line: int, reason: str) -> None:
        self.problems.append((line, reason))


def _decode(data: bytes, check: CsvCheck) -> str | None:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        check.refuse(
            line,
            "The file is not UTF-8 text. Save it as “CSV UTF-8” (in Excel: File, Save As, "
            "CSV UTF-8) and upload it again.",
        )
        return None


def check_csv(upload: Any, cohort: Cohort) -> CsvCheck:
    """Read and check every row of an uploaded file; change nothing."""
    check = CsvCheck()
    limit_rows = settings.ENROLMENT_CSV_MAX_ROWS
    if upload.size > settings.ENROLMENT_CSV_MAX_BYTES:
        limit = settings.ENROLMENT_CSV_MAX_BYTES // (1024 * 1024)
        check.refuse(
            0,
            f"The file is too large ({upload.size:,} bytes): upload at most {limit} MB and "
            f"{limit_rows:,} learners at a time.",
        )
        return check
    text = _decode(upload.read(settings.ENROLMENT_CSV_MAX_BYTES + 1), check)
    if text is None:
        return check
    if "\x00" in text:
        check.refuse(0, "The file is not a CSV: it holds binary data.")
        return check
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
    except csv.Error as error:
        check.refuse(1, f"The header row cannot be read: {error}.")
        return check
    if not header or not any(cell.strip() for cell in header):
        check.refuse(0, "The file is empty: it needs a header row (email, first_name, "
                     "last_name, usi) and a row per learner.")  # fmt: skip
        return check
    names = [cell.strip().lower().replace(" ", "_") for cell in header]
    unknown = [n for n in names if n not in COLUMNS]
    if unknown or "email" not in names or len(set(names)) != len(names):
        expected = ", ".join(COLUMNS)
        check.refuse(
            1,
            f"The header row must name the columns, each once, from: {expected} (email is "
            f"required); it has: {', '.join(header)}.",
        )
        return check
    seen: dict[str, int] = {}
    seen_usi: dict[str, int] = {}
    raw: list[tuple[int, dict[str, str]]] = []
    try:
        for values in reader:
            line = reader.line_num
            if not any(v.strip() for v in values):
                continue  # blank lines (a trailing one, from Excel) are nobody
            if len(raw) >= limit_rows:
                check.problems = [
                    (
                        0,
                        f"The file has more than {limit_rows:,} learners: split it into smaller "
                        "files.",
                    )
                ]
                check.rows = []
                return check
            if len(values) != len(names):
                check.refuse(line, f"It has {len(values)} cells; the header has {len(names)}.")
                continue
            raw.append((line, {n: v.strip() for n, v in zip(names, values, strict=True)}))
    except csv.Error as error:
        check.refuse(reader.line_num, f"This line cannot be read as CSV: {error}.")
        return check
    if not raw and not check.problems:
        check.refuse(0, "The file has a header but no learners.")
        return check
    for line, cells in raw:
        row = _check_row(line, cells, cohort, check, seen, seen_usi)
        if row is not None:
            check.rows.append(row)
    _check_against_database(check, cohort)
    if check.problems:
        check.problems.sort()
        check.rows = []
    return check


def _check_row(
    line: int,
    cells: dict[str, str],
    cohort: Cohort,
    check: CsvCheck,
    seen: dict[str, int],
    seen_usi: dict[str, int],
) -> Row | None:
    problems_before = len(check.problems)
    email = cells["email"].lower()
    try:
        validate_email(email)
    except ValidationError:
        check.refuse(line, f"“{cells['email']}” is not a valid e-mail address.")
    else:
        if email in seen:
            check.refuse(line, f"{email} is already on line {seen[email]}.")
        else:
            seen[email] = line
    usi = normalise_usi(cells.get("usi", ""))
    if usi:
        try:
            validate_usi(usi)
        except ValidationError as error:
            check.refuse(line, f"USI “{cells['usi']}”: {error.messages[0]}")
        else:
            if usi in seen_usi:
                check.refuse(line, f"The USI {usi} is already on line {seen_usi[usi]}.")
            else:
                seen_usi[usi] = line
    intake = cells.get("intake", "")
    if intake and intake not in {cohort.name, str(cohort.pk)}:
        check.refuse(
            line,
            f"Unknown intake “{intake}”: this file enrols learners in {cohort.name} only "
            "(leave the intake column empty, or name this intake).",
        )
    if len(check.problems) > problems_before:
        return None
    return Row(line, email, cells.get("first_name", ""), cells.get("last_name", ""), usi)


def _check_against_database(check: CsvCheck, cohort: Cohort) -> None:
    """What only the database knows, for every row in a few queries: who is enrolled already,
    whose USI is another's, and whether the intake has places for them all."""
    if not check.rows:
        return
    emails = [row.email for row in check.rows]
    enrolled = set(
        Enrolment.objects.filter(
            cohort=cohort, status=Enrolment.Status.ACTIVE, learner__email__in=emails
        ).values_list("learner__email", flat=True)
    )
    owners = dict(
        LearnerProfile.objects.filter(usi__in=[r.usi for r in check.rows if r.usi]).values_list(
            "usi", "user__email"
        )
    )
    on_record = dict(
        LearnerProfile.objects.filter(user__email__in=emails)
        .exclude(usi="")
        .values_list("user__email", "usi")
    )
    new = 0
    for row in check.rows:
        if row.email in enrolled:
            check.refuse(row.line, f"{row.email} is already enrolled in this intake.")
            continue
        new += 1
        owner = owners.get(row.usi)
        if row.usi and owner is not None and owner.lower() != row.email:
            check.refuse(row.line, f"The USI {row.usi} belongs to another learner here.")
        elif row.usi and on_record.get(row.email, row.usi) != row.usi:
            check.refuse(
                row.line, f"{row.email} already has another USI on record; leave the cell empty."
            )
    left = places_left(with_places(Cohort.objects.filter(pk=cohort.pk)).get())
    if left is not None and new > left:
        check.refuse(
            0,
            f"The file enrols {new} learners but {cohort.name} has {left} place"
            f"{'' if left == 1 else 's'} left.",
        )


@dataclass(frozen=True)
class CsvResult:
    enrolled: int
    created: int  # accounts made now, each e-mailed an invitation to set a password


@transaction.atomic
def enrol_csv(cohort: Cohort, rows: list[Row], *, by: Any) -> CsvResult:
    """Enrol every row (checked by `check_csv`) in one transaction: all or none. Unknown
    e-mails get an account, inactive until its owner sets a password through the invitation
    e-mailed to them. The intake's places are checked again under its lock."""
    cohort = services._lock(cohort)
    left = places_left(cohort)
    if left is not None and len(rows) > left:
        raise ValidationError(f"{cohort.name} has {left} places left; nothing was enrolled.")
    User = get_user_model()
    existing = {  # an active account wins over an inactive one of the same address
        user.email.lower(): user
        for user in User.objects.filter(email__in=[r.email for r in rows]).order_by(
            "is_active", "-pk"
        )
    }
    created = 0
    for row in rows:
        found = existing.get(row.email)
        fresh = found is None
        if found is not None:
            user = found
        else:
            user = User(
                username=services._username_for(row.email),
                email=row.email,
                first_name=row.first_name,
                last_name=row.last_name,
                is_active=False,
            )
            user.set_unusable_password()
            user.save()
            created += 1
        if row.usi:
            services._set_usi(user, row.usi)
        services._enrol(user, cohort)
        if fresh or not user.is_active:
            services._invite(cohort, row.email, by, new_account=True)
    return CsvResult(enrolled=len(rows), created=created)
