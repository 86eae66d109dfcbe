"""Split one run's work into N shards, the same way on every runner, so a CI matrix can run it.

A shard is named `K/N` (1 <= K <= N). The work is cut into units, and units are dealt to shards:

- a unit is a whole target when there are at least N targets: a target's tests then run on one
  runner, in one process, exactly as in an unsharded run;
- with fewer targets than shards, a unit is one layer of one target (`schema`, `errors`,
  `semantics`), so a single large target still spreads over the runners. A layer is never split:
  one target's state machines always run together. Layers of one target on different runners run
  at the same time against that target, which is safe for the built-in reference servers (every
  runner starts its own) and for a target deployed once per runner; a shared live target should be
  sharded by target only (`--shard-by target`).

Units are dealt by weight (the rough cost of the unit's tests, LAYER_WEIGHTS), heaviest first, each to the lightest shard so far, ties broken
by name and shard number: the same inputs give the same plan on every runner, and each shard can
compute the whole plan, which it records so that `chatcontract merge` can prove that every unit
ran exactly once. Written by hand: pytest-xdist balances within one machine and no pytest plugin
we found (pytest-split, pytest-shard) keeps one target's stateful tests together.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Iterable

# The rough cost of one test of each layer, in milliseconds of a default-profile run against a
# reference server (junit times of `chatcontract run`, 2026-12-03: a documented-error check
# ~5 ms, a schema-layer operation ~0.4 s, a state machine 2-5 s). Only the proportions matter:
# they deal units to shards and order an xdist run's groups heaviest first.
LAYER_WEIGHTS = {"errors": 5, "schema": 400, "semantics": 3400}
_SHARD = re.compile(r"(\d+)/(\d+)")
BY = ("auto", "target", "layer")


class ShardError(ValueError):
    """A shard argument that cannot be used (one line)."""


@dataclass(frozen=True)
class Shard:
    index: int  # 1-based
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse(text: str) -> Shard:
    match = _SHARD.fullmatch(text.strip())
    if not match:
        raise ShardError(f"--shard {text!r} is not K/N (for example 1/4)")
    index, count = int(match.group(1)), int(match.group(2))
    if count < 1 or not 1 <= index <= count:
        raise ShardError(f"--shard {text}: K must be between 1 and N, and N at least 1")
    return Shard(index, count)


def unit_of(target: str, layer: str, by_layer: bool) -> str:
    return f"{target}::{layer}" if by_layer else target


def splits_layers(targets: Iterable[str], count: int, by: str = "auto") -> bool:
    if by not in BY:
        raise ShardError(f"--shard-by {by!r} is not one of {', '.join(BY)}")
    return by == "layer" or (by == "auto" and len(set(targets)) < count)


def weight(layer: str) -> int:
    return LAYER_WEIGHTS.get(layer, 1)


def plan(weights: dict[str, int], count: int) -> list[list[str]]:
    """The units of each shard (index 0 is shard 1), heaviest unit first to the lightest shard."""
    shards: list[list[str]] = [[] for _ in range(count)]
    load = [0] * count
    for unit in sorted(weights, key=lambda u: (-weights[u], u)):
        lightest = min(range(count), key=lambda i: (load[i], i))
        shards[lightest].append(unit)
        load[lightest] += weights[unit]
    return shards


def digest(shards: list[list[str]]) -> str:
    """A short fingerprint of the whole plan: every shard of one run must carry the same one."""
    return hashlib.sha256(json.dumps(shards, sort_keys=True).encode()).hexdigest()[:16]


def record(shard: Shard, shards: list[list[str]], by_layer: bool) -> dict:
    """What results.json says about the shard it holds (read back by `chatcontract merge`)."""
    return {"index": shard.index, "count": shard.count, "by": "layer" if by_layer else "target",
            "units": shards[shard.index - 1], "plan": digest(shards), "all_units": sorted(u for s in shards for u in s)}
