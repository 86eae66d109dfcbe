"""Two runs against one target (issue 13 item 4): each changes the users the other checks, so a
semantic check may see the other run's doing. The run says so in plain words — which other run
(on this machine), and that the state changed under it — never in hypothesis' jargon
("FlakyStrategyDefinition ... external state?"), and a reason never repeats its behaviour label."""

from __future__ import annotations

import os
import subprocess
import sys
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


def test_two_runs_against_one_target_say_so_in_plain_words(tmp_path: Path) -> None:
    with start_in_thread("plugdj", test_hooks=True) as server:
        target = target_file(tmp_path, server.base_url)
        runs = [subprocess.Popen([sys.executable, "-m", "chatcontract.cli", "run", "--target", str(target),
                                  "--layer", "semantics", "--report-dir", str(tmp_path / f"r{i}")],
                                 cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for i in (1, 2)]
        said = [run.communicate(timeout=300) for run in runs]
    records = [results(tmp_path / f"r{i}")[0] for i in (1, 2)]
    # The two runs reset and mute the same users of one server: at least one of them sees it.
    assert any(r["outcome"] != "pass" for r in records), records
    for record, (out, err) in zip(records, said):
        if record["outcome"] == "pass":
            continue
        assert record["message"].endswith(f"({OTHER_RUN})"), record["message"]
        assert "another chatcontract run on this machine (pid " in record["detail"]
        assert record["message"].count("[semantics:") <= 1, record["message"]
        for text in (record["message"], out, err):
            assert not any(word in text for word in JARGON), text[-2000:]


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
