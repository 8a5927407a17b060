"""Helpers for the credentials tests: outcomes and issued credentials in one call, and Digital
Bazaar's verifier (tests/credentials/node/verify.mjs) run on an issued credential with
everything it may dereference written to files: our DID document and the status lists."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from assessment.models import Outcome
from credentials import keys
from credentials.models import Credential, StatusList
from credentials.services import issue_unit_credential
from tests.credentials.test_signing import run_node_verifier

SCHEMA_PATH = (
    Path(__file__).resolve().parents[2]
    / "credentials"
    / "schema"
    / "ob_v3p0_achievementcredential_schema.json"
)


def competent(learner: Any, unit: Any, cohort: Any, assessor: Any, code: str = "20") -> Outcome:
    return Outcome.objects.create(
        learner=learner, unit=unit, cohort=cohort, code=code, recorded_by=assessor
    )


def issued(learner: Any, unit: Any, cohort: Any, assessor: Any) -> Credential:
    credential = issue_unit_credential(competent(learner, unit, cohort, assessor).pk)
    assert credential is not None
    return credential


def published_files(tmp_path: Path) -> list[Path]:
    """The DID document and every status list credential, as a verifier would fetch them."""
    did_json = tmp_path / "did.json"
    did_json.write_text(json.dumps(keys.did_document()))
    files = [did_json]
    for status_list in StatusList.objects.all():
        path = tmp_path / f"status-{status_list.pk}.json"
        path.write_text(status_list.document)
        files.append(path)
    return files


def verify_independently(credential_file: Path, tmp_path: Path) -> tuple[int, dict[str, Any]]:
    completed: subprocess.CompletedProcess[str] = run_node_verifier(
        credential_file, *published_files(tmp_path)
    )
    try:
        output = json.loads(completed.stdout)
    except json.JSONDecodeError:
        output = {"stdout": completed.stdout, "stderr": completed.stderr}
    return completed.returncode, output
