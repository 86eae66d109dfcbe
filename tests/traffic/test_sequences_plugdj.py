"""The plug.dj mute model judging traffic it did not choose: a clean sequence through the proxy
passes, the reference server's semantic faults are flagged from the traffic alone, faults planted
in a recorded HAR (a mute missing from the next list, an unmuted user still listed, a mute listed
after its time ran out, `expires` off its unit) are each found at the read that shows them, and
what the trace cannot know (mutes from before it, state after a request outside the spec) is
"cannot judge", never a failure."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from chatcontract.suite.wire import Wire, base_call
from tests.traffic.conftest import for_platform, load, response_body, save, semantics, set_response_body

P = "plugdj"
SEMANTICS = "/semantics"


def _script(wire: Wire, target, script: list[tuple]) -> None:
    users = target.fixtures["mutable_users"]
    for step in script:
        if step[0] == "list":
            wire.send(base_call(target, "plugdjListMutes"))
        elif step[0] == "mute":
            wire.send(base_call(target, "plugdjMuteUser", body={"userID": users[step[1]], "reason": step[2], "duration": step[3]}))
        elif step[0] == "unmute":
            wire.send(base_call(target, "plugdjUnmuteUser", path={"userID": users[step[1]]}))
        elif step[0] == "as member mute":
            wire.send(base_call(target, "plugdjMuteUser", **{"as": "member"},
                                body={"userID": users[step[1]], "reason": 1, "duration": "s"}))


CLEAN = [("list",), ("mute", 0, 2, "s"), ("list",), ("mute", 1, 3, "l"), ("list",), ("unmute", 0), ("list",),
         ("as member mute", 2), ("list",), ("unmute", 1), ("list",)]


_through_proxy, _check = for_platform(P, _script)



@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory):
    return _through_proxy(tmp_path_factory.mktemp("clean"), CLEAN)


def test_a_clean_sequence_passes_live_and_offline(clean, tmp_path: Path) -> None:
    har, session, lines = clean
    live = semantics(session.recorder.results)
    # Every list after the first is judged against the writes before it, and so is every write of
    # the moderator (the member's refused mute tells the model nothing); all hold.
    assert [r["behaviour"] for r in live] == [
        "1:plugdjMuteUser/semantics", "2:plugdjListMutes/semantics", "3:plugdjMuteUser/semantics",
        "4:plugdjListMutes/semantics", "5:plugdjUnmuteUser/semantics", "6:plugdjListMutes/semantics",
        "8:plugdjListMutes/semantics", "9:plugdjUnmuteUser/semantics", "10:plugdjListMutes/semantics"]
    assert {r["outcome"] for r in live} == {"pass"}
    assert any(line.startswith("pass proxied-plugdj::traffic::2:plugdjListMutes/semantics") for line in lines)
    code, results, out = _check(har, tmp_path)
    assert code == 0
    # Offline the recording's credentials are pseudonyms no target file names: the lists are judged
    # as live, the writes' answers are not (whose the caller is, is not known).
    assert [(r["behaviour"], r["outcome"]) for r in semantics(results)] == [
        (r["behaviour"], r["outcome"]) for r in live if "plugdjListMutes" in r["behaviour"]]
    held = next(r for r in semantics(results) if r["behaviour"].startswith("2:"))
    assert held["behaviours"]["semantics: mute then read back"] == "pass"
    assert "semantics: expires is the time left or the mute's length" in held["behaviours"]


@pytest.mark.parametrize("fault, says", [
    ("mute-not-recorded", "muted users [5004] are not in GET /_/mutes"),
    ("unmute-noop", "GET /_/mutes lists [5004], who were unmuted or never muted"),
    ("duration-mapping-swapped", "user 5004 has expires=2700, outside 0..900 s"),
])
def test_a_semantic_fault_of_the_server_is_flagged_from_its_traffic(tmp_path: Path, fault: str, says: str) -> None:
    _, session, lines = _through_proxy(tmp_path, CLEAN, faults=(fault,))
    failed = [r for r in semantics(session.recorder.results) if r["outcome"] == "fail"]
    assert failed and says in failed[0]["message"], [r["message"] for r in semantics(session.recorder.results)]
    assert failed[0]["side"] == "server" and failed[0]["curl"].startswith("curl -X GET")
    # The exchange itself was as documented: only the sequence shows the fault.
    index = failed[0]["exchange"]["index"]
    assert next(r for r in session.recorder.results if r["behaviour"] == f"{index}:plugdjListMutes")["outcome"] == "pass"
    assert any(line.startswith(f"FAIL proxied-plugdj::traffic::{index}:plugdjListMutes/semantics") for line in lines)


def _entries(har: Path) -> dict:
    return load(har)


def _list_entries(document: dict) -> list[dict]:
    return [e for e in document["log"]["entries"] if e["request"]["method"] == "GET" and e["request"]["url"].endswith("/_/mutes")]


_body, _set_body = response_body, set_response_body


def _planted(clean, tmp_path: Path, change) -> tuple[int, list[dict]]:
    document = copy.deepcopy(_entries(clean[0]))
    change(document)
    code, results, _ = _check(save(document, tmp_path / "planted.har"), tmp_path)
    return code, results


def test_a_mute_missing_from_the_next_list_is_found(clean, tmp_path: Path) -> None:
    def drop(document: dict) -> None:
        entry = _list_entries(document)[1]  # the list right after muting 5004
        body = _body(entry)
        body["data"] = [e for e in body["data"] if e["id"] != 5004]
        _set_body(entry, body)
    code, results = _planted(clean, tmp_path, drop)
    failed = [r for r in semantics(results) if r["outcome"] == "fail"]
    assert code == 1 and [r["behaviour"] for r in failed] == ["2:plugdjListMutes/semantics"]
    assert failed[0]["message"].startswith("[semantics: mute then read back] muted users [5004] are not in GET /_/mutes")
    assert failed[0]["matrix_row"] == "semantics: mute then read back"


def test_an_unmuted_user_still_listed_is_found(clean, tmp_path: Path) -> None:
    def keep(document: dict) -> None:
        lists = _list_entries(document)
        gone = _body(lists[2])["data"]  # 5004 and 5005 listed
        entry = lists[3]  # after unmuting 5004
        body = _body(entry)
        body["data"] = gone
        _set_body(entry, body)
    code, results = _planted(clean, tmp_path, keep)
    failed = [r for r in semantics(results) if r["outcome"] == "fail"]
    assert code == 1 and "GET /_/mutes lists [5004], who were unmuted or never muted" in failed[0]["message"]


def test_a_mute_listed_after_its_time_ran_out_is_found(clean, tmp_path: Path) -> None:
    def later(document: dict) -> None:
        # The list right after muting 5004 for 15 minutes, once more 16 minutes later.
        entries = document["log"]["entries"][:3]
        moved = copy.deepcopy(entries[2])
        started = datetime.fromisoformat(moved["startedDateTime"].replace("Z", "+00:00"))
        moved["startedDateTime"] = (started + timedelta(minutes=16)).isoformat().replace("+00:00", "Z")
        document["log"]["entries"] = [*entries, moved]
    code, results = _planted(clean, tmp_path, later)
    failed = [r for r in semantics(results) if r["outcome"] == "fail"]
    assert code == 1 and "GET /_/mutes still lists [5004] after their mute time ran out" in failed[0]["message"]


def test_expires_off_the_documented_duration_is_found(clean, tmp_path: Path) -> None:
    def longer(document: dict) -> None:
        entry = _list_entries(document)[1]  # 5004 muted for `s`, 900 s
        body = _body(entry)
        body["data"][0]["expires"] = 2700
        _set_body(entry, body)
    code, results = _planted(clean, tmp_path, longer)
    failed = [r for r in semantics(results) if r["outcome"] == "fail"]
    assert code == 1 and failed[0]["message"].startswith("[semantics: expires within the documented duration] user 5004 "
                                                         "has expires=2700, outside 0..900 s")
    assert "FAIL: user 5004 has expires=2700: 898..902 s are left" in failed[0]["detail"] or \
        "s are left, and it was muted for 900 s" in failed[0]["detail"]  # every broken rule is in the detail
    # The exchange alone is as documented (2700 s is a documented duration): only the sequence shows it.
    assert next(r for r in results if r["behaviour"] == "2:plugdjListMutes")["outcome"] == "pass"


def test_mutes_from_before_the_trace_cannot_be_judged(tmp_path: Path) -> None:
    """5004 was muted before the proxy saw anything: the first list shows it (cannot judge), and a
    mute of 5006 in the trace that the server answers by keeping an earlier mute is accepted."""
    har, session, _ = _through_proxy(tmp_path, [("list",), ("mute", 2, 1, "s"), ("list",)],
                                     before=[("mute", 0, 4, "m"), ("mute", 2, 5, "l")])
    verdicts = [(r["behaviour"], r["outcome"]) for r in semantics(session.recorder.results)]
    assert verdicts == [("0:plugdjListMutes/semantics", "skip"), ("2:plugdjListMutes/semantics", "pass")]
    first = semantics(session.recorder.results)[0]
    assert first["message"].startswith("cannot judge: GET /_/mutes lists [5004, 5006], muted before the traffic")
    code, results, _ = _check(har, tmp_path)
    assert code == 0


def test_a_request_outside_the_spec_makes_the_model_forget(clean, tmp_path: Path) -> None:
    """A reset between the mute and the list (a POST the spec does not describe): the missing
    mute is not judged, since something the model cannot follow changed the target."""
    def drop(document: dict, hook: bool) -> None:
        entries = document["log"]["entries"][:3]  # list, mute 5004, list
        body = _body(entries[2])
        body["data"] = []
        _set_body(entries[2], body)
        if hook:
            reset = copy.deepcopy(entries[2])
            reset["request"]["method"] = "POST"
            reset["request"]["url"] = reset["request"]["url"].replace("/_/mutes", "/_chatcontract/reset")
            entries.insert(2, reset)
        document["log"]["entries"] = entries
    code, results = _planted(clean, tmp_path, lambda d: drop(d, hook=False))
    assert code == 1  # without the reset, the lost mute is a failure
    code, results = _planted(clean, tmp_path, lambda d: drop(d, hook=True))
    assert not [r for r in semantics(results) if r["outcome"] == "fail"] and code == 0
    assert any(r["behaviour"] == "2:unmatched" and r["outcome"] == "skip" for r in results)


def test_a_list_that_ran_beside_a_mute_is_not_judged(clean, tmp_path: Path) -> None:
    """A browser lists while a mute is under way: the server may have served the list first, so
    a list without the user is "cannot judge", not a failure; the next list is judged again."""
    def overlapped(document: dict) -> None:
        entries = document["log"]["entries"][:5]  # list, mute 5004, list, mute 5005, list
        mute, listed = entries[1], entries[2]
        started = datetime.fromisoformat(mute["startedDateTime"].replace("Z", "+00:00"))
        # The list starts while the mute is under way (half-way through it), the rest untouched.
        listed["startedDateTime"] = (started + timedelta(milliseconds=mute["time"] / 2)).isoformat().replace("+00:00", "Z")
        body = _body(listed)
        body["data"] = []  # served before the mute
        _set_body(listed, body)
        document["log"]["entries"] = entries
    code, results = _planted(clean, tmp_path, overlapped)
    verdicts = {r["behaviour"]: r for r in semantics(results)}
    assert code == 0 and verdicts["2:plugdjListMutes/semantics"]["outcome"] == "skip"
    assert "(not judged: it ran at the same time as exchange 1, so the order the server took them in is unknown)" in \
        verdicts["2:plugdjListMutes/semantics"]["message"]
    assert verdicts["4:plugdjListMutes/semantics"]["outcome"] == "pass"  # 5004 and 5005 listed: judged again

    def dropped_later(document: dict) -> None:  # the same overlap, and then the mute is lost for real
        overlapped(document)
        last = document["log"]["entries"][4]
        body = _body(last)
        body["data"] = [e for e in body["data"] if e["id"] != 5004]
        _set_body(last, body)
    code, results = _planted(clean, tmp_path, dropped_later)
    assert code == 1 and [r["behaviour"] for r in semantics(results) if r["outcome"] == "fail"] == [
        "4:plugdjListMutes/semantics"]
