"""summary.md as a GitHub Actions step summary: whole when it fits, else cut at a line with a note.

GitHub refuses a step summary over 1 MiB ("$GITHUB_STEP_SUMMARY upload aborted, supports content up
to a size of 1024k", https://docs.github.com/en/actions/writing-workflows/choosing-what-your-workflow-does/workflow-commands-for-github-actions#adding-a-job-summary,
read 2026-12-03), and then shows nothing at all. A merged run of a few hundred targets writes a
larger summary.md (2,000 targets: 3.8 MB, bench/results/scale.md), so the action's step summary
is its first lines — the totals and the start of the matrix — up to the limit, closed by a line
saying where the whole report is (the uploaded artifact). Used by action.yml:

    python -m chatcontract.step_summary reports/summary.md >> "$GITHUB_STEP_SUMMARY"

Exit 0 (also when the file is missing: the run's own step already failed, and says why).
"""

from __future__ import annotations

import sys
from pathlib import Path

LIMIT_BYTES = 1024 * 1024  # GitHub's step-summary limit
ROOM_BYTES = 4096  # kept free for the closing note (and for GitHub counting a little differently)


def cut(text: str, limit: int = LIMIT_BYTES) -> str:
    """`text` whole when it fits in `limit` bytes (UTF-8); else its first whole lines and a note."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    budget = limit - ROOM_BYTES
    kept, used = [], 0
    for line in text.splitlines(keepends=True):
        size = len(line.encode("utf-8"))
        if used + size > budget:
            break
        kept.append(line)
        used += size
    shown = "".join(kept)
    if shown and not shown.endswith("\n"):
        shown += "\n"
    return (f"{shown}\n**summary.md is {len(data) / 1e6:.1f} MB, over GitHub's 1 MiB step-summary limit: "
            f"the first {len(kept)} of {len(text.splitlines())} lines are shown. The whole report "
            "(summary.md, results.json, junit.xml) is in this job's uploaded report artifact.**\n")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m chatcontract.step_summary SUMMARY.md", file=sys.stderr)
        return 2
    path = Path(args[0])
    if not path.is_file():
        return 0
    sys.stdout.write(cut(path.read_text(encoding="utf-8", errors="replace")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
