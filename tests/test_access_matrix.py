"""Every URL pattern, as every persona, on its own cohort's objects and on another cohort's.

The patterns come from the URL resolver (`django.urls.get_resolver()`, walked recursively),
never from a hand list: a pattern added without a row in `ROWS` fails
`test_every_url_pattern_has_a_row` and its own case of `test_the_url_answers_as_its_row_says`.

The world (built once per module, in a transaction rolled back at the end; each test runs in
a savepoint inside it; PDFs rendered by a stand-in, as who gets them is the question here) is
two cohorts, A and B, each of another course, each with its trainer,
assessor and learner and everything they make: a marked attempt with a photo, a draft with a
file and a resumable upload in progress, an RPL outcome with its document, a credential and its
expiry reminder, a live session, an announcement, a third-party report link. Eleven personas:
anonymous; learner A and learner B; trainer and assessor of each cohort; an auditor whose grant
covers cohort A; an auditor with no grant (the provider's own compliance officer, who reads
everything); an auditor whose grant of cohort A ended yesterday; an administrator.

A row asks its URL of side A's objects and again of side B's (for a pattern that takes no
object, once). Its expectations are written per RELATION of the persona to the objects asked
about, so one row states both directions: learner A is the `learner` of side A's objects and
`learner_other` of side B's; the grant-scoped auditor is `auditor` on side A and
`auditor_outside` on side B. Relations (RELATIONS): anon, learner, learner_other, trainer,
trainer_other, assessor, assessor_other, auditor, auditor_outside, auditor_all (no grant),
auditor_ended, admin.

Adding a row (a new URL name `app:name`) is one entry in ROWS:

    "app:name": Row(
        {200: "trainer assessor auditor auditor_all admin", 403: "learner", 404: REST},
        kwargs=lambda s: {"pk": s.session.pk},   # s: the side (see `Side`); omit if none
        probe=Probe(allowed="trainer admin"),    # a POST that changes state; see `Probe`
    ),

`expect` maps each status to the relations (space-separated) that get it; REST is every
relation not named; `anon` gets 302 (to the sign-in page) unless named. The house rule: what a
persona may not know exists answers 404, what they may see but not do answers 403. An auditor
reads only what their grant covers (`delivery.permissions.auditor_scope`): outside it, or
once it has ended, an object is 404; the records and export pages answer an ended grant 403.

A state-changing view gets a `Probe`: it is POSTed by every relation not `allowed` to change
anything, on both sides, and must answer below 500, not 2xx, and change no row in the
database. If the view needs an object the world lacks, add it to `Side` and make it in
`_side`. A pattern with no object to name is asked once (omit `kwargs`); one whose object is
not a cohort's (an export: its requester's) sets `foreign=False`.

Admin patterns (`admin:*`) follow one rule without rows: every persona but the administrator is
sent to the sign-in page; the administrator gets in (no error, no sign-in page). A row for an
admin name overrides the rule.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from django.apps import apps
from django.contrib import admin as django_admin
from django.core.files.base import ContentFile
from django.db import transaction
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, include, path, reverse
from django.urls.resolvers import RegexPattern
from django.utils import timezone

from assessment import services as assessment_services
from assessment.evidence.services import add_evidence, start_upload
from assessment.marking import services as marking
from assessment.models import Item, OutcomeDocument, Task
from assessment.records.exports import build_record_export, start_record_export
from assessment.records.selectors import RecordFilters
from assessment.third_party.services import request_third_party_report
from credentials.models import ExpiryReminder
from credentials.services import (
    ensure_certificate,
    issue_learner_record,
    issue_unit_credential,
)
from delivery.models import (
    Announcement,
    AuditorGrant,
    EnrolmentRequest,
    Resource,
    WaitingListEntry,
)
from delivery.roles import Role
from delivery.services import enrol_learner
from tests.assessment.conftest import PDF, assess
from tests.factories import (
    CohortFactory,
    ItemFactory,
    ModuleFactory,
    ResourceFactory,
    TaskFactory,
    UserFactory,
    assessable_unit,
)
from tests.live.factories import LiveSessionFactory

REST = "rest"
RELATIONS = (
    "anon",
    "learner",
    "learner_other",
    "trainer",
    "trainer_other",
    "assessor",
    "assessor_other",
    "auditor",
    "auditor_outside",
    "auditor_all",
    "auditor_ended",
    "admin",
)
# Who the eleven personas are to side A's objects and to side B's.
PERSONAS: dict[str, tuple[str, str]] = {
    "anonymous": ("anon", "anon"),
    "learner_a": ("learner", "learner_other"),
    "learner_b": ("learner_other", "learner"),
    "trainer_a": ("trainer", "trainer_other"),
    "trainer_b": ("trainer_other", "trainer"),
    "assessor_a": ("assessor", "assessor_other"),
    "assessor_b": ("assessor_other", "assessor"),
    "auditor_scoped": ("auditor", "auditor_outside"),
    "auditor_all": ("auditor_all", "auditor_all"),
    "auditor_ended": ("auditor_ended", "auditor_ended"),
    "admin": ("admin", "admin"),
}

# Relations that often answer alike.
SIGNED_IN = " ".join(r for r in RELATIONS if r != "anon")
EVERYONE = " ".join(RELATIONS)
COHORT_STAFF = "trainer assessor auditor auditor_all admin"  # read a cohort's staff pages
SEES_ATTEMPT = "learner " + COHORT_STAFF
RECORD_READERS = "auditor auditor_all admin"  # within their grant
CREDENTIAL_READERS = "learner auditor auditor_all admin"


@dataclass
class Side:
    """One cohort and everything in it that a URL can name."""

    cohort: Any
    learner: Any
    trainer: Any
    assessor: Any
    unit: Any
    task: Any
    attempt: Any  # submitted and marked Satisfactory
    photo: Any  # evidence of `attempt`, with its viewing copy and thumbnail
    draft: Any  # the learner's draft of a second task
    draft_file: Any  # evidence in `draft`
    upload_id: str  # a resumable upload in progress into `draft`
    observation: Any  # an observation task of the unit
    third_party_task: Any
    report_token: str
    document: Any  # the RPL outcome's document
    credential: Any
    reminder: Any
    resource: Any  # with a file and captions
    announcement: Any
    session: Any  # running now
    export: Any = None  # the grant-scoped auditor's export of their records (cohort A's)
    # Enrolment (issue 16): the learner's pending request, and a place offered to them, in
    # the cohort; the learner's enrolment in it.
    place_request: Any = None
    offer: Any = None
    enrolment: Any = None
    learner_record: Any = None  # the learner's signed CLR (credentials.LearnerRecord)
    pathway: Any = None  # published, one step (the unit) with a milestone
    playlist_item: Any = None  # the learner's saved course (the cohort's)


@dataclass(frozen=True)
class Probe:
    """A POST (or `method`) that would change state: sent by every relation not `allowed`."""

    allowed: str = ""
    data: Callable[[Side], dict[str, Any]] = lambda s: {}
    method: str = "POST"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Row:
    expect: dict[int, str]
    kwargs: Callable[[Side], dict[str, Any]] | None = None
    method: str = "GET"
    headers: dict[str, str] = field(default_factory=dict)
    probe: Probe | None = None
    foreign: bool = True  # asked of side B's objects too (with `kwargs`)

    def statuses(self) -> dict[str, int]:
        """The status each relation gets."""
        named: dict[str, int] = {}
        rest: int | None = None
        for status, relations in self.expect.items():
            if relations == REST:
                assert rest is None, "REST given twice"
                rest = status
                continue
            for relation in relations.split():
                assert relation in RELATIONS, f"unknown relation {relation!r}"
                assert relation not in named, f"{relation} given twice"
                named[relation] = status
        named.setdefault("anon", 302)
        missing = [r for r in RELATIONS if r not in named]
        assert rest is not None or not missing, f"no status for {missing}: add REST"
        return {r: named.get(r, rest or 0) for r in RELATIONS}


TUS = {"Tus-Resumable": "1.0.0"}


def cohort_id(s: Side) -> dict[str, Any]:
    return {"cohort_id": s.cohort.pk}


def attempt_pk(s: Side) -> dict[str, Any]:
    return {"pk": s.attempt.pk}


def draft_pk(s: Side) -> dict[str, Any]:
    return {"pk": s.draft.pk}


def credential_id(s: Side) -> dict[str, Any]:
    return {"public_id": s.credential.public_id}


def session_pk(s: Side) -> dict[str, Any]:
    return {"pk": s.session.pk}


def resource_pk(s: Side) -> dict[str, Any]:
    return {"pk": s.resource.pk}


def record(s: Side) -> dict[str, Any]:
    return {"cohort_id": s.cohort.pk, "learner_id": s.learner.pk, "unit_id": s.unit.pk}


def export_id(s: Side) -> dict[str, Any]:
    return {"public_id": s.export.public_id}


PUBLIC = Row({200: EVERYONE})
SIGNED_IN_PAGE = Row({200: SIGNED_IN})
LEARNER_POST = {302: "anon", 403: REST, 405: "learner learner_other"}
STAFF_PAGE = {200: COHORT_STAFF, 403: "learner", 404: REST}
ATTEMPT_PAGE = {200: SEES_ATTEMPT, 404: REST}
RECORDS_PAGE = {200: RECORD_READERS, 403: REST}
RECORD = {200: RECORD_READERS, 404: "auditor_outside", 403: REST}
DOWNLOAD = {200: CREDENTIAL_READERS, 404: REST}
PEOPLE = "trainer admin"  # manage an intake's people (delivery.enrolment.permissions)
PEOPLE_PAGE = {200: PEOPLE, 403: "learner assessor auditor auditor_all", 404: REST}

ROWS: dict[str, Row] = {
    # --- site and accounts
    "home": Row({302: EVERYONE}),
    "healthz": PUBLIC,
    "favicon": Row({302: EVERYONE}),  # to the static icon
    "login": PUBLIC,
    "logout": Row({405: EVERYONE}),  # sign-out is a POST
    "password_reset": PUBLIC,
    "password_reset_done": PUBLIC,
    "password_reset_confirm": Row(
        {200: EVERYONE}, kwargs=lambda s: {"uidb64": "MQ", "token": "not-a-token"}
    ),
    "password_reset_complete": PUBLIC,
    "password_change": SIGNED_IN_PAGE,
    "password_change_done": SIGNED_IN_PAGE,
    "admin/login/": Row({302: EVERYONE}),  # one sign-in page for everyone
    "admin:login": Row({302: EVERYONE}),
    # Signed-in or not, the admin's sign-out sends a non-administrator to the admin's index.
    "admin:logout": Row({405: "admin", 302: REST}),
    # --- credentials: public
    "credentials:did_json": PUBLIC,
    "credentials:verify": PUBLIC,
    "credentials:status_list": Row(
        {200: EVERYONE}, kwargs=lambda s: {"pk": s.credential.status_list_id}
    ),
    "credentials:id": Row({302: EVERYONE}, kwargs=credential_id),
    "credentials:json": Row({200: EVERYONE}, kwargs=credential_id),
    "credentials:page": Row({200: EVERYONE}, kwargs=credential_id),
    "credentials:image": Row({200: EVERYONE}, kwargs=credential_id),
    "credentials:achievement": Row(
        {200: EVERYONE}, kwargs=lambda s: {"public_id": s.credential.achievement.public_id}
    ),
    "credentials:achievement_image": Row(
        {200: EVERYONE}, kwargs=lambda s: {"public_id": s.credential.achievement.public_id}
    ),
    # --- credentials: the learner's, auditors' (within their grant) and administrators'
    "credentials:wallet": SIGNED_IN_PAGE,
    "credentials:certificate": Row(DOWNLOAD, kwargs=credential_id),
    "credentials:badge": Row(
        DOWNLOAD, kwargs=lambda s: {"public_id": s.credential.public_id, "fmt": "png"}
    ),
    "credentials:dismiss": Row(
        {302: "anon", 405: REST},
        kwargs=lambda s: {"pk": s.reminder.pk},
        probe=Probe(allowed="learner"),
    ),
    "credentials:manage": Row({200: "admin", 403: REST}),
    "credentials:revoke": Row(
        {200: "admin", 403: REST},
        kwargs=credential_id,
        probe=Probe(allowed="admin", data=lambda s: {"reason": "Issued in error."}),
    ),
    "credentials:rerender": Row(
        {405: "admin", 403: REST}, kwargs=credential_id, probe=Probe(allowed="admin")
    ),
    # --- credentials: the learner's record, stacking (issue 16)
    # Each signed-in person's own record (there is no other learner's to name: staff read
    # records through the records pages); the CLR at its id URL is public by its unguessable
    # link, as each credential's JSON is.
    "credentials:record": SIGNED_IN_PAGE,
    "credentials:record_pdf": SIGNED_IN_PAGE,
    "credentials:record_clr": Row(
        {302: "anon", 405: REST},
        probe=Probe(allowed=" ".join(r for r in RELATIONS if r != "anon")),
    ),
    "credentials:clr": Row(
        {200: EVERYONE}, kwargs=lambda s: {"public_id": s.learner_record.public_id}
    ),
    # --- delivery: the learner's
    "delivery:dashboard": Row({200: "learner learner_other", 403: REST}),
    "delivery:course": Row({200: "learner", 404: "learner_other", 403: REST}, kwargs=cohort_id),
    "delivery:resource": Row({200: SEES_ATTEMPT, 404: REST}, kwargs=resource_pk),
    "delivery:resource_file": Row({200: SEES_ATTEMPT, 404: REST}, kwargs=resource_pk),
    "delivery:resource_captions": Row({200: SEES_ATTEMPT, 404: REST}, kwargs=resource_pk),
    "delivery:resource_done": Row(
        LEARNER_POST,
        kwargs=resource_pk,
        probe=Probe(allowed="learner", data=lambda s: {"done": "on"}),
    ),
    "delivery:resource_position": Row(
        LEARNER_POST,
        kwargs=resource_pk,
        probe=Probe(allowed="learner", data=lambda s: {"position": 30, "duration": 60}),
    ),
    "delivery:announcement_read": Row(
        LEARNER_POST,
        kwargs=lambda s: {"pk": s.announcement.pk},
        probe=Probe(allowed="learner"),
    ),
    # --- delivery: staff
    "delivery:cohort_progress": Row(STAFF_PAGE, kwargs=cohort_id),
    "delivery:cohort_progress_csv": Row(STAFF_PAGE, kwargs=cohort_id),
    "delivery:announcement_new": Row(
        {200: "trainer", 404: "trainer_other", 403: REST},
        kwargs=cohort_id,
        probe=Probe(allowed="trainer", data=lambda s: {"title": "Hello", "body": "Text."}),
    ),
    # --- delivery: sign-up and enrolment (issue 16)
    # Visitors: a signed-in user is sent on from the sign-up page; links with a bad token
    # are refused with words (400) to everyone, and change nothing.
    "signup": Row({200: "anon", 302: REST}),
    "signup_sent": PUBLIC,
    "signup_confirm": Row(
        {200: EVERYONE}, kwargs=lambda s: {"uidb64": "MQ", "token": "not-a-token"}, probe=Probe()
    ),
    "invitation": Row({400: EVERYONE}, kwargs=lambda s: {"token": "not-a-token"}, probe=Probe()),
    # The learner's own places: anyone signed in asks for a place in a listed intake (the
    # world's cohorts are not listed: 404); requests and offers are their learner's alone.
    "delivery:enrol": Row({405: REST}, kwargs=cohort_id, probe=Probe()),
    "delivery:my_enrolments": SIGNED_IN_PAGE,
    "delivery:my_details": Row(
        {200: SIGNED_IN}, probe=Probe(allowed=SIGNED_IN, data=lambda s: {"usi": "bad"})
    ),
    "delivery:request_cancel": Row(
        {405: REST}, kwargs=lambda s: {"pk": s.place_request.pk}, probe=Probe(allowed="learner")
    ),
    "delivery:offer_accept": Row(
        {405: REST}, kwargs=lambda s: {"pk": s.offer.pk}, probe=Probe(allowed="learner")
    ),
    "delivery:offer_decline": Row(
        {405: REST}, kwargs=lambda s: {"pk": s.offer.pk}, probe=Probe(allowed="learner")
    ),
    "delivery:waiting_leave": Row(
        {405: REST}, kwargs=lambda s: {"pk": s.offer.pk}, probe=Probe(allowed="learner " + PEOPLE)
    ),
    # An intake's people: administrators, and the intake's own trainers.
    "delivery:cohort_people": Row(PEOPLE_PAGE, kwargs=cohort_id),
    "delivery:cohort_enrol_one": Row(
        {405: REST},
        kwargs=cohort_id,
        probe=Probe(allowed=PEOPLE, data=lambda s: {"email": "new.person@example.test"}),
    ),
    "delivery:cohort_enrol_csv": Row(
        PEOPLE_PAGE,
        kwargs=cohort_id,
        probe=Probe(
            allowed=PEOPLE,
            data=lambda s: {"file": ContentFile(b"email\nnew@example.test\n", name="l.csv")},
        ),
    ),
    "delivery:request_decide": Row(
        {405: REST},
        kwargs=lambda s: {"pk": s.place_request.pk},
        probe=Probe(allowed=PEOPLE, data=lambda s: {"decision": "decline", "reason": "Full."}),
    ),
    "delivery:enrolment_withdraw": Row(
        PEOPLE_PAGE,
        kwargs=lambda s: {"pk": s.enrolment.pk},
        probe=Probe(allowed=PEOPLE, data=lambda s: {"reason": "Probe."}),
    ),
    "delivery:enrolment_transfer": Row(
        PEOPLE_PAGE,
        kwargs=lambda s: {"pk": s.enrolment.pk},
        probe=Probe(allowed=PEOPLE, data=lambda s: {"reason": "Probe.", "to": s.cohort.pk}),
    ),
    # --- assessment: the learner's
    "assessment:learner_tasks": Row(
        {200: "learner", 404: "learner_other", 403: REST}, kwargs=cohort_id
    ),
    "assessment:task": Row(
        {200: "learner", 404: "learner_other", 403: REST},
        kwargs=lambda s: {"cohort_id": s.cohort.pk, "task_id": s.task.pk},
        probe=Probe(allowed="learner"),
    ),
    "assessment:attempt": Row(ATTEMPT_PAGE, kwargs=attempt_pk),
    "assessment:save_draft": Row(
        LEARNER_POST,
        kwargs=draft_pk,
        probe=Probe(allowed="learner", data=lambda s: {"answer-q1": "Changed."}),
    ),
    "assessment:submit": Row(
        LEARNER_POST,
        kwargs=draft_pk,
        probe=Probe(allowed="learner", data=lambda s: {"declared": "on", "answer-q1": "x"}),
    ),
    "assessment:third_party_request": Row(
        LEARNER_POST,
        kwargs=lambda s: {"cohort_id": s.cohort.pk, "task_id": s.third_party_task.pk},
        probe=Probe(allowed="learner", data=lambda s: {"supervisor_email": "m@work.example"}),
    ),
    "assessment:third_party_report": Row(
        {200: EVERYONE},  # the link is the supervisor's key
        kwargs=lambda s: {"token": s.report_token},
    ),
    # --- assessment: evidence
    "assessment:evidence": Row(ATTEMPT_PAGE, kwargs=lambda s: {"evidence_id": s.photo.pk}),
    "assessment:evidence_preview": Row(ATTEMPT_PAGE, kwargs=lambda s: {"evidence_id": s.photo.pk}),
    # The page around one evidence file (its viewing copy, facts, download, the way back).
    "assessment:evidence_page": Row(ATTEMPT_PAGE, kwargs=lambda s: {"evidence_id": s.photo.pk}),
    "assessment:evidence_thumbnail": Row(
        ATTEMPT_PAGE, kwargs=lambda s: {"evidence_id": s.photo.pk}
    ),
    "assessment:attempt_evidence": Row(ATTEMPT_PAGE, kwargs=draft_pk),
    "assessment:evidence_change": Row(
        {302: "anon", 405: REST},
        kwargs=lambda s: {"evidence_id": s.draft_file.pk},
        probe=Probe(allowed="learner", data=lambda s: {"remove": "1"}),
    ),
    "assessment:evidence_list": Row(ATTEMPT_PAGE, kwargs=lambda s: {"attempt_id": s.draft.pk}),
    "assessment:evidence_withdraw": Row(
        {302: "anon", 405: REST},
        kwargs=lambda s: {"evidence_id": s.draft_file.pk},
        probe=Probe(allowed="learner"),
    ),
    "assessment:evidence_upload_create": Row(
        {405: EVERYONE},
        kwargs=lambda s: {"attempt_id": s.draft.pk},
        probe=Probe(allowed="learner", headers={**TUS, "Upload-Length": "10"}),
    ),
    "assessment:evidence_upload_form": Row(
        {405: EVERYONE},
        kwargs=lambda s: {"attempt_id": s.draft.pk},
        probe=Probe(
            allowed="learner",
            data=lambda s: {"file": ContentFile(PDF, name="more.pdf")},
        ),
    ),
    "assessment:evidence_upload": Row(
        {200: "learner", 403: "anon", 404: REST},
        kwargs=lambda s: {"upload_id": s.upload_id},
        method="HEAD",
        headers=TUS,
        probe=Probe(allowed="learner", method="DELETE", headers=TUS),
    ),
    # --- assessment: assessors
    "assessment:queue": Row({200: "assessor assessor_other admin", 403: REST}),
    "assessment:mark": Row(
        {200: "assessor admin", 404: "assessor_other", 403: REST},
        kwargs=attempt_pk,
        probe=Probe(
            allowed="assessor admin",
            data=lambda s: {"result-q1": "NS", "comment-q1": "No.", "declared": "on"},
        ),
    ),
    # "Start marking": a POST only; the attempt here is marked, so even an allowed claim
    # changes nothing (refused with a message).
    "assessment:claim": Row(
        {405: "assessor assessor_other admin", 403: REST},
        kwargs=attempt_pk,
        probe=Probe(allowed="assessor admin"),
    ),
    "assessment:outcome": Row(
        {200: "assessor admin", 404: "assessor_other", 403: REST},
        kwargs=record,
        probe=Probe(
            allowed="assessor admin",
            data=lambda s: {"code": "30", "justification": "Probe."},
        ),
    ),
    "assessment:observe": Row(
        {405: "assessor assessor_other admin", 403: REST},
        kwargs=lambda s: {
            "cohort_id": s.cohort.pk,
            "learner_id": s.learner.pk,
            "task_id": s.observation.pk,
        },
        probe=Probe(allowed="assessor admin"),
    ),
    "assessment:mapping": Row(
        STAFF_PAGE, kwargs=lambda s: {"cohort_id": s.cohort.pk, "unit_id": s.unit.pk}
    ),
    "assessment:outcome_document": Row(
        {200: SEES_ATTEMPT, 404: REST}, kwargs=lambda s: {"pk": s.document.pk}
    ),
    # --- assessment: auditors' records (their grant decides; an ended grant is refused)
    "assessment:audit_search": Row(RECORDS_PAGE),
    "assessment:outcomes_csv": Row(RECORDS_PAGE),
    "assessment:export_start": Row(RECORDS_PAGE, probe=Probe(allowed=RECORD_READERS)),
    # The export is the grant-scoped auditor's: theirs, and an administrator's to see.
    "assessment:export": Row(
        {200: "auditor admin", 404: "auditor_all", 403: REST}, kwargs=export_id, foreign=False
    ),
    "assessment:export_download": Row(
        {200: "auditor admin", 404: "auditor_all", 403: REST}, kwargs=export_id, foreign=False
    ),
    "assessment:record": Row(RECORD, kwargs=record),
    "assessment:record_pdf": Row(RECORD, kwargs=record),
    # --- live
    "live:sessions": Row({200: "trainer trainer_other", 403: REST}),
    "live:records": Row(
        {
            200: "trainer trainer_other assessor assessor_other auditor auditor_all "
            "auditor_ended admin",
            403: REST,
        }
    ),
    "live:session_new": Row(
        {200: "trainer", 404: "trainer_other", 403: REST},
        kwargs=cohort_id,
        probe=Probe(allowed="trainer", data=lambda s: _session_form(s)),
    ),
    "live:session": Row(ATTEMPT_PAGE, kwargs=session_pk),
    "live:session_edit": Row(
        {200: "trainer admin", 404: "trainer_other", 403: REST},
        kwargs=session_pk,
        probe=Probe(allowed="trainer admin", data=lambda s: _session_form(s)),
    ),
    "live:session_end": Row(
        {200: "trainer admin", 404: "trainer_other", 403: REST},
        kwargs=session_pk,
        probe=Probe(allowed="trainer admin"),
    ),
    "live:room": Row(
        {200: "learner trainer", 403: "assessor auditor auditor_all admin", 404: REST},
        kwargs=session_pk,
    ),
    "live:attendance": Row(STAFF_PAGE, kwargs=session_pk),
    "live:attendance_csv": Row(STAFF_PAGE, kwargs=session_pk),
    # --- catalogue: the public catalogue, pathways, playlists (issue 16)
    "catalogue:index": PUBLIC,
    # The world's courses are not published: only an administrator previews them.
    # The world's courses are published (`_catalogue_side`), so everyone reads their page;
    # an unpublished course's 404 for all but administrators: tests/catalogue/test_browse.py.
    "catalogue:course": Row({200: EVERYONE}, kwargs=lambda s: {"code": s.cohort.course.code}),
    "catalogue:pathways": PUBLIC,
    "catalogue:pathway": Row({200: EVERYONE}, kwargs=lambda s: {"key": s.pathway.key}),
    "catalogue:pathway_goal": Row(
        LEARNER_POST,
        kwargs=lambda s: {"key": s.pathway.key},
        probe=Probe(allowed="learner learner_other"),
    ),
    "catalogue:pathway_manage": Row({200: "admin", 403: REST}),
    "catalogue:pathway_new": Row(
        {200: "admin", 403: REST},
        probe=Probe(
            allowed="admin",
            data=lambda s: {"key": "probe", "title": "Probe", "goal_code": s.unit.code},
        ),
    ),
    "catalogue:pathway_edit": Row(
        {200: "admin", 403: REST},
        kwargs=lambda s: {"key": s.pathway.key},
        probe=Probe(allowed="admin", data=lambda s: {"title": "Probe", "goal_code": s.unit.code}),
    ),
    "catalogue:pathway_publish": Row(
        {405: "admin", 403: REST},
        kwargs=lambda s: {"key": s.pathway.key},
        probe=Probe(allowed="admin", data=lambda s: {"published": "0"}),
    ),
    "catalogue:pathway_step_new": Row(
        {200: "admin", 403: REST},
        kwargs=lambda s: {"key": s.pathway.key},
        probe=Probe(allowed="admin", data=lambda s: _step_form(s, "probe")),
    ),
    "catalogue:pathway_step_edit": Row(
        {200: "admin", 403: REST},
        kwargs=lambda s: {"key": s.pathway.key, "step_key": "unit"},
        probe=Probe(allowed="admin", data=lambda s: _step_form(s, "unit")),
    ),
    "catalogue:pathway_step_delete": Row(
        {405: "admin", 403: REST},
        kwargs=lambda s: {"key": s.pathway.key, "step_key": "unit"},
        probe=Probe(allowed="admin"),
    ),
    "catalogue:playlist": Row({200: "learner learner_other", 403: REST}),
    "catalogue:playlist_save": Row(
        LEARNER_POST,
        kwargs=lambda s: {"course_id": s.cohort.course.pk},
        probe=Probe(allowed="learner learner_other"),
    ),
    # Someone else's item: 404 (the Probe: learner_other's POST changes nothing).
    "catalogue:playlist_move": Row(
        LEARNER_POST,
        kwargs=lambda s: {"pk": s.playlist_item.pk},
        probe=Probe(allowed="learner", data=lambda s: {"direction": "down"}),
    ),
    "catalogue:playlist_remove": Row(
        LEARNER_POST,
        kwargs=lambda s: {"pk": s.playlist_item.pk},
        probe=Probe(allowed="learner"),
    ),
}


def _session_form(side: Side) -> dict[str, Any]:
    starts = timezone.localtime() + timedelta(days=2)
    return {
        "title": "Probe",
        "starts_at": starts.strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (starts + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        "meeting_url": "https://meet.example.test/probe",
        "trainers": [side.trainer.pk],
    }


def _catalogue_side(side: Side) -> None:
    """A published pathway of the side's unit (with a milestone) and the learner's playlist
    item for the side's course, which is published."""
    from catalogue.models import Pathway, PathwayStep, PlaylistItem
    from credentials.models import Achievement
    from credentials.services import achievement_for_unit

    course = side.cohort.course
    course.published = True
    course.save(update_fields=["published"])
    unit = achievement_for_unit(side.unit)
    side.pathway = Pathway.objects.create(
        key=f"pathway-{side.cohort.pk}", title=f"Pathway {side.cohort.pk}", goal=unit,
        published=True,
    )  # fmt: skip
    milestone = Achievement.objects.create(name="Milestone", human_code=f"M-{side.cohort.pk}")
    step = PathwayStep.objects.create(
        pathway=side.pathway, key="unit", title="The unit", position=1, milestone=milestone
    )
    step.achievements.set([unit])
    side.playlist_item = PlaylistItem.objects.create(learner=side.learner, course=course)


