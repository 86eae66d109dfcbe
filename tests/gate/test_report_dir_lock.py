"""Two runs into one `--report-dir` (issue 13 item 4): the second stops at once in one line, exit
2, and the first run's reports agree with its own exit code; the folder holds only the reports."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from tests.gate.conftest import command, outcomes, said, target_file

from chatcontract import reportlock


def test_a_second_run_into_a_busy_report_dir_is_refused_in_one_line(faithful, tmp_path: Path) -> None:
    report_dir = tmp_path / "reports"
    first = subprocess.Popen([sys.executable, "-m", "chatcontract.cli", "run", "--target",
                              str(target_file(tmp_path, faithful.base_url)), "--report-dir", str(report_dir)],
                             cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (report_dir / reportlock.LOCK_NAME).exists():  # the first run holds the folder
            assert first.poll() is None and time.monotonic() < deadline, first.stderr.read()
            time.sleep(0.05)
        second = command(tmp_path, "run", "--target", str(target_file(tmp_path, faithful.base_url, "annex")),
                         "--report-dir", str(report_dir))
        assert second.returncode == 2, said(second)
        lines = [line for line in second.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and "is in use by another chatcontract run" in lines[0], second.stderr
        piece = tmp_path / "piece.json"
        piece.write_text(json.dumps({"tool": "chatcontract", "profile": "default", "finished_at": "2026-12-02T00:00:00Z",
                                     "totals": {}, "targets": [], "results": []}), encoding="utf-8")
        merged = command(tmp_path, "merge", str(piece), "--out", str(report_dir))
        assert merged.returncode == 2 and "--out" in merged.stderr and "in use" in merged.stderr, said(merged)
        _, err = first.communicate(timeout=300)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == 0, err[-2000:]
    assert set(outcomes(report_dir)) and all(i.startswith("lounge::") for i in outcomes(report_dir))
    assert {p.name for p in report_dir.iterdir()} == {"junit.xml", "results.json", "summary.md"}


def test_the_lock_is_taken_again_after_a_run(tmp_path: Path) -> None:
    """A folder whose run ended (its lock file removed) is free for the next; a lock held by this
    process is refused to another process."""
    reportlock.hold(tmp_path)
    try:
        other = subprocess.run([sys.executable, "-c", "import sys; from pathlib import Path; "
                                "from chatcontract import reportlock\n"
                                "try:\n reportlock.hold(Path(sys.argv[1]))\nexcept reportlock.ReportDirBusy as e:\n"
                                " print(e); sys.exit(2)", str(tmp_path)], capture_output=True, text=True, timeout=60)
        assert other.returncode == 2 and "in use by another chatcontract run" in other.stdout
    finally:
        reportlock.release(tmp_path)
    assert not (tmp_path / reportlock.LOCK_NAME).exists()
    again = subprocess.run([sys.executable, "-c", "import sys; from pathlib import Path; "
                            "from chatcontract import reportlock; reportlock.hold(Path(sys.argv[1]))", str(tmp_path)],
                           capture_output=True, text=True, timeout=60)
    assert again.returncode == 0, again.stderr
