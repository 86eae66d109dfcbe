"""A schema-layer failure a person can act on (issue 13 item 5): the terminal and summary.md say
which check failed, where (JSON pointer and the schema keyword), what was expected and what came,
and give a curl that replays the exact failing request, with only the credentials redacted."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import httpx
import yaml

from chatcontract.servers.serve import start_in_thread, target_document, write_target
from tests.gate.conftest import command, results, said


def _failing_run(tmp_path: Path, platform: str, fault: str) -> tuple[dict, str, dict, object]:
    server = start_in_thread(platform, test_hooks=True, faults=(fault,))
    target = tmp_path / f"{platform}.target.yaml"
    document = {**target_document(platform, server.base_url, test_hooks=True), "name": "staging"}
    write_target(target, document)
    done = command(tmp_path, "run", "--target", str(target), "--layer", "schema", "--report-dir", str(tmp_path / "r"))
    assert done.returncode == 1, said(done)
    failed = [r for r in results(tmp_path / "r") if r["outcome"] == "fail"]
    assert failed
    return failed[0], done.stdout, document, server


def test_a_schema_failure_names_check_pointer_expected_and_got(tmp_path: Path) -> None:
    record, stdout, document, server = _failing_run(tmp_path, "sendbird", "list-users-renamed")
    try:
        message = record["message"]
        assert "response_schema_conformance (ST108)" in message
        assert "at response body / (schema schemas/sendbird/" in message  # the pointer and the schema file
        assert "expected required: [" in message and '"users"' in message and "got {" in message
        assert message in stdout  # the terminal prints the same line, then the curl
        assert f"  reproduce: {record['curl']}" in stdout
        summary = (tmp_path / "r" / "summary.md").read_text(encoding="utf-8")
        assert "response\\_schema\\_conformance \\(ST108\\)" in summary and record["curl"] in summary

        # The curl is the exact request: with the credential put back it gets the same failing answer.
        assert "[Filtered]" not in record["curl"] and "<redacted>" in record["curl"]
        secrets = {v for creds in document["credentials"].values() for v in creds.values()}
        assert not any(secret in record["curl"] for secret in secrets)
        argv = shlex.split(record["curl"])
        method, url = argv[argv.index("-X") + 1], argv[argv.index("-X") + 2]  # as wire.curl writes it
        headers = dict(argv[i + 1].split(": ", 1) for i, part in enumerate(argv) if part == "-H")
        identity = next(iter(yaml.safe_load(Path("specs/sendbird.yaml").read_text())["x-target"]["identities"]))
        (token,) = document["credentials"][identity].values()  # Sendbird has one scheme: Api-Token
        headers = {k: v.replace("<redacted>", token) for k, v in headers.items()}
        body = argv[argv.index("--data-raw") + 1] if "--data-raw" in argv else None
        again = httpx.request(method, url, headers=headers, content=body, timeout=10)
        assert again.status_code == 200 and "users" not in again.json() and "blocked_users" in again.json()
    finally:
        server.stop()


def test_a_content_type_failure_says_expected_and_got(tmp_path: Path) -> None:
    record, _, _, server = _failing_run(tmp_path, "plugdj", "mute-answers-html")
    try:
        assert "content_type_conformance (ST105)" in record["message"], record["message"]
        assert 'expected ["application/json"], got "text/html' in record["message"]
        argv = shlex.split(record["curl"])
        assert argv[:4] == ["curl", "-sS", "-X", "POST"] and argv[4].endswith("/_/mutes"), record["curl"]
        if "--data-raw" in argv:  # the body sent, as sent (JSON)
            json.loads(argv[argv.index("--data-raw") + 1])
    finally:
        server.stop()
