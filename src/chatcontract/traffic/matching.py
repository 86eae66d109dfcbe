"""Which documented operation an observed exchange is: the platform spec's path templates, under
the target's base URL.

The exchange's URL must start with the base URL (scheme, host, port and path prefix; without one,
any origin and no prefix); the rest of its path is matched against every path template of the
spec (`{name}` is one path segment, percent-decoded as a server reads it), and its method
against the template's methods. Where several templates match, the one with the most literal
characters wins (a fixed segment beats a parameter). An exchange that matches nothing is "not in
the spec": reported as a skip, never as a failure (a browser export holds the page's other
requests, the reference servers' `/_chatcontract` hooks are no vendor operation).

Written by hand: a path template is one regex per template; the templates are the spec's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from urllib.parse import unquote, urlsplit

from chatcontract import specs


@dataclass(frozen=True)
class Match:
    operation: specs.Operation | None
    path_params: dict[str, str]
    reason: str = ""  # why nothing matched (one line), when operation is None


@cache
def _templates(platform: str) -> list[tuple[re.Pattern[str], str, int]]:
    found = []
    for path in (specs.load_spec(platform).get("paths") or {}):
        parts = re.split(r"(\{[^}/]+\})", path)
        regex = "".join(f"(?P<p{i}>[^/]+)" if p.startswith("{") else re.escape(p) for i, p in enumerate(parts))
        found.append((re.compile(f"^{regex}$"), path, sum(len(p) for p in parts if not p.startswith("{"))))
    return sorted(found, key=lambda t: -t[2])


def _names(path: str) -> dict[str, str]:
    parts = re.split(r"(\{[^}/]+\})", path)
    return {f"p{i}": p[1:-1] for i, p in enumerate(parts) if p.startswith("{")}


def relative_path(url: str, base_url: str | None) -> str | None:
    """The URL's path below the base URL, or None when the URL is not under it."""
    parts = urlsplit(url)
    if not base_url:
        return parts.path or "/"
    base = urlsplit(base_url)
    same_origin = (parts.scheme.lower(), (parts.hostname or "").lower(), parts.port or _port(parts.scheme)) == \
                  (base.scheme.lower(), (base.hostname or "").lower(), base.port or _port(base.scheme))
    prefix = base.path.rstrip("/")
    path = parts.path or "/"
    if not same_origin or not (path == prefix or path.startswith(prefix + "/")):
        return None
    return path[len(prefix):] or "/"


def _port(scheme: str) -> int:
    return 443 if scheme.lower() == "https" else 80


def match(platform: str, method: str, url: str, base_url: str | None = None) -> Match:
    """The operation `method url` is, with its path parameters (decoded), or why it is none."""
    path = relative_path(url, base_url)
    if path is None:
        return Match(None, {}, f"not under the target's base URL {base_url}")
    methods_seen: list[str] = []
    for regex, template, _ in _templates(platform):
        found = regex.match(path)
        if not found:
            continue
        ops = {op.method: op for op in specs.operations(platform) if op.path == template}
        op = ops.get(method.lower())
        if op is None:
            methods_seen += [m.upper() for m in ops]
            continue
        names = _names(template)
        return Match(op, {names[k]: unquote(v) for k, v in found.groupdict().items()})
    if methods_seen:
        return Match(None, {}, f"not in the spec: specs/{platform}.yaml documents {', '.join(dict.fromkeys(methods_seen))} "
                               f"for this path, not {method.upper()}")
    return Match(None, {}, f"not in the spec: no path of specs/{platform}.yaml matches {path}")
