"""Rocket.Chat reference server: ignore lists, subscriptions and room mutes of `specs/rocketchat.yaml`."""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette

from chatcontract.servers.core.app import build_app
from chatcontract.servers.core.auth import Authenticator
from chatcontract.servers.core.clock import Clock
from chatcontract.servers.core.faults import Faults
from chatcontract.servers.core.seed import load_seed
from chatcontract.servers.rocketchat import errors
from chatcontract.servers.rocketchat.routes import routes
from chatcontract.servers.rocketchat.state import RocketState


def create_app(*, test_hooks: bool = False, clock: Clock | None = None, seed_path: Path | None = None,
               faults: Faults | None = None) -> Starlette:
    clock = clock or Clock()
    faults = faults or Faults("rocketchat")
    seed = load_seed("rocketchat", seed_path)
    state = RocketState(seed, clock, faults)
    return build_app(
        routes=routes(state, Authenticator("rocketchat", seed["identities"])),
        clock=clock,
        reset=state.reset,
        render_http_error=errors.http_error,
        test_hooks=test_hooks,
        state=state,
        faults=faults,
    )
