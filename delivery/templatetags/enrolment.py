"""`{% enrol_box state %}`: the action one intake offers the current user, for the catalogue.

    {% load enrolment %}
    {% enrol_box states|get_item:intake.pk %}   (or any IntakeState from
                                                 delivery.enrolment.selectors.intake_states)

It renders delivery/enrolment/_enrol_box.html: sign-up and sign-in links carrying `next` (the
page it is on), a button that POSTs to `delivery:enrol` for the intake, or words for the
states with nothing to press (enrolled, waiting, pending, closed, outside the window).
"""

from __future__ import annotations

from typing import Any

from django import template

from delivery.enrolment.selectors import IntakeState

register = template.Library()


@register.inclusion_tag("delivery/enrolment/_enrol_box.html", takes_context=True)
def enrol_box(context: Any, state: IntakeState | None, next_url: str = "") -> dict[str, Any]:
    request = context.get("request")
    here = next_url or (request.get_full_path() if request is not None else "")
    return {"state": state, "next": here, "csrf_token": context.get("csrf_token")}


@register.filter
def intake_state(states: dict[int, IntakeState], cohort_id: int) -> IntakeState | None:
    """`states|intake_state:intake.pk`: one intake's state from `intake_states`' dict."""
    return states.get(cohort_id) if states else None