def _step_form(side: Side, key: str) -> dict[str, Any]:
    return {"key": key, "title": "Probe", "requirement": "required", "codes": side.unit.code}


# --- the URL patterns, from the resolver ---------------------------------------------------


@dataclass(frozen=True)
class Pattern:
    key: str  # the URL name with its namespace, or the route of an unnamed pattern
    route: str
    name: str | None


def url_patterns(root: URLResolver | None = None) -> list[Pattern]:
    """Every pattern the site answers, walked from the root resolver."""
    found: dict[str, Pattern] = {}

    def walk(resolver: URLResolver, prefix: str, namespace: str | None) -> None:
        for entry in resolver.url_patterns:
            if isinstance(entry, URLResolver):
                inner = namespace
                if entry.namespace:
                    inner = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
                walk(entry, prefix + str(entry.pattern), inner)
            elif isinstance(entry, URLPattern):
                route = prefix + str(entry.pattern)
                name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name
                key = name or route
                found.setdefault(key, Pattern(key, route, name))

    walk(root or get_resolver(), "", None)
    return sorted(found.values(), key=lambda p: p.key)


PATTERNS = url_patterns()


def is_admin(pattern: Pattern) -> bool:
    return pattern.key.startswith("admin:") or pattern.route.startswith("admin/")


