"""A pytest plugin (`-p tests.traffic.through_proxy`) that points the reference-server tests at
checking proxies instead of the servers: `CHATCONTRACT_TEST_PROXIES` maps a platform to the
proxy's URL, and `tests.servers.conftest.live_server` answers with it. The tests themselves are
untouched, so the vendors' SDK tests run exactly as they do against the servers."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import tests.servers.conftest as servers

_URLS: dict[str, str] = json.loads(os.environ.get("CHATCONTRACT_TEST_PROXIES", "{}"))


@dataclass
class _Proxied:
    platform: str
    base_url: str


def _live_server(platform: str) -> _Proxied:
    return _Proxied(platform, _URLS[platform])


if _URLS:
    servers.live_server = _live_server  # type: ignore[assignment]
