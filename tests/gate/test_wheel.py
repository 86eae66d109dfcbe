"""Item 15: README's CI snippet installs chatcontract as written, and the installed package works
outside the checkout (items 1, 13 and 14 again, from the wheel).

The install step is read from README.md's CI gate block, not restated: a clean clone of this
repository goes where the snippet's second checkout puts the suite, and the snippet's `pip
install` line runs in a fresh virtual environment (pip builds the wheel with the pinned
hatchling and installs it with its dependencies). Before the fix the snippet said `pip install
chatcontract`, which finds nothing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

from chatcontract.servers.serve import RunningServer
from tests.gate.conftest import REPO, said, target_file

pytestmark = pytest.mark.xdist_group("gate-wheel")  # one venv, built once, for every test here


def ci_snippet() -> dict[str, Any]:
    """README.md's CI gate workflow, parsed."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"\*\*CI gate\*\*.*?```yaml\n(.*?)```", readme, re.DOTALL)
    assert block, "README.md has no CI gate yaml block"
    return yaml.safe_load(block.group(1))


def install_step(workflow: dict[str, Any]) -> tuple[str, str]:
    """(where the suite is checked out, the `pip install` command) of the README's workflow."""
    steps = workflow["jobs"]["conformance"]["steps"]
    suite = [s for s in steps if (s.get("with") or {}).get("repository")]
    installs = [s["run"] for s in steps if str(s.get("run", "")).startswith("pip install")]
    assert len(suite) == 1 and len(installs) == 1, steps
    return suite[0]["with"]["path"], installs[0]


def _clean_copy(destination: Path) -> None:
    """This repository as `actions/checkout` gives it: committed files only."""
    if (REPO / ".git").exists():
        subprocess.run(["git", "clone", "-q", "--depth", "1", REPO.as_uri(), str(destination)], check=True, timeout=120)
    else:  # an export without git metadata: the tree itself, without what runs leave behind
        shutil.copytree(REPO, destination, ignore=shutil.ignore_patterns(".venv", "node_modules", "reports", ".*cache*"))


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    workspace = tmp_path_factory.mktemp("workspace")
    where, install = install_step(ci_snippet())
    _clean_copy(workspace / where)
    venv = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=180)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env |= {"VIRTUAL_ENV": str(venv), "PATH": f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"}
    done = subprocess.run(["bash", "-c", install], cwd=workspace, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, f"`{install}` failed:\n{done.stdout[-2000:]}{done.stderr[-3000:]}"
    elsewhere = workspace / "elsewhere"
    elsewhere.mkdir()
    return SimpleNamespace(bin=venv / "bin", env=env, cwd=elsewhere, source=workspace / where)


def _in(installed: SimpleNamespace, *argv: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(installed.bin / argv[0]), *argv[1:]], cwd=cwd or installed.cwd, env=installed.env,
                          capture_output=True, text=True, timeout=600)


def test_the_readme_snippet_installs_from_the_repository_not_from_pypi() -> None:
    where, install = install_step(ci_snippet())
    assert install.split()[:2] == ["pip", "install"] and install.split()[2].rstrip("/") in (where, f"./{where}")


def test_the_installed_package_is_the_wheel_not_the_checkout(installed: SimpleNamespace) -> None:
    done = _in(installed, "python", "-c", "import chatcontract, chatcontract.specs as s; "
               "print(chatcontract.__file__); print(s.specs_dir())")
    module, specs_dir = done.stdout.split()
    assert str(REPO) not in module and "site-packages" in module, done.stdout
    assert specs_dir.endswith("chatcontract/_data/specs")
    assert _in(installed, "chatcontract", "--version").stdout.startswith("chatcontract ")


def test_chatcontract_run_from_outside_the_checkout_exits_0_with_its_reports(installed: SimpleNamespace) -> None:
    done = _in(installed, "chatcontract", "run", "--api", "plugdj", "--profile", "fast")
    assert done.returncode == 0, said(done)
    reports = installed.cwd / "reports"
    assert {p.name for p in reports.iterdir()} == {"junit.xml", "results.json", "summary.md"}
    document = json.loads((reports / "results.json").read_text())
    assert document["totals"]["pass"] > 10 and document["totals"]["fail"] == document["totals"]["error"] == 0
    assert not (installed.cwd / ".hypothesis").exists()


def test_pytest_target_from_the_wheel_runs_the_suite(installed: SimpleNamespace, tmp_path: Path,
                                                     faithful: RunningServer) -> None:
    target = target_file(tmp_path, faithful.base_url)
    done = _in(installed, "python", "-m", "pytest", "--target", str(target), "--profile", "fast",
               "--report-dir", str(tmp_path / "reports"), "-p", "no:cacheprovider")
    assert done.returncode == 0, said(done)
    ids = [r["id"] for r in json.loads((tmp_path / "reports" / "results.json").read_text())["results"]]
    assert len(ids) > 10 and all(i.startswith("lounge::") for i in ids)


def test_init_and_the_examples_ship_in_the_wheel(installed: SimpleNamespace) -> None:
    done = _in(installed, "chatcontract", "init", "sendbird")
    assert done.returncode == 0, said(done)
    assert (installed.cwd / "sendbird.target.yaml").read_text().startswith("# chatcontract target file for sendbird")
    listed = _in(installed, "python", "-c", "from chatcontract import init; "
                 "print(' '.join(sorted(p.name for p in (init.examples_dir() / 'targets').iterdir())))")
    shipped = sorted(p.name for p in (installed.source / "examples" / "targets").iterdir())  # as committed
    assert listed.stdout.split() == shipped and len(shipped) >= 5, said(listed)
