"""Revocation seen at once across processes, in the embedded default (SQLite, per-process
memory cache): a running server, and `manage.py revoke_credential` run beside it as an
operator would. Before, the server kept serving "valid" from its own cache until restarted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

import pytest

from credentials import status
from tests.servers import ROOT, free_port

# The server and the command run on an embedded database of their own, whatever the suite's is.
pytestmark = pytest.mark.own_processes


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, str], str]]:
    """A migrated, seeded embedded deployment in a scratch folder, served by daphne."""
    tmp_path = tmp_path_factory.mktemp("embedded")
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "PUBLIC_URL", "CREDENTIALS_HOST"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DEBUG="true",
        VAR_DIR=str(tmp_path / "var"),
        PUBLIC_URL=f"http://127.0.0.1:{port}",
    )
    for command in (["migrate", "-v", "0"], ["seed_demo"]):
        done = manage(env, *command)
        assert done.returncode == 0, done.stderr
    log = (tmp_path / "daphne.log").open("wb")
    daphne = ["-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "config.asgi:application"]
    server = subprocess.Popen(
        [sys.executable, *daphne], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2):  # noqa: S310
                break
        except OSError:
            assert server.poll() is None, (tmp_path / "daphne.log").read_text()
            assert time.monotonic() < deadline, "daphne did not answer"
            time.sleep(0.2)
    try:
        yield env, base
    finally:
        server.terminate()
        server.wait(timeout=30)


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310
        return str(response.read().decode())


def test_a_revocation_by_a_management_command_is_served_at_once(
    embedded: tuple[dict[str, str], str],
) -> None:
    env, base = embedded
    found = manage(
        env, "shell", "-c",
        "from credentials.models import Credential; "
        "c = Credential.objects.filter(revoked_at__isnull=True, valid_until__isnull=True)"
        ".order_by('id').first(); print(c.public_id, c.status_list_id, c.status_index)",
    )  # fmt: skip
    assert found.returncode == 0, found.stderr
    public_id, list_id, index = found.stdout.strip().splitlines()[-1].split()
    page_url = f"{base}/credentials/{public_id}/"
    list_url = f"{base}/credentials/status/{list_id}"
    assert "This credential is valid." in get(page_url)  # served (and, before, cached)
    get(list_url)

    revoked = manage(
        env, "revoke_credential", public_id, "--reason", "Issued to the wrong learner."
    )  # fmt: skip
    assert revoked.returncode == 0, revoked.stderr

    html = get(page_url)
    assert "has been revoked" in html
    assert "Issued to the wrong learner." in html
    encoded = json.loads(get(list_url))["credentialSubject"]["encodedList"]
    assert status.get_bit(status.decode(encoded), int(index))


def test_the_command_refuses_an_unknown_credential_and_a_missing_reason(
    embedded: tuple[dict[str, str], str],
) -> None:
    env, _ = embedded
    unknown = manage(env, "revoke_credential", "not-an-id", "--reason", "x")
    assert unknown.returncode != 0
    assert "No credential 'not-an-id'" in unknown.stderr
