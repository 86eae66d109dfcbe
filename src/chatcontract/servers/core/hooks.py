"""Test hooks: reset state and move the clock, outside every vendor path, off unless enabled.

A target advertises them in its target file as `capabilities: {reset: true, clock: true}` plus
the hook base path; any server (not just ours) may implement the same three routes:

    GET  /_chatcontract/capabilities   -> {"reset": true, "clock": true}
    POST /_chatcontract/reset          -> state back to the seed, clock offset back to 0
    POST /_chatcontract/clock/advance  {"ms": N} -> {"now_ms": ...}
    GET  /_chatcontract/clock          -> {"now_ms": ...}
"""

from __future__ import annotations

import json
from typing import Any, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from chatcontract.servers.core.clock import Clock
from chatcontract.servers.targetfile import HOOK_PREFIX


def hook_routes(clock: Clock, reset: Callable[[], None]) -> list[Route]:
    async def capabilities(_: Request) -> JSONResponse:
        return JSONResponse({"reset": True, "clock": True})

    async def do_reset(_: Request) -> JSONResponse:
        reset()
        clock.reset()
        return JSONResponse({"reset": True, "now_ms": clock.now_ms()})

    async def advance(request: Request) -> JSONResponse:
        try:
            body: Any = json.loads(await request.body() or b"{}")
            ms = body["ms"]
            if not isinstance(ms, int) or isinstance(ms, bool) or ms < 0:
                raise ValueError
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"error": 'body must be {"ms": <non-negative integer>}'}, status_code=400)
        clock.advance(ms)
        return JSONResponse({"now_ms": clock.now_ms()})

    async def now(_: Request) -> JSONResponse:
        return JSONResponse({"now_ms": clock.now_ms()})

    return [
        Route(f"{HOOK_PREFIX}/capabilities", capabilities, methods=["GET"]),
        Route(f"{HOOK_PREFIX}/reset", do_reset, methods=["POST"]),
        Route(f"{HOOK_PREFIX}/clock/advance", advance, methods=["POST"]),
        Route(f"{HOOK_PREFIX}/clock", now, methods=["GET"]),
    ]
