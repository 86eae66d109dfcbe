"""The target file of a reference server: its base URL, the seed's named credentials and fixture
ids, and the test-hook capabilities, as `chatcontract serve` writes it and as the suite builds it
for the built-in servers.

Apart from serve.py so that building one imports no web server: the main job's xdist controller
builds the five reference targets before it starts its workers, and importing uvicorn, Starlette
and the servers' core there cost ~70 ms of that wait.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from chatcontract.servers.core.seed import load_seed, target_profile

HOOK_PREFIX = "/_chatcontract"  # where a reference server mounts its test hooks (core/hooks.py)


def target_document(platform: str, base_url: str, test_hooks: bool) -> dict[str, Any]:
    """The target file content for a reference server of `platform` at `base_url`."""
    profile = target_profile(load_seed(platform))
    capabilities: dict[str, Any] = {"reset": test_hooks, "clock": test_hooks}
    if test_hooks:
        capabilities["hooks_path"] = HOOK_PREFIX
    return {"api": platform, "base_url": base_url, **profile, "capabilities": capabilities}


def write_target(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    header = f"# Target file for the chatcontract suite: the {document['api']} reference server.\n"
    path.write_text(header + yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
