"""No credential leaves in any byte the traffic commands write: the proxy's terminal lines,
reports and recorded HAR, and check-traffic's reports of a HAR, also of a HAR written by another
tool with the credentials in plain sight and no target file to name them. The server echoes
every request back (headers, cookies, body, percent- and base64-encoded too), so the
credentials come back inside the answers. The search is the suite's own (tests/suite/test_secrets.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import tests.suite.test_secrets as secret_search
from chatcontract import specs
from chatcontract.servers.serve import target_document, write_target
from chatcontract.suite.wire import Wire, base_call
from chatcontract.targets import from_document
from tests.hostile.servers import HostileServers

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.xdist_group("traffic-secrets")

PROXY = """
import sys
from pathlib import Path
from chatcontract.traffic.commands import main_proxy
sys.exit(main_proxy(Path(sys.argv[1]), "127.0.0.1:0", int(sys.argv[2]), 60, Path(sys.argv[3]), record=Path(sys.argv[4])))
"""
CHECK = """
import sys
from pathlib import Path
from chatcontract.traffic.commands import main_check_traffic
sys.exit(main_check_traffic(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])))
"""


def _token(platform: str, identity: str, scheme: str) -> str:
    return secret_search._token(platform, identity, scheme)


def _leaks(secrets: list[str], outputs: dict[str, bytes]) -> list[tuple[str, str, str]]:
    return [(secret, form, where) for secret in secrets for form, text in secret_search._forms(secret).items()
            for where, content in outputs.items() if text.encode() in content]


def _plain_har(echoed: list[dict], statuses: int = 500) -> dict:
    """A HAR as another tool would write it: the requests the echo server saw, credentials and all."""
    entries = []
    for seen in echoed:
        entries.append({"startedDateTime": "2026-12-01T10:00:00Z", "time": 3,
                        "request": {"method": seen["method"], "url": seen["url"],
                                    "headers": [{"name": k, "value": v} for k, v in seen["headers"].items()],
                                    **({"postData": {"mimeType": "application/json", "text": seen["body"]}} if seen["body"] else {})},
                        "response": {"status": statuses, "headers": [{"name": "Content-Type", "value": "application/json"}],
                                     "content": {"mimeType": "application/json", "size": 10, "text": json.dumps(seen)}}})
    return {"log": {"version": "1.2", "creator": {"name": "other-tool", "version": "1"}, "entries": entries}}


@pytest.mark.parametrize("platform", specs.platforms())
def test_no_credential_reaches_any_traffic_output(tmp_path: Path, platform: str) -> None:
    with HostileServers(kinds=("echo-500",)) as servers:
        document = {**target_document(platform, servers.url("echo-500"), test_hooks=False), "name": f"leaky-{platform}",
                    "request_timeout_s": 5}
        document["credentials"] = {identity: {scheme: _token(platform, identity, scheme) for scheme in creds}
                                   for identity, creds in document["credentials"].items()}
        secrets = [v for creds in document["credentials"].values() for v in creds.values()]
        target_file = tmp_path / "leaky.target.yaml"
        write_target(target_file, document)
        operations = list(specs.operations(platform))
        proxy = subprocess.Popen([sys.executable, "-c", PROXY, str(target_file), str(len(operations)),
                                  str(tmp_path / "out" / "proxy"), str(tmp_path / "out" / "proxy.har")],
                                 cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            first = proxy.stdout.readline()
            assert first.startswith("proxy for "), proxy.stderr.read()
            url = first.rsplit(" ", 1)[1].strip()
            client = from_document({**document, "base_url": url}, where="<test>", default_name=platform)
            wire = Wire(client)
            for op in operations:
                wire.send(base_call(client, op.operation_id))
            out, err = proxy.communicate(timeout=60)
        finally:
            proxy.kill()
        echoed = list(servers.echoed)
    # The echo server's 500s are no documented answer, except where a platform documents a 500
    # envelope that the echo happens to carry (Sendbird's message, code, error).
    assert proxy.returncode in (0, 1), err
    assert len(echoed) == len(operations) and any(s in json.dumps(echoed) for s in secrets)  # the tokens were in play
    outputs = {"proxy stdout": (first + out).encode(), "proxy stderr": err.encode()}
    # check-traffic, in a fresh process with no target file, of the proxy's HAR and of a plain one.
    plain = tmp_path / "plain.har"
    plain.write_text(json.dumps(_plain_har(echoed)), encoding="utf-8")
    for name, source in (("recorded", tmp_path / "out" / "proxy.har"), ("plain", plain)):
        done = subprocess.run([sys.executable, "-c", CHECK, platform, str(source), str(tmp_path / "out" / name)],
                              cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert done.returncode in (0, 1), done.stderr
        outputs[f"{name} stdout"], outputs[f"{name} stderr"] = done.stdout.encode(), done.stderr.encode()
    outputs.update(secret_search._outputs(tmp_path / "out", skip=set()))
    assert {"proxy/results.json", "proxy/junit.xml", "proxy/summary.md", "proxy.har", "plain/results.json"} <= set(outputs)
    leaks = _leaks(secrets, outputs)
    assert not leaks, f"{len(leaks)} leaks, first: {leaks[:5]}"
    plain_results = json.loads(outputs["plain/results.json"])["results"]
    if any(r["outcome"] == "fail" for r in plain_results):  # the failures quote the echoed bodies
        assert "<redacted>" in outputs["plain/results.json"].decode()
