"""Partial targets (`implements:` in the target file): what a target does not serve is a skip
saying "not implemented by this target", in every layer, never a pass; what it serves is checked,
state-machine behaviours included.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from chatcontract.servers.serve import start_in_thread, target_document, write_target
from chatcontract.suite import plugin
from chatcontract.suite import test_documented_errors, test_schema_layer, test_semantics
from chatcontract.suite.semantics import rocketchat, sendbird
from chatcontract.targets import from_document

NOT_IMPLEMENTED = "not implemented by this target"


def partial(platform: str, implements: list[str], **capabilities: Any):
    document = target_document(platform, "http://127.0.0.1:9", test_hooks=True)
    document["implements"] = implements
    if capabilities:
        document["capabilities"] = capabilities
    return from_document(document, where="test", default_name=platform)


def test_every_case_of_an_unimplemented_operation_is_skipped_and_the_rest_is_not() -> None:
    target = partial("sendbird", ["sendbirdBlockUser", "sendbirdUnblockUser"])
    cases = [*test_schema_layer.cases(target), *test_documented_errors.cases(target)]
    for case in cases:
        reason = plugin.not_implemented(case)
        needs = plugin.operations_needed(case)
        if all(op in target.implements for op in needs):
            assert reason is None, case.test_id
        else:
            assert reason is not None and reason.startswith(NOT_IMPLEMENTED), case.test_id
    skipped = {c.behaviour for c in cases if plugin.not_implemented(c)}
    assert "sendbirdListBlockedUsers" in skipped  # the schema layer's case of the list
    assert any(b.startswith("sendbirdListBlockedUsers/") for b in skipped)  # its documented errors


def test_an_error_set_up_with_an_unimplemented_operation_is_skipped_too() -> None:
    """An error provoked after calls of another operation (x-provoke `before`) cannot be set up
    without that operation. Sendbird's rate limits are per endpoint, so its spec now sets each
    rate-limit error up with calls of the same operation; the block's is given list calls here,
    as the spec had it before, to check the mechanism."""
    target = partial("sendbird", ["sendbirdBlockUser", "sendbirdUnblockUser"])
    set_up = []
    for case in test_documented_errors.cases(target):
        if case.operation_id == "sendbirdBlockUser" and case.behaviour.endswith("/rateLimited"):
            *rest, example = case.payload
            example = {**example, "x-provoke": {**example["x-provoke"], "before": [
                {"operation": "sendbirdListBlockedUsers", "as": "throttled"}] * 10}}
            set_up.append(dataclasses.replace(case, payload=(*rest, example)))
    assert set_up and all("sendbirdListBlockedUsers" in plugin.operations_needed(c) for c in set_up)
    for case in set_up:
        reason = plugin.not_implemented(case)
        assert reason is not None and reason.startswith(NOT_IMPLEMENTED)
        assert "set up with sendbirdListBlockedUsers" in reason


class _Request:
    class config:  # noqa: N801 - stands in for pytest's request.config
        @staticmethod
        def getoption(*_: object) -> None:
            return None


def test_the_semantic_case_is_a_skip_when_the_target_serves_none_of_the_machines_operations() -> None:
    # A target file needs a non-empty `implements`; a target serving none of the machine's
    # operations (e.g. a future operation only) is built directly.
    target = dataclasses.replace(partial("sendbird", ["sendbirdBlockUser"]), implements=frozenset())
    (case,) = test_semantics.cases(target)
    profile = {"machine_examples": 1, "machine_steps": 1, "shrink": False}
    with pytest.raises(pytest.skip.Exception, match=NOT_IMPLEMENTED):
        test_semantics.test_moderation_semantics(case, target, None, profile, _Request())  # type: ignore[arg-type]


def test_every_machine_declares_the_operations_of_its_behaviours() -> None:
    for machine in (rocketchat.Machine, sendbird.Machine):
        assert machine.needs, machine
        assert all(isinstance(ops, tuple) for ops in machine.needs.values())


def _run(tmp_path: Path, target: Path, *args: str) -> tuple[subprocess.CompletedProcess, dict]:
    reports = tmp_path / "reports"
    done = subprocess.run([sys.executable, "-m", "chatcontract.cli", "run", "--target", str(target), "--profile",
                           "fast", "--report-dir", str(reports), *args],
                          capture_output=True, text=True, timeout=600, cwd=tmp_path)
    return done, json.loads((reports / "results.json").read_text())


@pytest.mark.parametrize("hooks", [False, True], ids=["no-hooks", "hooks"])
def test_a_rocketchat_target_with_only_ignore_and_getone_gets_its_ignore_semantics_checked(
        tmp_path: Path, hooks: bool) -> None:
    """The measured case: a server with only chat.ignoreUser and subscriptions.getOne. Its mute
    operations are skipped everywhere; the state machine still checks every ignore behaviour."""
    with start_in_thread("rocketchat", test_hooks=True) as server:
        document = target_document("rocketchat", server.base_url, test_hooks=True)
        document["implements"] = [rocketchat.IGNORE, rocketchat.GET_ONE]
        document["capabilities"] = {**document["capabilities"], "reset": hooks, "clock": hooks}
        target = tmp_path / "partial.target.yaml"
        write_target(target, document)
        done, results = _run(tmp_path, target)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    by_id = {r["id"].split("::", 1)[1]: r for r in results["results"]}
    for local_id, result in by_id.items():
        if result["operation_id"] in (rocketchat.MUTE, rocketchat.UNMUTE):
            assert result["outcome"] == "skip", local_id
            assert result["message"].startswith(NOT_IMPLEMENTED), (local_id, result["message"])
    machine = by_id["semantics::state-machine"]
    assert machine["outcome"] == "pass", machine
    kinds = machine["behaviours"]
    for behaviour in (rocketchat.B_IGNORE, rocketchat.B_UNIGNORE, rocketchat.B_REPEAT, rocketchat.B_PARSE,
                      rocketchat.B_ROOMS):
        assert kinds.get(behaviour) == "pass", (behaviour, kinds)
    for behaviour in (rocketchat.B_MUTE, rocketchat.B_UNMUTE):
        assert kinds[behaviour] == "skip"
        assert machine["behaviour_notes"][behaviour].startswith(NOT_IMPLEMENTED)
    assert "behaviour(s) skipped" in machine["message"]
    assert results["totals"]["pass"] > 0 and results["totals"]["fail"] == 0


def test_a_sendbird_target_with_only_the_list_gets_its_list_behaviours_checked() -> None:
    from chatcontract.suite import semantics
    from chatcontract.suite.wire import Wire

    with start_in_thread("sendbird", test_hooks=True) as server:
        document = target_document("sendbird", server.base_url, test_hooks=True)
        document["implements"] = [sendbird.LIST]
        target = from_document(document, where="test", default_name="sendbird")
        wire = Wire(target)
        try:
            kinds = semantics.run("sendbird", semantics.Context(target, wire, 0.0), examples=2, steps=5, shrink=False)
        finally:
            wire.close()
    notes = sendbird.Machine.notes
    for behaviour in (sendbird.ANSWERS, sendbird.COVER, sendbird.PAGE_SIZE, sendbird.ID_FILTER, sendbird.AUTHZ):
        assert kinds[behaviour] == "pass", (behaviour, kinds)
    for behaviour in (sendbird.UNBLOCKED, sendbird.REPEAT, sendbird.ONE_WAY, sendbird.DEFAULTS, sendbird.BLOCK_BODY):
        assert kinds[behaviour] == "skip" and notes[behaviour].startswith(NOT_IMPLEMENTED), (behaviour, notes)
    assert "fail" not in kinds.values()
