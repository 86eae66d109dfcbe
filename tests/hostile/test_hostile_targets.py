"""`chatcontract run` against hostile targets: it ends in bounded time, reports every check as a
clear fail or error in one line, exits with the documented code and never leaves the target host.

Two runs go side by side, one per expected exit code: the targets that answer HTTP badly (HTML
with 200, a 10 MB body, invalid JSON, 500 everywhere, a redirect loop, a redirect to 127.0.0.2)
must give `fail` results and exit 1; the ones that break HTTP itself (never answer, drip bytes,
reset the connection, answer `/` but drip on every API path) must give `error` results and
exit 3. Each target's own exit code is also computed from its results as the run computes it.
"""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

from chatcontract import exitcodes
from chatcontract.runner import exit_code
from tests.hostile.conftest import REQUEST_TIMEOUT_S, has_traceback, hostile_target, start_run
from tests.hostile.servers import HostileServers

pytestmark = pytest.mark.xdist_group("hostile")

ANSWERS_BADLY = ("html", "huge", "bad-json", "error-500", "redirect-loop", "redirect-off-host")
BREAKS_HTTP = ("silent", "drip", "reset", "drip-api")
EXPECTED = {**{k: ("fail", exitcodes.FAILED) for k in ANSWERS_BADLY}, **{k: ("error", exitcodes.HARNESS) for k in BREAKS_HTTP}}
RUN_BOUND_S = 240  # a whole run; without total-time limits a dripping target never lets it end
TEST_BOUND_S = 30 * REQUEST_TIMEOUT_S  # one check: at most a few exchanges of 1 s, plus CPU on a busy machine
# What each kind's reasons must say (one of these words), so "clear" is checked, not assumed.
REASON = {
    "html": ("text/html", "Content-Type", "answered 200"), "huge": ("more than the 2 MiB",),
    "bad-json": ("not JSON", "JSON deserialization", "answered 200"), "error-500": ("500", "Server error"),
    "redirect-loop": ("302", "status code"), "redirect-off-host": ("307", "status code"),
    "silent": ("unreachable",), "drip": ("unreachable",), "reset": ("unreachable",),
    "drip-api": ("no complete response within 1 s",),
}


@dataclass
class Run:
    code: int | str
    wall_s: float
    stdout: str
    stderr: str
    document: dict | None
    summary: str


def _finish(process: subprocess.Popen, started: float, cwd: Path) -> Run:
    try:
        stdout, stderr = process.communicate(timeout=max(1.0, started + RUN_BOUND_S - time.monotonic()))
        code: int | str = process.returncode
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate()
        code = f"still running after {RUN_BOUND_S} s (killed)"
    results = cwd / "reports" / "results.json"
    summary = cwd / "reports" / "summary.md"
    return Run(code, time.monotonic() - started, stdout, stderr,
               json.loads(results.read_text()) if results.exists() else None,
               summary.read_text() if summary.exists() else "")


@pytest.fixture(scope="module")
def runs(hostile: HostileServers, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Run]]:
    """Both runs, started together; {kind: the run its target was part of}."""
    started = time.monotonic()
    processes = {}
    for group in (ANSWERS_BADLY, BREAKS_HTTP):
        cwd = tmp_path_factory.mktemp("hostile-run")
        args = []
        for kind in group:
            args += ["--target", str(hostile_target(cwd, kind, hostile.url(kind)))]
        processes[group] = (start_run(cwd, *args), cwd)
    finished = {group: _finish(process, started, cwd) for group, (process, cwd) in processes.items()}
    yield {kind: finished[group] for group in finished for kind in group}


def _results(run: Run, kind: str) -> list[dict]:
    assert run.document is not None, f"the run wrote no results (exit {run.code}); stderr: {run.stderr[-2000:]}"
    return [r for r in run.document["results"] if r["target"] == kind]


@pytest.mark.parametrize("kind", [*ANSWERS_BADLY, *BREAKS_HTTP])
def test_every_check_ends_as_a_clear_one_line_fail_or_error(runs: dict[str, Run], kind: str) -> None:
    run = runs[kind]
    results = _results(run, kind)
    outcome, _ = EXPECTED[kind]
    assert results, f"no results for the {kind} target"
    assert {r["outcome"] for r in results} == {outcome}, [(r["id"], r["outcome"], r["message"]) for r in results]
    for r in results:
        message = r["message"]
        assert message and "\n" not in message and len(message) <= 500, (r["id"], message)
        assert any(word in message for word in REASON[kind]), (r["id"], message)
        assert not has_traceback(message) and not has_traceback(r["detail"]), (r["id"], message)


@pytest.mark.parametrize("kind", [*ANSWERS_BADLY, *BREAKS_HTTP])
def test_every_check_ends_within_its_bound(runs: dict[str, Run], kind: str) -> None:
    run = runs[kind]
    assert isinstance(run.code, int), f"the run against {kind} never ended: {run.code}"
    slow = [(r["id"], r["duration_s"]) for r in _results(run, kind) if r["duration_s"] > TEST_BOUND_S]
    assert not slow, f"checks that took longer than {TEST_BOUND_S} s against {kind}: {slow}"


@pytest.mark.parametrize("kind", [*ANSWERS_BADLY, *BREAKS_HTTP])
def test_the_exit_code_is_the_documented_one(runs: dict[str, Run], kind: str) -> None:
    run = runs[kind]
    _, code = EXPECTED[kind]
    assert run.code == code, f"exit {run.code}; stderr: {run.stderr[-2000:]}"
    assert exit_code({"results": _results(run, kind)}) == code  # as a run against this target alone


@pytest.mark.parametrize("group", [ANSWERS_BADLY, BREAKS_HTTP], ids=["answers-badly", "breaks-http"])
def test_no_traceback_reaches_the_reports_or_the_terminal(runs: dict[str, Run], group: tuple[str, ...]) -> None:
    run = runs[group[0]]
    assert "## Failures" in run.summary or "## Errors" in run.summary
    for name, text in (("summary.md", run.summary), ("stdout", run.stdout), ("stderr", run.stderr),
                       ("results.json", json.dumps(run.document))):
        assert not has_traceback(text), f"a Python traceback in {name}"


def test_no_request_ever_reaches_another_host(runs: dict[str, Run], hostile: HostileServers) -> None:
    assert runs["redirect-off-host"].document is not None  # the run did go through the redirects
    assert hostile.recorder.hits == [], f"the suite followed a redirect off the target's host: {hostile.recorder.hits[:3]}"
