"""Credential pages: public (verification page, signed JSON, status lists, DID document, the
verify endpoint), the learner's wallet and downloads, and the administrators' list and
revocation. What shows a status is read from the database on every request (any process may
revoke); only badge images, which never show one, are cached."""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    JsonResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods
from django_ratelimit.core import is_ratelimited

from credentials import badge, baking, selectors, services
from credentials.forms import RevokeForm, VerifyForm
from credentials.keys import IssuerMismatch, did_document
from credentials.models import Achievement, Credential, LearnerRecord, StatusList
from credentials.verification import verify_submission
from delivery.permissions import audits_cohort, role_required
from delivery.roles import Role

VC_CONTENT_TYPE = "application/vc+ld+json"


@require_GET
def did_json(request: HttpRequest) -> JsonResponse:
    """The issuer's DID document (`did:web`), every key ever used, retired ones included."""
    response = JsonResponse(did_document(), content_type="application/did+json")
    response["Access-Control-Allow-Origin"] = "*"
    return response


def _public_credential(public_id: uuid.UUID) -> Credential:
    return get_object_or_404(
        Credential.objects.select_related("learner", "achievement__unit", "achievement__course"),
        public_id=public_id,
    )


def _public_context(credential: Credential) -> dict[str, Any]:
    document = services.stored_document(credential)
    achievement = document["credentialSubject"]["achievement"]
    issuer = document["issuer"]
    return {
        "credential": credential,
        "status": credential.status,
        "learner_name": credential.learner.get_full_name() or "A learner",
        "issuer": issuer,
        "achievement": achievement,
        "units": _units(credential),
        "stacked": list(selectors.stacked_from(credential)),
        "page_url": services.site_url(reverse("credentials:page", args=[credential.public_id])),
        "json_url": services.site_url(reverse("credentials:json", args=[credential.public_id])),
        "image_url": services.site_url(reverse("credentials:image", args=[credential.public_id])),
        "did_url": services.site_url(reverse("credentials:did_json")),
        "verify_url": services.site_url(reverse("credentials:verify")),
        "provider_name": settings.PROVIDER_NAME,
        "rto_code": settings.PROVIDER_RTO_CODE,
    }


def _units(credential: Credential) -> list[Any]:
    course = credential.achievement.course
    if course is None:
        return [credential.achievement.unit] if credential.achievement.unit else []
    return [cu.unit for cu in course.course_units.select_related("unit").order_by("position")]


