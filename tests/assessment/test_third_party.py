"""Third-party reports: the learner asks their workplace supervisor, who completes the checklist
through a signed, expiring, single-use link without an account; the assessor marks it."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
import time_machine
from django.core import mail, signing
from django.core.exceptions import ValidationError
from django.template.loader import render_to_string
from django.test import Client

from assessment import services
from assessment.audit.services import verify_chain
from assessment.marking import services as marking
from assessment.models import Answer, Attempt, AuditEvent, Item, ThirdPartyRequest
from assessment.third_party import services as third_party
from delivery.models import Enrolment
from delivery.services import enrol_learner
from tests.factories import assessable_unit

SUPERVISOR = "mia.santos@workplace.example"
COMPLETE = {
    "item-q1": "yes", "comment-q1": "Every time, unprompted.",
    "item-q2": "no", "comment-q2": "Not yet seen with a real patient.",
    "supervisor_name": "Mia Santos", "supervisor_role": "Nurse Unit Manager", "declared": "on",
}  # fmt: skip


@pytest.fixture(autouse=True)
def _public_url(settings: Any) -> None:
    settings.PUBLIC_URL = "http://testserver"


@pytest.fixture
def report(cohort: Any, learner: Any) -> dict[str, Any]:
    """A third-party report of two checklist items in a unit of the learner's course."""
    enrol_learner(learner, cohort)
    made = assessable_unit(course=cohort.course, items=2, kind="third_party_report")
    Item.objects.filter(task=made["task"]).update(kind=Item.Kind.CHECKLIST)
    made["task"].instructions = "Watch the learner [wash hands](https://who.example/hands)."
    made["task"].save()
    return made


def request_url(cohort: Any, task: Any) -> str:
    return f"/assess/cohorts/{cohort.pk}/tasks/{task.pk}/third-party"


def ask(client: Client, cohort: Any, task: Any, captured: Any, email: str = SUPERVISOR) -> Any:
    with captured(execute=True):
        return client.post(request_url(cohort, task), {"supervisor_email": email}, follow=True)


def link_in(message: Any) -> str:
    """The path of the link in an e-mail to the supervisor."""
    found = re.search(r"http://testserver(/assess/report/\S+/)", message.body)
    assert found, message.body
    return found.group(1)


def send(learner: Any, task: Any, cohort: Any) -> str:
    """A request made through the service; the path of its link."""
    _, url = third_party.request_third_party_report(
        learner, task, cohort, requested_by=learner, supervisor_email=SUPERVISOR,
        base_url="http://testserver/",
    )  # fmt: skip
    return url.removeprefix("http://testserver")


def state() -> tuple[Any, ...]:
    """Everything a refused or incomplete report must leave as it was."""
    request = ThirdPartyRequest.objects.get()
    return (
        request.attempt.status,
        request.used_at,
        request.token_hash,
        request.supervisor_name,
        Answer.objects.count(),
        AuditEvent.objects.count(),
    )


