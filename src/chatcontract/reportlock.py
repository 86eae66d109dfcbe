"""One run per report folder: a second run into a `--report-dir` in use stops in one line.

Two runs writing one folder would leave reports whose last writer won, so summary.md could
contradict the exit code of the run that printed it. The lock is an advisory `flock` on
`<report-dir>/.chatcontract.lock` (stdlib `fcntl`, written by hand: it is a dozen lines, the
kernel releases it when the process ends however it ends, so no stale lock is ever left behind;
the `filelock` package does the same on POSIX). The holder's pid is written in the file for the
message; the file is removed when the run ends (the folder then holds only the reports), and a
lock taken on a file that was removed meanwhile is taken again on the new one. On a system
without `fcntl` (Windows) runs are not locked.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None  # type: ignore[assignment]

LOCK_NAME = ".chatcontract.lock"
_held: dict[Path, IO[str]] = {}  # folders this process holds (a run and its in-process pytest)


class ReportDirBusy(Exception):
    """Another run holds the folder; the message says which and what to do."""


def hold(report_dir: Path, option: str = "--report-dir") -> None:
    """Take the folder's lock for the rest of this process (or until `release`); `option` names
    the folder in the message as the user gave it."""
    folder = report_dir.resolve()
    if folder in _held or fcntl is None:
        return
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_NAME
    while True:
        handle = open(path, "a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise ReportDirBusy(f"{option} {report_dir} is in use by another chatcontract run (pid {holder}); "
                                f"give each run its own {option} (or wait for it to finish)") from None
        try:
            if os.stat(path).st_ino == os.fstat(handle.fileno()).st_ino:
                break
        except FileNotFoundError:
            pass
        handle.close()  # locked a file the previous holder removed on its way out: take the new one
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    _held[folder] = handle


def release(report_dir: Path) -> None:
    folder = report_dir.resolve()
    handle = _held.pop(folder, None)
    if handle is not None:
        (folder / LOCK_NAME).unlink(missing_ok=True)  # while still held: no run can lock this file after it
        handle.close()  # closing the file drops the flock
