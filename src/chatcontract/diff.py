"""`chatcontract diff OLD NEW`: what changed between two runs' results, check by check.

A check is one result id (`<target>::<layer>::<behaviour>`, the id every report prints). Between
two runs a check can be:

- a regression: it passed (or was a failure the baseline accepted) and now fails or errors;
- a fix: it failed or errored and now passes;
- new, or removed: present in one run only (a new suite version, another target file);
- otherwise unchanged (a skip that stays a skip is unchanged too).

Exit 1 when there is any regression, so CI can gate on "nothing that passed before fails now"
while known failures stay visible but do not block.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

BAD = ("fail", "error")


def _state(result: dict[str, Any]) -> str:
    if result["outcome"] == "fail" and result.get("accepted_by_baseline"):
        return "accepted"
    return result["outcome"]


@dataclass
class Changes:
    regressions: list[tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=list)  # (old, new)
    fixes: list[tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=list)
    other: list[tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=list)  # e.g. pass -> skip
    new: list[dict[str, Any]] = field(default_factory=list)
    removed: list[dict[str, Any]] = field(default_factory=list)
    unchanged: int = 0
    notes: list[str] = field(default_factory=list)  # e.g. the runs used different specs

    @property
    def regressed(self) -> bool:
        return bool(self.regressions)


def diff(old: dict[str, Any], new: dict[str, Any]) -> Changes:
    changes = Changes()
    before = {r["id"]: r for r in old["results"]}
    after = {r["id"]: r for r in new["results"]}
    for key in ("spec_fingerprint", "profile", "version"):
        if old.get(key) != new.get(key):
            changes.notes.append(f"the runs differ in {key.replace('_', ' ')}: {old.get(key)} -> {new.get(key)}")
    for test_id, was in before.items():
        now = after.get(test_id)
        if now is None:
            changes.removed.append(was)
            continue
        a, b = _state(was), _state(now)
        if a == b:
            changes.unchanged += 1
        elif b in BAD and a in ("pass", "accepted"):
            changes.regressions.append((was, now))
        elif a in BAD and b == "pass":
            changes.fixes.append((was, now))
        else:
            changes.other.append((was, now))
    changes.new = [r for test_id, r in after.items() if test_id not in before]
    return changes


def lines(changes: Changes) -> list[str]:
    """The report, one line per changed check (plain text: ids and messages are target data)."""
    out = list(changes.notes)
    for title, pairs in (("regression", changes.regressions), ("fixed", changes.fixes), ("changed", changes.other)):
        for was, now in pairs:
            reason = f": {now['message']}" if now.get("message") and now["outcome"] in BAD else ""
            out.append(f"{title:<10} {now['id']} ({_state(was)} -> {_state(now)}){reason}")
    for title, results in (("new", changes.new), ("removed", changes.removed)):
        for r in results:
            out.append(f"{title:<10} {r['id']} ({_state(r)})")
    out.append(f"{len(changes.regressions)} regressions, {len(changes.fixes)} fixed, {len(changes.other)} changed, "
               f"{len(changes.new)} new, {len(changes.removed)} removed, {changes.unchanged} unchanged")
    return out
