"""The action's step summary (chatcontract.step_summary): summary.md whole when it fits GitHub's
1 MiB limit, else its first whole lines under it and a note saying where the whole report is —
never a summary GitHub refuses (and then shows nothing)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from chatcontract.step_summary import LIMIT_BYTES


def _step_summary(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "chatcontract.step_summary", str(path)],
                          capture_output=True, text=True, timeout=60)


def test_a_summary_that_fits_is_appended_whole(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("# chatcontract: FAIL\n\n| behaviour | lounge |\n|---|---|\n| semantics: mute | fail ✗ |\n",
                       encoding="utf-8")
    done = _step_summary(summary)
    assert done.returncode == 0 and done.stdout == summary.read_text(encoding="utf-8")


def test_a_summary_over_the_limit_is_cut_at_a_line_with_a_note(tmp_path: Path) -> None:
    lines = ["# chatcontract: FAIL — 2000 targets\n"] + [f"| t{i:05d}-plugdj | semantics: mute | fail ✗ |\n" for i in range(40000)]
    summary = tmp_path / "summary.md"
    summary.write_text("".join(lines), encoding="utf-8")
    assert summary.stat().st_size > LIMIT_BYTES
    done = _step_summary(summary)
    assert done.returncode == 0
    assert len(done.stdout.encode("utf-8")) <= LIMIT_BYTES
    shown, note = done.stdout.rstrip("\n").rsplit("\n\n", 1)
    kept = shown.splitlines(keepends=False)
    assert kept == [line.rstrip("\n") for line in lines[:len(kept)]]  # whole lines, from the top
    assert len(kept) > 1000
    assert "over GitHub's 1 MiB step-summary limit" in note and f"first {len(kept)} of {len(lines)} lines" in note
    assert "uploaded report artifact" in note


def test_no_summary_adds_nothing(tmp_path: Path) -> None:
    done = _step_summary(tmp_path / "missing.md")
    assert done.returncode == 0 and done.stdout == ""
