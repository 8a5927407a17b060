"""The pathway map's layout: steps in columns by how many recommended steps come before them,
the goal in the last column, arrows for the recommended order. Pure: it reads a PathwayView
(already loaded) and returns coordinates; templates/catalogue/pathways/_map.html draws them
as SVG with classes from static/css/pathways.css (the CSP allows no inline style)."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from catalogue.pathways.selectors import PathwayView, StepView

BOX_WIDTH = 220
BOX_HEIGHT = 132
COLUMN_GAP = 56
ROW_GAP = 28
MARGIN = 16
LINE = 17
TITLE_CHARS = 24
TEXT_CHARS = 28


@dataclass
class Text:
    y: int
    text: str
    css: str = ""


@dataclass
class Box:
    x: int
    y: int
    css: str
    lines: list[Text]
    label: str  # for the box's <title>
    width: int = BOX_WIDTH
    height: int = BOX_HEIGHT

    @property
    def text_x(self) -> int:
        return self.x + 12


@dataclass
class Arrow:
    x1: int
    y1: int
    x2: int
    y2: int
    css: str = "map-arrow"


@dataclass
class MapLayout:
    width: int
    height: int
    boxes: list[Box] = field(default_factory=list)
    arrows: list[Arrow] = field(default_factory=list)
    goal: Box | None = None


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def _title_lines(title: str) -> list[str]:
    lines = textwrap.wrap(title, TITLE_CHARS) or [""]
    if len(lines) > 2:
        lines = [lines[0], _clip(" ".join(lines[1:]), TITLE_CHARS)]
    return lines


def _step_box(view: StepView, x: int, y: int) -> Box:
    lines: list[Text] = []
    top = y + 24
    for index, line in enumerate(_title_lines(view.step.title)):
        lines.append(Text(top + index * LINE, line, "map-title"))
    row = top + 2 * LINE + 4
    lines.append(Text(row, view.requirement, "map-requirement"))
    lines.append(Text(row + LINE, _clip(view.codes, TEXT_CHARS), "map-codes"))
    extra = []
    if view.step.milestone_id:
        extra.append(Text(row + 2 * LINE, "★ Milestone", "map-milestone"))
    if view.state:
        extra.append(Text(row + 2 * LINE + (LINE if extra else 0), view.state_label, "map-state"))
    lines.extend(extra)
    css = f"map-box map-box--{view.step.requirement}"
    if view.state:
        css += f" map-box--{view.state}"
    label = f"{view.step.title}: {view.requirement}, {view.codes}"
    if view.state:
        label += f". {view.state_label}"
    return Box(x, y, css, lines, label)


def layout(view: PathwayView) -> MapLayout:
    """Columns by depth, rows by recommended position; the goal after the deepest column."""
    columns: dict[int, list[StepView]] = {}
    for step in view.steps:
        columns.setdefault(step.depth, []).append(step)
    depth_count = max(columns, default=-1) + 1
    tallest = max((len(c) for c in columns.values()), default=1)
    height = MARGIN * 2 + tallest * BOX_HEIGHT + (tallest - 1) * ROW_GAP
    width = MARGIN * 2 + (depth_count + 1) * BOX_WIDTH + depth_count * COLUMN_GAP
    result = MapLayout(width=width, height=height)
    boxes: dict[str, Box] = {}
    for depth in sorted(columns):
        x = MARGIN + depth * (BOX_WIDTH + COLUMN_GAP)
        for row, step in enumerate(columns[depth]):
            y = MARGIN + row * (BOX_HEIGHT + ROW_GAP)
            box = _step_box(step, x, y)
            boxes[step.step.key] = box
            result.boxes.append(box)

    goal = view.pathway.goal
    gx = MARGIN + depth_count * (BOX_WIDTH + COLUMN_GAP)
    gy = (height - BOX_HEIGHT) // 2
    goal_lines = [Text(gy + 24, "Goal", "map-requirement")]
    for index, line in enumerate(_title_lines(goal.name)):
        goal_lines.append(Text(gy + 24 + (index + 1) * LINE, line, "map-title"))
    goal_lines.append(Text(gy + 24 + 3 * LINE + 4, _clip(goal.human_code, TEXT_CHARS), "map-codes"))
    if goal.unit_id is None and goal.course_id is None:
        goal_lines.append(Text(gy + 24 + 4 * LINE + 4, "★ Milestone", "map-milestone"))
    css = "map-box map-box--goal"
    if view.with_learner and view.complete:
        css += " map-box--met"
        goal_lines.append(Text(gy + 24 + 5 * LINE + 4, "Reached", "map-state"))
    result.goal = Box(gx, gy, css, goal_lines, f"Goal: {goal.human_code} {goal.name}")

    leads_on = {key for step in view.steps for key in step.after}
    for step in view.steps:
        target = boxes[step.step.key]
        for before in step.after:
            if before in boxes:
                source = boxes[before]
                result.arrows.append(
                    Arrow(
                        source.x + BOX_WIDTH,
                        source.y + BOX_HEIGHT // 2,
                        target.x - 4,
                        target.y + BOX_HEIGHT // 2,
                    )
                )
        if step.step.key not in leads_on:
            result.arrows.append(
                Arrow(
                    target.x + BOX_WIDTH,
                    target.y + BOX_HEIGHT // 2,
                    gx - 4,
                    gy + BOX_HEIGHT // 2,
                    "map-arrow map-arrow--goal",
                )
            )
    return result
