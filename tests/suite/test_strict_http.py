"""Generic HTTP rules are off by default and reported apart when a target file asks for them.

The clean-room Rocket.Chat server answers a method the spec does not list with 404 "API endpoint
does not exist" (as its author read Rocket.Chat), not with HTTP's 405 and an `Allow` header. No
vendor documents 405 there, so by default that is no failure at all; with
`strict_http: {unsupported_method: true}` the schema layer adds its own `…/strict-http` case,
under the matrix row `http: generic rules (not vendor conformance)`, and that case fails while
every vendor check still passes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "independent"))

import harness  # noqa: E402  (tests/independent/harness.py)

STRICT_ROW = "http: generic rules (not vendor conformance)"


def _schema_layer(tmp_path: Path, url: str, **extra) -> tuple[int, list[dict]]:
    document = {k: v for k, v in harness.target_document("rocketchat").items() if not k.startswith("x-")}
    document.update(base_url=url, name="strictness", implements=["rocketchatIgnoreUser"], **extra)
    target = tmp_path / f"strict-{len(extra)}.target.yaml"
    target.write_text(yaml.safe_dump(document), encoding="utf-8")
    reports = tmp_path / f"reports-{len(extra)}"
    done = subprocess.run([sys.executable, "-m", "chatcontract.cli", "run", "--target", str(target), "--layer",
                           "schema", "--profile", "fast", "--report-dir", str(reports)],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    return done.returncode, json.loads((reports / "results.json").read_text())["results"]


def test_generic_http_rules_are_opt_in_and_reported_apart(tmp_path: Path) -> None:
    with harness.running("rocketchat", harness.FAITHFUL) as url:
        code, results = _schema_layer(tmp_path, url)
        assert code == 0, [r["message"] for r in results if r["outcome"] == "fail"]
        assert not [r for r in results if r["matrix_row"] == STRICT_ROW]

        code, results = _schema_layer(tmp_path, url, strict_http={"unsupported_method": True})
    assert code == 1
    strict = [r for r in results if r["matrix_row"] == STRICT_ROW and r["outcome"] != "skip"]  # implements: one op
    assert [r["behaviour"] for r in strict] == ["rocketchatIgnoreUser/strict-http"]
    assert strict[0]["outcome"] == "fail" and "405" in strict[0]["message"] + strict[0]["detail"]
    vendor = [r for r in results if r["matrix_row"] != STRICT_ROW and r["outcome"] != "skip"]
    assert vendor and all(r["outcome"] == "pass" for r in vendor), vendor
