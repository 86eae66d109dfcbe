"""Item 1: `pytest --target FILE` and `pytest --base-url URL --api NAME` run exactly the suite, the
same checks as `chatcontract run`, from any folder, with the target file outside the checkout.

Before the fix, from a folder of one's own pytest collected nothing (exit 5), and from the
checkout with the target file elsewhere it collected every project test (~1,100) instead of the
22 checks of a plug.dj target.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from chatcontract.servers.serve import RunningServer
from tests.gate.conftest import REPO, command, outcomes, said, target_file

# A caller's project whose own pytest set-up would break or hijack the suite's run if it applied:
# a conftest that fails on import, a test file of its own, and python_files the suite's
# modules do not match.
CALLER_FILES = {
    "conftest.py": "raise RuntimeError('the caller\\'s conftest.py must not be loaded by the suite')\n",
    "test_their_own.py": "def test_theirs():\n    assert False, 'the caller\\'s own test must not run'\n",
    "pytest.ini": "[pytest]\npython_files = check_*.py\n",
}


def _caller_project(folder: Path) -> Path:
    folder.mkdir()
    for name, text in CALLER_FILES.items():
        (folder / name).write_text(text)
    return folder


@pytest.fixture(scope="module")
def by_chatcontract_run(tmp_path_factory: pytest.TempPathFactory, faithful: RunningServer) -> dict[str, str]:
    """What `chatcontract run` checks on the faithful server: test id -> outcome (one run, shared)."""
    folder = tmp_path_factory.mktemp("run")
    run = command(folder, "run", "--target", str(target_file(folder, faithful.base_url)), "--profile", "fast",
                  "--report-dir", str(folder / "reports"))
    assert run.returncode == 0, said(run)
    return outcomes(folder / "reports")


def _local(ids: dict[str, str]) -> dict[str, str]:
    """Test ids without the target name (which differs between a target file and --base-url)."""
    return {i.partition("::")[2]: outcome for i, outcome in ids.items()}


def test_pytest_target_from_a_folder_of_ones_own_runs_the_same_checks_as_chatcontract_run(
        tmp_path: Path, faithful: RunningServer, by_chatcontract_run: dict[str, str]) -> None:
    project = _caller_project(tmp_path / "their-project")
    target = target_file(tmp_path, faithful.base_url)
    plain = command(project, "pytest", "--target", str(target), "--profile", "fast",
                    "--report-dir", str(tmp_path / "plain"), "-p", "no:cacheprovider")
    assert plain.returncode == 0, said(plain)
    suite = by_chatcontract_run
    assert len(suite) > 10 and set(suite.values()) == {"pass"}
    assert outcomes(tmp_path / "plain") == suite  # the same checks, the same outcomes
    assert "test_theirs" not in plain.stdout and "RuntimeError" not in said(plain)


def test_pytest_target_in_the_checkout_collects_the_suite_not_the_project_tests(
        tmp_path: Path, faithful: RunningServer, by_chatcontract_run: dict[str, str]) -> None:
    target = target_file(tmp_path, faithful.base_url)
    listed = command(REPO, "pytest", "--target", str(target), "--co", "-q", "-p", "no:cacheprovider")
    assert listed.returncode == 0, said(listed)
    collected = [line for line in listed.stdout.splitlines() if "::" in line]
    assert collected and all("[lounge::" in line for line in collected), collected[:5]  # no project test
    assert len(collected) == len(by_chatcontract_run)


def test_pytest_base_url_and_api_alone_check_a_server_seeded_like_the_reference_one(
        tmp_path: Path, faithful: RunningServer, by_chatcontract_run: dict[str, str]) -> None:
    project = _caller_project(tmp_path / "their-project")
    plain = command(project, "pytest", "--base-url", faithful.base_url, "--api", "plugdj", "--profile", "fast",
                    "--report-dir", str(tmp_path / "plain"), "-p", "no:cacheprovider")
    assert plain.returncode == 0, said(plain)
    assert _local(outcomes(tmp_path / "plain")).keys() == _local(by_chatcontract_run).keys()
    assert "fail" not in outcomes(tmp_path / "plain").values()


def test_base_url_without_a_target_needs_one_platform(tmp_path: Path) -> None:
    done = command(tmp_path, "run", "--base-url", "http://127.0.0.1:9")
    assert done.returncode == 2
    assert "--base-url without --target needs one --api NAME" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def _installed_hostile_plugin(folder: Path) -> dict[str, str]:
    """An environment in which a pytest plugin is installed (an entry point, as pip installs one)
    that breaks any pytest run it is loaded into: the environment variables to run in it."""
    folder.mkdir()
    (folder / "hostile_plugin.py").write_text(
        "def pytest_configure(config):\n    raise RuntimeError('an installed pytest plugin was loaded')\n")
    info = folder / "hostile_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: hostile-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[pytest11]\nhostile = hostile_plugin\n")
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(folder), os.environ.get("PYTHONPATH")]))}


def test_chatcontract_run_loads_no_pytest_plugin_the_environment_has_installed(
        tmp_path: Path, faithful: RunningServer) -> None:
    env = _installed_hostile_plugin(tmp_path / "site")
    plain = subprocess.run([sys.executable, "-m", "pytest", "--co", "-q", str(tmp_path / "site")],
                           capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env)
    assert "an installed pytest plugin was loaded" in said(plain)  # plain pytest does load it
    for jobs in ("1", "2"):
        run = subprocess.run([sys.executable, "-m", "chatcontract.cli", "run", "--target",
                              str(target_file(tmp_path, faithful.base_url)), "--profile", "fast", "--layer", "errors",
                              "-j", jobs, "--report-dir", str(tmp_path / f"reports-{jobs}")],
                             capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env)
        assert run.returncode == 0, said(run)
        assert set(outcomes(tmp_path / f"reports-{jobs}").values()) == {"pass"}
