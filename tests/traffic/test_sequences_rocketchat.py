"""The Rocket.Chat ignore model judging traffic it did not choose: a clean sequence through the
proxy passes, the reference server's semantic faults are flagged from the traffic alone, faults
planted in a recorded HAR (an ignore missing from the next subscriptions.getOne, an un-ignored
user still listed, one caller's ignore showing in another caller's list) are each found at the
read that shows them, and what the trace cannot know (ignores from before it) is "cannot judge",
never a failure."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from chatcontract.suite.wire import Wire, base_call
from tests.traffic.conftest import for_platform, load, save, semantics

P = "rocketchat"
SEMANTICS = "/semantics"
IGNORE, GET_ONE = "rocketchatIgnoreUser", "rocketchatGetSubscription"


def _script(wire: Wire, target, script: list[tuple]) -> None:
    fx = target.fixtures
    for step in script:
        if step[0] == "read":
            _, who, room = step
            wire.send(base_call(target, GET_ONE, **{"as": who}, query={"roomId": fx[room]}))
        elif step[0] == "ignore":
            _, who, room, user, value = step
            wire.send(base_call(target, IGNORE, **{"as": who},
                                query={"rid": fx[room], "userId": fx[user], "ignore": value}))


# The members are rate-limited (10 calls a minute per route): they only read, twice each.
CLEAN = [("read", "admin", "room"), ("read", "member", "room"), ("read", "admin", "private_room"),
         ("ignore", "admin", "room", "target_user_id", "true"),  # 3: recorded, nothing to judge yet
         ("read", "admin", "room"),  # 4: the ignore shows
         ("read", "member", "room"),  # 5: and only in the admin's list
         ("read", "admin", "private_room"),  # 6: and only in room
         ("ignore", "admin", "room", "target_user_id", "true"),  # 7: a repeat (both subscriptions now shown)
         ("ignore", "admin", "room", "target_user_id", "false"),  # 8
         ("read", "admin", "room")]  # 9: the un-ignore shows


_through_proxy, _check = for_platform(P, _script)



@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory):
    return _through_proxy(tmp_path_factory.mktemp("clean"), CLEAN)


def test_a_clean_sequence_passes_live_and_offline(clean, tmp_path: Path) -> None:
    har, session, lines = clean
    live = [(r["behaviour"], r["outcome"]) for r in semantics(session.recorder.results)]
    # The first read of each list has nothing before it to hold it against; the first ignore is
    # only recorded (whether its user is in the room, the traffic has not shown yet); every later
    # read, and the admin's writes once both subscriptions are shown, are judged, and all hold.
    assert live == [
        (f"0:{GET_ONE}/semantics", "skip"), (f"1:{GET_ONE}/semantics", "skip"), (f"2:{GET_ONE}/semantics", "skip"),
        (f"4:{GET_ONE}/semantics", "pass"), (f"5:{GET_ONE}/semantics", "pass"), (f"6:{GET_ONE}/semantics", "pass"),
        (f"7:{IGNORE}/semantics", "pass"), (f"8:{IGNORE}/semantics", "pass"), (f"9:{GET_ONE}/semantics", "pass")]
    by_index = {int(r["behaviour"].split(":")[0]): r for r in semantics(session.recorder.results)}
    assert by_index[4]["behaviours"]["semantics: ignore then read back"] == "pass"
    assert by_index[5]["behaviours"]["semantics: isolation between callers"] == "pass"
    assert by_index[6]["behaviours"]["semantics: isolation between rooms"] == "pass"
    assert by_index[7]["behaviours"]["semantics: idempotent repeat"] == "pass"
    assert by_index[9]["behaviours"]["semantics: un-ignore then read back"] == "pass"
    assert any(line.startswith(f"pass proxied-rocketchat::traffic::4:{GET_ONE}/semantics") for line in lines)
    code, results, _ = _check(har, tmp_path)
    assert code == 0
    # Offline the callers are pseudonyms no target file names: the reads are judged as live, the
    # writes' answers are not (whose the caller is, is not known).
    assert [(r["behaviour"], r["outcome"]) for r in semantics(results)] == [v for v in live if IGNORE not in v[0]]


@pytest.mark.parametrize("fault, index, says", [
    ("ignore-not-recorded", 4, "[semantics: ignore then read back] admin's subscription to "),
    ("unignore-noop", 9, "[semantics: un-ignore then read back] admin's subscription to "),
    ("ignore-visible-to-all", 5, "[semantics: isolation between callers] member's subscription to "),
    ("ignore-every-room", 6, "[semantics: isolation between rooms] admin's subscription to "),
])
def test_a_semantic_fault_of_the_server_is_flagged_from_its_traffic(tmp_path: Path, fault: str, index: int,
                                                                    says: str) -> None:
    _, session, lines = _through_proxy(tmp_path, CLEAN, faults=(fault,))
    failed = [r for r in semantics(session.recorder.results) if r["outcome"] == "fail"]
    assert failed, [r["message"] for r in semantics(session.recorder.results)]
    assert failed[0]["behaviour"] == f"{index}:{GET_ONE}/semantics" and failed[0]["message"].startswith(says), failed[0]
    assert failed[0]["side"] == "server" and failed[0]["curl"].startswith("curl -X GET")
    # The exchange itself was as documented: only the sequence shows the fault.
    assert next(r for r in session.recorder.results if r["behaviour"] == f"{index}:{GET_ONE}")["outcome"] == "pass"
    assert any(line.startswith(f"FAIL proxied-rocketchat::traffic::{index}:{GET_ONE}/semantics") for line in lines)


def _ignored(entry: dict) -> list[str]:
    return list(json.loads(entry["response"]["content"]["text"])["subscription"].get("ignored") or [])


def _set_ignored(entry: dict, ids: list[str]) -> None:
    body = json.loads(entry["response"]["content"]["text"])
    body["subscription"]["ignored"] = ids
    entry["response"]["content"]["text"] = json.dumps(body)
    entry["response"]["content"]["size"] = len(entry["response"]["content"]["text"])


def _planted(clean, tmp_path: Path, index: int, change) -> list[dict]:
    """The clean recording with the answer of exchange `index` (a getOne) changed; the failed
    sequence results."""
    document = copy.deepcopy(load(clean[0]))
    entry = document["log"]["entries"][index]
    assert "subscriptions.getOne" in entry["request"]["url"]
    _set_ignored(entry, change(_ignored(entry)))
    code, results, _ = _check(save(document, tmp_path / "planted.har"), tmp_path)
    failed = [r for r in semantics(results) if r["outcome"] == "fail"]
    assert code == 1 and [r["behaviour"] for r in failed] == [f"{index}:{GET_ONE}/semantics"], failed
    # The exchange alone is as documented: only the sequence shows it.
    assert next(r for r in results if r["behaviour"] == f"{index}:{GET_ONE}")["outcome"] == "pass"
    return failed


def _target(clean) -> str:
    """target_user_id's id: the user the clean sequence ignores (from its ignore request)."""
    url = load(clean[0])["log"]["entries"][3]["request"]["url"]
    return url.split("userId=")[1].split("&")[0]