def uncovered(patterns: list[Pattern]) -> list[str]:
    return [p.key for p in patterns if p.key not in ROWS and not is_admin(p)]


def test_every_url_pattern_has_a_row() -> None:
    missing = uncovered(PATTERNS)
    assert not missing, (
        f"URL patterns the access matrix does not cover: {missing}. Add a row for each to "
        "ROWS in tests/test_access_matrix.py: who may open it, on its own and on another "
        "cohort's objects (see the module's docstring)."
    )
    stale = sorted(set(ROWS) - {p.key for p in PATTERNS})
    assert not stale, f"Rows for URL names the site no longer has: {stale}"


def test_a_pattern_added_anywhere_without_a_row_is_found() -> None:
    def view(request: Any) -> Any:
        raise AssertionError("never called")

    site = URLResolver(
        RegexPattern(r"^/"),
        [
            path("", include("config.urls")),
            path("learn/new/<int:pk>/", view, name="brand_new"),
            path("deep/", include(([path("er/<str:token>", view, name="deeper")], "newapp"))),
            path("unnamed/", view),
        ],
    )
    assert uncovered(url_patterns(site)) == ["brand_new", "newapp:deeper", "unnamed/"]


@pytest.mark.parametrize("key", sorted(ROWS))
def test_each_row_gives_every_relation_one_status(key: str) -> None:
    assert set(ROWS[key].statuses()) == set(RELATIONS)


