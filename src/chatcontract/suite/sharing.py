"""Which other chatcontract runs on this machine check the same target while this one does.

Two runs against one server change the same users' state (a mute one run makes, the other
lifts), so a semantic check of either may see what the other did. The suite cannot see a client
on another machine, but it can see another run on this one: every run marks each target it
checks with a file of its own under `<tmp>/chatcontract-targets/<hash of the base URL>/`,
`flock`ed until the run ends; another run's marker that is still locked is a run in progress. A
marker left by a run that died is not locked, and is removed by the next look. The runs seen at
each check's start and, at most every 0.5 s, at its requests (`look`, from the wire) are
remembered, so a failing check names a run that came and went while it ran (plugin.py adds
`notice` to the failure).

Written by hand (stdlib `fcntl`, like reportlock.py): no library keeps "who else holds this"
markers, and a dozen lines do it. The workers of one pytest-xdist run share a run id
(`CHATCONTRACT_RUN_ID`, set by the run's main process), so they are never taken for another
run. Without `fcntl` (Windows) no other run is ever seen.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from pathlib import Path
from typing import IO

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None  # type: ignore[assignment]

_held: dict[str, tuple[Path, IO[str]]] = {}  # base URL -> this process's marker (path, locked handle)
_seen: dict[str, set[int]] = {}  # base URL -> pids of other runs seen checking it during this run


RUN_ID = "CHATCONTRACT_RUN_ID"  # set by the run's main process; its xdist workers inherit it


def begin_run() -> None:
    """Give this run its id (in the main process, before workers start). Set anew even when one
    was inherited: a run started from inside another run (or its test) is a run of its own."""
    os.environ[RUN_ID] = f"{os.getpid()}-{time.time_ns()}"


def _run_id() -> str:
    return os.environ.get(RUN_ID) or f"pid{os.getpid()}"


def _folder(base_url: str) -> Path:
    digest = hashlib.sha256(base_url.rstrip("/").encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / "chatcontract-targets" / digest


def announce(base_url: str) -> None:
    """Mark `base_url` as checked by this run until the process ends (at each check of it: the
    other runs checking it now are remembered, so a failure after one of them ended still says so)."""
    if fcntl is None:
        return
    others(base_url)
    if base_url in _held:
        return
    folder = _folder(base_url)
    marker = folder / f"{_run_id()}.{os.getpid()}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        # Locked before it is named as a marker, so no other run ever sees it unlocked and removes it.
        staged = folder / f".staged-{os.getpid()}"
        handle = open(staged, "w", encoding="utf-8")
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        handle.write(str(os.getpid()))
        handle.flush()
        os.replace(staged, marker)
    except OSError:
        return  # a temp folder we cannot write: other runs go unseen, the run itself goes on
    _held[base_url] = (marker, handle)


def others(base_url: str) -> list[int]:
    """The pids of other runs on this machine that are checking `base_url` now."""
    if fcntl is None:
        return []
    mine = _run_id()
    found = []
    try:
        markers = list(_folder(base_url).iterdir())
    except OSError:
        return []
    for marker in markers:
        if marker.name.startswith(".") or marker.name.rsplit(".", 1)[0] == mine:
            continue
        try:
            with open(marker, encoding="utf-8") as handle:
                try:
                    fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
                except OSError:  # still locked: that run is in progress
                    found.append(int(handle.read().strip() or 0))
                    continue
                marker.unlink(missing_ok=True)  # left by a run that ended without removing it
        except (OSError, ValueError):
            continue
    _seen.setdefault(base_url, set()).update(found)
    return sorted(found)


LOOK_EVERY_S = 0.5  # how often `look` reads the markers (a directory listing) per target
_looked: dict[str, float] = {}


def look(base_url: str) -> None:
    """Remember the other runs checking `base_url` now, at most every LOOK_EVERY_S (called at
    each request of a check, so a run that starts and ends inside one long check is seen)."""
    now = time.monotonic()
    if now - _looked.get(base_url, -LOOK_EVERY_S) >= LOOK_EVERY_S:
        _looked[base_url] = now
        others(base_url)


def withdraw() -> None:
    """Remove this process's markers (at the end of the run; the kernel drops the locks anyway)."""
    for marker, handle in _held.values():
        marker.unlink(missing_ok=True)
        handle.close()
        try:
            marker.parent.rmdir()  # the URL's folder, when no other run's marker is left in it
        except OSError:
            pass
    _held.clear()
    _seen.clear()
    _looked.clear()


SAME_TIME = "(another chatcontract run was checking this target at the same time)"  # ends a failing check's reason


def notice(base_url: str) -> str:
    """A plain sentence about other runs that checked `base_url` while this one did (seen now, or
    at an earlier check of it), or "" when none was seen."""
    others(base_url)  # (adds the runs checking it now to those seen before)
    pids = sorted(_seen.get(base_url, ()))
    if not pids:
        return ""
    which = ", ".join(str(p) for p in pids)
    return (f"another chatcontract run on this machine (pid {which}) was checking the same target ({base_url}) "
            "while this run did: both change the same users' state, so each can see what the other did. "
            "Run them one after the other, or give each its own server.")
