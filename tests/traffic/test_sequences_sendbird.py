"""The Sendbird block model judging traffic it did not choose: a clean sequence through the proxy
passes, the reference server's semantic faults are flagged from the traffic alone, faults planted
in a recorded HAR (a block missing from the next whole list, an unblocked user still listed, a
block missing from the other party's list, a page walk that skips a user) are each found at the
read that shows them, and what the trace cannot know (blocks from before it) is "cannot judge",
never a failure."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from chatcontract.suite.wire import Wire, base_call
from tests.traffic.conftest import for_platform, load, save, semantics

P = "sendbird"
LIST, BLOCK, UNBLOCK = "sendbirdListBlockedUsers", "sendbirdBlockUser", "sendbirdUnblockUser"
SEMANTICS = "/semantics"
ISOLATION = "semantics: isolation between callers"


def _script(wire: Wire, target, script: list[tuple]) -> None:
    """Steps on the fixtures' users: ("list", who, side), ("walk", who, side, limit) (every page,
    following `next`), ("block", who, [whom]), ("unblock", who, whom). `who`/`whom` index
    [blocker, *targets]."""
    people = [target.fixtures["blocker"], *target.fixtures["targets"]]
    for step in script:
        if step[0] == "list":
            wire.send(base_call(target, LIST, path={"user_id": people[step[1]]}, query={"list": step[2], "limit": 100}))
        elif step[0] == "walk":
            token = ""
            while True:
                query = {"list": step[2], "limit": step[3], **({"token": token} if token else {})}
                response = wire.send(base_call(target, LIST, path={"user_id": people[step[1]]}, query=query))
                token = response.json()["next"]
                if not token:
                    break
        elif step[0] == "block":
            whom = [people[i] for i in step[2]]
            body = {"target_id": whom[0]} if len(whom) == 1 else {"user_ids": whom}
            wire.send(base_call(target, BLOCK, path={"user_id": people[step[1]]}, body=body))
        elif step[0] == "unblock":
            wire.send(base_call(target, UNBLOCK, path={"user_id": people[step[1]], "target_id": people[step[2]]}))


BY, BLOCKING = "blocked_by_me", "blocking_me"
# alice (0) blocks bob (1), then carol (2) too; both sides read after each change; a walk at
# limit 1 over alice's two blocks; then the unblocks.
CLEAN = [("list", 0, BY), ("list", 1, BLOCKING), ("list", 1, BY),  # 0-2: the state before
         ("block", 0, [1]), ("list", 0, BY), ("list", 1, BLOCKING), ("list", 1, BY),  # 3-6
         ("block", 0, [2]), ("walk", 0, BY, 1),  # 7; 8-9: two pages
         ("unblock", 0, 1), ("list", 0, BY), ("list", 1, BLOCKING),  # 10-12
         ("unblock", 0, 2), ("list", 0, BY)]  # 13-14


_through_proxy, _check = for_platform(P, _script)



def _failed(results: list[dict]) -> list[dict]:
    return [r for r in semantics(results) if r["outcome"] == "fail"]


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory):
    return _through_proxy(tmp_path_factory.mktemp("clean"), CLEAN)


def test_a_clean_sequence_passes_live_and_offline(clean, tmp_path: Path) -> None:
    har, session, lines = clean
    live = semantics(session.recorder.results)
    assert live and {r["outcome"] for r in live} <= {"pass", "skip"}, [r["message"] for r in live]
    judged = {r["behaviour"].split(":", 1)[0] for r in live if r["outcome"] == "pass"}
    # Every read after the first three is judged against the writes before it, and so is every
    # write of the master token (the x-request's identity).
    assert {str(i) for i in range(3, 15)} <= judged, judged
    # The first reads of alice's and bob's own lists: nothing of them was known, so they judge
    # nothing of the state (only what the page alone shows: an empty page carries a blank `next`).
    # Bob's blocking_me list (1) is judged already: alice's whole list (0) said alice blocks nobody.
    states = {r["behaviour"].split(":", 1)[0]: r["behaviours"].get("semantics: block visible from both sides")
              for r in live}
    assert (states["0"], states["1"], states["2"]) == ("skip", "pass", "skip")
    assert all(ISOLATION not in r["behaviours"] for r in live if r["behaviour"].split(":", 1)[0] in ("0", "2"))
    assert any(line.startswith("pass proxied-sendbird::traffic::4:sendbirdListBlockedUsers/semantics") for line in lines)
    code, results, _ = _check(har, tmp_path)
    assert code == 0
    # Offline the recording's credentials are pseudonyms no target file names: the lists are judged
    # as live, the writes' statuses are not (whose the caller is, is not known); a block's answer
    # body still is.
    offline = semantics(results)
    assert [(r["behaviour"], r["outcome"]) for r in offline if LIST in r["behaviour"]] == [
        (r["behaviour"], r["outcome"]) for r in live if LIST in r["behaviour"]]
    assert [set(r["behaviours"]) for r in offline if LIST not in r["behaviour"]] == [
        {"semantics: block lists the blocked users"}] * 2
    after = next(r for r in offline if r["behaviour"] == "5:sendbirdListBlockedUsers/semantics")
    assert after["behaviours"]["semantics: block visible from both sides"] == "pass"
    walk_end = next(r for r in offline if r["behaviour"] == "9:sendbirdListBlockedUsers/semantics")
    assert walk_end["behaviours"]["semantics: pages cover the whole list"] == "pass"


@pytest.mark.parametrize("fault, says", [
    ("block-not-recorded", "alice's blocked_by_me list lacks ['bob']: alice blocked bob"),
    ("block-one-side", "bob's blocking_me list lacks ['alice']: alice blocked bob"),
    ("unblock-noop", "alice's blocked_by_me list still shows ['bob'] after the unblock"),
    ("pagination-drops-one", "alice's blocked_by_me pages at limit=1 show"),
])
def test_a_semantic_fault_of_the_server_is_flagged_from_its_traffic(tmp_path: Path, fault: str, says: str) -> None:
    _, session, lines = _through_proxy(tmp_path, CLEAN, faults=(fault,))
    failed = _failed(session.recorder.results)
    # Every broken rule of the exchange is in the detail.
    assert failed and says in failed[0]["message"] + failed[0]["detail"], [r["message"] for r in failed]
    assert failed[0]["side"] == "server" and failed[0]["curl"].startswith("curl -X GET")
    # The exchange itself was as documented: only the sequence shows the fault.
    index = failed[0]["exchange"]["index"]
    assert next(r for r in session.recorder.results if r["behaviour"] == f"{index}:{LIST}")["outcome"] == "pass"
    assert any(line.startswith(f"FAIL proxied-sendbird::traffic::{index}:{LIST}/semantics") for line in lines)


def _entries(document: dict) -> list[dict]:
    return document["log"]["entries"]


def _body(entry: dict) -> dict:
    return json.loads(entry["response"]["content"]["text"])


def _set_users(entry: dict, keep) -> None:
    body = _body(entry)
    body["users"] = keep(body["users"])
    entry["response"]["content"]["text"] = json.dumps(body)
    entry["response"]["content"]["size"] = len(entry["response"]["content"]["text"])


def _planted(clean, tmp_path: Path, change) -> tuple[int, list[dict]]:
    document = copy.deepcopy(load(clean[0]))
    change(_entries(document))
    code, results, _ = _check(save(document, tmp_path / "planted.har"), tmp_path)
    return code, results


def test_a_block_missing_from_the_next_whole_list_is_found(clean, tmp_path: Path) -> None:
    def drop(entries: list[dict]) -> None:
        _set_users(entries[4], lambda users: [u for u in users if u["user_id"] != "bob"])  # alice's, after the block
    code, results = _planted(clean, tmp_path, drop)
    failed = _failed(results)
    assert code == 1 and [r["behaviour"] for r in failed] == [f"4:{LIST}/semantics"], [r["message"] for r in failed]
    assert failed[0]["message"].startswith("[semantics: block visible from both sides] alice's blocked_by_me list "
                                           "lacks ['bob']: alice blocked bob")
    assert failed[0]["matrix_row"] == "semantics: block visible from both sides"


def test_a_block_missing_from_the_other_side_is_found(clean, tmp_path: Path) -> None:
    def drop(entries: list[dict]) -> None:
        _set_users(entries[5], lambda users: [])  # bob's blocking_me, after alice blocked bob
    code, results = _planted(clean, tmp_path, drop)
    failed = _failed(results)
    assert code == 1 and failed[0]["behaviour"] == f"5:{LIST}/semantics"
    assert "bob's blocking_me list lacks ['alice']: alice blocked bob" in failed[0]["message"]


def test_an_unblocked_user_still_listed_is_found(clean, tmp_path: Path) -> None:
    def keep(entries: list[dict]) -> None:
        both = _body(entries[8])["users"] + _body(entries[9])["users"]  # the walk: bob, carol
        _set_users(entries[11], lambda users: both)  # alice's list after unblocking bob
    code, results = _planted(clean, tmp_path, keep)
    failed = _failed(results)
    assert code == 1 and failed[0]["behaviour"] == f"11:{LIST}/semantics"
    assert "alice's blocked_by_me list still shows ['bob'] after the unblock" in failed[0]["message"]


def test_a_walk_that_skips_a_user_is_found_and_a_page_alone_is_not_judged_whole(clean, tmp_path: Path) -> None:
    def skip(entries: list[dict]) -> None:
        first = _body(entries[8])["users"]  # bob
        _set_users(entries[9], lambda users: first)  # the second page shows bob again instead of carol
    code, results = _planted(clean, tmp_path, skip)
    failed = _failed(results)
    assert code == 1 and [r["behaviour"] for r in failed] == [f"9:{LIST}/semantics"]
    assert failed[0]["message"].startswith("[semantics: no duplicates across pages] alice's blocked_by_me list at "
                                           "limit=1 shows ['bob'] on more than one page")
    assert "FAIL: alice's blocked_by_me pages at limit=1 show ['bob'], the whole list is ['bob', 'carol']" in \
        failed[0]["detail"]
    # Without the walk's first page, its last page is not the whole list: what it lacks is not judged.
    code, results = _planted(clean, tmp_path, lambda entries: (skip(entries), entries.pop(8)))
    assert code == 0 and not _failed(results)


def test_blocks_from_before_the_trace_cannot_be_judged(tmp_path: Path) -> None:
    """alice blocked bob before the proxy saw anything: the first list shows it (cannot judge),
    and an unblock of bob in the trace is then held to its read back."""
    har, session, _ = _through_proxy(tmp_path, [("list", 0, BY), ("unblock", 0, 1), ("list", 0, BY)],
                                     before=[("block", 0, [1])])
    verdicts = semantics(session.recorder.results)
    first = verdicts[0]
    # The state is "cannot judge"; the page alone (one user at limit 100) holds.
    assert first["behaviour"] == f"0:{LIST}/semantics" and first["outcome"] != "fail"
    assert first["behaviours"][ISOLATION] == "skip"
    assert first["behaviours"]["semantics: block visible from both sides"] == "skip"
    assert "cannot judge: alice's blocked_by_me list shows ['bob'], whose blocks the traffic had not shown" in \
        first["detail"]
    assert not _failed(session.recorder.results)
    assert [r["outcome"] for r in verdicts if r["behaviour"] == f"2:{LIST}/semantics"] == ["pass"]
    code, _, _ = _check(har, tmp_path)
    assert code == 0