# --- the world ------------------------------------------------------------------------------


@dataclass
class World:
    a: Side
    b: Side
    clients: dict[str, Client]  # by persona, signed in


def _side(name: str) -> Side:
    trainer = UserFactory(username=f"trainer_{name}", roles=[Role.TRAINER])
    assessor = UserFactory(username=f"assessor_{name}", roles=[Role.ASSESSOR])
    learner = UserFactory(username=f"learner_{name}", roles=[Role.LEARNER])
    cohort = CohortFactory(trainers=[trainer], assessors=[assessor])
    enrolment = enrol_learner(learner, cohort)
    made = assessable_unit(course=cohort.course)
    assessed = assess(learner, assessor, cohort, made)
    photo = next(e for e in assessed["evidence"] if e.content_type == "image/png")
    unit, cohort = made["unit"], assessed["cohort"]

    second = TaskFactory(unit=unit, key="second")
    ItemFactory(task=second, key="q1", position=1)
    draft = assessment_services.start_attempt(learner, second, cohort)
    draft_file = add_evidence(
        draft, uploaded_by=learner, name="draft.pdf", content=ContentFile(PDF)
    )
    upload = start_upload(draft, owner=learner, name="video.mp4", length=10)

    observation = TaskFactory(unit=unit, key="observe", kind=Task.Kind.OBSERVATION)
    ItemFactory(task=observation, key="o1", position=1, kind=Item.Kind.CHECKLIST)
    third = TaskFactory(unit=unit, key="third", kind=Task.Kind.THIRD_PARTY_REPORT)
    ItemFactory(task=third, key="t1", position=1, kind=Item.Kind.CHECKLIST)
    _, link = request_third_party_report(
        learner,
        third,
        cohort,
        requested_by=learner,
        supervisor_email="supervisor@work.example",
        base_url="http://testserver",
    )
    token = re.search(r"/assess/report/([^/]+)/", link)
    assert token is not None, link

    rpl_unit = cohort.course.course_units.order_by("position")[0].unit
    marking.record_outcome(
        learner,
        rpl_unit,
        cohort,
        code="51",
        recorded_by=assessor,
        justification="Ten years as a nurse.",
        documents=[("statement.pdf", ContentFile(PDF))],
    )
    document = OutcomeDocument.objects.get(outcome__learner=learner)

    credential = issue_unit_credential(assessed["outcome"].pk)
    assert credential is not None
    credential = ensure_certificate(credential)
    reminder = ExpiryReminder.objects.create(credential=credential, days_before=30)
    learner_record = issue_learner_record(learner)

    module = ModuleFactory(course=cohort.course)
    resource = ResourceFactory(module=module, kind=Resource.Kind.VIDEO)
    resource.file.save("clip.mp4", ContentFile(b"\x00\x00\x00\x18ftypmp42"), save=False)
    resource.captions.save("clip.vtt", ContentFile(b"WEBVTT\n"), save=False)
    resource.save()
    announcement = Announcement.objects.create(
        cohort=cohort, author=trainer, title="Welcome", body="Hello."
    )
    session = LiveSessionFactory(
        cohort=cohort, created_by=trainer, title=f"Tutorial of cohort {name.upper()}"
    )
    return Side(
        cohort=cohort,
        learner=learner,
        trainer=trainer,
        assessor=assessor,
        unit=unit,
        task=made["task"],
        attempt=assessed["attempt"],
        photo=photo,
        draft=draft,
        draft_file=draft_file,
        upload_id=upload.id,
        observation=observation,
        third_party_task=third,
        report_token=token.group(1),
        document=document,
        credential=credential,
        reminder=reminder,
        resource=resource,
        announcement=announcement,
        session=session,
        place_request=EnrolmentRequest.objects.create(learner=learner, cohort=cohort),
        offer=WaitingListEntry.objects.create(
            learner=learner,
            cohort=cohort,
            status=WaitingListEntry.Status.OFFERED,
            offered_at=timezone.now(),
            offer_expires_at=timezone.now() + timedelta(days=3),
        ),
        enrolment=enrolment,
        learner_record=learner_record,
    )


