"""Item 11: choosing what runs. `--operation ID`, `-k EXPR` on test ids, `--exitfirst`, and
`--last-failed` (runs are deterministic, so what failed fails again until it is fixed). A
selection that matches nothing, or names an operation no spec has, is one line and exit 2."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from chatcontract.servers.serve import RunningServer
from tests.gate.conftest import command, outcomes, results, said, target_file

FAST = ("--profile", "fast")


@pytest.fixture(scope="module")
def broken_run(tmp_path_factory: pytest.TempPathFactory, faulty: RunningServer) -> Path:
    """The errors layer against the faulty server, once: its report folder (shared, read-only)."""
    folder = tmp_path_factory.mktemp("broken")
    done = command(folder, "run", "--target", str(target_file(folder, faulty.base_url)), *FAST, "--layer", "errors",
                   "--report-dir", str(folder / "reports"))
    assert done.returncode == 1, said(done)
    return folder / "reports"


def test_operation_runs_only_that_operations_checks(tmp_path: Path, faithful: RunningServer) -> None:
    target = target_file(tmp_path, faithful.base_url)
    done = command(tmp_path, "run", "--target", str(target), *FAST, "--operation", "plugdjMuteUser",
                   "--report-dir", str(tmp_path / "reports"))
    assert done.returncode == 0, said(done)
    chosen = results(tmp_path / "reports")
    assert chosen and {r["operation_id"] for r in chosen} == {"plugdjMuteUser"}
    assert {r["layer"] for r in chosen} == {"schema", "errors"}


def test_k_selects_by_test_id(tmp_path: Path, faithful: RunningServer) -> None:
    target = target_file(tmp_path, faithful.base_url)
    done = command(tmp_path, "run", "--target", str(target), *FAST, "-k", "notLoggedIn and not ListMutes",
                   "--report-dir", str(tmp_path / "reports"))
    assert done.returncode == 0, said(done)
    ids = list(outcomes(tmp_path / "reports"))
    assert ids and all("notLoggedIn" in i and "ListMutes" not in i for i in ids), ids


def test_a_selection_of_nothing_or_an_unknown_operation_is_exit_2(tmp_path: Path, faithful: RunningServer) -> None:
    target = target_file(tmp_path, faithful.base_url)
    for args, words in ((["-k", "no-such-check"], "no check matches the selection"),
                        (["--operation", "plugdjBanUser"], "--operation 'plugdjBanUser' is no operation")):
        done = command(tmp_path, "run", "--target", str(target), *FAST, *args, "--report-dir", str(tmp_path / "r"))
        assert done.returncode == 2, said(done)
        assert words in done.stdout + done.stderr and "Traceback" not in done.stdout + done.stderr


def test_exitfirst_stops_at_the_first_failing_check(tmp_path: Path, faulty: RunningServer, broken_run: Path) -> None:
    target = target_file(tmp_path, faulty.base_url)
    first = command(tmp_path, "run", "--target", str(target), *FAST, "--layer", "errors", "--exitfirst",
                    "--report-dir", str(tmp_path / "first"))
    assert first.returncode == 1, said(first)
    failing = [o for o in outcomes(broken_run).values() if o == "fail"]
    stopped = list(outcomes(tmp_path / "first").values())
    assert len(failing) > 1 and stopped.count("fail") == 1 and stopped[-1] == "fail"


def test_last_failed_reruns_what_failed_and_passes_once_it_is_fixed(
        tmp_path: Path, faulty: RunningServer, faithful: RunningServer, broken_run: Path) -> None:
    broken, fixed = tmp_path / "broken", tmp_path / "fixed"
    broken.mkdir(), fixed.mkdir()
    reports = str(tmp_path / "reports")
    shutil.copytree(broken_run, reports)  # the previous run: the errors layer against the faulty server
    failed = {i for i, o in outcomes(Path(reports)).items() if o == "fail"}
    assert failed
    again = command(tmp_path, "run", "--target", str(target_file(broken, faulty.base_url)), *FAST,
                    "--layer", "errors", "--last-failed", "--report-dir", reports)
    assert again.returncode == 1 and outcomes(Path(reports)) == {i: "fail" for i in failed}, said(again)
    # The server fixed (same target name): the same checks run, and pass.
    repaired = command(tmp_path, "run", "--target", str(target_file(fixed, faithful.base_url)), *FAST,
                       "--layer", "errors", "--last-failed", "--report-dir", reports)
    assert repaired.returncode == 0 and outcomes(Path(reports)) == {i: "pass" for i in failed}, said(repaired)


def test_last_failed_without_a_previous_run_is_exit_2(tmp_path: Path, faithful: RunningServer) -> None:
    done = command(tmp_path, "run", "--target", str(target_file(tmp_path, faithful.base_url)), *FAST,
                   "--last-failed", "--report-dir", str(tmp_path / "empty"))
    assert done.returncode == 2 and "--last-failed: no readable results" in done.stderr, said(done)
