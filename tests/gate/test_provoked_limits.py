"""A target's rate limit never hides the documented limit errors the suite provokes on purpose:
with `rate_limit_per_s` far below Sendbird's limit, the errors layer still gets 500910 (or 429)
from the burst it sends, because provoked requests are neither paced nor retried."""

from __future__ import annotations

from pathlib import Path

from chatcontract.servers.serve import start_in_thread, target_document, write_target
from tests.gate.conftest import command, outcomes, said


def test_provoked_rate_limit_errors_are_not_paced_away(tmp_path: Path) -> None:
    with start_in_thread("sendbird", test_hooks=True) as server:
        target = tmp_path / "sendbird.target.yaml"
        write_target(target, {**target_document("sendbird", server.base_url, test_hooks=True), "rate_limit_per_s": 2})
        done = command(tmp_path, "run", "--target", str(target), "--layer", "errors", "-k", "rateLimited",
                       "--report-dir", str(tmp_path / "r"))
    assert done.returncode == 0, said(done)
    found = outcomes(tmp_path / "r")
    assert len(found) == 3 and set(found.values()) == {"pass"}, found
