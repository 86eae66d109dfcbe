"""Agora Chat reference server: the chat-room mute list and room-wide mute of `specs/agora.yaml`."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from starlette.applications import Starlette

from chatcontract.servers.agora import errors
from chatcontract.servers.agora.routes import routes
from chatcontract.servers.agora.state import AgoraState
from chatcontract.servers.core.app import build_app
from chatcontract.servers.core.auth import Authenticator
from chatcontract.servers.core.clock import Clock
from chatcontract.servers.core.faults import Faults
from chatcontract.servers.core.seed import load_seed


def create_app(*, test_hooks: bool = False, clock: Clock | None = None, seed_path: Path | None = None,
               faults: Faults | None = None) -> Starlette:
    clock = clock or Clock()
    faults = faults or Faults("agora")
    seed = load_seed("agora", seed_path)
    state = AgoraState(seed, clock, faults)
    return build_app(
        routes=routes(state, Authenticator("agora", seed["identities"])),
        clock=clock,
        reset=state.reset,
        render_http_error=partial(errors.http_error, clock=clock),
        test_hooks=test_hooks,
        state=state,
        faults=faults,
    )
