"""The suite catches deliberate deviations and tolerates what the docs allow.

For every platform: the first fault of each layer in `servers/<platform>/faults.yaml` must make
that layer fail, and the first tolerated variant must pass the whole suite. The full catalog runs
with `python -m chatcontract.selftest` (every fault; too slow for every CI run).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from chatcontract import specs
from chatcontract.selftest import run_one
from chatcontract.servers.core.faults import catalog


def _chosen() -> list:
    chosen = []
    for platform in specs.platforms():
        seen: set[str] = set()
        for name, entry in catalog(platform).items():
            key = entry.get("caught_by", "tolerated")
            if key not in seen:
                seen.add(key)
                chosen.append(pytest.param(platform, name, id=f"{platform}-{name}"))
    return chosen


def test_every_platform_has_faults_for_each_layer_and_tolerated_variants() -> None:
    for platform in specs.platforms():
        kinds = {entry.get("caught_by", entry["kind"]) for entry in catalog(platform).values()}
        assert {"schema", "errors", "semantics", "tolerated"} <= kinds, f"{platform} catalog covers only {kinds}"


@pytest.mark.parametrize("platform, fault", _chosen())
def test_fault_is_caught_by_its_layer(tmp_path: Path, platform: str, fault: str) -> None:
    verdict = run_one(platform, fault, profile="fast", workdir=tmp_path, only_expected_layer=True)
    if verdict.kind == "tolerated":
        assert verdict.ok, f"the suite failed a variant the docs allow: {verdict.caught_by} {verdict.first_message}"
    else:
        assert verdict.ok, f"{fault} ({catalog(platform)[fault]['description']}) was not caught by the {verdict.expected_layer} layer"
        assert verdict.first_message, "a caught fault must come with a message"