def _build() -> World:
    a, b = _side("a"), _side("b")
    now = timezone.now()
    scoped = UserFactory(username="auditor_scoped", roles=[Role.AUDITOR])
    AuditorGrant.objects.create(
        auditor=scoped, starts_at=now - timedelta(days=1), ends_at=now + timedelta(days=7),
        reason="ASQA audit of cohort A",
    ).cohorts.set([a.cohort])  # fmt: skip
    ended = UserFactory(username="auditor_ended", roles=[Role.AUDITOR])
    AuditorGrant.objects.create(
        auditor=ended, starts_at=now - timedelta(days=10), ends_at=now - timedelta(days=1),
        reason="Last year's audit of cohort A",
    ).cohorts.set([a.cohort])  # fmt: skip
    users = {
        "learner_a": a.learner,
        "learner_b": b.learner,
        "trainer_a": a.trainer,
        "trainer_b": b.trainer,
        "assessor_a": a.assessor,
        "assessor_b": b.assessor,
        "auditor_scoped": scoped,
        "auditor_all": UserFactory(username="auditor_all", roles=[Role.AUDITOR]),
        "auditor_ended": ended,
        "admin": UserFactory(username="admin_user", roles=[Role.ADMINISTRATOR]),
    }
    clients = {"anonymous": Client()}
    for persona, user in users.items():
        clients[persona] = Client()
        clients[persona].force_login(user)
    export = start_record_export(scoped, filters=RecordFilters())
    build_record_export(export.pk)
    export.refresh_from_db()
    assert export.archive, export
    a.export = b.export = export
    for side in (a, b):
        _catalogue_side(side)
    return World(a=a, b=b, clients=clients)