def test_an_ignore_missing_from_the_next_read_is_found(clean, tmp_path: Path) -> None:
    target = _target(clean)
    (failed,) = _planted(clean, tmp_path, 4, lambda ids: [i for i in ids if i != target])
    assert failed["message"].startswith("[semantics: ignore then read back] caller 1's subscription to ")
    assert f"expected [{target}] after chat.ignoreUser as caller 1" in failed["message"]
    assert failed["matrix_row"] == "semantics: ignore then read back"


def test_an_unignored_user_still_listed_is_found(clean, tmp_path: Path) -> None:
    target = _target(clean)
    (failed,) = _planted(clean, tmp_path, 9, lambda ids: [*ids, target])
    assert failed["message"].startswith("[semantics: un-ignore then read back] caller 1's subscription to ")
    assert f"has ignored=[{target}], expected [] after chat.ignoreUser as caller 1" in failed["message"]


def test_an_ignore_showing_in_another_callers_list_is_found(clean, tmp_path: Path) -> None:
    target = _target(clean)
    (failed,) = _planted(clean, tmp_path, 5, lambda ids: [*ids, target])
    assert failed["message"].startswith("[semantics: isolation between callers] caller 2's subscription to ")
    assert failed["matrix_row"] == "semantics: isolation between callers"


def test_a_duplicate_in_a_read_is_the_exchange_checks_finding(clean, tmp_path: Path) -> None:
    """`ignored` holds each id once (the schema's uniqueItems): the exchange alone shows a
    duplicate, and the model, which cannot follow an answer not as documented, judges nothing
    there and forgets what it knew (the reads after it are "cannot judge" until shown again)."""
    document = copy.deepcopy(load(clean[0]))
    entry = document["log"]["entries"][4]
    _set_ignored(entry, [*_ignored(entry), _target(clean)])
    code, results, _ = _check(save(document, tmp_path / "planted.har"), tmp_path)
    assert code == 1
    assert next(r for r in results if r["behaviour"] == f"4:{GET_ONE}")["outcome"] == "fail"
    verdicts = {r["behaviour"]: r["outcome"] for r in semantics(results)}
    assert f"4:{GET_ONE}/semantics" not in verdicts and "fail" not in verdicts.values()
    assert verdicts[f"5:{GET_ONE}/semantics"] == "skip"


def test_ignores_from_before_the_trace_cannot_be_judged(tmp_path: Path) -> None:
    """The admin ignored member_user in room before the proxy saw anything, and the seed has
    moderator_user in member's list of private_room: the first reads show them (cannot judge);
    the ignore in the trace is then judged, and what came before stays as it was."""
    har, session, _ = _through_proxy(
        tmp_path, [("read", "admin", "room"), ("read", "member", "private_room"),
                   ("ignore", "admin", "room", "target_user_id", "true"), ("read", "admin", "room")],
        before=[("ignore", "admin", "room", "member_user", "true")])
    verdicts = [(r["behaviour"], r["outcome"]) for r in semantics(session.recorder.results)]
    assert verdicts == [(f"0:{GET_ONE}/semantics", "skip"), (f"1:{GET_ONE}/semantics", "skip"),
                        (f"3:{GET_ONE}/semantics", "pass")]
    first, second = semantics(session.recorder.results)[:2]
    assert first["message"].startswith("cannot judge: admin's subscription to ")
    assert "nothing the traffic showed before to hold it against" in first["message"]
    assert "cannot judge" in second["message"]
    code, results, _ = _check(har, tmp_path)
    assert code == 0 and not [r for r in semantics(results) if r["outcome"] == "fail"]
