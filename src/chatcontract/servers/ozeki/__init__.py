"""Ozeki Chat reference server: per-user conversation mute of `specs/ozeki.yaml` (`mute`,
`unmute`, `list` on one `chatconversation` URL)."""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette

from chatcontract.servers.core.app import assemble
from chatcontract.servers.core.clock import Clock
from chatcontract.servers.core.faults import Faults
from chatcontract.servers.ozeki import errors
from chatcontract.servers.ozeki.routes import routes
from chatcontract.servers.ozeki.state import OzekiState


def create_app(*, test_hooks: bool = False, clock: Clock | None = None, seed_path: Path | None = None,
               faults: Faults | None = None) -> Starlette:
    return assemble("ozeki", OzekiState, routes, errors.http_error, test_hooks=test_hooks, clock=clock,
                    seed_path=seed_path, faults=faults)
