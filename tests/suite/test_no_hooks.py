"""The semantic layer against a target without test hooks: full strength, and the target left as found.

Each built-in reference server is started here (its hooks exist, but the target file says
`capabilities: {reset: false, clock: false}`, so the suite must not use them). The semantic
layer runs twice in a row through `chatcontract run`, as a user would: both runs must pass
(exit 0, the state machine's test a pass, not a skip), and the server's moderation state read
in-process afterwards must equal its state before, so that nothing the suite did is left behind.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from chatcontract.servers.serve import RunningServer, start_in_thread, target_document, write_target

PLATFORMS = ("rocketchat", "plugdj", "ozeki", "agora", "sendbird")


def platform_state(server: RunningServer) -> Any:
    return server._server.config.app.state.platform_state


def moderation_state(platform: str, state: Any) -> Any:
    """What the machines may change, as plain data (times and counters left out: a rate limiter's
    window or a room's `_updatedAt` are not moderation state)."""
    with state.lock:
        if platform == "rocketchat":
            return ({key: sorted(sub.get("ignored") or []) for key, sub in state.subscriptions.items()},
                    {rid: (sorted(room.get("muted") or []), sorted(room.get("unmuted") or []))
                     for rid, room in state.rooms.items()})
        if platform == "plugdj":
            return {user: (mute.reason, mute.seconds) for user, mute in state.mutes.items()}
        if platform == "ozeki":
            return {cid: (sorted(c.mutedby), sorted(getattr(c, "favoriteby", []) or []))
                    for cid, c in state.conversations.items()}
        if platform == "agora":
            return {key: {rid: (dict(room.mutes), room.mute_all) for rid, room in app.rooms.items()}
                    for key, app in state.apps.items()}
        if platform == "sendbird":
            return sorted(state.blocks)
    raise AssertionError(platform)


def run_semantics(tmp_path: Path, target: Path, label: str) -> tuple[subprocess.CompletedProcess, dict]:
    reports = tmp_path / f"reports-{label}"
    done = subprocess.run([sys.executable, "-m", "chatcontract.cli", "run", "--target", str(target),
                           "--profile", "fast", "--layer", "semantics", "--report-dir", str(reports)],
                          capture_output=True, text=True, timeout=600, cwd=tmp_path)
    results = json.loads((reports / "results.json").read_text()) if (reports / "results.json").exists() else {}
    return done, results


@pytest.mark.parametrize("platform", PLATFORMS)
def test_a_target_without_hooks_passes_twice_and_is_left_as_found(tmp_path: Path, platform: str) -> None:
    with start_in_thread(platform, test_hooks=True) as server:
        document = target_document(platform, server.base_url, test_hooks=True)
        document["capabilities"] = {"reset": False, "clock": False}
        target = tmp_path / f"{platform}.target.yaml"
        write_target(target, document)
        before = moderation_state(platform, platform_state(server))
        for label in ("first", "second"):
            done, results = run_semantics(tmp_path, target, label)
            assert done.returncode == 0, f"{label} run:\n" + done.stdout[-3000:] + done.stderr[-2000:]
            (result,) = results["results"]
            assert result["outcome"] == "pass", result
            assert "fail" not in result["behaviours"].values()
            assert moderation_state(platform, platform_state(server)) == before, f"the {label} run left changes"
        # Without the clock only expiry may be skipped, and what needs an identity the spec makes
        # optional (plug.dj's second room: the reference server has one), each saying why.
        for behaviour, kind in result["behaviours"].items():
            if kind == "skip":
                note = result["behaviour_notes"][behaviour]
                assert "clock" in note or "optional in the spec's x-target" in note, (behaviour, note)
