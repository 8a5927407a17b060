"""The session pages: scheduling, the session page, the room page, attendance, the dashboard."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from delivery.roles import Role
from delivery.services import enrol_learner, mark_resource_done
from live import services
from live.models import LiveSession
from tests.factories import (
    CohortFactory,
    EnrolmentFactory,
    ModuleFactory,
    ResourceFactory,
    UserFactory,
)
from tests.live.conftest import marks
from tests.live.factories import LiveSessionFactory


def local(when: dt.datetime) -> str:
    return timezone.localtime(when).strftime("%Y-%m-%dT%H:%M")


def form_data(trainer: Any, **overrides: Any) -> dict[str, Any]:
    start = timezone.now() + dt.timedelta(days=1)
    data = {
        "title": "Standard precautions in practice",
        "description": "Bring your questions.",
        "starts_at": local(start),
        "ends_at": local(start + dt.timedelta(hours=1)),
        "meeting_url": "https://meet.example.test/abc",
        "trainers": [trainer.pk],
    }
    data.update(overrides)
    return data


# Scheduling --------------------------------------------------------------------------------


class TestScheduling:
    def url(self, cohort: Any) -> str:
        return f"/live/cohorts/{cohort.pk}/new"

    def test_it_schedules_a_session_with_pre_work_and_resources(
        self, client_for: Any, trainer: Any, cohort: Any
    ) -> None:
        module = ModuleFactory(course=cohort.course, title="Pre-work")
        resource = ResourceFactory(module=module)
        data = form_data(trainer, prework=[module.pk], resources=[resource.pk])
        response = client_for(trainer).post(self.url(cohort), data)
        session = LiveSession.objects.get()
        assert response.status_code == 302
        assert response["Location"] == f"/live/{session.pk}/"
        assert session.cohort == cohort
        assert list(session.trainers.all()) == [trainer]
        assert list(session.prework.all()) == [module]
        assert list(session.resources.all()) == [resource]
        assert session.created_by == trainer

    def test_it_shows_the_form(self, client_for: Any, trainer: Any, cohort: Any) -> None:
        html = client_for(trainer).get(self.url(cohort)).content.decode()
        assert f"Schedule a session for {cohort.name}" in html
        assert 'type="datetime-local"' in html

    def test_it_lists_trainers_by_name_as_a_group_of_checkboxes(
        self, client_for: Any, trainer: Any, cohort: Any
    ) -> None:
        trainer.first_name, trainer.last_name = "Tom", "Nguyen"
        trainer.save()
        html = client_for(trainer).get(self.url(cohort)).content.decode()
        group = re.search(r'<fieldset class="field field--choices">(.*?)</fieldset>', html, re.S)
        assert group is not None
        assert "<legend>Trainers</legend>" in group[1]
        box = re.search(r'<label class="choice" for="(id_trainers_0)">(.*?)</label>', group[1])
        assert box is not None
        assert f'id="{box[1]}"' in box[2]
        assert box[2].strip().endswith("Tom Nguyen")
        assert trainer.username not in group[1]

    @pytest.mark.parametrize(
        ("overrides", "message"),
        [
            ({"title": ""}, "This field is required."),
            ({"ends_at": "2026-01-01T08:00"}, "The session must end after it starts."),
            ({"starts_at": "not a date"}, "Enter a valid date/time."),
            ({"meeting_url": "http://insecure.example/x"}, "Use an https:// link."),
            ({"meeting_url": "javascript:alert(1)"}, "Enter a valid URL."),
            ({"trainers": []}, "This field is required."),
        ],
    )
    def test_it_refuses_bad_input_and_saves_nothing(
        self, client_for: Any, trainer: Any, cohort: Any, overrides: Any, message: str
    ) -> None:
        response = client_for(trainer).post(self.url(cohort), form_data(trainer, **overrides))
        assert response.status_code == 200
        assert message in response.content.decode()
        assert not LiveSession.objects.exists()

    def test_it_refuses_content_and_trainers_from_elsewhere(
        self, client_for: Any, trainer: Any, cohort: Any
    ) -> None:
        foreign_module = ModuleFactory()
        foreign_resource = ResourceFactory()
        stranger = UserFactory(roles=[Role.TRAINER])
        for field, value in (
            ("prework", [foreign_module.pk]),
            ("resources", [foreign_resource.pk]),
            ("trainers", [stranger.pk]),
        ):
            response = client_for(trainer).post(
                self.url(cohort), form_data(trainer, **{field: value})
            )
            assert "Select a valid choice" in response.content.decode()
        assert not LiveSession.objects.exists()

    def test_it_hides_another_cohort(
        self, client_for: Any, trainer: Any, other_cohort: Any
    ) -> None:
        assert client_for(trainer).get(self.url(other_cohort)).status_code == 404
        response = client_for(trainer).post(self.url(other_cohort), form_data(trainer))
        assert response.status_code == 404
        assert not LiveSession.objects.exists()

    @pytest.mark.parametrize("persona", ["learner", "assessor", "auditor", "outsider"])
    def test_it_refuses_everyone_but_trainers(
        self, client_for: Any, cohort: Any, persona: str, request: pytest.FixtureRequest
    ) -> None:
        user = request.getfixturevalue(persona)
        assert client_for(user).get(self.url(cohort)).status_code == 403

    def test_it_refuses_other_methods(self, client_for: Any, trainer: Any, cohort: Any) -> None:
        assert client_for(trainer).put(self.url(cohort)).status_code == 405

    def test_the_service_refuses_content_and_trainers_from_elsewhere(
        self, trainer: Any, cohort: Any
    ) -> None:
        start = timezone.now()
        fields = {"by": trainer, "title": "T", "starts_at": start}
        fields["ends_at"] = start + dt.timedelta(hours=1)
        with pytest.raises(ValidationError, match="cohort's course"):
            services.schedule_session(
                cohort, trainers=[trainer], resources=[ResourceFactory()], **fields
            )
        with pytest.raises(ValidationError, match="trainers of this cohort"):
            services.schedule_session(
                cohort, trainers=[UserFactory(roles=[Role.TRAINER])], **fields
            )
        assert not LiveSession.objects.exists()

    def test_the_service_refuses_times_the_form_could_not_check(
        self, trainer: Any, cohort: Any
    ) -> None:
        start = timezone.now()
        with pytest.raises(ValidationError, match="at most 12 hours"):
            services.schedule_session(
                cohort,
                by=trainer,
                title="Marathon",
                starts_at=start,
                ends_at=start + dt.timedelta(hours=13),
                trainers=[trainer],
            )


class TestEditing:
    def test_it_changes_a_session(self, client_for: Any, trainer: Any, live_session: Any) -> None:
        data = form_data(trainer, title="Renamed")
        response = client_for(trainer).post(f"/live/{live_session.pk}/edit", data)
        assert response.status_code == 302
        live_session.refresh_from_db()
        assert live_session.title == "Renamed"

    def test_it_refuses_an_ended_session(
        self, client_for: Any, trainer: Any, live_session: Any
    ) -> None:
        services.end_session(live_session, by=trainer)
        response = client_for(trainer).post(
            f"/live/{live_session.pk}/edit", form_data(trainer, title="Too late")
        )
        assert "can no longer be changed" in response.content.decode()
        live_session.refresh_from_db()
        assert live_session.title != "Too late"

    def test_it_refuses_a_learner_of_the_cohort(
        self, client_for: Any, learner: Any, enrolled: None, live_session: Any
    ) -> None:
        assert client_for(learner).get(f"/live/{live_session.pk}/edit").status_code == 403

    def test_it_refuses_a_trainer_of_another_cohort(
        self, client_for: Any, live_session: Any
    ) -> None:
        other_trainer = UserFactory(roles=[Role.TRAINER])
        CohortFactory(trainers=[other_trainer])
        response = client_for(other_trainer).get(f"/live/{live_session.pk}/edit")
        assert response.status_code == 404


# The session page --------------------------------------------------------------------------


class TestSessionPage:
    def test_a_learner_sees_their_pre_work_and_a_join_button_when_open(
        self, client_for: Any, learner: Any, enrolled: None, live_session: Any
    ) -> None:
        done = ModuleFactory(course=live_session.cohort.course, title="Hand hygiene")
        todo = ModuleFactory(course=live_session.cohort.course, title="Sharps")
        mark_resource_done(learner, ResourceFactory(module=done))
        ResourceFactory(module=todo)
        live_session.prework.set([done, todo])
        html = client_for(learner).get(f"/live/{live_session.pk}/").content.decode()
        assert "Done</span> Hand hygiene" in html
        assert "To do</span> Sharps" in html
        assert f'href="/live/{live_session.pk}/room/">Join</a>' in html
        assert "https://meet.example.test/room" in html

    def test_the_join_button_waits_until_the_room_opens(
        self, client_for: Any, learner: Any, enrolled: None, cohort: Any
    ) -> None:
        later = LiveSessionFactory(cohort=cohort, starts_at=timezone.now() + dt.timedelta(days=1))
        html = client_for(learner).get(f"/live/{later.pk}/").content.decode()
        assert 'aria-disabled="true">Join</span>' in html
        assert f"/live/{later.pk}/room/" not in html

    def test_the_trainer_sees_who_has_not_done_the_pre_work(
        self, client_for: Any, trainer: Any, learner: Any, classmate: Any, enrolled: None,
        live_session: Any,
    ) -> None:  # fmt: skip
        module = ModuleFactory(course=live_session.cohort.course, title="Hand hygiene")
        mark_resource_done(learner, ResourceFactory(module=module))
        live_session.prework.set([module])
        html = client_for(trainer).get(f"/live/{live_session.pk}/").content.decode()
        assert "Not yet (1):</strong> Cleo Park" in html
        assert "Done: 1" in html

    @pytest.mark.parametrize("persona", ["other_learner", "outsider", "other_assessor"])
    def test_it_is_hidden_from_people_outside_the_cohort(
        self, client_for: Any, live_session: Any, enrolled: None, persona: str,
        request: pytest.FixtureRequest,
    ) -> None:  # fmt: skip
        user = request.getfixturevalue(persona)
        assert client_for(user).get(f"/live/{live_session.pk}/").status_code == 404

    def test_it_refuses_other_methods(
        self, client_for: Any, learner: Any, enrolled: None, live_session: Any
    ) -> None:
        assert client_for(learner).post(f"/live/{live_session.pk}/").status_code == 405


# The room page ------------------------------------------------------------------------------


class TestRoomPage:
    def test_a_learner_gets_the_room_with_its_socket_address_and_no_inline_script(
        self, client_for: Any, learner: Any, enrolled: None, live_session: Any
    ) -> None:
        response = client_for(learner).get(f"/live/{live_session.pk}/room/")
        html = response.content.decode()
        assert f'data-live-url="/ws/live/{live_session.pk}/"' in html
        assert 'data-live-role="learner"' in html
        assert "/static/js/live.js" in html
        assert "<script>" not in html
        assert " style=" not in html
        assert "Launch poll" not in html  # trainer tools are the trainer's
        assert "script-src 'self'" in response["Content-Security-Policy"]

    def test_the_trainer_gets_the_controls(
        self, client_for: Any, trainer: Any, live_session: Any
    ) -> None:
        resource = ResourceFactory(module__course=live_session.cohort.course, title="Poster")
        html = client_for(trainer).get(f"/live/{live_session.pk}/room/").content.decode()
        assert "Launch poll" in html
        assert f'<option value="{resource.pk}">' in html
        assert "End the session" in html

    def test_a_learner_is_sent_back_before_the_room_opens_or_after_it_ended(
        self, client_for: Any, learner: Any, trainer: Any, enrolled: None, cohort: Any,
        live_session: Any,
    ) -> None:  # fmt: skip
        later = LiveSessionFactory(cohort=cohort, starts_at=timezone.now() + dt.timedelta(days=1))
        client = client_for(learner)
        assert client.get(f"/live/{later.pk}/room/")["Location"] == f"/live/{later.pk}/"
        services.end_session(live_session, by=trainer)
        response = client.get(f"/live/{live_session.pk}/room/")
        assert response["Location"] == f"/live/{live_session.pk}/"

    def test_staff_who_may_read_cannot_enter(
        self, client_for: Any, assessor: Any, auditor: Any, live_session: Any
    ) -> None:
        for user in (assessor, auditor):
            assert client_for(user).get(f"/live/{live_session.pk}/room/").status_code == 403

    def test_it_hides_the_room_from_another_cohort(
        self, client_for: Any, other_learner: Any, enrolled: None, live_session: Any
    ) -> None:
        response = client_for(other_learner).get(f"/live/{live_session.pk}/room/")
        assert response.status_code == 404

    def test_it_marks_the_learners_own_questions_and_upvotes_without_javascript(
        self, client_for: Any, learner: Any, enrolled: None, cohort: Any, live_session: Any
    ) -> None:
        classmate = EnrolmentFactory(cohort=cohort).learner
        theirs = services.ask_question(live_session, classmate, "Gloves first?", anonymous=True)
        other = services.ask_question(live_session, classmate, "Which soap?", anonymous=False)
        hers = services.ask_question(live_session, learner, "How long to rub?", anonymous=False)
        services.upvote_question(live_session, learner, theirs.pk)
        html = client_for(learner).get(f"/live/{live_session.pk}/room/").content.decode()
        assert marks(html, theirs.pk) == {"upvoted": True}
        assert marks(html, hers.pk) == {"asked": True}
        assert marks(html, other.pk) == {"open": True, "upvoted": False}
        assert f'"type": "upvote", "question_id": {theirs.pk}' not in html
        assert f'"type": "upvote", "question_id": {hers.pk}' not in html
        assert f'"type": "upvote", "question_id": {other.pk}' in html
        assert f'data-upvoted="{theirs.pk}" data-asked="{hers.pk}"' in html
        html = client_for(classmate).get(f"/live/{live_session.pk}/room/").content.decode()
        assert f'data-upvoted="" data-asked="{theirs.pk} {other.pk}"' in html
        assert f'"type": "upvote", "question_id": {hers.pk}' in html

    def test_questions_say_their_votes_in_words(
        self, client_for: Any, trainer: Any, learner: Any, enrolled: None, cohort: Any,
        live_session: Any,
    ) -> None:  # fmt: skip
        classmate = EnrolmentFactory(cohort=cohort).learner
        third = EnrolmentFactory(cohort=cohort).learner
        none = services.ask_question(live_session, learner, "Gloves first?", anonymous=False)
        one = services.ask_question(live_session, learner, "Which soap?", anonymous=False)
        two = services.ask_question(live_session, learner, "How long?", anonymous=False)
        services.upvote_question(live_session, classmate, one.pk)
        for voter in (classmate, third):
            services.upvote_question(live_session, voter, two.pk)
        html = client_for(trainer).get(f"/live/{live_session.pk}/room/").content.decode()
        for question, words in ((none, "0 votes"), (one, "1 vote"), (two, "2 votes")):
            item = re.search(rf'<li [^>]*id="question-{question.pk}".*?</li>', html, re.DOTALL)
            assert item
            votes = re.search(r'class="question__votes">(.*?)</span>', item.group(), re.DOTALL)
            assert votes
            assert re.sub(r"<[^>]+>", "", votes.group(1)) == words


# Ending a session --------------------------------------------------------------------------


class TestEndingASession:
    def url(self, session: Any) -> str:
        return f"/live/{session.pk}/end/"

    def test_the_room_only_links_to_it_apart_from_the_push_controls(
        self, client_for: Any, trainer: Any, live_session: Any
    ) -> None:
        html = client_for(trainer).get(f"/live/{live_session.pk}/room/").content.decode()
        assert 'data-live-form="end"' not in html  # no one-click end in the room
        assert '"type": "end"' not in html
        link = f'href="{self.url(live_session)}"'
        assert link in html
        # The push form's panel holds nothing that ends; the end's own area comes after it.
        push = html.index('data-live-form="push"')
        push_panel = html[html.rindex("<section", 0, push) : html.index("</section>", push)]
        assert "End the session" not in push_panel
        assert link not in push_panel
        end_area = html.index('<section class="card live-end"')
        assert push < end_area < html.index(link)

    def test_asking_changes_nothing_and_explains(
        self, client_for: Any, trainer: Any, learner: Any, enrolled: None, live_session: Any
    ) -> None:
        services.join(live_session, learner, socket="s1", learner=True)
        response = client_for(trainer).get(self.url(live_session))
        html = response.content.decode()
        assert response.status_code == 200
        assert "for everyone?" in html
        assert "Yes, end the session" in html
        assert f'href="/live/{live_session.pk}/room/"' in html  # the way back
        assert "In the room now (1): Lena Nguyen." in html
        live_session.refresh_from_db()
        assert live_session.ended_at is None

    def test_confirming_ends_it_and_shows_the_attendance(
        self, client_for: Any, trainer: Any, learner: Any, enrolled: None, live_session: Any
    ) -> None:
        services.join(live_session, learner, socket="s1", learner=True)
        response = client_for(trainer).post(self.url(live_session))
        assert response.status_code == 302
        assert response["Location"] == f"/live/{live_session.pk}/attendance/"
        live_session.refresh_from_db()
        assert live_session.ended_at is not None
        assert live_session.attendance.get().presences.get().left_at == live_session.ended_at

    def test_an_ended_session_is_not_asked_again(
        self, client_for: Any, trainer: Any, live_session: Any
    ) -> None:
        services.end_session(live_session, by=trainer)
        response = client_for(trainer).get(self.url(live_session))
        assert response["Location"] == f"/live/{live_session.pk}/"

    @pytest.mark.parametrize(("persona", "status"), [("learner", 403), ("assessor", 403)])
    def test_it_refuses_people_who_do_not_run_the_session(
        self, client_for: Any, persona: str, status: int, enrolled: None, live_session: Any,
        request: pytest.FixtureRequest,
    ) -> None:  # fmt: skip
        client = client_for(request.getfixturevalue(persona))
        assert client.get(self.url(live_session)).status_code == status
        assert client.post(self.url(live_session)).status_code == status
        live_session.refresh_from_db()
        assert live_session.ended_at is None

    def test_it_hides_another_cohorts_session_from_its_trainer(
        self, client_for: Any, live_session: Any
    ) -> None:
        other = UserFactory(roles=[Role.TRAINER])
        CohortFactory(trainers=[other])
        assert client_for(other).post(self.url(live_session)).status_code == 404
        live_session.refresh_from_db()
        assert live_session.ended_at is None

    def test_it_refuses_other_methods(
        self, client_for: Any, trainer: Any, live_session: Any
    ) -> None:
        assert client_for(trainer).put(self.url(live_session)).status_code == 405


# Attendance --------------------------------------------------------------------------------


class TestAttendance:
    @pytest.fixture
    def attended(self, live_session: Any, learner: Any, classmate: Any, trainer: Any) -> Any:
        live_session.starts_at = timezone.now()  # Lena is on time
        live_session.save()
        services.join(live_session, learner, socket="s1", learner=True)
        services.end_session(live_session, by=trainer)
        return live_session

    @pytest.mark.parametrize("persona", ["trainer", "auditor", "assessor"])
    def test_the_trainer_and_auditors_see_the_report(
        self, client_for: Any, attended: Any, persona: str, request: pytest.FixtureRequest
    ) -> None:
        user = request.getfixturevalue(persona)
        html = client_for(user).get(f"/live/{attended.pk}/attendance/").content.decode()
        assert "1 of 2 attended" in html
        assert "Lena Nguyen" in html
        assert "Cleo Park" in html
        assert "Absent" in html

    def test_the_csv_has_a_row_per_learner(
        self, client_for: Any, auditor: Any, attended: Any
    ) -> None:
        response = client_for(auditor).get(f"/live/{attended.pk}/attendance.csv")
        assert response["Content-Type"] == "text/csv; charset=utf-8"
        rows = list(csv.DictReader(io.StringIO(response.content.decode())))
        assert [(r["username"], r["attended"]) for r in rows] == [("lena", "yes"), ("cleo", "no")]
        lena = next(r for r in rows if r["username"] == "lena")
        assert lena["minutes"] == "0"
        assert lena["late"] == "no"
        assert lena["first_joined_utc"]

    @pytest.mark.parametrize(
        ("persona", "status"),
        [("learner", 403), ("other_learner", 404), ("outsider", 404), ("other_assessor", 404)],
    )
    def test_it_is_refused_to_learners_and_hidden_from_others(
        self, client_for: Any, attended: Any, enrolled: None, persona: str, status: int,
        request: pytest.FixtureRequest,
    ) -> None:  # fmt: skip
        user = request.getfixturevalue(persona)
        assert client_for(user).get(f"/live/{attended.pk}/attendance/").status_code == status
        assert client_for(user).get(f"/live/{attended.pk}/attendance.csv").status_code == status

    def test_its_query_count_does_not_grow_with_the_cohort(
        self, client_for: Any, trainer: Any, live_session: Any,
        django_assert_max_num_queries: Any,
    ) -> None:  # fmt: skip
        for enrolment in EnrolmentFactory.create_batch(80, cohort=live_session.cohort)[:50]:
            services.join(live_session, enrolment.learner, socket=f"s{enrolment.pk}", learner=True)
        client = client_for(trainer)
        with django_assert_max_num_queries(14):
            response = client.get(f"/live/{live_session.pk}/attendance/")
        assert response.content.decode().count("Here now") == 50


# The trainer's home and the learner's dashboard -----------------------------------------------


def test_the_trainers_home_lists_upcoming_sessions_with_a_fixed_number_of_queries(
    client_for: Any, trainer: Any, django_assert_max_num_queries: Any
) -> None:
    for _ in range(30):
        cohort = CohortFactory(trainers=[trainer])
        LiveSessionFactory(cohort=cohort)
    LiveSessionFactory(cohort=CohortFactory())  # someone else's
    client = client_for(trainer)
    with django_assert_max_num_queries(8):
        html = client.get("/live/").content.decode()
    assert html.count("Open the room") == 30


def test_the_dashboard_shows_upcoming_sessions_with_a_join_button_when_open(
    client_for: Any, learner: Any, enrolled: None, cohort: Any, other_cohort: Any
) -> None:
    now_on = LiveSessionFactory(cohort=cohort, title="Now on")
    LiveSessionFactory(
        cohort=cohort, title="Next week", starts_at=timezone.now() + dt.timedelta(days=7)
    )
    LiveSessionFactory(cohort=other_cohort, title="Not yours")
    LiveSessionFactory(
        cohort=cohort, title="Long gone", starts_at=timezone.now() - dt.timedelta(days=7)
    )
    html = client_for(learner).get("/learn/").content.decode()
    assert f'href="/live/{now_on.pk}/room/">Join Now on</a>' in html
    assert "Next week" in html
    assert "Join opens" in html
    assert "Not yours" not in html
    assert "Long gone" not in html


def test_the_dashboard_tag_costs_one_query(
    client_for: Any, learner: Any, cohort: Any, django_assert_num_queries: Any
) -> None:
    from django.template import Context, Template

    enrol_learner(learner, cohort)
    for _ in range(5):
        LiveSessionFactory(cohort=cohort)
    template = Template("{% load live_tags %}{% upcoming_sessions %}")
    with django_assert_num_queries(1):
        html = template.render(Context({"user": learner}))
    assert html.count("Join Tutorial") == 5


def test_the_room_page_keeps_its_query_count_in_a_busy_room(
    client_for: Any, trainer: Any, live_session: Any, django_assert_max_num_queries: Any
) -> None:
    learners = [e.learner for e in EnrolmentFactory.create_batch(40, cohort=live_session.cohort)]
    for n, learner in enumerate(learners):
        services.join(live_session, learner, socket=f"s{n}", learner=True)
        services.post_chat(live_session, trainer, f"message {n}", staff=True)
        question = services.ask_question(live_session, learner, f"question {n}", anonymous=n % 2)
        if n:
            services.upvote_question(live_session, learners[0], question.pk)
        services.raise_hand(live_session, learner)
    poll = services.open_poll(
        live_session, by=trainer, question="Ready?", kind="single", options=["Yes", "No"]
    )
    for learner in learners:
        services.vote(live_session, learner, poll_id=poll.pk, option_ids=[poll.options.first().pk])
    ResourceFactory.create_batch(30, module__course=live_session.cohort.course)
    client = client_for(trainer)
    with django_assert_max_num_queries(16):
        html = client.get(f"/live/{live_session.pk}/room/").content.decode()
    assert html.count('class="chat__message') == 40
    assert html.count('class="question"') == 40
    assert "40 votes" in html


def test_the_session_page_keeps_its_query_count_with_a_large_cohort(
    client_for: Any, trainer: Any, live_session: Any, django_assert_max_num_queries: Any
) -> None:
    course = live_session.cohort.course
    modules = [ModuleFactory(course=course) for _ in range(3)]
    for module in modules:
        ResourceFactory.create_batch(3, module=module)
    live_session.prework.set(modules)
    live_session.resources.set(ResourceFactory.create_batch(10, module=modules[0]))
    EnrolmentFactory.create_batch(60, cohort=live_session.cohort)
    client = client_for(trainer)
    with django_assert_max_num_queries(16):
        html = client.get(f"/live/{live_session.pk}/").content.decode()
    assert html.count("Not yet (60)") == 3


class TestRecords:
    URL = "/live/records/"

    def test_an_auditor_finds_every_started_session(
        self, client_for: Any, auditor: Any, live_session: Any, other_cohort: Any
    ) -> None:
        elsewhere = LiveSessionFactory(cohort=other_cohort, title="Elsewhere")
        LiveSessionFactory(
            cohort=other_cohort,
            title="Not yet",
            starts_at=timezone.now() + dt.timedelta(days=2),
        )
        html = client_for(auditor).get(self.URL).content.decode()
        assert live_session.title in html
        assert elsewhere.title in html
        assert "Not yet" not in html
        assert f"/live/{elsewhere.pk}/attendance/" in html

    def test_an_assessor_sees_only_their_cohorts(
        self, client_for: Any, other_assessor: Any, live_session: Any, other_cohort: Any
    ) -> None:
        theirs = LiveSessionFactory(cohort=other_cohort, title="Theirs")
        html = client_for(other_assessor).get(self.URL).content.decode()
        assert theirs.title in html
        assert live_session.title not in html

    def test_it_refuses_learners(self, client_for: Any, learner: Any) -> None:
        assert client_for(learner).get(self.URL).status_code == 403

    def test_its_query_count_does_not_grow(
        self, client_for: Any, other_assessor: Any, other_cohort: Any,
        django_assert_max_num_queries: Any,
    ) -> None:  # fmt: skip
        for _ in range(60):
            LiveSessionFactory(cohort=other_cohort)
        client = client_for(other_assessor)
        with django_assert_max_num_queries(8):
            html = client.get(self.URL).content.decode()
        assert html.count("/attendance/") == 50
        assert "Page 1 of 2" in html


@pytest.mark.django_db
def test_seed_demo_opens_a_drop_in_now_and_schedules_a_tutorial_once(settings: Any) -> None:
    from io import StringIO

    from django.core.management import call_command

    settings.DEBUG = True
    for _ in range(2):
        call_command("seed_demo", stdout=StringIO())

    # Last week's tutorial (ended, with its attendance: live/demo.py), the drop-in open now
    # and the tutorial to come.
    sessions = list(LiveSession.objects.order_by("starts_at"))
    assert [s.title for s in sessions] == [
        "Tutorial: the chain of infection in your workplace",
        "Drop-in: your infection control questions",
        "Tutorial: breaking the chain of infection",
    ]
    past, now_open, coming = sessions
    now = timezone.now()
    assert past.ended_at is not None
    assert past.attendance.exists()
    assert now_open.starts_at <= now < now_open.ends_at
    assert now_open.ended_at is None
    assert coming.starts_at > now
    assert coming.prework.exists()
