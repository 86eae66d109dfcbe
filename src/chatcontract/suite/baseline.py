"""Baseline files: the failures a target is allowed to have while it is brought into line.

YAML, keyed by target name, each entry a test id with a note saying why. An id is written as
the reports print it (`target::layer::behaviour`, pasted from summary.md, the terminal or
results.json) or without the target's own name in front (`layer::behaviour`):

    my-rocketchat:
      "my-rocketchat::errors::rocketchatIgnoreUser/400/blankRid": "whitespace rid not trimmed yet (ticket 123)"
      "errors::rocketchatIgnoreUser/400/not-a-member": "the same"

A listed test that fails is reported as an accepted failure; one that passes fails the gate,
so the baseline only ever shrinks. An entry that names no check of the run's targets (a typo,
a check since renamed) is bad configuration: it would otherwise widen the gate silently
(`unmatched`). `from_results` writes a baseline of a run's failures (`chatcontract baseline`).
"""

from __future__ import annotations

from typing import Any, Iterable

import yaml

from chatcontract import inputs
from chatcontract.targets import TargetError

SEPARATOR = "::"


def full_id(target: str, entry: str) -> str:
    """An entry of target `target`'s list as the reports print it (`target::layer::behaviour`)."""
    return entry if entry.startswith(f"{target}{SEPARATOR}") else f"{target}{SEPARATOR}{entry}"


def load(path: str | None) -> dict[str, str]:
    """{full test id (`target::layer::behaviour`): note}."""
    if not path:
        return {}
    try:  # bounded in size and alias expansion; a binary file or bad YAML is one line in words
        document = inputs.parse_yaml(inputs.read_text(path, "the baseline"), f"{path} (baseline)") or {}
    except inputs.InputError as exc:
        raise TargetError(str(exc)) from None
    if not isinstance(document, dict) or not all(isinstance(v, (dict, list)) for v in document.values()):
        raise TargetError(f"{path}: the baseline must map target names to their accepted test ids")
    accepted = {}
    for target, entries in document.items():
        items = entries.items() if isinstance(entries, dict) else ((e, "accepted") for e in entries)
        for entry, note in items:
            accepted[full_id(str(target), str(entry))] = str(note)
    return accepted


def unmatched(entries: Iterable[str], known: set[str], targets: set[str], *, some_targets_left_out: bool) -> list[str]:
    """The full ids among `entries` that name no check in `known` (every check of the run's
    targets, all layers). An entry of a target not in this run counts as unmatched too, unless
    the run left some targets out on purpose (`--api`), where it may belong to one of those."""
    found = []
    for entry in entries:
        target = entry.split(SEPARATOR, 1)[0]
        if entry in known or (target not in targets and some_targets_left_out):
            continue
        found.append(entry)
    return found


def from_results(document: dict[str, Any]) -> str:
    """A baseline (YAML text) accepting every failing check of a results.json, each with the
    first line of its failure as the note: `chatcontract baseline --from reports/results.json`."""
    by_target: dict[str, dict[str, str]] = {}
    for r in document["results"]:
        if r.get("outcome") == "fail":
            message = str(r.get("message", "")).splitlines()[0] if r.get("message") else "failing"
            by_target.setdefault(r["target"], {})[r["id"]] = message[:160]
    header = ("# chatcontract baseline: the failures each target may still have (see README, Baseline).\n"
              "# Each note is the failure as the run reported it; say why it is accepted, and remove the\n"
              "# entry once the check passes (a listed check that passes fails the gate).\n")
    return header + (yaml.safe_dump(by_target, sort_keys=True, allow_unicode=True, width=1000) if by_target else "{}\n")
