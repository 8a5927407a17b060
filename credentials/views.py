from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from credentials.keys import did_document


@require_GET
def did_json(request: HttpRequest) -> JsonResponse:
    """The issuer's DID document (`did:web`), every key ever used, retired ones included."""
    response = JsonResponse(did_document(), content_type="application/did+json")
    response["Access-Control-Allow-Origin"] = "*"
    return response
