"""Stateful reference servers, one Starlette app per platform, named like its spec.

`chatcontract.servers.<platform>` is the server for `specs/<platform>.yaml`; each exposes
`create_app(*, test_hooks=False, clock=None, seed_path=None, faults=())`; `faults` names
deviations from `<platform>/faults.yaml` (see core/faults.py). The shared core is in `core/`;
starting them (CLI or in a thread for tests) is in `serve.py`.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the package itself imports no web framework: see targetfile.py
    from starlette.applications import Starlette

    from chatcontract.servers.core.clock import Clock


def create_app(platform: str, *, test_hooks: bool = False, clock: Clock | None = None,
               seed_path: Path | None = None, faults: tuple[str, ...] = ()) -> Starlette:
    from chatcontract.servers.core.faults import Faults

    module: Any = importlib.import_module(f"chatcontract.servers.{platform}")
    return module.create_app(test_hooks=test_hooks, clock=clock, seed_path=seed_path, faults=Faults(platform, faults))
