"""The off-host recorder records what reaches it, so "zero hits" in the other tests means something."""

from __future__ import annotations

import httpx

from tests.hostile.servers import OTHER_HOST, HostileServers


def test_the_recorder_on_the_other_loopback_address_records_a_hit() -> None:
    with HostileServers(kinds=("redirect-off-host",)) as servers:
        redirect = httpx.get(servers.url("redirect-off-host") + "/_/mutes", follow_redirects=False)
        assert redirect.status_code == 307 and redirect.headers["location"].startswith(f"http://{OTHER_HOST}:")
        assert servers.recorder.hits == []
        followed = httpx.get(servers.url("redirect-off-host") + "/_/mutes", follow_redirects=True)
        assert followed.status_code == 200 and len(servers.recorder.hits) == 1
        assert servers.recorder.hits[0].startswith(b"GET /_/mutes ")
