"""Pathways a provider draws to an end-goal credential, and each learner's playlist.

A pathway's steps name achievements (credentials app): a unit's, a course's (a skill set), or a
milestone's. A step is met when the learner holds a credential in force for the achievements it
asks for; the order is a recommendation drawn on the map, never enforced.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from credentials.models import Achievement
from delivery.models import Course


class Pathway(models.Model):
    """A provider's road to an end-goal credential."""

    key = models.SlugField(max_length=80, unique=True, help_text="Its id in content packs.")
    title = models.CharField(max_length=255)
    summary = models.TextField(blank=True)
    goal = models.ForeignKey(
        Achievement,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The end-goal credential the pathway leads to.",
    )
    published = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["title", "id"]

    def __str__(self) -> str:
        return self.title


class PathwayStep(models.Model):
    """One step: required, optional, or "n of these" achievements. `after` names the steps
    recommended before it (the arrows of the map); they must not form a cycle."""

    class Requirement(models.TextChoices):
        REQUIRED = "required", "Required"
        OPTIONAL = "optional", "Optional"
        CHOICE = "choice", "Choose some of these"

    pathway = models.ForeignKey(Pathway, on_delete=models.CASCADE, related_name="steps")
    key = models.SlugField(max_length=80)
    title = models.CharField(max_length=255)
    position = models.PositiveIntegerField(default=0, help_text="The recommended order.")
    requirement = models.CharField(
        max_length=10, choices=Requirement.choices, default=Requirement.REQUIRED
    )
    choose = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text='For "choose some": how many of the achievements.'
    )
    achievements = models.ManyToManyField(Achievement, related_name="+")
    after = models.ManyToManyField("self", symmetrical=False, blank=True, related_name="before")
    milestone = models.ForeignKey(
        Achievement,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="A credential issued to each learner who reaches this step.",
    )

    class Meta:
        ordering = ["pathway", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["pathway", "key"], name="pathway_step_key"),
            models.CheckConstraint(
                condition=Q(requirement="choice", choose__gte=1)
                | (~Q(requirement="choice") & Q(choose__isnull=True)),
                name="pathway_step_choose_only_for_choice",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.pathway}: {self.title}"


class PlaylistItem(models.Model):
    """A course a learner saved from the catalogue, in the learner's own order."""

    learner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="playlist_items"
    )
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveIntegerField(default=0)
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["learner", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["learner", "course"], name="playlist_course_once"),
        ]

    def __str__(self) -> str:
        return f"{self.course} in {self.learner}'s playlist"


class Goal(models.Model):
    """A pathway a learner is working toward."""

    learner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="pathway_goals"
    )
    pathway = models.ForeignKey(Pathway, on_delete=models.CASCADE, related_name="goals")
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["added_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["learner", "pathway"], name="goal_once"),
        ]

    def __str__(self) -> str:
        return f"{self.learner} toward {self.pathway}"
