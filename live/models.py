"""Live tutorials: a session of a cohort, who came and for how long, and what happened in the room.

Everything a learner sees in the room is a row here, so a reconnecting page (or a restarted
Redis) rebuilds its view from the database; the channel layer only carries news.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from delivery.models import Cohort, Module, Resource

# How early learners may enter before the start, and how long a session left open by its
# trainer stays joinable past its scheduled end.
OPENS_EARLY = timedelta(minutes=getattr(settings, "LIVE_OPENS_EARLY_MINUTES", 10))
OVERRUN = timedelta(minutes=getattr(settings, "LIVE_OVERRUN_MINUTES", 120))


class LiveSessionQuerySet(models.QuerySet["LiveSession"]):
    def upcoming(self, now: datetime | None = None) -> LiveSessionQuerySet:
        """Not ended and not past its scheduled end (plus overrun)."""
        now = now or timezone.now()
        return self.filter(ended_at__isnull=True, ends_at__gt=now - OVERRUN)


class LiveSession(models.Model):
    """One live tutorial of a cohort. Video lives in the external meeting tool (`meeting_url`)."""

    cohort = models.ForeignKey(Cohort, on_delete=models.CASCADE, related_name="live_sessions")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    trainers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="live_sessions_training"
    )
    meeting_url = models.URLField(blank=True, help_text="Zoom, Jitsi or Teams link")
    resources = models.ManyToManyField(Resource, blank=True, related_name="+")
    prework = models.ManyToManyField(
        Module, blank=True, related_name="+", help_text="Modules to finish before the session"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    # Room state that is not a list of rows of its own.
    slow_mode_seconds = models.PositiveSmallIntegerField(default=0)
    pushed_resource = models.ForeignKey(
        Resource, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    pushed_at = models.DateTimeField(null=True, blank=True)
    # The last sequence number handed to an event of this room (see docs/live-protocol.md).
    seq = models.PositiveBigIntegerField(default=0)

    objects = LiveSessionQuerySet.as_manager()

    class Meta:
        ordering = ["starts_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="live_ends_after_start"
            ),
        ]
        indexes = [models.Index(fields=["cohort", "starts_at"], name="live_cohort_start")]

    def __str__(self) -> str:
        return self.title

    def opens_at(self) -> datetime:
        return self.starts_at - OPENS_EARLY

    def is_over(self, now: datetime | None = None) -> bool:
        now = now or timezone.now()
        return self.ended_at is not None or now >= self.ends_at + OVERRUN

    def is_open(self, now: datetime | None = None) -> bool:
        """Learners may be in the room: from a little before the start until it is over."""
        now = now or timezone.now()
        return self.opens_at() <= now and not self.is_over(now)


class Attendance(models.Model):
    """One learner (or trainer) in one session, however many tabs and reconnections."""

    session = models.ForeignKey(LiveSession, on_delete=models.CASCADE, related_name="attendance")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    first_joined_at = models.DateTimeField()
    last_left_at = models.DateTimeField(null=True, blank=True)
    late = models.BooleanField(default=False)
    # Filled in when the session ends; until then computed from the intervals.
    seconds = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["first_joined_at"]
        constraints = [
            models.UniqueConstraint(fields=["session", "user"], name="attend_once"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.session_id}"


class Presence(models.Model):
    """An unbroken stretch in the room. A reconnection within the grace period extends the
    last stretch instead of starting another, so a flaky network is one presence."""

    attendance = models.ForeignKey(Attendance, on_delete=models.CASCADE, related_name="presences")
    joined_at = models.DateTimeField()
    left_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["joined_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["attendance"],
                condition=Q(left_at__isnull=True),
                name="one_open_presence",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.joined_at} - {self.left_at}"

    def seconds(self, until: datetime) -> int:
        end = min(self.left_at or until, until)
        return max(0, int((end - self.joined_at).total_seconds()))


class Connection(models.Model):
    """An open socket, whichever daphne process holds it: tabs are counted here, so the
    presence of a user ends only when their last socket closes."""

    session = models.ForeignKey(LiveSession, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    channel_name = models.CharField(max_length=200, unique=True)
    opened_at = models.DateTimeField(default=timezone.now)
    # Touched by the process holding the socket (live/hub.py); a row nobody touches any more
    # belonged to a process that died without saying goodbye, and is pruned.
    seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["session", "seen_at"], name="connection_seen")]

    def __str__(self) -> str:
        return self.channel_name


class ChatMessage(models.Model):
    session = models.ForeignKey(LiveSession, on_delete=models.CASCADE, related_name="chat")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    text = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    deleted_at = models.DateTimeField(null=True, blank=True)
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["session", "author", "-created_at"], name="chat_recent")]

    def __str__(self) -> str:
        return self.text[:40]


class Mute(models.Model):
    session = models.ForeignKey(LiveSession, on_delete=models.CASCADE, related_name="mutes")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    muted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["session", "user"], name="mute_once")]

    def __str__(self) -> str:
        return f"{self.user_id} muted in {self.session_id}"


class Question(models.Model):
    """A learner's question. `anonymous` hides the name from peers only: the author is always
    recorded, and the trainer sees it."""

    session = models.ForeignKey(LiveSession, on_delete=models.CASCADE, related_name="questions")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    text = models.TextField()
    anonymous = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.text[:40]


class QuestionVote(models.Model):
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="votes")
    voter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["question", "voter"], name="upvote_once"),
        ]

    def __str__(self) -> str:
        return f"{self.voter_id} +1 {self.question_id}"


class RaisedHand(models.Model):
    session = models.ForeignKey(LiveSession, on_delete=models.CASCADE, related_name="hands")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    raised_at = models.DateTimeField(default=timezone.now)
    lowered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["raised_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "user"],
                condition=Q(lowered_at__isnull=True),
                name="one_raised_hand",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} hand in {self.session_id}"


class Poll(models.Model):
    class Kind(models.TextChoices):
        SINGLE = "single", "Single choice"
        MULTIPLE = "multiple", "Multiple choice"
        QUIZ = "quiz", "Quiz question"

    session = models.ForeignKey(LiveSession, on_delete=models.CASCADE, related_name="polls")
    question = models.CharField(max_length=300)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.SINGLE)
    created_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["session"], condition=Q(closed_at__isnull=True), name="one_open_poll"
            ),
        ]

    def __str__(self) -> str:
        return self.question

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class PollOption(models.Model):
    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="options")
    position = models.PositiveSmallIntegerField()
    text = models.CharField(max_length=200)
    correct = models.BooleanField(default=False)

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["poll", "position"], name="option_position"),
        ]

    def __str__(self) -> str:
        return self.text


class Ballot(models.Model):
    """One learner's vote in one poll (one or more options); the unique constraint is what
    makes a second vote impossible, even from two tabs at once."""

    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="ballots")
    voter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    options = models.ManyToManyField(PollOption, related_name="ballots")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["poll", "voter"], name="vote_once")]

    def __str__(self) -> str:
        return f"{self.voter_id} in {self.poll_id}"
