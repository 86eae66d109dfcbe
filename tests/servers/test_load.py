"""The reference servers under concurrent load: no 5xx, and the state ends as a sequential model says.

A bounded run of bench/load_test.py (which has the full 50 clients x 1,000 operations and the
throughput table): 50 concurrent clients, a few mixed operations each, per platform, the server in
a thread of this process. Each client owns its keys, so the model is each client's own operations
in its own order (see bench/load_test.py). A server that drops a write must fail the check.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from chatcontract import specs

CLIENTS = 50
OPS_PER_CLIENT = 10


def _bench() -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "bench" / "load_test.py"
    if "chatcontract_bench_load" not in sys.modules:
        spec = importlib.util.spec_from_file_location("chatcontract_bench_load", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
    return sys.modules["chatcontract_bench_load"]


def test_every_platform_has_a_load_profile() -> None:
    assert sorted(_bench().PROFILES) == specs.platforms()


@pytest.mark.parametrize("platform", specs.platforms())
def test_concurrent_clients_get_no_5xx_and_the_state_matches_the_model(platform: str) -> None:
    outcome = _bench().run_platform(platform, clients=CLIENTS, ops=OPS_PER_CLIENT, in_thread=True)
    assert len(outcome.latencies_ms) == CLIENTS * OPS_PER_CLIENT
    assert outcome.server_errors == 0, outcome.statuses
    assert outcome.unexpected == [], outcome.unexpected[:5]
    assert outcome.checked_keys >= CLIENTS, "too few keys read back to mean anything"
    assert outcome.mismatches == [], outcome.mismatches[:5]


def test_the_model_check_catches_a_server_that_drops_writes() -> None:
    outcome = _bench().run_platform("plugdj", clients=CLIENTS, ops=OPS_PER_CLIENT, in_thread=True, faults=("unmute-noop",))
    assert outcome.server_errors == 0
    assert outcome.mismatches and all("the model says off, the server on" in m for m in outcome.mismatches)
