"""Build a reference server's Starlette app from a platform's routes, state and error renderer.

Every platform module hands over its routes and a `render_http_error(status)` that turns a
routing 404/405 into the vendor's own error body (never a framework default), and raises
`VendorError` from handlers for documented errors.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any, Awaitable, Callable
from urllib.parse import unquote, unquote_to_bytes

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Match, Route
from starlette.types import Scope

from chatcontract.servers.core.auth import Authenticator
from chatcontract.servers.core.clock import Clock
from chatcontract.servers.core.errors import VendorError
from chatcontract.servers.core.faults import FaultMiddleware, Faults
from chatcontract.servers.core.hooks import hook_routes
from chatcontract.servers.core.seed import load_seed


def vendor_json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=headers)


def build_app(
    *,
    routes: list[BaseRoute],
    clock: Clock,
    reset: Callable[[], None],
    render_http_error: Callable[[int], VendorError],
    test_hooks: bool,
    state: Any,
    faults: Faults | None = None,
) -> Starlette:
    async def on_vendor_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, VendorError)
        return vendor_json(exc.body, exc.status, exc.headers)

    async def on_http_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        err = render_http_error(exc.status_code)
        # Keep what routing says (a 405's `Allow` header is required by RFC 9110).
        return vendor_json(err.body, err.status, {**(exc.headers or {}), **err.headers})

    async def on_crash(_: Request, exc: Exception) -> Response:
        err = render_http_error(500)
        return vendor_json(err.body, err.status, err.headers)

    all_routes = [*routes, *(hook_routes(clock, reset) if test_hooks else [])]
    app = Starlette(
        routes=all_routes,
        exception_handlers={VendorError: on_vendor_error, HTTPException: on_http_error, Exception: on_crash},
    )
    if faults is not None and faults.transforms():
        app.add_middleware(FaultMiddleware, platform=faults.platform, transforms=faults.transforms())
    app.state.faults = faults
    app.state.platform_state = state
    app.state.clock = clock
    app.state.test_hooks = test_hooks
    return app


class SegmentRoute(Route):
    """A route matched on the raw path's segments: an id containing `/` (sent as `%2F`) stays one
    path parameter. (Starlette matches the decoded path, where `a%2Fb` is two segments.)"""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        raw = scope.get("raw_path")
        if scope.get("type") != "http" or not raw:
            return super().matches(scope)
        # Each segment decoded, then only `%` and `/` encoded again: reversible, and `/` is left
        # to separate segments. The parameters are decoded once more after matching.
        segments = [unquote_to_bytes(s).decode("utf-8", "replace").replace("%", "%25").replace("/", "%2F")
                    for s in raw.split(b"?", 1)[0].split(b"/")]
        match, child = super().matches({**scope, "path": "/".join(segments)})
        if "path_params" in child:
            child["path_params"] = {k: unquote(v) if isinstance(v, str) else v for k, v in child["path_params"].items()}
        return match, child


def route(path: str, handlers: dict[str, Callable[[Request], Awaitable[Response]]], *,
          raw_segments: bool = False) -> Route:
    """One route for every method a path serves, so a 405 names them all in `Allow`.

    (Separate Starlette routes for one path would each answer 405 listing only their own method.)
    `raw_segments`: match the raw path's segments (ids that may contain `/`), see SegmentRoute.
    """

    async def dispatch(request: Request) -> Response:
        handler = handlers.get(request.method) or handlers["GET"]  # HEAD is served as GET
        return await handler(request)

    return (SegmentRoute if raw_segments else Route)(path, dispatch, methods=list(handlers))


def assemble(
    platform: str,
    state_class: Callable[..., Any],
    make_routes: Callable[[Any, Authenticator], list[BaseRoute]],
    render_http_error: Callable[..., VendorError],
    *,
    test_hooks: bool = False,
    clock: Clock | None = None,
    seed_path: Path | None = None,
    faults: Faults | None = None,
    errors_need_clock: bool = False,
) -> Starlette:
    """A platform's whole server: its seed, its state on a clock, its routes behind the spec's auth.

    Every platform's `create_app` is this call with its own state class, routes and error renderer
    (`errors_need_clock`: the renderer stamps bodies with the server's time, as Agora's do)."""
    clock = clock or Clock()
    faults = faults or Faults(platform)
    seed = load_seed(platform, seed_path)
    state = state_class(seed, clock, faults)
    return build_app(
        routes=make_routes(state, Authenticator(platform, seed["identities"])),
        clock=clock,
        reset=state.reset,
        render_http_error=partial(render_http_error, clock=clock) if errors_need_clock else render_http_error,
        test_hooks=test_hooks,
        state=state,
        faults=faults,
    )
