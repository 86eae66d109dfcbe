"""The shard plan: every unit in exactly one shard, the same plan from the same inputs, a target's
stateful layer never split, and `K/N` parsed with one-line errors."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatcontract import shards

units = st.dictionaries(st.text("abcdefgh:", min_size=1, max_size=6), st.integers(1, 50), min_size=1, max_size=20)


@given(units, st.integers(1, 8))
def test_every_unit_lands_in_exactly_one_shard(weights: dict[str, int], count: int) -> None:
    plan = shards.plan(weights, count)
    assert len(plan) == count
    dealt = [u for shard in plan for u in shard]
    assert sorted(dealt) == sorted(weights)


@given(units, st.integers(1, 8))
def test_the_plan_does_not_depend_on_the_order_units_were_found_in(weights: dict[str, int], count: int) -> None:
    reversed_order = dict(reversed(list(weights.items())))
    assert shards.plan(weights, count) == shards.plan(reversed_order, count)
    assert shards.digest(shards.plan(weights, count)) == shards.digest(shards.plan(reversed_order, count))


def test_the_heaviest_units_are_spread_first() -> None:
    plan = shards.plan({"rocketchat": 90, "agora": 80, "sendbird": 40, "plugdj": 20, "ozeki": 15}, 2)
    loads = [sum({"rocketchat": 90, "agora": 80, "sendbird": 40, "plugdj": 20, "ozeki": 15}[u] for u in s) for s in plan]
    assert max(loads) - min(loads) <= 20, plan


def test_layers_are_split_only_when_there_are_fewer_targets_than_shards() -> None:
    assert not shards.splits_layers(["a", "b", "c"], 3)
    assert shards.splits_layers(["a"], 2)
    assert not shards.splits_layers(["a"], 2, by="target")
    assert shards.splits_layers(["a", "b", "c"], 2, by="layer")
    assert shards.unit_of("a", "semantics", True) == "a::semantics"
    assert shards.unit_of("a", "semantics", False) == "a"


@pytest.mark.parametrize("text, message", [
    ("3", "is not K/N"), ("0/2", "between 1 and N"), ("3/2", "between 1 and N"), ("1/0", "between 1 and N"),
    ("a/b", "is not K/N"), ("1/2/3", "is not K/N"),
])
def test_a_bad_shard_argument_is_one_line(text: str, message: str) -> None:
    with pytest.raises(shards.ShardError, match=message) as caught:
        shards.parse(text)
    assert "\n" not in str(caught.value)


def test_a_good_shard_argument() -> None:
    assert str(shards.parse(" 2/4 ")) == "2/4"
    with pytest.raises(shards.ShardError, match="--shard-by"):
        shards.splits_layers(["a"], 2, by="platform")
