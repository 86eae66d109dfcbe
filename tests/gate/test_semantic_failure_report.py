"""A semantic failure a person can act on (issue 13 item 6): besides hypothesis' steps, it lists
the HTTP exchanges of the failing example (method, path, status, short body), each with a curl,
up to the read that contradicted the writes before it, with every credential redacted."""

from __future__ import annotations

import re
from pathlib import Path

from chatcontract.servers.serve import start_in_thread, target_document, write_target
from tests.gate.conftest import command, results, said


def test_a_semantic_failure_lists_the_exchanges_with_their_curls(tmp_path: Path) -> None:
    with start_in_thread("plugdj", test_hooks=True, faults=("mute-not-recorded",)) as server:
        document = {**target_document("plugdj", server.base_url, test_hooks=True), "name": "lounge"}
        target = tmp_path / "lounge.target.yaml"
        write_target(target, document)
        done = command(tmp_path, "run", "--target", str(target), "--layer", "semantics", "--report-dir", str(tmp_path / "r"))
    assert done.returncode == 1, said(done)
    (failed,) = [r for r in results(tmp_path / "r") if r["outcome"] == "fail"]
    detail = failed["detail"]
    assert "exchanges of the failing example, each with its curl:" in detail, detail[:3000]
    listed = detail.split("exchanges of the failing example, each with its curl:\n", 1)[1].split("\nsteps", 1)[0]
    exchanges = re.findall(r"^(GET|POST|DELETE|PUT) (/\S*) -> (\d{3}) ", listed, re.M)
    curls = re.findall(r"^    curl -sS -X (GET|POST|DELETE|PUT) ", listed, re.M)
    assert exchanges and len(curls) == len(exchanges), listed
    assert ("POST", "/_/mutes") in {(m, p) for m, p, _ in exchanges}  # the write the fault drops ...
    assert exchanges[-1][:2] == ("GET", "/_/mutes")  # ... and the read that showed it, last
    secrets = {str(v) for creds in document["credentials"].values() for v in creds.values()}
    for text in (detail, (tmp_path / "r" / "summary.md").read_text(encoding="utf-8"), done.stdout, done.stderr):
        assert not any(secret in text for secret in secrets)
    assert "<redacted>" in listed
