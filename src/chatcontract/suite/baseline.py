"""Baseline files: the failures a target is allowed to have while it is brought into line.

YAML, keyed by target name, each entry a test id (as in the reports) with a note saying why:

    my-rocketchat:
      "errors::rocketchatIgnoreUser/400/blankRid": "whitespace rid not trimmed yet (ticket 123)"

A listed test that fails is reported as an accepted failure; one that passes fails the gate,
so the baseline only ever shrinks.
"""

from __future__ import annotations

from chatcontract import inputs
from chatcontract.targets import TargetError


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
        for local_id, note in items:
            accepted[f"{target}::{local_id}"] = str(note)
    return accepted
