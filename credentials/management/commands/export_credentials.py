"""`manage.py export_credentials --out DIR`: everything needed to verify our credentials offline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from credentials.keys import credentials_host, did_document, issuer_did
from credentials.models import Credential, StatusList


class Command(BaseCommand):
    help = (
        "Write every issued credential as its signed JSON, the issuer's DID document (did.json) "
        "and the signed status list credentials to DIR, with an index, so that anyone can "
        "verify them offline with any Verifiable Credentials tool."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--out", type=Path, required=True, help="The folder to write into")

    def handle(self, *args: Any, **options: Any) -> None:
        out: Path = options["out"]
        if out.exists() and not out.is_dir():
            raise CommandError(f"{out} exists and is not a folder.")
        if out.is_dir() and any(out.iterdir()):
            raise CommandError(f"{out} is not empty: choose a new or empty folder.")
        (out / "credentials").mkdir(parents=True, exist_ok=True)
        (out / "status").mkdir(exist_ok=True)

        (out / "did.json").write_text(json.dumps(did_document(), indent=2) + "\n")
        lists: dict[str, str] = {}
        for status_list in StatusList.objects.exclude(document="").iterator():
            name = f"status/{status_list.pk}.json"
            # Exactly as signed: a re-serialised document could not be verified byte for byte.
            (out / name).write_text(status_list.document)
            lists[json.loads(status_list.document)["id"]] = name

        index = []
        rows = Credential.objects.select_related("achievement").order_by("issued_at", "id")
        for credential in rows.iterator(chunk_size=500):
            name = f"credentials/{credential.public_id}.json"
            (out / name).write_text(credential.document)
            index.append(
                {
                    "file": name,
                    "id": str(credential.public_id),
                    "achievement": credential.achievement.human_code,
                    "issued": credential.issued_at.isoformat(),
                    "revoked": credential.revoked_at is not None,
                }
            )
        (out / "index.json").write_text(
            json.dumps(
                {
                    "issuer": issuer_did(credentials_host()),
                    "did_document": "did.json",
                    "status_lists": lists,
                    "credentials": index,
                },
                indent=2,
            )
            + "\n"
        )
        self.stdout.write(
            f"Wrote {len(index)} credentials, {len(lists)} status lists and did.json to {out}."
        )
