"""No credential from a target file ever leaves in any output: not in the JUnit, JSON or Markdown
reports, the docs site built from them, curl lines, stdout or stderr, nor any other file the run
writes, in plain, URL-encoded, JSON-escaped or base64 form.

Every platform runs against a server that answers 500 to everything and echoes the request back
(headers, cookies, body) in its error body, so every check fails, every report quotes bodies and
carries a curl line, and the tokens come back from the target itself. The tokens are
recognisable and full of characters that encoding changes (`|/+=`).
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from chatcontract import specs
from chatcontract.servers.serve import target_document, write_target
from tests.hostile.servers import HostileServers

pytestmark = pytest.mark.xdist_group("secrets")


def _token(platform: str, identity: str, scheme: str) -> str:
    return f"CCSECRET|{platform}/{identity}+{scheme}=x"


def _forms(secret: str) -> dict[str, str]:
    raw = secret.encode()
    forms = {"plain": secret, "url-encoded": quote(secret, safe=""), "url-encoded (path)": quote(secret),
             "form-encoded": quote_plus(secret), "json-escaped": json.dumps(secret)[1:-1]}
    for name, encoded in (("base64", base64.b64encode(raw).decode()), ("base64url", base64.urlsafe_b64encode(raw).decode())):
        forms[name] = encoded
        forms[f"{name} unpadded"] = encoded.rstrip("=")
    return forms


def _outputs(root: Path, skip: set[Path]) -> dict[str, bytes]:
    """Every file the run wrote under `root` (reports, docs site, caches), by relative path."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file() and p not in skip}


def test_no_credential_reaches_any_output(tmp_path: Path) -> None:
    secrets: dict[str, list[str]] = {}  # platform -> its tokens
    target_files: set[Path] = set()
    with HostileServers(kinds=("echo-500",)) as servers:
        args = []
        for platform in specs.platforms():
            document = {**target_document(platform, servers.url("echo-500"), test_hooks=False),
                        "name": f"leaky-{platform}", "request_timeout_s": 5}
            document["credentials"] = {identity: {scheme: _token(platform, identity, scheme) for scheme in creds}
                                       for identity, creds in document["credentials"].items()}
            secrets[platform] = [v for creds in document["credentials"].values() for v in creds.values()]
            path = tmp_path / "targets" / f"{platform}.target.yaml"
            write_target(path, document)
            target_files.add(path)
            args += ["--target", str(path)]
        done = subprocess.run([sys.executable, "-m", "chatcontract.cli", "run", "--profile", "fast",
                               "--report-dir", str(tmp_path / "reports"), *args],
                              capture_output=True, text=True, timeout=600, cwd=tmp_path)
        echoed = json.dumps(servers.echoed)
    assert done.returncode in (1, 3), done.stderr[-2000:]
    built = subprocess.run([sys.executable, "-m", "chatcontract.cli", "docs", "--results",
                            str(tmp_path / "reports" / "results.json"), "--out", str(tmp_path / "reports" / "site")],
                           capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert built.returncode == 0, built.stderr[-2000:]
    assert list((tmp_path / "reports" / "site").rglob("*.html")), "the docs site has no pages"

    # The tokens were really in play: sent to the target and echoed back in what it answered (a
    # platform's other identities may come later than the first failing step of its checks).
    for platform, tokens in secrets.items():
        assert any(token in echoed for token in tokens), f"no {platform} token ever reached the target"
    results = json.loads((tmp_path / "reports" / "results.json").read_text())["results"]
    for platform in specs.platforms():
        curls = [r["curl"] for r in results if r["target"] == f"leaky-{platform}" and r["curl"]]
        assert any("<redacted>" in c for c in curls), f"{platform}: no curl line with a redacted credential"
    outputs = _outputs(tmp_path, skip=target_files)
    assert {"reports/junit.xml", "reports/results.json", "reports/summary.md"} <= set(outputs)
    outputs["stdout"], outputs["stderr"] = done.stdout.encode(), done.stderr.encode()

    leaks = [(secret, form, where) for tokens in secrets.values() for secret in tokens for form, text in _forms(secret).items()
             for where, content in outputs.items() if text.encode() in content]
    assert not leaks, f"{len(leaks)} leaks, first: {leaks[:5]}"
