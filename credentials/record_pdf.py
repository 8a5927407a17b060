"""The learner's record as a PDF (WeasyPrint, PDF/A-3b, tagged): the same content as the page
(templates/credentials/_record_body.html), fetched through the certificate's fetcher, which
serves our own fonts and nothing else."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone
from weasyprint import CSS, HTML

from credentials.certificate import STATIC_DIR, StaticAssetsURLFetcher
from credentials.selectors import LearnerRecordView
from delivery.links import public_origin

STYLESHEET = STATIC_DIR / "credentials" / "record.css"


def record_html(learner: Any, record: LearnerRecordView) -> str:
    return render_to_string(
        "credentials/record_pdf.html",
        {
            "record": record,
            "learner_name": learner.get_full_name() or learner.get_username(),
            "provider_name": settings.PROVIDER_NAME,
            "rto_code": settings.PROVIDER_RTO_CODE,
            "generated": timezone.localtime(),
            "site": public_origin(),
        },
    )


def render_record_pdf(learner: Any, record: LearnerRecordView) -> bytes:
    fetcher = StaticAssetsURLFetcher()
    stylesheet = CSS(filename=str(STYLESHEET), url_fetcher=fetcher)
    html = HTML(
        string=record_html(learner, record),
        base_url=str(STATIC_DIR / "credentials") + "/",
        url_fetcher=fetcher,
    )
    pdf: bytes = html.write_pdf(stylesheets=[stylesheet], pdf_variant="pdf/a-3b", pdf_tags=True)
    return pdf
