"""Agora Chat reference server: the chat-room mute list and room-wide mute of `specs/agora.yaml`."""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette

from chatcontract.servers.core.app import assemble
from chatcontract.servers.core.clock import Clock
from chatcontract.servers.core.faults import Faults
from chatcontract.servers.agora import errors
from chatcontract.servers.agora.routes import routes
from chatcontract.servers.agora.state import AgoraState


def create_app(*, test_hooks: bool = False, clock: Clock | None = None, seed_path: Path | None = None,
               faults: Faults | None = None) -> Starlette:
    return assemble("agora", AgoraState, routes, errors.http_error, test_hooks=test_hooks, clock=clock,
                    seed_path=seed_path, faults=faults, errors_need_clock=True)