@require_GET
def credential_page(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """The public verification page: anyone with the link sees the credential and its status
    (read now, never cached: a revocation by any process shows at once); its owner also sees
    every way to share it."""
    credential = _public_credential(public_id)
    context = _public_context(credential)
    if request.user.is_authenticated and request.user.pk == credential.learner_id:
        context["share"] = share_links(credential)
    response = render(request, "credentials/public.html", context)
    response["Cache-Control"] = "no-cache"
    return response


@require_GET
def credential_id(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """The credential's `id` URL: the signed JSON to a client asking for JSON, else the page."""
    accept = request.headers.get("Accept", "")
    if "json" in accept:
        return credential_json(request, public_id)
    return HttpResponseRedirect(reverse("credentials:page", args=[public_id]))


@require_GET
def credential_json(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """The credential exactly as signed."""
    text = Credential.objects.filter(public_id=public_id).values_list("document", flat=True).first()
    if text is None:
        raise Http404("No such credential.")
    response = HttpResponse(text, content_type=VC_CONTENT_TYPE)
    response["Access-Control-Allow-Origin"] = "*"
    response["Content-Disposition"] = f'inline; filename="credential-{public_id}.json"'
    return response


@require_GET
def credential_image(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """The badge image without a credential baked in, for link previews (Open Graph)."""
    png = selectors.cached_image(public_id, "image")
    if png is None:
        credential = _public_credential(public_id)
        png = badge.badge_png(**_badge_args(credential))
        selectors.cache_image(public_id, "image", png)
    response = HttpResponse(png, content_type="image/png")
    response["Cache-Control"] = "public, max-age=86400"
    return response


def _badge_args(credential: Credential) -> dict[str, str]:
    return _achievement_badge_args(credential.achievement)


def _achievement_badge_args(achievement: Achievement) -> dict[str, str]:
    course = achievement.course
    return {
        "achievement_name": achievement.name,
        "human_code": achievement.human_code,
        "provider_name": services.issuer_profile().name,
        "label": course.get_kind_display() if course is not None else "Competent",
    }


@require_GET
def achievement_page(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """What an achievement's `id` URL shows: what it certifies and how it is assessed. A JSON
    client gets the Achievement as it appears inside credentials."""
    achievement = get_object_or_404(
        Achievement.objects.select_related("unit", "course"), public_id=public_id
    )
    data = services.achievement_json(achievement)
    if "json" in request.headers.get("Accept", ""):
        response: HttpResponse = JsonResponse(data, content_type="application/ld+json")
        response["Access-Control-Allow-Origin"] = "*"
        return response
    return render(
        request,
        "credentials/achievement.html",
        {"achievement": achievement, "data": data, "issuer": services.issuer_profile()},
    )


@require_GET
def achievement_image(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """The achievement's badge image (the `image` inside its credentials)."""
    png = selectors.cached_image(public_id, "achievement-image")
    if png is None:
        achievement = get_object_or_404(
            Achievement.objects.select_related("course"), public_id=public_id
        )
        png = badge.badge_png(**_achievement_badge_args(achievement))
        selectors.cache_image(public_id, "achievement-image", png)
    response = HttpResponse(png, content_type="image/png")
    response["Cache-Control"] = "public, max-age=86400"
    response["Access-Control-Allow-Origin"] = "*"
    return response


@require_GET
def status_list(request: HttpRequest, pk: int) -> HttpResponse:
    """A signed BitstringStatusListCredential; verifiers fetch it to check revocation. Read
    from the database each time, so a revocation is served at once by every process."""
    text = StatusList.objects.filter(pk=pk).values_list("document", flat=True).first()
    if not text:
        raise Http404("No such status list.")
    response = HttpResponse(text, content_type=VC_CONTENT_TYPE)
    response["Access-Control-Allow-Origin"] = "*"
    response["Cache-Control"] = "no-cache"
    return response


# --- verify ----------------------------------------------------------------------------------


def _wants_json(request: HttpRequest) -> bool:
    return request.content_type == "application/json" or (
        "application/json" in request.headers.get("Accept", "")
        and "text/html" not in request.headers.get("Accept", "")
    )


@csrf_exempt  # changes nothing, and other sites' tools post credentials to it
@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    """Verify a credential pasted, uploaded (JSON or a baked PNG/SVG) or posted as JSON."""
    if request.method == "GET":
        return render(request, "credentials/verify.html", {"form": VerifyForm()})
    as_json = _wants_json(request)
    if is_ratelimited(
        request,
        group="credentials.verify",
        key="ip",
        rate=settings.CREDENTIALS_VERIFY_RATE,
        increment=True,
    ):
        return _verify_refused(request, as_json, 429, "Too many verifications: wait a minute.")
    limit = settings.CREDENTIALS_VERIFY_MAX_BYTES
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > limit + 64 * 1024:  # multipart framing on top of the file itself
        return _verify_refused(
            request, as_json, 413, f"Too large: a credential is at most {limit // 1024} KiB."
        )
    if request.content_type == "application/json":
        data = request.body
    else:
        form = VerifyForm(request.POST, request.FILES)
        if not form.is_valid():
            status = 413 if form.too_large else 400
            if as_json:
                return JsonResponse({"error": form.errors.get_json_data()}, status=status)
            return render(request, "credentials/verify.html", {"form": form}, status=status)
        data = form.data_to_verify()
    report = verify_submission(data)
    if as_json:
        return JsonResponse(report.as_json())
    return render(
        request,
        "credentials/verify.html",
        {"form": VerifyForm(), "report": report, "pretty": _pretty(report.credential)},
    )


def _pretty(document: dict[str, Any] | None) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) if document is not None else ""


def _verify_refused(request: HttpRequest, as_json: bool, status: int, message: str) -> HttpResponse:
    if as_json:
        return JsonResponse({"error": message}, status=status)
    return render(
        request,
        "credentials/verify.html",
        {"form": VerifyForm(), "refused": message},
        status=status,
    )


# --- the learner's wallet --------------------------------------------------------------------


@login_required
@require_GET
def wallet(request: HttpRequest) -> HttpResponse:
    """Every credential the signed-in learner holds, valid ones first, each with every way to
    keep and share it."""
    rows = [
        {"credential": credential, "status": credential.status, "share": share_links(credential)}
        for credential in selectors.wallet(request.user)
    ]
    return render(
        request,
        "credentials/wallet.html",
        {"rows": rows, "reminders": list(selectors.open_reminders(request.user))},
    )


def share_links(credential: Credential) -> dict[str, str]:
    """What the owner needs to keep and share a credential: its public page (absolute, from
    PUBLIC_URL, as it leaves the site), LinkedIn's "Add to profile" and Facebook's share links,
    and the downloads."""
    page_url = services.site_url(reverse("credentials:page", args=[credential.public_id]))
    return {
        "page_url": page_url,
        "linkedin_url": linkedin_url(credential),
        "facebook_url": "https://www.facebook.com/sharer/sharer.php?" + urlencode({"u": page_url}),
        "certificate_url": reverse("credentials:certificate", args=[credential.public_id]),
        "png_url": reverse("credentials:badge", args=[credential.public_id, "png"]),
        "svg_url": reverse("credentials:badge", args=[credential.public_id, "svg"]),
        "json_url": reverse("credentials:json", args=[credential.public_id]),
    }


def linkedin_url(credential: Credential) -> str:
    """LinkedIn's "Add to profile" link for a certification, pre-filled; its month and year
    are the provider's, as the certificate and the public page show them."""
    issued = timezone.localtime(credential.valid_from)
    params = {
        "startTask": "CERTIFICATION_NAME",
        "name": credential.achievement.name,
        "organizationName": services.issuer_profile().name,
        "issueYear": issued.year,
        "issueMonth": issued.month,
        "certUrl": services.site_url(reverse("credentials:page", args=[credential.public_id])),
        "certId": str(credential.public_id),
    }
    if credential.valid_until is not None:
        expires = timezone.localtime(credential.valid_until)
        params["expirationYear"] = expires.year
        params["expirationMonth"] = expires.month
    return "https://www.linkedin.com/profile/add?" + urlencode(params)


def _owned(request: HttpRequest, public_id: uuid.UUID) -> Credential:
    """The credential if the user is its learner, an administrator or an auditor whose grant
    covers the cohort of the outcome it attests; else 404 (a learner does not learn that
    another learner's credential exists this way)."""
    credential = get_object_or_404(
        Credential.objects.select_related("achievement", "learner", "outcome"),
        public_id=public_id,
    )
    cohort_id = credential.outcome.cohort_id if credential.outcome else None
    if credential.learner_id != request.user.pk and not audits_cohort(request.user, cohort_id):
        raise Http404("No such credential.")
    return credential


@login_required
@require_GET
def baked_badge(request: HttpRequest, public_id: uuid.UUID, fmt: str) -> HttpResponse:
    """The badge image with the signed credential baked in, to keep or upload to a backpack."""
    if fmt not in ("png", "svg"):
        raise Http404("Badges are PNG or SVG.")
    credential = _owned(request, public_id)
    args = _badge_args(credential)
    if fmt == "png":
        body: bytes = baking.bake_png(badge.badge_png(**args), credential.document)
        content_type = "image/png"
    else:
        body = baking.bake_svg(badge.badge_svg(**args), credential.document).encode("utf-8")
        content_type = "image/svg+xml"
    response = HttpResponse(body, content_type=content_type)
    code = credential.achievement.human_code
    response["Content-Disposition"] = f'attachment; filename="{code}-badge.{fmt}"'
    response["Cache-Control"] = "private"
    return response


@login_required
@require_GET
def certificate(request: HttpRequest, public_id: uuid.UUID) -> FileResponse:
    """The certificate PDF; rendered now if the background job has not stored it yet."""
    credential = services.ensure_certificate(_owned(request, public_id))
    response = FileResponse(
        credential.certificate.open("rb"),
        as_attachment=True,  # a file the learner keeps, prints or uploads elsewhere
        filename=f"{credential.achievement.human_code}-certificate.pdf",
        content_type="application/pdf",
    )
    response["Cache-Control"] = "private"
    return response


@login_required
@require_http_methods(["POST"])
def dismiss_reminder(request: HttpRequest, pk: int) -> HttpResponse:
    from credentials.models import ExpiryReminder

    updated = ExpiryReminder.objects.filter(
        pk=pk, credential__learner_id=request.user.pk, dismissed_at__isnull=True
    ).update(dismissed_at=timezone.now())
    if not updated:
        raise Http404("No such reminder.")
    return redirect("credentials:wallet")


# --- administrators ---------------------------------------------------------------------------


@role_required(Role.ADMINISTRATOR)
@require_GET
def manage(request: HttpRequest) -> HttpResponse:
    """Issued credentials, searchable and filtered by status, and those expiring soon."""
    query = request.GET.get("q", "").strip()[:100]
    status = request.GET.get("status", "")
    if status not in Credential.Status.values:
        status = ""
    page = Paginator(selectors.search(query=query, status=status), 50).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "credentials/manage.html",
        {
            "page": page,
            "query": query,
            "status": status,
            "statuses": Credential.Status.choices,
            "expiring": selectors.expiring(90)[:50],
            "now": timezone.now(),
        },
    )


@role_required(Role.ADMINISTRATOR)
@require_http_methods(["POST"])
def rerender_certificate(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """Render a certificate again (after the provider's name or a learner's name is
    corrected), in the background; the old PDF is replaced when the new one is stored."""
    credential = get_object_or_404(Credential, public_id=public_id)
    services.queue_certificate(credential.pk, force=True)
    messages.success(request, "The certificate is being rendered again.")
    return redirect(f"{reverse('credentials:manage')}?q={credential.public_id}")


@role_required(Role.ADMINISTRATOR)
@require_http_methods(["GET", "POST"])
def revoke(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """Revoke a credential, with a reason the public page and the audit trail show."""
    credential = get_object_or_404(
        Credential.objects.select_related("achievement", "learner"), public_id=public_id
    )
    form = RevokeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            revoked = services.revoke_credential(
                credential, by=request.user, reason=form.cleaned_data["reason"]
            )
        except IssuerMismatch as exc:  # misconfigured process: nothing was changed
            messages.error(request, f"Not revoked: {exc}")
            return redirect("credentials:manage")
        if revoked:
            messages.success(
                request,
                f"Revoked {credential.achievement.name} for {credential.learner.get_full_name()}.",
            )
        else:
            messages.info(request, "That credential was already revoked; nothing changed.")
        return redirect("credentials:manage")
    return render(
        request,
        "credentials/revoke.html",
        {"credential": credential, "form": form},
        status=400 if request.method == "POST" else 200,
    )


# --- the learner's record (issue 16) -----------------------------------------------------------


@login_required
@require_GET
def record(request: HttpRequest) -> HttpResponse:
    """The signed-in learner's whole record here: units, outcomes, credentials and what they
    stack from. Only their own (there is no other learner's to name); staff read learners'
    records through the records pages."""
    return render(
        request,
        "credentials/record.html",
        {"record": selectors.learner_record(request.user), "signed": _latest_clr(request)},
    )


def _latest_clr(request: HttpRequest) -> LearnerRecord | None:
    return (
        LearnerRecord.objects.filter(learner_id=request.user.pk)
        .order_by("-issued_at", "-id")
        .first()
    )


@login_required
@require_GET
def record_pdf(request: HttpRequest) -> HttpResponse:
    """The record as a PDF the learner keeps or prints (rendered now: it is always current)."""
    from credentials.record_pdf import render_record_pdf

    pdf = render_record_pdf(request.user, selectors.learner_record(request.user))
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = 'attachment; filename="learner-record.pdf"'
    response["Cache-Control"] = "private"
    return response


@login_required
@require_http_methods(["POST"])
def record_clr(request: HttpRequest) -> HttpResponse:
    """Sign (or, unchanged, reuse) the learner's Comprehensive Learner Record and download it."""
    try:
        signed = services.issue_learner_record(request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("credentials:record")
    except IssuerMismatch as error:
        messages.error(request, f"Not signed: {error}")
        return redirect("credentials:record")
    return redirect(reverse("credentials:clr", args=[signed.public_id]) + "?download=1")


@require_GET
def clr(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """A signed learner record at its `id` URL, byte for byte as signed: public to whoever the
    learner gave its (unguessable) link, as each credential's JSON is."""
    signed = get_object_or_404(LearnerRecord, public_id=public_id)
    response = HttpResponse(signed.document, content_type=VC_CONTENT_TYPE)
    if request.GET.get("download"):
        response["Content-Disposition"] = 'attachment; filename="learner-record.clr.json"'
    response["Access-Control-Allow-Origin"] = "*"
    response["Cache-Control"] = "no-cache"
    return response
