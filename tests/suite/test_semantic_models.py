"""The semantic layer's models against the faithful reference servers: step sequences that once
raised a false alarm, replayed exactly, must pass (a conformant server is never reported wrong).

Each sequence was found by hypothesis exploring more examples than a run does; it is replayed
here step by step so it cannot depend on which examples a run happens to draw.
"""

from __future__ import annotations

from typing import Iterator

import pytest

from chatcontract.servers.serve import start_in_thread, target_document
from chatcontract.suite import semantics
from chatcontract.suite.semantics import agora
from chatcontract.suite.wire import Wire
from chatcontract.targets import from_document


@pytest.fixture
def agora_machine() -> Iterator[agora.Machine]:
    with start_in_thread("agora", test_hooks=True) as server:
        target = from_document(target_document("agora", server.base_url, True), where="test", default_name="agora")
        wire = Wire(target)
        agora.Machine.context = semantics.Context(target, wire, 0.0)
        agora.Machine.behaviours = {}
        machine = agora.Machine()
        machine.start()  # reset, read the lists, walk through every behaviour once
        yield machine
        wire.close()


def test_a_shorter_remute_that_ran_out_is_not_reported_as_a_lost_mute(agora_machine: agora.Machine) -> None:
    """Muted for an hour, then again for a minute, then the clock moves past the minute: the server
    kept the newer mute (decision 27 allows either), so the user is rightly gone from the list."""
    machine = agora_machine
    machine.mute(room=0, index=0, duration=1)  # an hour
    machine.lists_match_model()
    machine.mute_until_it_runs_out(index=0, duration=0)  # a minute, then 71 s pass
    machine.lists_match_model()
    assert "member01" not in machine.listing(machine.rooms[0])
    assert "semantics: mute then read back" not in [b for b, v in agora.Machine.behaviours.items() if v == "fail"]


def test_a_mute_kept_from_before_still_counts_when_the_shorter_one_ran_out(agora_machine: agora.Machine) -> None:
    """The model must still catch a server that loses a mute: with `remute-keeps-expire`-like
    uncertainty resolved by a list read, an hour-long mute that vanished is a failure."""
    machine = agora_machine
    machine.mute(room=0, index=1, duration=1)  # member02 for an hour
    machine.lists_match_model()  # the list says: muted for an hour
    machine.hook("POST", "/reset")  # the server forgets every mute behind the model's back
    with pytest.raises(semantics.SemanticViolation, match=r"member02 is muted .* but not in its mute list"):
        machine.check_room(machine.rooms[0])


def test_a_violation_that_does_not_replay_is_still_a_failure_of_the_target(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hypothesis replays a failing example; on a real target without a reset hook the replay can
    pass. The violation was still seen, so it is reported as the target's failure, saying so."""
    from hypothesis.errors import FlakyFailure

    def flaky(*_args: object, **_kwargs: object) -> None:
        seen = semantics.SemanticViolation("semantics: mute then read back", "5004 muted but not listed")
        raise FlakyFailure("Inconsistent results", [seen])

    monkeypatch.setattr(semantics, "run_state_machine_as_test", flaky)
    with pytest.raises(semantics.SemanticViolation) as caught:
        semantics.run("plugdj", semantics.Context(None, None, 0.0), examples=1, steps=1)  # type: ignore[arg-type]
    assert caught.value.behaviour == "semantics: mute then read back"
    assert "5004 muted but not listed" in caught.value.text and "seen once" in caught.value.text


def _machine(platform: str, base_url: str, **changes: object):
    from chatcontract.suite.semantics import machine_for

    document = target_document(platform, base_url, True)
    document.update(changes)
    target = from_document(document, where="test", default_name=platform)
    machine = machine_for(platform)
    machine.context = semantics.Context(target, Wire(target), 0.0)
    machine.behaviours, machine.notes = {}, {}
    return machine


def test_a_check_that_holds_for_want_of_an_operation_is_a_skip_not_a_pass() -> None:
    """A partial target: the unblock check holds vacuously when nothing can be unblocked."""
    from chatcontract.suite.semantics import sendbird

    machine = _machine("sendbird", "http://127.0.0.1:9", implements=[sendbird.LIST])()
    machine.expect(sendbird.UNBLOCKED, True, "", "")
    machine.expect(sendbird.COVER, True, "", "")
    assert machine.behaviours == {sendbird.UNBLOCKED: "skip", sendbird.COVER: "pass"}
    assert machine.notes[sendbird.UNBLOCKED] == "not implemented by this target (needs sendbirdBlockUser, sendbirdUnblockUser)"
    with pytest.raises(semantics.NotImplementedByTarget):
        machine.call(sendbird.BLOCK, path={"user_id": "alice"}, body={"target_id": "bob"})


def test_without_the_clock_the_rate_limited_members_never_change_an_ignore_list() -> None:
    """A member's change might not be undone while the limiter refuses the member (no clock to
    end its window), so without the clock only the admin ignores; the example ends as it began."""
    from chatcontract.suite.semantics import rocketchat

    with start_in_thread("rocketchat", test_hooks=True) as server:
        cls = _machine("rocketchat", server.base_url, capabilities={"reset": False, "clock": False})
        state = server._server.config.app.state.platform_state
        before = {key: list(sub.get("ignored") or []) for key, sub in state.subscriptions.items()}
        machine = cls()
        machine.start()
        assert not any(who != "admin" for who, _ in machine.touched_ignores)
        assert machine.ignore("member", "direct_room", "member2_user", "true") is False
        machine.ignore("admin", "room", "target_user_id", "true")
        machine.teardown()
        assert {key: list(sub.get("ignored") or []) for key, sub in state.subscriptions.items()} == before
        machine.context.wire.close()
