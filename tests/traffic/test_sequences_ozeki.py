"""The Ozeki Chat mute model judging traffic it did not choose: a clean sequence through the proxy
passes, the reference server's semantic faults are flagged from the traffic alone, faults planted
in a recorded HAR (a mute missing from the next list, a user twice in `mutedby`, one participant's
mute showing as another's `ismuted`, a non-participant landing in `mutedby`, a mute answer that
does not show the mute) are each found at the exchange that shows them, and what the trace cannot
know (mutes from before it) is "cannot judge", never a failure, and a write by a caller whose
list it has not shown is only recorded."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from chatcontract.suite.wire import Wire, base_call
from tests.traffic.conftest import for_platform, load, save, semantics

P = "ozeki"
OP = "ozekiConversation"
SEMANTICS = "/semantics"


def _body(target, action: str, key: str | None = None) -> dict:
    body = {"action": action, "clientversioncode": target.fixtures.get("clientversioncode", 3),
            "timestamp": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")}
    if key is not None:
        body["conversationid"] = target.fixtures[key]
    return body


def _script(wire: Wire, target, script: list[tuple]) -> None:
    for step in script:
        if step[0] == "list":
            wire.send(base_call(target, OP, **{"as": step[1]}, body=_body(target, "list")))
        else:
            action, who, key = step
            wire.send(base_call(target, OP, **{"as": who}, body=_body(target, action, key)))


CLEAN = [("list", "participant"), ("list", "other_participant"), ("list", "outsider"),  # 0-2: the first reads
         ("mute", "participant", "conversation"),  # 3: a first mute: must succeed and show it
         ("list", "participant"),  # 4: the mute shows
         ("list", "other_participant"),  # 5: in mutedby, not as other_participant's own ismuted
         ("mute", "participant", "conversation"),  # 6: a repeat (OK or the error envelope)
         ("list", "participant"),  # 7: the caller once in mutedby
         ("mute", "outsider", "conversation"),  # 8: a non-participant's attempt: only the state after it
         ("list", "participant"),  # 9: nothing changed
         ("unmute", "participant", "conversation"),  # 10
         ("list", "participant"),  # 11: the unmute shows
         ("list", "other_participant")]  # 12


_through_proxy, _check = for_platform(P, _script)



def _index(result: dict) -> int:
    return int(result["behaviour"].split(":")[0])


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory):
    return _through_proxy(tmp_path_factory.mktemp("clean"), CLEAN)


def test_a_clean_sequence_passes_live_and_offline(clean, tmp_path: Path) -> None:
    har, session, lines = clean
    live = [(r["behaviour"], r["outcome"]) for r in semantics(session.recorder.results)]
    # Every list is judged (its conversations the caller's own; after the first reads, against the
    # writes before it), and so is every participant's write; the outsider's attempt (8) gets no
    # result of its own: only the state after it is judged.
    assert live == [(f"{i}:{OP}/semantics", "pass") for i in (0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12)]
    by_index = {_index(r): r for r in semantics(session.recorder.results)}
    assert by_index[3]["behaviours"]["semantics: mute then read back"] == "pass"
    assert by_index[4]["behaviours"]["semantics: mute then read back"] == "pass"
    assert by_index[5]["behaviours"]["semantics: isolation between callers"] == "pass"
    assert by_index[5]["behaviours"]["semantics: isolation between rooms"] == "pass"
    assert by_index[6]["behaviours"]["semantics: idempotent repeat"] == "pass"
    assert by_index[7]["behaviours"]["semantics: no duplicates after a repeated action"] == "pass"
    assert by_index[9]["behaviours"]["semantics: authorization between identities"] == "pass"
    assert by_index[11]["behaviours"]["semantics: unmute then read back"] == "pass"
    assert any(line.startswith(f"pass proxied-ozeki::traffic::4:{OP}/semantics") for line in lines)
    code, results, _ = _check(har, tmp_path)
    assert code == 0
    # Offline the credentials are pseudonyms, the same throughout the file (the user ids in the
    # answers too): whose list and whose write each exchange is, is still known, so all is judged as live.
    assert [(r["behaviour"], r["outcome"]) for r in semantics(results)] == live


@pytest.mark.parametrize("fault, index, says", [
    ("mute-not-recorded", 4, "[semantics: mute then read back] participant's `list` shows "),
    # The unmute's own answer shows the caller still in mutedby.
    ("unmute-noop", 10, "[semantics: unmute then read back] `unmute` of "),
    # The first list already shows other_participant's seeded mute of muted_conversation as the
    # participant's own `ismuted` (nothing before it to blame: the first write's row).
    ("mute-shared-by-all", 0, "[semantics: mute then read back] participant's `list` shows "),
])
def test_a_semantic_fault_of_the_server_is_flagged_from_its_traffic(tmp_path: Path, fault: str, index: int,
                                                                    says: str) -> None:
    _, session, lines = _through_proxy(tmp_path, CLEAN, faults=(fault,))
    failed = [r for r in semantics(session.recorder.results) if r["outcome"] == "fail"]
    assert failed, [r["message"] for r in semantics(session.recorder.results)]
    assert _index(failed[0]) == index and failed[0]["message"].startswith(says), failed[0]["message"]
    assert failed[0]["side"] == "server" and failed[0]["curl"].startswith("curl -X POST")
    # The exchange itself was as documented: only the sequence shows the fault.
    assert next(r for r in session.recorder.results if r["behaviour"] == f"{index}:{OP}")["outcome"] == "pass"
    assert any(line.startswith(f"FAIL proxied-ozeki::traffic::{index}:{OP}/semantics") for line in lines)



def test_one_participants_mute_shown_to_another_is_blamed_on_isolation_between_callers(tmp_path: Path) -> None:
    """mute-shared-by-all once more, at the list after participant's mute of `conversation`: there
    other_participant's own `ismuted` follows participant's mute (the row it breaks: callers)."""
    _, session, _ = _through_proxy(tmp_path, CLEAN, faults=("mute-shared-by-all",))
    after = next(r for r in semantics(session.recorder.results) if _index(r) == 5)
    assert after["outcome"] == "fail" and after["behaviours"]["semantics: isolation between callers"] == "fail"
    assert "other_participant's `list` shows " in after["detail"] and "ismuted=True (expected False)" in after["detail"]

def _answer(entry: dict) -> dict:
    return json.loads(entry["response"]["content"]["text"])


def _set_answer(entry: dict, body: dict) -> None:
    entry["response"]["content"]["text"] = json.dumps(body)
    entry["response"]["content"]["size"] = len(entry["response"]["content"]["text"])


def _request(entry: dict) -> dict:
    return json.loads(entry["request"]["postData"]["text"])


def _planted(clean, tmp_path: Path, index: int, change) -> list[dict]:
    """The clean recording with the answer of exchange `index` changed; the failed sequence results
    (which must be that exchange's alone)."""
    document = copy.deepcopy(load(clean[0]))
    entries = document["log"]["entries"]
    entry = entries[index]
    body = _answer(entry)
    change(body, entries)
    _set_answer(entry, body)
    code, results, _ = _check(save(document, tmp_path / "planted.har"), tmp_path)
    failed = [r for r in semantics(results) if r["outcome"] == "fail"]
    assert code == 1 and failed and _index(failed[0]) == index, [r["message"] for r in failed]
    # The exchange alone is as documented: only the sequence shows it.
    assert next(r for r in results if r["behaviour"] == f"{index}:{OP}")["outcome"] == "pass"
    return failed


def _muted_cid(entries: list[dict]) -> str:
    return _request(entries[3])["conversationid"]


def _user(entries: list[dict], index: int) -> str:
    """The (pseudonymous) user id of the caller of exchange `index`, from its Ozeki-User header."""
    return next(h["value"] for h in entries[index]["request"]["headers"] if h["name"].lower() == "ozeki-user")


def _conversation(body: dict, cid: str) -> dict:
    return next(c for c in body["conversations"] if c["id"] == cid)


def test_a_mute_missing_from_the_next_list_is_found(clean, tmp_path: Path) -> None:
    def drop(body: dict, entries: list[dict]) -> None:
        _conversation(body, _muted_cid(entries))["mutedby"] = []
    failed = _planted(clean, tmp_path, 4, drop)
    assert failed[0]["message"].startswith("[semantics: mute then read back] caller 1's `list` shows ")
    assert failed[0]["matrix_row"] == "semantics: mute then read back"


def test_a_user_twice_in_mutedby_is_found(clean, tmp_path: Path) -> None:
    def twice(body: dict, entries: list[dict]) -> None:
        conversation = _conversation(body, _muted_cid(entries))
        conversation["mutedby"] = [*conversation["mutedby"], _user(entries, 3)]
    failed = _planted(clean, tmp_path, 7, twice)
    assert failed[0]["behaviours"]["semantics: no duplicates after a repeated action"] == "fail"
    assert "more than once in mutedby" in failed[0]["message"]


def test_one_participants_mute_shown_as_anothers_is_found(clean, tmp_path: Path) -> None:
    def shared(body: dict, entries: list[dict]) -> None:
        for entry in _conversation(body, _muted_cid(entries))["properties"]:
            entry["ismuted"] = True
    failed = _planted(clean, tmp_path, 5, shared)
    assert failed[0]["message"].startswith("[semantics: isolation between callers] caller 2's `list` shows ")
    assert "its own properties entry ismuted=True (expected False)" in failed[0]["message"]


def test_a_non_participants_mute_that_lands_is_found(clean, tmp_path: Path) -> None:
    def landed(body: dict, entries: list[dict]) -> None:
        conversation = _conversation(body, _muted_cid(entries))
        conversation["mutedby"] = [*conversation["mutedby"], _user(entries, 8)]
    failed = _planted(clean, tmp_path, 9, landed)
    assert failed[0]["matrix_row"] == "semantics: authorization between identities"
    assert "caller 3 should not be in it" in failed[0]["message"]


def test_a_mute_answer_that_does_not_show_the_mute_is_found(clean, tmp_path: Path) -> None:
    def unmuted(body: dict, entries: list[dict]) -> None:
        body["conversation"]["mutedby"] = []
    failed = _planted(clean, tmp_path, 3, unmuted)
    assert failed[0]["message"].startswith("[semantics: mute then read back] `mute` of ")
    assert "as caller 1 returned mutedby=[]" in failed[0]["message"]


def test_state_from_before_the_trace_cannot_be_judged(tmp_path: Path) -> None:
    """participant muted participant_only_conversation before the proxy saw anything: the first
    list shows it (cannot judge, never a failure); other_participant's mute before any list of
    theirs is only recorded (whether they take part, the traffic has not shown). Once the lists
    have shown the state, the unmute in the trace is judged."""
    har, session, _ = _through_proxy(
        tmp_path, [("mute", "other_participant", "conversation"),  # 0: whose conversation, not known yet
                   ("list", "participant"),  # 1: shows the earlier mute
                   ("unmute", "participant", "participant_only_conversation"),  # 2: judged: a first unmute
                   ("list", "participant"),  # 3
                   ("list", "other_participant")],  # 4: other_participant's own mute of 0, now shown
        before=[("mute", "participant", "participant_only_conversation")])
    verdicts = [(r["behaviour"], r["outcome"]) for r in semantics(session.recorder.results)]
    assert verdicts == [(f"{i}:{OP}/semantics", "pass") for i in (1, 2, 3, 4)]
    listed = semantics(session.recorder.results)[0]
    # The list judged what it could (its conversations are the caller's own), and says what it could not.
    assert "cannot judge: participant's `list` shows " in listed["detail"] and "muted before the traffic" in listed["detail"]
    assert listed["behaviours"]["semantics: authorization between identities"] == "pass"
    assert listed["behaviours"]["semantics: mute then read back"] == "skip"  # only what came before the trace
    unmuted = semantics(session.recorder.results)[1]
    assert unmuted["behaviours"]["semantics: unmute then read back"] == "pass"
    code, results, _ = _check(har, tmp_path)
    assert code == 0 and not [r for r in semantics(results) if r["outcome"] == "fail"]


def test_a_list_showing_only_state_from_before_the_trace_is_never_a_failure(tmp_path: Path) -> None:
    """A server that lost participant's mute of conversation before the trace began cannot be
    told from one whose mute was never made: the trace's first lists show whatever they show, and
    other_participant's view of the same conversation is held only against participant's."""
    _, session, _ = _through_proxy(tmp_path, [("list", "participant"), ("list", "other_participant")],
                                   before=[("mute", "participant", "conversation"),
                                           ("mute", "other_participant", "conversation")])
    results = semantics(session.recorder.results)
    assert [r["outcome"] for r in results] == ["pass", "pass"]
    assert "muted before the traffic showed its state" in results[0]["detail"]


def test_a_request_outside_the_spec_makes_the_model_forget(clean, tmp_path: Path) -> None:
    """A reset between the mute and the list (a POST the spec does not describe): the missing
    mute is not judged, since something the model cannot follow changed the target."""
    def drop(document: dict, hook: bool) -> None:
        entries = document["log"]["entries"][:5]  # the three first lists, the mute, participant's list
        body = _answer(entries[4])
        _conversation(body, _muted_cid(entries))["mutedby"] = []
        for entry in _conversation(body, _muted_cid(entries))["properties"]:
            entry["ismuted"] = False
        _set_answer(entries[4], body)
        if hook:
            reset = copy.deepcopy(entries[4])
            reset["request"]["url"] = reset["request"]["url"].split("/index.php")[0] + "/_chatcontract/reset"
            entries.insert(4, reset)
        document["log"]["entries"] = entries

    def check(hook: bool) -> tuple[int, list[dict]]:
        document = copy.deepcopy(load(clean[0]))
        drop(document, hook)
        code, results, _ = _check(save(document, tmp_path / f"planted-{hook}.har"), tmp_path / str(hook))
        return code, results
    code, _ = check(hook=False)
    assert code == 1  # without the reset, the lost mute is a failure
    code, results = check(hook=True)
    assert not [r for r in semantics(results) if r["outcome"] == "fail"] and code == 0
    assert any(r["behaviour"] == "4:unmatched" and r["outcome"] == "skip" for r in results)
