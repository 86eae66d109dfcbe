"""Rocket.Chat reference server: ignore lists, subscriptions and room mutes of `specs/rocketchat.yaml`."""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette

from chatcontract.servers.core.app import assemble
from chatcontract.servers.core.clock import Clock
from chatcontract.servers.core.faults import Faults
from chatcontract.servers.rocketchat import errors
from chatcontract.servers.rocketchat.routes import routes
from chatcontract.servers.rocketchat.state import RocketState


def create_app(*, test_hooks: bool = False, clock: Clock | None = None, seed_path: Path | None = None,
               faults: Faults | None = None) -> Starlette:
    return assemble("rocketchat", RocketState, routes, errors.http_error, test_hooks=test_hooks, clock=clock,
                    seed_path=seed_path, faults=faults)