@pytest.fixture(scope="module")
def world(
    django_db_setup: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    """Built once for the module inside a transaction that is rolled back at its end; each
    test's own savepoint undoes what its requests change."""
    media = tmp_path_factory.mktemp("access-matrix-media")
    storages = override_settings(
        STORAGES={
            "default": {
                "BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": media},
            },
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        },
        EVIDENCE_STAGING_DIR=media / "uploads-partial",
        CREDENTIALS_HOST="flipside.example:8000",
    )
    storages.enable()
    # Who gets a PDF is the question here, not what is in it (tests/assessment/test_record_pdf.py
    # and tests/credentials/test_certificate.py): a stand-in saves seconds per PDF.
    stand_ins = pytest.MonkeyPatch()
    stand_ins.setattr("assessment.records.pdf.render_record_pdf", _stand_in_pdf)
    stand_ins.setattr("assessment.records.pdf.render_job", _stand_in_pdf)  # exports render jobs
    stand_ins.setattr("credentials.certificate.render_certificate_pdf", _stand_in_pdf)
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            made = _build()
        except BaseException:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
            stand_ins.undo()
            storages.disable()
            raise
    yield made
    with django_db_blocker.unblock():
        transaction.set_rollback(True)
        outer.__exit__(None, None, None)
    stand_ins.undo()
    storages.disable()


