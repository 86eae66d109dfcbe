"""Who is calling: match a request's credentials against the seed identities, per the spec.

The spec's `security` requirement names the schemes; `components.securitySchemes` says where each
value travels (header, cookie, query, bearer). No platform restates that here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from chatcontract import specs


@dataclass(frozen=True)
class Caller:
    """The outcome of authentication: `name` is set when every credential matched one identity."""

    name: str | None
    missing: bool  # True when at least one required credential was not sent at all

    @property
    def ok(self) -> bool:
        return self.name is not None


def _scheme_value(request: Request, scheme: dict[str, Any]) -> str | None:
    kind = scheme.get("type")
    if kind == "apiKey":
        where, name = scheme["in"], scheme["name"]
        if where == "header":
            return request.headers.get(name)  # Starlette header lookup ignores case
        if where == "cookie":
            return request.cookies.get(name)
        if where == "query":
            return request.query_params.get(name)
    if kind == "http" and str(scheme.get("scheme", "")).lower() == "bearer":
        header = request.headers.get("authorization")
        if header is None:
            return None
        prefix, _, token = header.partition(" ")
        return token.strip() if prefix.lower() == "bearer" else ""
    return None


class Authenticator:
    """Reads one platform's security schemes once and matches requests against identities."""

    def __init__(self, platform: str, identities: dict[str, dict[str, Any]]) -> None:
        spec = specs.load_spec(platform)
        self._schemes = spec.get("components", {}).get("securitySchemes", {})
        requirement = (spec.get("security") or [{}])[0]
        self.scheme_names = list(requirement)
        self._identities = {
            name: {k: str(v) for k, v in ident["credentials"].items()} for name, ident in identities.items()
        }

    def caller(self, request: Request) -> Caller:
        sent = {name: _scheme_value(request, self._schemes[name]) for name in self.scheme_names}
        missing = any(value in (None, "") for value in sent.values())
        for name, expected in self._identities.items():
            if all(sent.get(k) == v for k, v in expected.items()):
                return Caller(name, missing=False)
        return Caller(None, missing=missing)
