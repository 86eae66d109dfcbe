"""The Agora Chat mute model judging traffic it did not choose: a clean sequence through the
proxy passes, the reference server's semantic faults are flagged from the traffic alone, faults
planted in a recorded HAR (a muted member missing from the next list, an unmuted one still
listed, an `expire` off the mute's duration) are each found at the read that shows them, and what
the trace cannot know (mutes from before it) is "cannot judge", never a failure. Times are the
server's own (`timestamp`), so the recorder's clock never matters."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from chatcontract.suite.wire import Wire, base_call
from tests.traffic.conftest import for_platform, load, response_body, save, semantics, set_response_body

P = "agora"
SEMANTICS = "/semantics"
HOUR, DAY = 3_600_000, 86_400_000
MUTE, LIST, UNMUTE = "agoraMuteChatRoomMembers", "agoraListChatRoomMutes", "agoraUnmuteChatRoomMembers"


def _script(wire: Wire, target, script: list[tuple]) -> None:
    members = target.fixtures["members"]
    rooms = [target.fixtures["chatroom_id"], target.fixtures["other_chatroom_id"]]
    for step in script:
        kind, room = step[0], {"chatroom_id": rooms[step[1]]}
        if kind == "list":
            wire.send(base_call(target, LIST, path=room))
        elif kind == "mute":
            wire.send(base_call(target, MUTE, path=room,
                                body={"usernames": [members[i] for i in step[2]], "mute_duration": step[3]}))
        elif kind == "unmute":
            wire.send(base_call(target, UNMUTE, path={**room, "member": ",".join(members[i] for i in step[2])}))
        elif kind == "as other_app mute":
            wire.send(base_call(target, MUTE, **{"as": "other_app"}, path=room,
                                body={"usernames": [members[step[2]]], "mute_duration": HOUR}))
        elif kind == "mute-all":
            wire.send(base_call(target, "agoraMuteAllChatRoomMembers", path=room))
        elif kind == "unmute-all":
            wire.send(base_call(target, "agoraUnmuteAllChatRoomMembers", path=room))


CLEAN = [("list", 0), ("mute", 0, [0], HOUR), ("list", 0), ("mute", 0, [1, 2], -1), ("list", 0), ("list", 1),
         ("unmute", 0, [0]), ("list", 0), ("as other_app mute", 0, 3), ("list", 0), ("mute-all", 0), ("list", 0),
         ("unmute-all", 0), ("unmute", 0, [1, 2]), ("list", 0)]


_through_proxy, _check = for_platform(P, _script)



@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory):
    return _through_proxy(tmp_path_factory.mktemp("clean"), CLEAN)


def test_a_clean_sequence_passes_live_and_offline(clean, tmp_path: Path) -> None:
    har, session, lines = clean
    live = semantics(session.recorder.results)
    verdicts = {r["behaviour"]: r["outcome"] for r in live}
    assert set(verdicts.values()) == {"pass"}, [r["message"] for r in live if r["outcome"] != "pass"]
    # Every list after a write is judged against the writes before it; the first list of each
    # room shows nothing the traffic knew (no result); the other app's refused mute tells the
    # model nothing by itself, the list after it is judged (nothing changed).
    lists = [f"{i}:{LIST}/semantics" for i in (2, 4, 7, 9, 11, 14)]
    assert all(verdicts.get(name) == "pass" for name in lists), verdicts
    assert f"0:{LIST}/semantics" not in verdicts and f"5:{LIST}/semantics" not in verdicts
    after_refusal = next(r for r in live if r["behaviour"] == f"9:{LIST}/semantics")
    assert after_refusal["behaviours"].get("semantics: authorization between identities") == "pass"
    after_mute_all = next(r for r in live if r["behaviour"] == f"11:{LIST}/semantics")
    assert after_mute_all["behaviours"].get("semantics: mute-all separate from the list") == "pass"
    assert any(line.startswith(f"pass proxied-agora::traffic::2:{LIST}/semantics") for line in lines)
    code, results, _ = _check(har, tmp_path)
    assert code == 0
    # Offline the recording's credentials are pseudonyms: the lists are judged as live.
    offline = {r["behaviour"]: r["outcome"] for r in semantics(results)}
    assert {name: offline.get(name) for name in lists} == {name: "pass" for name in lists}
    assert "fail" not in offline.values()


@pytest.mark.parametrize("fault, says", [
    ("mute-not-recorded", "member01 is muted in chat room 1265710621211 but not in its mute list []"),
    ("unmute-noop", "chat room 1265710621211 lists member01 (expire"),
])
def test_a_semantic_fault_of_the_server_is_flagged_from_its_traffic(tmp_path: Path, fault: str, says: str) -> None:
    _, session, lines = _through_proxy(tmp_path, CLEAN, faults=(fault,))
    failed = [r for r in semantics(session.recorder.results) if r["outcome"] == "fail"]
    assert failed and says in failed[0]["message"], [r["message"] for r in semantics(session.recorder.results)]
    assert failed[0]["side"] == "server" and failed[0]["curl"].startswith("curl -X GET")
    # The exchange itself was as documented: only the sequence shows the fault.
    index = failed[0]["exchange"]["index"]
    assert next(r for r in session.recorder.results if r["behaviour"] == f"{index}:{LIST}")["outcome"] == "pass"
    assert any(line.startswith(f"FAIL proxied-agora::traffic::{index}:{LIST}/semantics") for line in lines)


def _list_entries(document: dict) -> list[dict]:
    return [e for e in document["log"]["entries"] if e["request"]["method"] == "GET"]


_body, _set_body = response_body, set_response_body


def _planted(clean, tmp_path: Path, change) -> tuple[int, list[dict]]:
    document = copy.deepcopy(load(clean[0]))
    change(document)
    code, results, _ = _check(save(document, tmp_path / "planted.har"), tmp_path)
    return code, results


def test_a_muted_member_missing_from_the_next_list_is_found(clean, tmp_path: Path) -> None:
    def drop(document: dict) -> None:
        entry = _list_entries(document)[1]  # the list right after muting member01 for an hour
        body = _body(entry)
        body["data"] = [e for e in body["data"] if e["user"] != "member01"]
        _set_body(entry, body)
    code, results = _planted(clean, tmp_path, drop)
    failed = [r for r in semantics(results) if r["outcome"] == "fail"]
    assert code == 1 and [r["behaviour"] for r in failed][:1] == [f"2:{LIST}/semantics"]
    assert failed[0]["message"].startswith("[semantics: mute then read back] member01 is muted in chat room "
                                           "1265710621211 but not in its mute list")
    assert failed[0]["matrix_row"] == "semantics: mute then read back"


def test_an_unmuted_member_still_listed_is_found(clean, tmp_path: Path) -> None:
    def keep(document: dict) -> None:
        lists = _list_entries(document)
        still = _body(lists[2])["data"]  # member01, member02, member03 listed
        entry = lists[4]  # the list after unmuting member01
        body = _body(entry)
        body["data"] = still
        _set_body(entry, body)
    code, results = _planted(clean, tmp_path, keep)
    failed = [r for r in semantics(results) if r["outcome"] == "fail"]
    assert code == 1 and failed[0]["behaviour"] == f"7:{LIST}/semantics"
    assert failed[0]["message"].startswith("[semantics: unmute then read back] chat room 1265710621211 lists member01")


def test_an_expire_off_the_duration_is_found(clean, tmp_path: Path) -> None:
    def later(document: dict) -> None:
        entry = _list_entries(document)[1]
        body = _body(entry)
        body["data"][0]["expire"] += DAY  # a day more than the hour the mute answer and duration say
        _set_body(entry, body)
    code, results = _planted(clean, tmp_path, later)
    failed = [r for r in semantics(results) if r["outcome"] == "fail"]
    assert code == 1 and failed[0]["message"].startswith("[semantics: expire = request time + duration] member01 in "
                                                         "chat room 1265710621211 lists expire")


def test_the_recorder_clock_does_not_matter(clean, tmp_path: Path) -> None:
    """Every exchange recorded two hours late (a recorder clock off the server's): times are the
    server's own `timestamp`, so nothing is judged differently."""
    from datetime import datetime, timedelta

    def skew(document: dict) -> None:
        for entry in document["log"]["entries"]:
            started = datetime.fromisoformat(entry["startedDateTime"].replace("Z", "+00:00"))
            entry["startedDateTime"] = (started + timedelta(hours=2)).isoformat().replace("+00:00", "Z")
    code, results = _planted(clean, tmp_path, skew)
    assert code == 0 and "fail" not in {r["outcome"] for r in semantics(results)}


def test_mutes_from_before_the_trace_cannot_be_judged(tmp_path: Path) -> None:
    """member01 and member02 were muted before the proxy saw anything: the first list shows them
    (cannot judge); a mute of member02 in the trace, which the server may answer by keeping or
    moving the earlier mute (decision 27), is accepted either way."""
    har, session, _ = _through_proxy(tmp_path, [("list", 0), ("mute", 0, [1], HOUR), ("list", 0)],
                                     before=[("mute", 0, [0], DAY), ("mute", 0, [1], -1)])
    results = semantics(session.recorder.results)
    assert "fail" not in {r["outcome"] for r in results}, [r["message"] for r in results]
    first = next(r for r in results if r["behaviour"] == f"0:{LIST}/semantics")
    assert first["outcome"] == "skip"
    assert first["message"].startswith("cannot judge: chat room 1265710621211 lists ['member01', 'member02'], muted "
                                       "before the traffic showed their state")
    code, _, _ = _check(har, tmp_path)
    assert code == 0


def test_a_trace_that_starts_with_a_write_judges_only_what_it_showed(tmp_path: Path) -> None:
    """No list first: member02 (muted for good before the trace) and member03 are muted for an
    hour. Neither was shown before, so either may have been muted already and the mute answer's
    `expire` may be that earlier mute's (decision 27): cannot judge. The list after it is judged
    for them (each is listed, with the hour's `expire` or, unknown, the earlier one), and
    member01's mute from before the trace is not known."""
    har, session, _ = _through_proxy(tmp_path, [("mute", 0, [1, 2], HOUR), ("list", 0)],
                                     before=[("mute", 0, [0], DAY), ("mute", 0, [1], -1)])
    results = {r["behaviour"]: r for r in semantics(session.recorder.results)}
    assert "fail" not in {r["outcome"] for r in results.values()}, [r["message"] for r in results.values()]
    mute = results[f"0:{MUTE}/semantics"]
    assert "cannot judge: member02 may have been muted before the traffic showed them" in mute["detail"]
    assert mute["behaviours"]["semantics: expire = request time + duration"] == "skip"
    assert mute["behaviours"]["semantics: mute then read back"] == "pass"  # the answer's status and results
    listed = results[f"1:{LIST}/semantics"]
    assert "cannot judge: chat room 1265710621211 lists ['member01']" in listed["detail"]
    assert listed["behaviours"]["semantics: mute then read back"] == "pass"
    assert listed["behaviours"]["semantics: expire = request time + duration"] == "pass"
    code, _, _ = _check(har, tmp_path)
    assert code == 0
