"""plug.dj reference server: the room mute list of `specs/plugdj.yaml`, with expiring mutes."""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette

from chatcontract.servers.core.app import assemble
from chatcontract.servers.core.clock import Clock
from chatcontract.servers.core.faults import Faults
from chatcontract.servers.plugdj import errors
from chatcontract.servers.plugdj.routes import routes
from chatcontract.servers.plugdj.state import PlugState


def create_app(*, test_hooks: bool = False, clock: Clock | None = None, seed_path: Path | None = None,
               faults: Faults | None = None) -> Starlette:
    return assemble("plugdj", PlugState, routes, errors.http_error, test_hooks=test_hooks, clock=clock,
                    seed_path=seed_path, faults=faults)