def test_it_runs_the_whole_flow(
    client_for: Any,
    learner: Any,
    assessor: Any,
    cohort: Any,
    report: dict[str, Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    page = ask(client_for(learner), cohort, report["task"], django_capture_on_commit_callbacks)
    assert f"Sent to {SUPERVISOR}." in page.content.decode()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [SUPERVISOR]
    assert "Lena Nguyen asks for your workplace report" in message.subject
    link = link_in(message)
    request = ThirdPartyRequest.objects.get()
    attempt = request.attempt
    assert (attempt.learner, attempt.status, request.sent_by) == (learner, "draft", learner)
    token = link.split("/")[3]
    assert token not in request.token_hash  # only the secret's hash is stored
    assert request.token_hash == third_party.links.hash(token.split(":")[0].split(".", 1)[1])

    supervisor = Client()  # anonymous: no account, no session
    form = supervisor.get(link)
    assert form.status_code == 200
    html = form.content.decode()
    for text in ("Lena Nguyen", report["task"].title, report["items"][0].prompt, "Demonstrated"):
        assert text in html
    assert "directly observed Lena Nguyen" in html

    staff = client_for(assessor)
    assert b"0 attempts waiting" in staff.get("/assess/queue/").content
    done = supervisor.post(link, COMPLETE)
    assert done.status_code == 200
    assert b"Thank you" in done.content
    # The assessor's queue, seen before, shows the report on the next visit.
    assert f"/assess/attempts/{attempt.pk}/mark/" in staff.get("/assess/queue/").content.decode()
    attempt.refresh_from_db()
    request.refresh_from_db()
    assert attempt.status == Attempt.Status.SUBMITTED
    assert attempt.submitted_at == request.used_at
    assert "Mia Santos (Nurse Unit Manager)" in attempt.declaration
    assert (request.supervisor_name, request.supervisor_role) == (
        "Mia Santos",
        "Nurse Unit Manager",
    )
    assert "directly observed Lena Nguyen" in request.declaration
    answers = {a.item.key: (a.choices, a.text) for a in attempt.answers.all()}
    assert answers == {
        "q1": ([0], "Every time, unprompted."),
        "q2": ([1], "Not yet seen with a real patient."),
    }
    snapshot = attempt.snapshot
    assert snapshot["items"][1]["choices"] == ["Demonstrated", "Not demonstrated"]
    assert snapshot["items"][1]["answer"]["choices"] == [1]
    assert snapshot["third_party"]["supervisor_name"] == "Mia Santos"
    assert list(Attempt.objects.awaiting_marking().for_assessor(assessor)) == [attempt]

    completed = AuditEvent.objects.get(action="third_party.completed")
    assert completed.actor is None
    assert (completed.learner, completed.unit) == (learner, report["unit"])
    assert '"supervisor_name":"Mia Santos"' in completed.payload
    assert '"supervisor_role":"Nurse Unit Manager"' in completed.payload
    actions = list(AuditEvent.objects.values_list("action", flat=True))
    assert actions == ["attempt.started", "third_party.requested", "third_party.completed"]

    marked = marking.mark_attempt(
        attempt, assessor=assessor, judgements=[
            marking.ItemJudgement("q1", "S"),
            marking.ItemJudgement("q2", "NS", "Your supervisor has not seen it yet."),
        ], feedback="Ask again once you have done it on the ward.", declared=True,
        version=attempt.version,
    )  # fmt: skip
    assert (marked.status, marked.result) == (Attempt.Status.MARKED, "NS")
    assert verify_chain().ok


def test_it_asks_again_after_not_satisfactory_for_the_items_still_needed(
    client_for: Any,
    learner: Any,
    assessor: Any,
    cohort: Any,
    report: dict[str, Any],
) -> None:
    first = send(learner, report["task"], cohort)
    Client().post(first, COMPLETE)
    attempt = Attempt.objects.get()
    marking.mark_attempt(
        attempt, assessor=assessor, judgements=[
            marking.ItemJudgement("q1", "S"), marking.ItemJudgement("q2", "NS", "Not seen."),
        ], feedback="", declared=True, version=attempt.version,
    )  # fmt: skip
    second = send(learner, report["task"], cohort)
    assert Client().get(first).status_code == 410  # the first report's link stays used
    html = Client().get(second).content.decode()
    assert "Already assessed as satisfactory" in html
    data = {k: v for k, v in COMPLETE.items() if not k.endswith("q1")} | {"item-q2": "yes"}
    assert Client().post(second, data).status_code == 200
    resubmission = Attempt.objects.get(number=2)
    assert resubmission.status == Attempt.Status.SUBMITTED
    assert resubmission.answers.get(item__key="q1").carried_forward
    assert resubmission.judgements.get(item__key="q1").result == "S"  # kept, automatically


def test_it_refuses_an_altered_link_and_changes_nothing(
    learner: Any, cohort: Any, report: dict[str, Any]
) -> None:
    link = send(learner, report["task"], cohort)
    token = link.split("/")[3]
    before = state()
    value, _, _ = token.partition(":")
    request_id, _, secret = value.partition(".")
    other_id = f"{int(request_id) + 1}.{secret}"
    altered = [
        token[:-1] + ("A" if token[-1] != "A" else "B"),  # the signature
        token.replace(secret, secret[::-1]),  # the secret
        token.replace(value, other_id),  # another request's id
        signing.TimestampSigner(salt="something.else").sign(value),  # signed for another use
    ]
    for bad in altered:
        client, url = Client(), f"/assess/report/{bad}/"
        for response in (client.get(url), client.post(url, COMPLETE)):
            assert response.status_code == 404
            assert b"This link is not valid" in response.content
    assert state() == before


def test_it_refuses_an_expired_link_and_changes_nothing(
    learner: Any, cohort: Any, report: dict[str, Any]
) -> None:
    with time_machine.travel("2026-11-02 09:00 +1100", tick=False):
        link = send(learner, report["task"], cohort)
    before = state()
    with time_machine.travel("2026-11-16 09:00 +1100", tick=False):  # 14 days on, to the second
        for response in (Client().get(link), Client().post(link, COMPLETE)):
            assert response.status_code == 410
            assert b"This link has expired" in response.content
            assert b"Nothing has been saved" in response.content
    assert state() == before
    with time_machine.travel("2026-11-16 08:59 +1100", tick=False):
        assert Client().get(link).status_code == 200


def test_a_link_older_than_any_deadline_fails_its_signature_whatever_the_database_says(
    learner: Any, cohort: Any, report: dict[str, Any]
) -> None:
    with time_machine.travel("2026-11-02 09:00 +1100", tick=False):
        link = send(learner, report["task"], cohort)
    ThirdPartyRequest.objects.update(expires_at=dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    with time_machine.travel("2027-01-02 09:00 +1100", tick=False):  # past MAX_DAYS_VALID
        response = Client().get(link)
    assert response.status_code == 410
    assert b"This link has expired" in response.content


def test_it_refuses_a_reused_link_and_changes_nothing(
    learner: Any, cohort: Any, report: dict[str, Any]
) -> None:
    link = send(learner, report["task"], cohort)
    assert Client().post(link, COMPLETE).status_code == 200
    before = state()
    again = Client().post(link, COMPLETE | {"supervisor_name": "Someone Else", "item-q2": "yes"})
    assert again.status_code == 410
    assert b"This report has already been completed" in again.content
    # The time ends with "a.m." or "p.m.": the sentence must not add a second full stop.
    assert re.search(rb"Completed at \d{1,2}:\d\d [ap]\.m\. on \d{1,2} \w+ \d{4}\.", again.content)
    assert b"m.." not in again.content
    assert state() == before
    assert ThirdPartyRequest.objects.get().supervisor_name == "Mia Santos"
    assert Client().get(link).status_code == 410
    assert AuditEvent.objects.filter(action="third_party.completed").count() == 1


def test_a_second_completion_finds_the_first_under_the_lock(
    learner: Any, cohort: Any, report: dict[str, Any]
) -> None:
    """Two tabs: both opened the form while the link was good; the second to submit is told."""
    token = send(learner, report["task"], cohort).split("/")[3]
    given = {
        "q1": third_party.SupervisorAnswer(demonstrated=True),
        "q2": third_party.SupervisorAnswer(demonstrated=True),
    }
    complete = {
        "supervisor_name": "Mia Santos", "supervisor_role": "NUM", "declared": True,
        "answers": given,
    }  # fmt: skip
    assert third_party.open_link(token)  # the second tab's form
    third_party.complete_third_party_report(token, **complete)
    with pytest.raises(third_party.LinkRefused) as refused:
        third_party.complete_third_party_report(token, **complete)
    assert refused.value.reason == "used"
    assert Attempt.objects.filter(status="submitted").count() == 1


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("declared", "Tick the declaration to send the report."),
        ("supervisor_name", "Give your name."),
        ("supervisor_role", "Give your role."),
        ("item-q2", "Say whether this was demonstrated."),
    ],
)
def test_an_incomplete_report_says_what_is_missing_and_saves_nothing(
    learner: Any, cohort: Any, report: dict[str, Any], missing: str, message: str
) -> None:
    link = send(learner, report["task"], cohort)
    before = state()
    supervisor = Client()
    response = supervisor.post(link, {k: v for k, v in COMPLETE.items() if k != missing})
    assert response.status_code == 400
    html = response.content.decode()
    assert "The report has not been sent." in html
    assert message in html
    assert f'href="#{missing}"' in html  # the summary leads to the field
    assert "Every time, unprompted." in html  # what was typed is kept
    assert state() == before
    assert supervisor.post(link, COMPLETE).status_code == 200  # the link still works


def test_it_says_every_problem_at_once(learner: Any, cohort: Any, report: dict[str, Any]) -> None:
    link = send(learner, report["task"], cohort)
    response = Client().post(link, {"item-q1": "perhaps", "supervisor_name": "  "})
    html = response.content.decode()
    assert response.status_code == 400
    assert html.count("Say whether this was demonstrated.") == 4  # summary and field, two items
    for text in ("Give your name.", "Give your role.", "Tick the declaration"):
        assert text in html


def test_a_written_item_needs_an_answer(learner: Any, cohort: Any, report: dict[str, Any]) -> None:
    Item.objects.filter(key="q2").update(kind=Item.Kind.SHORT_ANSWER)
    link = send(learner, report["task"], cohort)
    data = {k: v for k, v in COMPLETE.items() if not k.endswith("q2")}
    assert b"Answer this question." in Client().post(link, data).content
    assert Client().post(link, data | {"item-q2": "Calm under pressure."}).status_code == 200
    assert Answer.objects.get(item__key="q2").text == "Calm under pressure."


def test_the_supervisors_pages_are_private(
    learner: Any, cohort: Any, report: dict[str, Any]
) -> None:
    link = send(learner, report["task"], cohort)
    for response in (
        Client().get(link),
        Client().post(link, {}),
        Client().get("/assess/report/not-a-token/"),
        Client().post(link, COMPLETE),
        Client().get(link),  # used
    ):
        assert "no-store" in response["Cache-Control"]
        # Not "no-referrer": browsers then send `Origin: null` with the form, which CSRF refuses.
        assert response["Referrer-Policy"] == "same-origin"
        assert response["X-Robots-Tag"] == "noindex, nofollow"


def test_the_public_page_works_without_a_session_and_keeps_csrf(
    learner: Any, cohort: Any, report: dict[str, Any]
) -> None:
    link = send(learner, report["task"], cohort)
    browser = Client(enforce_csrf_checks=True)
    assert browser.post(link, COMPLETE).status_code == 403  # no CSRF token
    assert browser.get(link).status_code == 200
    csrf = browser.cookies["csrftoken"].value
    response = browser.post(
        link, COMPLETE | {"csrfmiddlewaretoken": csrf}, headers={"Origin": "http://testserver"}
    )
    assert response.status_code == 200
    assert "sessionid" not in browser.cookies
    assert Attempt.objects.get().status == Attempt.Status.SUBMITTED


def test_a_resend_retires_the_old_link(
    client_for: Any,
    learner: Any,
    cohort: Any,
    report: dict[str, Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    client = client_for(learner)
    with time_machine.travel("2026-11-02 09:00 +1100", tick=False):
        ask(client, cohort, report["task"], django_capture_on_commit_callbacks)
        too_soon = ask(client, cohort, report["task"], django_capture_on_commit_callbacks)
    assert b"You can send another at 9:02 a.m. or later." in too_soon.content
    assert len(mail.outbox) == 1
    with time_machine.travel("2026-11-02 09:05 +1100", tick=False):
        page = ask(
            client, cohort, report["task"], django_capture_on_commit_callbacks,
            email="mia@workplace.example",
        )  # fmt: skip
        assert b"Sent to mia@workplace.example." in page.content
        old, new = link_in(mail.outbox[0]), link_in(mail.outbox[1])
        assert mail.outbox[1].to == ["mia@workplace.example"]
        refused = Client().get(old)
        assert refused.status_code == 410
        assert b"This link has been replaced" in refused.content
        assert Client().post(old, COMPLETE).status_code == 410
        assert Client().post(new, COMPLETE).status_code == 200
    request = ThirdPartyRequest.objects.get()
    assert request.supervisor_email == "mia@workplace.example"
    assert request.expires_at == dt.datetime(
        2026, 11, 16, 9, 5, tzinfo=dt.timezone(dt.timedelta(hours=11))
    )
    assert AuditEvent.objects.filter(action="third_party.resent").count() == 1
    assert Attempt.objects.count() == 1


def test_a_learner_cannot_ask_for_another_learners_report(
    client_for: Any,
    learner: Any,
    other_learner: Any,
    cohort: Any,
    other_cohort: Any,
    report: dict[str, Any],
) -> None:
    enrol_learner(other_learner, other_cohort)
    response = client_for(other_learner).post(
        request_url(cohort, report["task"]), {"supervisor_email": SUPERVISOR}
    )
    assert response.status_code == 404
    # A task of a course the learner's cohort does not take is not found either.
    elsewhere = assessable_unit(items=1, kind="third_party_report")
    response = client_for(learner).post(
        request_url(cohort, elsewhere["task"]), {"supervisor_email": SUPERVISOR}
    )
    assert response.status_code == 404
    assert not ThirdPartyRequest.objects.exists()
    assert not Attempt.objects.exists()


def test_only_a_third_party_report_is_sent_to_a_supervisor(
    client_for: Any, learner: Any, cohort: Any, written: dict[str, Any]
) -> None:
    response = client_for(learner).post(
        request_url(cohort, written["task"]), {"supervisor_email": SUPERVISOR}, follow=True
    )
    assert b"Only a third-party report is completed by a workplace supervisor." in response.content
    assert not Attempt.objects.exists()
    assert not mail.outbox


@pytest.mark.parametrize(
    ("email", "message"),
    [
        ("", "Give your supervisor&#x27;s e-mail address."),
        ("not an address", "is not an e-mail address."),
        ("LENA@example.test", "That is your own e-mail address"),
    ],
)
def test_a_bad_supervisor_address_is_refused(
    client_for: Any,
    learner: Any,
    cohort: Any,
    report: dict[str, Any],
    email: str,
    message: str,
    django_capture_on_commit_callbacks: Any,
) -> None:
    learner.email = "lena@example.test"
    learner.save()
    response = ask(
        client_for(learner), cohort, report["task"], django_capture_on_commit_callbacks, email
    )
    assert message in response.content.decode()
    assert not Attempt.objects.exists()
    assert not mail.outbox


def test_the_request_view_takes_a_signed_in_learners_post_only(
    client_for: Any, learner: Any, assessor: Any, cohort: Any, report: dict[str, Any]
) -> None:
    url = request_url(cohort, report["task"])
    assert client_for(learner).get(url).status_code == 405
    assert client_for(None).post(url).status_code == 302  # to the login page
    assert client_for(assessor).post(url).status_code == 403
    assert Client().put(f"/assess/report/{'x' * 10}/").status_code == 405


def test_a_link_closes_when_the_learner_can_no_longer_be_assessed(
    learner: Any, cohort: Any, report: dict[str, Any]
) -> None:
    link = send(learner, report["task"], cohort)
    Enrolment.objects.filter(learner=learner).update(status=Enrolment.Status.WITHDRAWN)
    before = state()
    response = Client().post(link, COMPLETE)
    assert response.status_code == 410
    assert b"This report is no longer needed" in response.content
    assert state() == before


def test_the_learners_panel_shows_the_request_and_offers_a_new_link(
    learner: Any, cohort: Any, report: dict[str, Any], rf: Any
) -> None:
    task = report["task"]
    request = rf.get("/")
    request.user = learner

    def panel() -> str:
        draft = Attempt.objects.filter(status="draft").first()
        return render_to_string(
            "assessment/third_party/_request.html",
            {
                "task": task, "cohort": cohort, "draft": draft,
                "availability": services.task_availability(learner, task, cohort),
            },
            request=request,
        )  # fmt: skip

    assert "Ask my supervisor" in panel()
    with time_machine.travel("2026-11-02 09:00 +1100", tick=False):
        send(learner, task, cohort)
        html = panel()
    assert f"Sent to <strong>{SUPERVISOR}</strong> on 2 Nov 2026, 9:00 a.m." in html
    assert "works until 9:00 a.m. on 16 Nov 2026. " in html
    assert "Send a new link" in html
    with time_machine.travel("2026-11-17 09:00 +1100", tick=False):
        assert "expired on 16 Nov 2026 without being used" in panel()
        Client().post(send(learner, task, cohort), COMPLETE)
        assert "Your attempt is waiting to be marked." in panel()


def test_the_learner_cannot_answer_or_submit_a_third_party_report_themselves(
    learner: Any, cohort: Any
) -> None:
    from assessment import services
    from delivery.services import enrol_learner
    from tests.factories import assessable_unit

    enrol_learner(learner, cohort)
    made = assessable_unit(course=cohort.course, items=1, kind="third_party_report")
    attempt = services.start_attempt(learner, made["task"], cohort)
    with pytest.raises(ValidationError, match="workplace supervisor"):
        services.save_answers(attempt, learner=learner, answers={"q1": "I did it"})
    with pytest.raises(ValidationError, match="workplace supervisor"):
        services.submit_attempt(attempt, learner=learner, declared=True)
    attempt.refresh_from_db()
    assert attempt.status == "draft"
    assert not attempt.answers.exists()


def test_the_supervisors_link_is_built_from_public_url_not_the_request_host(
    client_for: Any,
    learner: Any,
    cohort: Any,
    report: dict[str, Any],
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """The e-mailed link must work from the supervisor's inbox: the deployment's public
    address, whatever Host the learner's request came in on (a proxy's, an internal name)."""
    settings.PUBLIC_URL = "https://learn.example.edu.au"
    settings.ALLOWED_HOSTS = ["internal.example"]
    client = client_for(learner)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            request_url(cohort, report["task"]),
            {"supervisor_email": SUPERVISOR},
            HTTP_HOST="internal.example",
        )

    assert len(mail.outbox) == 1
    assert "https://learn.example.edu.au/assess/report/" in mail.outbox[0].body
    assert "internal.example" not in mail.outbox[0].body
