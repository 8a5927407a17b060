"""Thin views of enrolment: access, form, service, message, redirect."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from delivery.enrolment import imports, selectors, services
from delivery.enrolment.forms import (
    CsvForm,
    DecideForm,
    DetailsForm,
    EnrolOneForm,
    InvitationSignUpForm,
    NextForm,
    ReasonForm,
    SignUpForm,
    TransferForm,
)
from delivery.enrolment.permissions import (
    access_enrolment,
    access_entry,
    access_listed_intake,
    access_own_entry,
    access_own_request,
    access_people,
    access_request,
)
from delivery.models import Cohort

BACKEND = "django.contrib.auth.backends.ModelBackend"


def safe_next(request: HttpRequest, value: str | None = None) -> str:
    """The `next` the request carries (POST, then GET), if it is a path on this site."""
    if value is None:
        form = NextForm(request.POST if request.method == "POST" else request.GET)
        value = form.cleaned_data.get("next", "") if form.is_valid() else ""
    if value and url_has_allowed_host_and_scheme(
        value, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return value
    return ""


def _form_errors(form: Any, error: ValidationError) -> None:
    """A service's refusal shown on the form: on its field when it names one."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, errors in error.error_dict.items():
        form.add_error(field if field in form.fields else None, errors)


def _errors(request: HttpRequest, error: ValidationError) -> None:
    for message in error.messages:
        messages.error(request, message)


# --- visitors: sign up, confirm, invitations --------------------------------------------------


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    next_url = safe_next(request)
    if request.user.is_authenticated:
        return redirect(next_url or "home")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.sign_up(
                email=data["email"],
                first_name=data["first_name"],
                last_name=data["last_name"],
                password=data["password1"],
                usi=data["usi"],
                next_url=next_url,
            )
        except ValidationError as error:
            _form_errors(form, error)
        else:
            request.session["signup_email"] = data["email"].strip().lower()
            return redirect("signup_sent")
    status = 400 if form.errors else 200
    return render(
        request, "delivery/enrolment/signup.html", {"form": form, "next": next_url}, status=status
    )


@require_GET
def signup_sent(request: HttpRequest) -> HttpResponse:
    email = request.session.get("signup_email", "")
    return render(request, "delivery/enrolment/signup_sent.html", {"email": email})


