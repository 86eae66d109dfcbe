"""`chatcontract run --seed N` replays a run: the same seed against the same target gives the same
failure, down to the step sequence the report shows, so a failure seen in CI can be rerun locally.
"""

from __future__ import annotations

import json
import subprocess
import sys
import re
from pathlib import Path

from chatcontract.servers.serve import start_in_thread, target_document, write_target

FAULT = "unmute-noop"  # servers/plugdj/faults.yaml: an unmute that changes nothing (semantic layer)


def _semantic_result(workdir: Path, target: Path, seed: int) -> dict:
    reports = workdir / f"reports-{seed}-{len(list(workdir.iterdir()))}"
    done = subprocess.run([sys.executable, "-m", "chatcontract.cli", "run", "--profile", "fast", "--layer", "semantics",
                           "--seed", str(seed), "--target", str(target), "--report-dir", str(reports)],
                          capture_output=True, text=True, timeout=300, cwd=workdir)
    assert done.returncode == 1, done.stdout + done.stderr
    [result] = json.loads((reports / "results.json").read_text())["results"]
    return result


def test_the_same_seed_gives_the_same_failure_with_its_steps(tmp_path: Path) -> None:
    with start_in_thread("plugdj", test_hooks=True, faults=(FAULT,)) as server:
        target = tmp_path / "lounge.target.yaml"
        write_target(target, {**target_document("plugdj", server.base_url, test_hooks=True), "name": "lounge"})
        first = _semantic_result(tmp_path, target, 11)
        again = _semantic_result(tmp_path, target, 11)
    assert first["outcome"] == again["outcome"] == "fail"
    assert first["message"] == again["message"]
    # The same steps and the same exchanges (request, status); a body's server time ("time": ...) may differ.
    def same_shape(detail: str) -> str:
        return re.sub(r"^(\S+ \S+ -> \d{3}) .*$", r"\1", detail, flags=re.M)
    assert same_shape(first["detail"]) == same_shape(again["detail"])
    assert "exchanges of the failing example" in first["detail"]
    # The report shows how to get there: hypothesis' steps, from a fresh machine.
    assert "state.start()" in first["detail"], first["detail"]
