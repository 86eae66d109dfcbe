"""Two runs against one target (issue 13 item 4): each changes the users the other checks, so a
semantic check may see the other run's doing. The run says so in plain words — which other run
(on this machine), and that the state changed under it — never in hypothesis' jargon
("FlakyStrategyDefinition ... external state?"), and a reason never repeats its behaviour label."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis.errors import FlakyFailure, FlakyStrategyDefinition

from chatcontract.servers.serve import start_in_thread
from chatcontract.suite import semantics, sharing
from chatcontract.suite.outcomes import classify
from tests.gate.conftest import results, target_file

JARGON = ("Flaky", "Inconsistent data generation", "external state", "hypothesis")
OTHER_RUN = "another chatcontract run was checking this target at the same time"


DISTURB = """
import sys, time
from pathlib import Path
from chatcontract.suite import sharing
from chatcontract.suite.wire import Wire, base_call
from chatcontract.targets import load_target

target = load_target(Path(sys.argv[1]))
sharing.announce(target.base_url)  # as every run marks the targets it checks
wire = Wire(target)
print("disturbing", flush=True)
end = time.monotonic() + 120
while time.monotonic() < end:  # what another run's machine does: mute the users this run checks
    for user in target.fixtures["mutable_users"][:3]:
        wire.send(base_call(target, "plugdjMuteUser", body={"userID": user, "reason": 1, "duration": "s"}))
    time.sleep(0.02)
"""


def _run_semantics(tmp_path: Path, target: Path, name: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "chatcontract.cli", "run", "--target", str(target),
                             "--layer", "semantics", "--report-dir", str(tmp_path / name)],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _said_in_plain_words(record: dict, out: str, err: str) -> None:
    assert record["message"].endswith(f"({OTHER_RUN})"), record["message"]
    assert "another chatcontract run on this machine (pid " in record["detail"]
    assert record["message"].count("[semantics:") <= 1, record["message"]
    for text in (record["message"], out, err):
        assert not any(word in text for word in JARGON), text[-2000:]


def test_a_run_whose_users_another_run_changes_says_so_in_plain_words(tmp_path: Path) -> None:
    with start_in_thread("plugdj", test_hooks=True) as server:
        target = target_file(tmp_path, server.base_url)
        other = subprocess.Popen([sys.executable, "-c", DISTURB, str(target)], stdout=subprocess.PIPE, text=True,
                                 env={k: v for k, v in os.environ.items() if k != sharing.RUN_ID})
        try:
            assert other.stdout.readline().strip() == "disturbing"
            run = _run_semantics(tmp_path, target, "r")
            out, err = run.communicate(timeout=300)
        finally:
            other.kill()
            other.wait()
    (record,) = results(tmp_path / "r")
    assert run.returncode in (1, 3) and record["outcome"] in ("fail", "error"), (record["outcome"], out[-2000:])
    _said_in_plain_words(record, out, err)


def test_two_real_runs_against_one_target_never_speak_jargon(tmp_path: Path) -> None:
    """Two `chatcontract run`s at once: whichever sees the other's doing says so (whether one
    does depends on how their steps interleave; the test above forces it)."""
    with start_in_thread("plugdj", test_hooks=True) as server:
        target = target_file(tmp_path, server.base_url)
        first = _run_semantics(tmp_path, target, "r1")
        # The second starts once the first is checking the target (its marker is there).
        markers = sharing._folder(server.base_url)
        deadline = time.monotonic() + 120
        while first.poll() is None and time.monotonic() < deadline and not (
                markers.is_dir() and any(not m.name.startswith(".") for m in markers.iterdir())):
            time.sleep(0.05)
        runs = [first, _run_semantics(tmp_path, target, "r2")]
        said = [run.communicate(timeout=300) for run in runs]
    for i, (out, err) in zip((1, 2), said):
        (record,) = results(tmp_path / f"r{i}")
        if record["outcome"] != "pass":
            _said_in_plain_words(record, out, err)


def _outcome_of(exc: BaseException):
    def body() -> None:
        raise exc

    call = pytest.CallInfo.from_call(body, when="call")
    return classify(SimpleNamespace(skipped=False, when="call", passed=False), call, "disabled by config")


def _run_raising(monkeypatch: pytest.MonkeyPatch, exc: BaseException) -> BaseException:
    """What semantics.run raises when hypothesis' run of the machine ends in `exc`."""
    def replayed(*_args, **_kwargs):
        raise exc

    monkeypatch.setattr(semantics, "run_state_machine_as_test", replayed)
    context = SimpleNamespace(target=SimpleNamespace(api="plugdj"))
    with pytest.raises(Exception) as raised:
        semantics.run("plugdj", context, examples=1, steps=1)  # type: ignore[arg-type]
    return raised.value


def test_a_replay_that_chose_other_steps_is_an_error_in_plain_words(monkeypatch: pytest.MonkeyPatch) -> None:
    exc = _run_raising(monkeypatch, FlakyStrategyDefinition("Inconsistent data generation! ... external state?"))
    outcome = _outcome_of(exc)
    assert outcome.kind == "error"  # nothing was judged: neither a pass nor the target's fault
    assert outcome.message.startswith("the target's state changed while the semantic checks ran"), outcome.message
    assert not any(word in outcome.message for word in JARGON), outcome.message


def test_a_violation_seen_once_keeps_one_behaviour_label(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = semantics.SemanticViolation("semantics: mute then read back", "GET /_/mutes does not list 5004")
    exc = _run_raising(monkeypatch, FlakyFailure("Hypothesis found inconsistent results", [seen]))
    outcome = _outcome_of(exc)
    assert outcome.kind == "fail"
    assert outcome.message == "[semantics: mute then read back] GET /_/mutes does not list 5004", outcome.message
    assert "a replay of the same steps did not show it again" in outcome.detail


def test_a_run_sees_another_runs_marker_and_not_its_own(tmp_path: Path) -> None:
    base_url = f"http://127.0.0.1:1/{tmp_path.name}"  # a URL no other test marks
    sharing.announce(base_url)
    try:
        assert sharing.others(base_url) == []  # its own marker is not another run
        other = subprocess.Popen([sys.executable, "-c", "import sys, time; from chatcontract.suite import sharing; "
                                  f"sharing.announce({base_url!r}); print('held', flush=True); time.sleep(60)"],
                                 stdout=subprocess.PIPE, text=True,
                                 env={k: v for k, v in os.environ.items() if k != sharing.RUN_ID})
        try:
            assert other.stdout.readline().strip() == "held"
            assert sharing.others(base_url) == [other.pid]
            assert f"(pid {other.pid})" in sharing.notice(base_url)
        finally:
            other.kill()
            other.wait()
        assert sharing.others(base_url) == []  # a run that ended is not in progress (its marker is removed)
    finally:
        sharing.withdraw()
