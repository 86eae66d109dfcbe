"""The specs lint clean with the Redocly CLI: no error and no warning under redocly.yaml."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from chatcontract import specs
from tests.specs.conftest import REPO


def test_spec_lints_clean(platform: str, redocly: Path) -> None:
    done = subprocess.run(
        [str(redocly), "lint", "--config", str(REPO / "redocly.yaml"), "--format", "json",
         str(specs.spec_path(platform))],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        raise AssertionError(f"redocly printed no JSON report (exit {done.returncode}): {done.stderr[-800:]}")
    problems = [
        f"{p['severity']} {p['ruleId']} at {p['location'][0].get('pointer', '?')}: {p['message']}"
        for p in report["problems"]
    ]
    assert report["totals"]["errors"] == 0 and report["totals"]["warnings"] == 0, "\n".join(problems)
