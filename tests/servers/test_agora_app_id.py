"""Agora's app-id URL form end to end: the reference server serves `/app-id/{app_id}/chatrooms/…`
beside the org/app form, and the whole suite (`chatcontract run`, all three layers) passes on it.

The target file is the reference server's own with the two fixtures that choose the form
(specs/agora.yaml `x-url-forms`): `org_name` the form's literal segment and `app_name` the App
ID. On that form the server answers the Shengwang page's envelope (no organization, application,
applicationName); a tolerated variant answers Agora's app-id page's (all three), and both pass.
A fault still fails on this form, so the run is not vacuous.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from chatcontract import specs
from chatcontract.servers.core.seed import load_seed
from chatcontract.servers.serve import start_in_thread, target_document, write_target

pytestmark = pytest.mark.xdist_group("agora-app-id")  # one server start per variant, on one worker

FORMS = specs.load_spec("agora")["x-url-forms"]["forms"]
LITERAL = FORMS["app-id"]["org_name"]
SEED = load_seed("agora")
APP_ID = SEED["apps"]["moderation"]["app_id"]
ROOM = SEED["fixtures"]["chatroom_id"]


def app_id_target(base_url: str) -> dict[str, Any]:
    document = target_document("agora", base_url, test_hooks=True)
    document["fixtures"].update(org_name=LITERAL, app_name=APP_ID,
                                other_app_name=SEED["apps"]["sandbox"]["app_id"])
    return {**document, "name": "agora-app-id"}


def _run(tmp_path: Path, base_url: str, *args: str) -> tuple[subprocess.CompletedProcess, dict[str, Any]]:
    target = tmp_path / "agora-app-id.target.yaml"
    write_target(target, app_id_target(base_url))
    done = subprocess.run([sys.executable, "-m", "chatcontract.cli", "run", "--profile", "fast", "--target",
                           str(target), "--report-dir", str(tmp_path / "reports"), *args],
                          capture_output=True, text=True, timeout=600, cwd=tmp_path)
    results = json.loads((tmp_path / "reports" / "results.json").read_text())
    return done, results


def test_the_server_answers_both_forms_with_each_forms_envelope() -> None:
    with start_in_thread("agora", test_hooks=True) as server, httpx.Client(base_url=server.base_url) as client:
        token = SEED["identities"]["admin"]["credentials"]["appToken"]
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        org_app = client.get(f"/chatcontract/moderation/chatrooms/{ROOM}/mute", headers=headers)
        app_id = client.get(f"/{LITERAL}/{APP_ID}/chatrooms/{ROOM}/mute", headers=headers)
        other = client.get(f"/{LITERAL}/{SEED['apps']['sandbox']['app_id']}/chatrooms/{ROOM}/mute", headers=headers)
    assert org_app.status_code == app_id.status_code == 200
    assert {"organization", "application", "applicationName"} <= set(org_app.json())
    assert not {"organization", "application", "applicationName"} & set(app_id.json())
    assert app_id.json()["uri"].endswith(f"/{LITERAL}/{APP_ID}/chatrooms/{ROOM}/mute")
    assert other.status_code == 401  # another project's App ID: the token is not for it


@pytest.mark.parametrize("faults", [(), ("app-id-envelope-full",)], ids=["shengwang-envelope", "agora-envelope"])
def test_the_whole_suite_passes_on_the_app_id_form(tmp_path: Path, faults: tuple[str, ...]) -> None:
    with start_in_thread("agora", test_hooks=True, faults=faults) as server:
        done, results = _run(tmp_path, server.base_url)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    layers = {r["layer"] for r in results["results"] if r["outcome"] == "pass"}
    assert layers == {"schema", "errors", "semantics"}, layers
    assert results["totals"]["fail"] == 0 and results["totals"]["error"] == 0
    rows = {r["behaviour"]: r["outcome"] for r in results["results"] if r["layer"] == "semantics"}
    assert "fail" not in rows.values()


def test_a_fault_is_still_caught_on_the_app_id_form(tmp_path: Path) -> None:
    with start_in_thread("agora", test_hooks=True, faults=("zero-duration-mutes-for-good",)) as server:
        done, results = _run(tmp_path, server.base_url, "--layer", "semantics")
    assert done.returncode == 1, done.stdout[-3000:]
    failed = [r for r in results["results"] if r["outcome"] == "fail"]
    assert failed and "mute_duration 0 cancels the mute" in failed[0]["message"]
    assert f"/{LITERAL}/{APP_ID}/chatrooms/" in failed[0]["message"] + json.dumps(failed[0])
