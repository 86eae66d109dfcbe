"""One id format everywhere (issue 13 item 3): what a report prints can be pasted into a baseline
or a target's `disabled`; `chatcontract baseline --from results.json` writes the baseline of a
run's failures; an entry that matches no check is exit 2 naming it, never a silently wider gate."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from tests.gate.conftest import command, outcomes, results, said, target_file


def test_a_baseline_written_from_a_run_accepts_exactly_its_failures(faulty, tmp_path: Path) -> None:
    target = target_file(tmp_path, faulty.base_url)
    first = command(tmp_path, "run", "--target", str(target), "--layer", "errors", "--report-dir", str(tmp_path / "r1"))
    assert first.returncode == 1, said(first)
    failing = {i for i, kind in outcomes(tmp_path / "r1").items() if kind == "fail"}
    assert failing
    printed = set(re.findall(r"^- \*\*(.+?)\*\*", (tmp_path / "r1" / "summary.md").read_text(encoding="utf-8"), re.M))
    assert {i.replace("\\", "") for i in printed} >= failing  # summary.md prints the ids a baseline takes

    written = command(tmp_path, "baseline", "--from", str(tmp_path / "r1" / "results.json"))
    assert written.returncode == 0, said(written)
    document = yaml.safe_load(written.stdout)
    assert set(document) == {"lounge"} and set(document["lounge"]) == failing
    baseline = tmp_path / "baseline.yaml"
    baseline.write_text(written.stdout, encoding="utf-8")

    second = command(tmp_path, "run", "--target", str(target), "--layer", "errors", "--baseline", str(baseline),
                     "--report-dir", str(tmp_path / "r2"))
    assert second.returncode == 0, said(second)
    accepted = {r["id"] for r in results(tmp_path / "r2") if r["outcome"] == "fail" and r["accepted_by_baseline"]}
    assert accepted == failing


def test_an_entry_naming_no_check_is_exit_2_naming_it(faithful, tmp_path: Path) -> None:
    target = target_file(tmp_path, faithful.base_url)
    one_check = next(iter(outcomes_of_a_run(faithful, tmp_path)))
    for entries, named in (({"lounge": {"errors::plugdjListMutes/401/typo": "x"}}, "lounge::errors::plugdjListMutes/401/typo"),
                           ({"lobby": {one_check: "x"}}, "lobby::"),  # a target name that is not in the run
                           ({"lounge": {f"lobby::{one_check.split('::', 1)[1]}": "x"}}, "lounge::lobby::")):
        baseline = tmp_path / "baseline.yaml"
        baseline.write_text(yaml.safe_dump(entries), encoding="utf-8")
        done = command(tmp_path, "run", "--target", str(target), "--layer", "errors", "--baseline", str(baseline),
                       "--report-dir", str(tmp_path / "bad"))
        assert done.returncode == 2, said(done)
        assert named in done.stderr and "matches no check" in done.stderr
        assert len([line for line in done.stderr.splitlines() if line.strip()]) == 1, done.stderr


def test_disabled_takes_the_printed_id_and_refuses_a_typo(faithful, tmp_path: Path) -> None:
    printed = sorted(outcomes_of_a_run(faithful, tmp_path))[0]  # as results.json and summary.md print it
    target = target_file(tmp_path, faithful.base_url, disabled=[printed])
    done = command(tmp_path, "run", "--target", str(target), "--layer", "errors", "--report-dir", str(tmp_path / "d"))
    assert done.returncode == 0, said(done)
    assert outcomes(tmp_path / "d")[printed] == "disabled"

    typo = target_file(tmp_path, faithful.base_url, disabled=["errors::no-such-check"])
    done = command(tmp_path, "run", "--target", str(typo), "--layer", "errors", "--report-dir", str(tmp_path / "t"))
    assert done.returncode == 2 and "'errors::no-such-check' matches no check" in done.stderr, said(done)


def outcomes_of_a_run(server, folder: Path) -> dict[str, str]:
    """The errors layer's ids against `server`, run once per test folder."""
    report_dir = folder / "once"
    if not (report_dir / "results.json").exists():
        done = command(folder, "run", "--target", str(target_file(folder, server.base_url)), "--layer", "errors",
                       "--report-dir", str(report_dir))
        assert done.returncode == 0, said(done)
    return outcomes(report_dir)
