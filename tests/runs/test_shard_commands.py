"""`chatcontract run --shard K/N` then `chatcontract merge`, as a CI matrix uses them: the merged
shards equal the unsharded run check by check (outcomes, messages), each check in exactly one
shard; `merge` refuses a missing or repeated shard in one line; `diff` exits 1 on a regression.

The targets are a plug.dj reference server with two documented faults switched on (so some checks
fail, in two layers) and a faithful Ozeki one, started here, through target files as a user has.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

from chatcontract.servers.serve import RunningServer, start_in_thread, target_document, write_target

pytestmark = pytest.mark.xdist_group("shard-commands")
FAULTS = ("member-may-moderate", "unmute-noop")  # servers/plugdj/faults.yaml: errors and semantics layers


def chatcontract(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "chatcontract.cli", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=600)


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, RunningServer]]:
    with start_in_thread("plugdj", test_hooks=True, faults=FAULTS) as plugdj, \
            start_in_thread("ozeki", test_hooks=True) as ozeki:
        yield {"plugdj": plugdj, "ozeki": ozeki}


@pytest.fixture(scope="module")
def target_files(servers: dict[str, RunningServer], tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    folder = tmp_path_factory.mktemp("targets")
    files = []
    for name, server in servers.items():
        path = folder / f"{name}.target.yaml"
        write_target(path, target_document(name, server.base_url, test_hooks=True))
        files += ["--target", str(path)]
    return files


def outcomes(results_json: Path) -> dict[str, tuple[str, str]]:
    """Each check's outcome and message (numbers masked: a body may carry the server's clock)."""
    document = json.loads(results_json.read_text(encoding="utf-8"))
    return {r["id"]: (r["outcome"], re.sub(r"\d+(\.\d+)?", "N", r["message"])) for r in document["results"]}


@pytest.fixture(scope="module")
def unsharded(target_files: list[str], tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str, str]]:
    where = tmp_path_factory.mktemp("whole")
    done = chatcontract("run", *target_files, "--profile", "fast", "--seed", "7", "--report-dir", "reports", cwd=where)
    assert done.returncode == 1, done.stdout[-2000:] + done.stderr
    return outcomes(where / "reports" / "results.json")


@pytest.mark.parametrize("count, by", [(2, "target"), (3, "auto")])
def test_merged_shards_equal_the_unsharded_run(count: int, by: str, target_files: list[str], unsharded: dict,
                                              tmp_path: Path) -> None:
    seen: dict[str, int] = {}
    for index in range(1, count + 1):
        done = chatcontract("run", *target_files, "--profile", "fast", "--seed", "7", "--shard", f"{index}/{count}",
                            "--shard-by", by, "--report-dir", f"shards/{index}", cwd=tmp_path)
        assert done.returncode in (0, 1), done.stdout[-2000:] + done.stderr
        for test_id in outcomes(tmp_path / "shards" / str(index) / "results.json"):
            seen[test_id] = seen.get(test_id, 0) + 1
    assert all(n == 1 for n in seen.values()), "a check ran in two shards"
    merged = chatcontract("merge", "shards", "--out", "merged", cwd=tmp_path)
    assert merged.returncode == 1, merged.stdout[-2000:] + merged.stderr  # the faults' failures decide it
    assert outcomes(tmp_path / "merged" / "results.json") == unsharded
    assert {o for o, _ in unsharded.values()} >= {"pass", "fail"}
    junit = (tmp_path / "merged" / "junit.xml").read_text(encoding="utf-8")
    assert junit.count("<testcase ") == len(unsharded)
    assert "## Compatibility matrix" in (tmp_path / "merged" / "summary.md").read_text(encoding="utf-8")


def test_a_missing_or_repeated_shard_is_refused_in_one_line(target_files: list[str], tmp_path: Path) -> None:
    done = chatcontract("run", *target_files, "--profile", "fast", "--layer", "errors", "--shard", "1/2",
                        "--report-dir", "shards/1", cwd=tmp_path)
    assert done.returncode in (0, 1), done.stderr
    missing = chatcontract("merge", "shards", "--out", "merged", cwd=tmp_path)
    assert missing.returncode == 2
    assert missing.stderr.strip() == "chatcontract: shard 2/2 missing: 1 of 2 given"
    (tmp_path / "copy").mkdir()
    (tmp_path / "copy" / "results.json").write_bytes((tmp_path / "shards" / "1" / "results.json").read_bytes())
    twice = chatcontract("merge", "shards", "copy", "--out", "merged", cwd=tmp_path)
    assert twice.returncode == 2 and len(twice.stderr.strip().splitlines()) == 1
    assert "shard 1/2 is given twice" in twice.stderr
    assert not (tmp_path / "merged").exists(), "a refused merge writes no reports"


@pytest.mark.parametrize("argument", ["3/2", "0/1", "two"])
def test_a_bad_shard_argument_is_one_line_and_exit_2(argument: str, tmp_path: Path) -> None:
    done = chatcontract("run", "--shard", argument, cwd=tmp_path)
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and "--shard" in done.stderr


def test_diff_exits_1_on_a_regression_and_0_without(unsharded: dict, tmp_path: Path) -> None:
    passing = next(test_id for test_id, (outcome, _) in unsharded.items() if outcome == "pass")
    results = [{"id": test_id, "target": test_id.split("::")[0], "api": "plugdj", "layer": test_id.split("::")[1],
                "behaviour": test_id.split("::", 2)[2], "operation_id": "", "matrix_row": "x", "behaviours": {},
                "fact": {"spec": "", "vendor_doc": "", "summary": ""}, "outcome": outcome, "accepted_by_baseline": False,
                "message": message, "detail": "", "curl": "", "duration_s": 0.0}
               for test_id, (outcome, message) in unsharded.items()]
    old = {"tool": "chatcontract", "profile": "fast", "finished_at": "2026-12-01T00:00:00Z",
           "totals": {"pass": 0, "fail": 0, "skip": 0, "disabled": 0, "error": 0},
           "targets": [{"name": "plugdj", "api": "plugdj", "base_url": "http://127.0.0.1:1",
                        "totals": {"pass": 0, "fail": 0, "skip": 0, "disabled": 0, "error": 0}}],
           "results": results}
    new = json.loads(json.dumps(old))
    for r in new["results"]:
        if r["id"] == passing:
            r["outcome"], r["message"] = "fail", "now wrong"
    (tmp_path / "old.json").write_text(json.dumps(old))
    (tmp_path / "new.json").write_text(json.dumps(new))
    regressed = chatcontract("diff", "old.json", "new.json", cwd=tmp_path)
    assert regressed.returncode == 1, regressed.stderr
    assert f"regression {passing} (pass -> fail): now wrong" in regressed.stdout
    same = chatcontract("diff", "old.json", "old.json", cwd=tmp_path)
    assert same.returncode == 0 and "0 regressions" in same.stdout
    fixed = chatcontract("diff", "new.json", "old.json", cwd=tmp_path)
    assert fixed.returncode == 0 and f"fixed      {passing}" in fixed.stdout