def _stand_in_pdf(*args: Any, **kwargs: Any) -> bytes:
    return PDF


@pytest.fixture(autouse=True)
def _private_media() -> None:
    """The world's files live in its own folder for the whole module (see `world`)."""


# --- the matrix -----------------------------------------------------------------------------


def _url(pattern: Pattern, row: Row | None, side: Side | None) -> str:
    kwargs = row.kwargs(side) if row and row.kwargs and side is not None else {}
    if pattern.name:
        return reverse(pattern.name, kwargs=kwargs)
    return "/" + pattern.route


def _ask(client: Client, method: str, url: str, headers: dict[str, str]) -> Any:
    return client.generic(method, url, headers=headers)


def _sides(world: World, row: Row) -> list[tuple[int, Side]]:
    return [(0, world.a), (1, world.b)] if row.kwargs and row.foreign else [(0, world.a)]


@pytest.mark.parametrize("key", [p.key for p in PATTERNS])
def test_the_url_answers_as_its_row_says(world: World, db: None, key: str) -> None:
    pattern = next(p for p in PATTERNS if p.key == key)
    row = ROWS.get(key)
    if row is None and is_admin(pattern):
        return _admin_rule(world, pattern)
    assert row is not None, (
        f"{key} has no row in ROWS: the access matrix does not cover it (see the docstring)"
    )
    statuses = row.statuses()
    # Anonymous visitors are sent to sign in, unless everyone is redirected alike.
    to_sign_in = (
        statuses["anon"] == 302 and set(statuses.values()) != {302} and not is_admin(pattern)
    )
    wrong = []
    for index, side in _sides(world, row):
        url = _url(pattern, row, side)
        for persona, relations in PERSONAS.items():
            relation = relations[index]
            expected = statuses[relation]
            response = _ask(world.clients[persona], row.method, url, row.headers)
            if response.status_code != expected:
                wrong.append(
                    f"{row.method} {url} as {persona} ({relation}): "
                    f"{response.status_code}, expected {expected}"
                )
            elif relation == "anon" and to_sign_in:
                assert response["Location"].startswith("/accounts/login/"), url
    assert not wrong, "\n".join(wrong)