@require_http_methods(["GET", "POST"])
def signup_confirm(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    """GET shows a button, POST confirms: a mail scanner opening the link confirms nothing."""
    next_url = safe_next(request)
    if request.method == "POST":
        try:
            user = services.confirm_sign_up(uidb64, token)
        except ValidationError as error:
            return render(
                request, "delivery/enrolment/signup_confirm.html", {"problem": error.messages[0]},
                status=400,
            )  # fmt: skip
        login(request, user, backend=BACKEND)
        messages.success(request, "Your e-mail address is confirmed: welcome.")
        return redirect(next_url or "delivery:my_enrolments")
    return render(
        request, "delivery/enrolment/signup_confirm.html", {"next": next_url, "problem": ""}
    )


@require_http_methods(["GET", "POST"])
def invitation(request: HttpRequest, token: str) -> HttpResponse:
    """An invitation's link: signed in, accept it; else set up the account it is for."""
    try:
        found = services.find_invitation(token)
    except ValidationError as error:
        return render(
            request, "delivery/enrolment/invitation.html", {"problem": error.messages[0]},
            status=400,
        )  # fmt: skip
    signed_in = request.user.is_authenticated
    has_account = not signed_in and services._active_account(found.email) is not None
    form = None if signed_in or has_account else InvitationSignUpForm(request.POST or None)
    if request.method == "POST" and (signed_in or (form is not None and form.is_valid())):
        fields: dict[str, Any] = {"user": request.user} if signed_in else {
            "first_name": form.cleaned_data["first_name"],  # type: ignore[union-attr]
            "last_name": form.cleaned_data["last_name"],  # type: ignore[union-attr]
            "password": form.cleaned_data["password1"],  # type: ignore[union-attr]
            "usi": form.cleaned_data["usi"],  # type: ignore[union-attr]
        }  # fmt: skip
        try:
            user = services.accept_invitation(token, **fields)
        except ValidationError as error:
            _errors(request, error)
        else:
            if not signed_in:
                login(request, user, backend=BACKEND)
            messages.success(request, f"You are enrolled in {found.cohort.course.title}.")
            return redirect("delivery:my_enrolments")
    context = {"invitation": found, "form": form, "has_account": has_account}
    return render(
        request, "delivery/enrolment/invitation.html", context,
        status=400 if form is not None and form.errors else 200,
    )  # fmt: skip


# --- the learner ------------------------------------------------------------------------------


@login_required
@require_POST
def enrol(request: HttpRequest, cohort_id: int) -> HttpResponse:
    """The catalogue's enrol box posts here; the answer is a message on the page it came from."""
    cohort = access_listed_intake(cohort_id)
    asked = safe_next(request)
    back = asked or reverse("delivery:my_enrolments")
    try:
        outcome = services.request_place(request.user, cohort)
    except ValidationError as error:
        _errors(request, error)
        if error.code == "usi_missing":
            return redirect(f"{reverse('delivery:my_details')}?{_query(back)}")
        return redirect(back)
    messages.success(request, outcome.message)
    if outcome.kind == "enrolled" and not asked:
        return redirect("delivery:course", cohort_id=cohort.pk)
    return redirect(back)


def _query(next_url: str) -> str:
    from urllib.parse import urlencode

    return urlencode({"next": next_url})


@login_required
@require_GET
def my_enrolments(request: HttpRequest) -> HttpResponse:
    page = selectors.learner_enrolments(request.user)
    return render(request, "delivery/enrolment/my_enrolments.html", {"page": page})


@login_required
@require_http_methods(["GET", "POST"])
def my_details(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    next_url = safe_next(request)
    initial = {
        "first_name": user.first_name,
        "last_name": user.last_name,
        "usi": selectors.usi_of(user),
    }
    form = DetailsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.save_learner_details(user, **form.cleaned_data)
        except ValidationError as error:
            _form_errors(form, error)
        else:
            messages.success(request, "Your details are saved.")
            return redirect(next_url or "delivery:my_enrolments")
    return render(
        request, "delivery/enrolment/my_details.html", {"form": form, "next": next_url},
        status=400 if form.errors else 200,
    )  # fmt: skip


def _learner_action(request: HttpRequest, action: Any, target: Any, done: str) -> HttpResponse:
    try:
        action(target)
    except ValidationError as error:
        _errors(request, error)
    else:
        messages.success(request, done)
    return redirect(safe_next(request) or "delivery:my_enrolments")


@login_required
@require_POST
def request_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    found = access_own_request(request.user, pk)
    return _learner_action(request, services.cancel_request, found, "Your request is cancelled.")


@login_required
@require_POST
def offer_accept(request: HttpRequest, pk: int) -> HttpResponse:
    entry = access_own_entry(request.user, pk)
    return _learner_action(
        request, services.accept_offer, entry, "The place is yours: you are enrolled."
    )


@login_required
@require_POST
def offer_decline(request: HttpRequest, pk: int) -> HttpResponse:
    entry = access_own_entry(request.user, pk)
    return _learner_action(
        request,
        services.decline_offer,
        entry,
        "You declined the place; it goes to the next learner.",
    )


@login_required
@require_POST
def waiting_leave(request: HttpRequest, pk: int) -> HttpResponse:
    entry = access_entry(request.user, pk)
    if entry.learner_id == request.user.pk:
        return _learner_action(
            request, services.leave_waiting_list, entry, "You have left the waiting list."
        )
    try:
        services.leave_waiting_list(entry)
    except ValidationError as error:
        _errors(request, error)
    else:
        messages.success(request, "Removed from the waiting list.")
    return redirect("delivery:cohort_people", cohort_id=entry.cohort_id)


# --- staff ------------------------------------------------------------------------------------


@login_required
@require_GET
def cohort_people(request: HttpRequest, cohort_id: int) -> HttpResponse:
    cohort = access_people(request.user, cohort_id)
    people = selectors.cohort_people(cohort)
    return render(
        request,
        "delivery/enrolment/people.html",
        {
            "now": timezone.now(),
            "people": people,
            "cohort": cohort,
            "enrol_form": EnrolOneForm(),
            "decide_form": DecideForm(),
        },
    )


@login_required
@require_POST
def cohort_enrol_one(request: HttpRequest, cohort_id: int) -> HttpResponse:
    cohort = access_people(request.user, cohort_id)
    form = EnrolOneForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
    else:
        try:
            done = services.enrol_person(cohort, email=form.cleaned_data["email"], by=request.user)
        except ValidationError as error:
            _errors(request, error)
        else:
            messages.success(request, done.message)
    return redirect("delivery:cohort_people", cohort_id=cohort.pk)


@login_required
@require_http_methods(["GET", "POST"])
def cohort_enrol_csv(request: HttpRequest, cohort_id: int) -> HttpResponse:
    """Upload, every row checked; a good file is enrolled whole, a bad one refused whole."""
    cohort = access_people(request.user, cohort_id)
    form = CsvForm(request.POST or None, request.FILES or None)
    check = None
    if request.method == "POST" and form.is_valid():
        check = imports.check_csv(form.cleaned_data["file"], cohort)
        if check.ok:
            try:
                result = imports.enrol_csv(cohort, check.rows, by=request.user)
            except ValidationError as error:
                check.refuse(0, error.messages[0])
            else:
                messages.success(
                    request,
                    f"{result.enrolled} learners enrolled; {result.created} new accounts, each "
                    "e-mailed an invitation to set a password.",
                )
                return redirect("delivery:cohort_people", cohort_id=cohort.pk)
    failed = bool(form.errors or (check and check.problems))
    return render(
        request, "delivery/enrolment/csv.html", {"cohort": cohort, "form": form, "check": check},
        status=400 if failed else 200,
    )  # fmt: skip


@login_required
@require_POST
def request_decide(request: HttpRequest, pk: int) -> HttpResponse:
    found = access_request(request.user, pk)
    form = DecideForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose approve or decline.")
    else:
        try:
            services.decide_request(
                found,
                by=request.user,
                approve=form.cleaned_data["decision"] == "approve",
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as error:
            _errors(request, error)
        else:
            messages.success(request, "Decided; the learner is e-mailed.")
    return redirect("delivery:cohort_people", cohort_id=found.cohort_id)


@login_required
@require_http_methods(["GET", "POST"])
def enrolment_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    enrolment = access_enrolment(request.user, pk)
    form = ReasonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.withdraw(enrolment, by=request.user, reason=form.cleaned_data["reason"])
        except ValidationError as error:
            _form_errors(form, error)
        else:
            messages.success(request, f"{_name(enrolment)} is withdrawn.")
            return redirect("delivery:cohort_people", cohort_id=enrolment.cohort_id)
    return render(
        request, "delivery/enrolment/end.html",
        {"enrolment": enrolment, "form": form, "action": "withdraw"},
        status=400 if form.errors else 200,
    )  # fmt: skip


@login_required
@require_http_methods(["GET", "POST"])
def enrolment_transfer(request: HttpRequest, pk: int) -> HttpResponse:
    enrolment = access_enrolment(request.user, pk)
    intakes = Cohort.objects.filter(course_id=enrolment.cohort.course_id).exclude(
        pk=enrolment.cohort_id
    )
    form = TransferForm(request.POST or None, intakes=intakes)
    if request.method == "POST" and form.is_valid():
        try:
            services.transfer(
                enrolment,
                form.cleaned_data["to"],
                by=request.user,
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as error:
            _form_errors(form, error)
        else:
            messages.success(
                request, f"{_name(enrolment)} is moved to {form.cleaned_data['to'].name}."
            )
            return redirect("delivery:cohort_people", cohort_id=enrolment.cohort_id)
    return render(
        request, "delivery/enrolment/end.html",
        {"enrolment": enrolment, "form": form, "action": "transfer"},
        status=400 if form.errors else 200,
    )  # fmt: skip


def _name(enrolment: Any) -> str:
    learner = enrolment.learner
    return learner.get_full_name() or learner.email or learner.get_username()
