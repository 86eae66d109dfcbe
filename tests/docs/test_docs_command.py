"""`chatcontract docs`: which results it shows, bad input in one line with exit 2, and `--serve`
answering on loopback (also in the browser) and stopping cleanly on Ctrl-C."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from chatcontract import cli, specs

pytestmark = pytest.mark.xdist_group("docs")


def test_pages_load_nothing_from_the_network(site: Path) -> None:
    pages = sorted(site.glob("*.html"))
    assert [p.stem for p in pages] == sorted(["index", *specs.platforms()])
    for page in pages:
        html = page.read_text(encoding="utf-8")
        assets = re.findall(r'<(?:script|link)\b[^>]*\b(?:src|href)="([^"]+)"', html)
        assert assets and all(a.startswith("assets/") and (site / a).is_file() for a in assets), (page.name, assets)
        assert "connect-src 'none'" in html  # the page's own policy forbids fetching anything
    spec = re.search(r'<script type="application/json" id="cc-spec">(.*?)</script>',
                     (site / "plugdj.html").read_text(encoding="utf-8"), re.S)
    assert spec and '"$ref"' not in spec.group(1) and json.loads(spec.group(1))["openapi"] == "3.1.0"


def test_default_results_file_is_used_when_present(tmp_path: Path, failing_results: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert cli.main(["docs", "--out", "bare"]) == cli.EXIT_OK
    assert "No conformance results" in (tmp_path / "bare" / "index.html").read_text(encoding="utf-8")
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "results.json").write_bytes(failing_results.read_bytes())
    assert cli.main(["docs"]) == cli.EXIT_OK
    index = (tmp_path / "reports" / "site" / "index.html").read_text(encoding="utf-8")
    assert "Conformance results from <code>reports/results.json</code>" in index and "FAIL" in index


def _bad_inputs(tmp: Path) -> dict[str, tuple[list[str], str]]:
    (tmp / "broken.json").write_text("{not json")
    (tmp / "other.json").write_text(json.dumps({"results": [{"id": 1}], "targets": []}))
    (tmp / "a-file").write_text("")
    return {
        "missing results": (["--results", str(tmp / "nope.json")], "cannot read results file"),
        "not JSON": (["--results", str(tmp / "broken.json")], "not valid JSON at line 1, column 2"),
        "not a results.json": (["--results", str(tmp / "other.json")], "is not a chatcontract results.json"),
        "out is a file": (["--out", str(tmp / "a-file")], "cannot write the site"),
        "out under a file": (["--out", str(tmp / "a-file" / "site")], "cannot write the site"),
        "bad port": (["--serve", "--port", "70000"], "out of range"),
    }


@pytest.mark.parametrize("case", ["missing results", "not JSON", "not a results.json", "out is a file",
                                  "out under a file", "bad port"])
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, capsys, case: str) -> None:
    argv, message = _bad_inputs(tmp_path)[case]
    if "--out" not in argv:
        argv += ["--out", str(tmp_path / "site")]
    assert cli.main(["docs", *argv]) == cli.EXIT_USAGE
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1, err


def test_serve_answers_on_loopback_and_stops_on_ctrl_c(tmp_path: Path, failing_results: Path, browse) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-u", "-m", "chatcontract.cli", "docs", "--serve", "--out", str(tmp_path / "site"),
         "--results", str(failing_results)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        url, deadline = None, time.monotonic() + 60
        while url is None:
            line = proc.stdout.readline()
            assert line or proc.poll() is None, proc.stderr.read()
            assert time.monotonic() < deadline, "docs --serve printed no URL in 60 s"
            found = re.search(r"serving (http://127\.0\.0\.1:\d+/)", line)
            url = found.group(1) if found else None
        index = httpx.get(url, timeout=10)
        assert index.status_code == 200 and "plugdjMuteUser" in index.text
        assert httpx.get(url + "assets/swagger-ui-bundle.js", timeout=10).status_code == 200
        seen = browse([{"url": url + "plugdj.html", "kind": "platform"}])
        assert {o["operationId"] for o in seen["pages"][0]["operations"]} == {
            op.operation_id for op in specs.operations("plugdj")}
        assert seen["blocked"] == [] and seen["errors"] == []
        assert all(u.startswith(url) for u in seen["requests"]), seen["requests"]
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=15) == cli.EXIT_OK, proc.stderr.read()
        assert "Traceback" not in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