def _admin_rule(world: World, pattern: Pattern) -> None:
    url = _admin_url(pattern)
    wrong = []
    for persona, client in world.clients.items():
        response = client.get(url)
        to_login = response.status_code == 302 and "login" in response["Location"]
        if persona == "admin":
            if response.status_code >= 500 or to_login:
                wrong.append(f"{url} as the administrator: {response.status_code}")
        elif not to_login:
            wrong.append(f"{url} as {persona}: {response.status_code}, not sent to sign in")
    assert not wrong, "\n".join(wrong)


def _admin_url(pattern: Pattern) -> str:
    """The admin page of its model's first object (or of none, for an empty table)."""
    if pattern.route.endswith("(?P<url>.*)$"):  # the admin's catch-all
        return "/admin/no-such-page/"
    parts = pattern.route.split("/")
    model = next(
        (
            m
            for m in django_admin.site._registry
            if parts[1:3] == [m._meta.app_label, m._meta.model_name]
        ),
        None,
    )
    first = model._base_manager.order_by("pk").first() if model is not None else None
    values = {
        "app_label": "delivery",
        "object_id": str(first.pk) if first is not None else "0",
        "id": str(first.pk) if first is not None else "0",
        "content_type_id": "0",
        "url": "no-such-page",
    }
    if pattern.name == "admin:view_on_site":
        from django.contrib.contenttypes.models import ContentType

        values["content_type_id"] = str(ContentType.objects.get_for_model(Resource).pk)
        values["object_id"] = str(Resource.objects.order_by("pk").values_list("pk")[0][0])
    names = re.findall(r"<(?:\w+:)?(\w+)>", pattern.route) or re.findall(
        r"\(\?P<(\w+)>", pattern.route
    )
    kwargs = {name: values[name] for name in names}
    if pattern.name:
        return reverse(pattern.name, kwargs=kwargs)
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: kwargs[m.group(1)], pattern.route)


def test_lists_show_an_auditor_only_what_their_grant_covers(world: World, db: None) -> None:
    """Lists answer 200 to every auditor; what is in them is the grant's."""
    pages = {
        "live:records": lambda side: side.session.title,
        "assessment:audit_search": lambda side: reverse("assessment:record", kwargs=record(side)),
    }
    for name, shown in pages.items():
        seen = {
            persona: [
                shown(side) in world.clients[persona].get(reverse(name)).content.decode()
                for side in (world.a, world.b)
            ]
            for persona in ("auditor_scoped", "auditor_all", "admin")
        }
        assert seen == {
            "auditor_scoped": [True, False],
            "auditor_all": [True, True],
            "admin": [True, True],
        }, name
    ended = world.clients["auditor_ended"].get(reverse("live:records")).content.decode()
    assert world.a.session.title not in ended
    assert world.b.session.title not in ended


# --- state-changing requests by the wrong person change nothing ---------------------------


SKIP_TABLES = {"django_session", "axes_accessattempt", "axes_accesslog", "axes_accessfailurelog"}


def _snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, many-to-many link tables included (the world is small), but
    sessions and sign-in logs."""
    return {
        model._meta.db_table: list(model._base_manager.order_by("pk").values_list())
        for model in apps.get_models(include_auto_created=True)
        if model._meta.db_table not in SKIP_TABLES and not model._meta.proxy
    }


PROBED = sorted(key for key, row in ROWS.items() if row.probe)


@pytest.mark.parametrize("key", PROBED)
def test_the_wrong_person_changes_nothing(world: World, db: None, key: str) -> None:
    row = ROWS[key]
    probe = row.probe
    assert probe is not None
    allowed = set(probe.allowed.split())
    pattern = next(p for p in PATTERNS if p.key == key)
    before = _snapshot()
    wrong = []
    for index, side in _sides(world, row):
        url = _url(pattern, row, side)
        for persona, relations in PERSONAS.items():
            relation = relations[index]
            if relation in allowed:
                continue
            client = world.clients[persona]
            data = probe.data(side)
            if probe.method == "POST":
                response = client.post(url, data, headers=probe.headers)
            else:
                response = client.generic(probe.method, url, headers=probe.headers)
            if response.status_code >= 500 or 200 <= response.status_code < 300:
                wrong.append(f"{probe.method} {url} as {persona}: {response.status_code}")
    after = _snapshot()
    changed = [table for table in before if before[table] != after[table]]
    assert not wrong, "\n".join(wrong)
    assert not changed, f"{key}: refused requests changed {changed}"
