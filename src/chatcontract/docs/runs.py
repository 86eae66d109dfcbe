"""Runs for the site: results files (or folders of them) loaded as runs, every target of every run
as one implementation (a column of the side-by-side matrix), and a folder of dated runs as each
target's history.

A folder holds the `*.json` files directly in it and the `results.json` one folder down (the
layout `chatcontract run --report-dir <folder>/<name>` and CI artifacts leave). A run's label is
its file's stem, or its folder's name for a `results.json`; two targets of the same name in
different runs become the columns `<name> (<label>)`. Every problem is one line (ResultsError).

"What changed between two runs" is `chatcontract.diff.diff`, applied here to one target's checks.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable, Sequence

from chatcontract import diff
from chatcontract.docs import results as results_file
from chatcontract.docs.results import Results, ResultsError
from chatcontract.suite.outcomes import KINDS


@dataclass(frozen=True)
class Run:
    """A loaded results file, where it came from (shown on every page) and its short label."""

    results: Results
    source: str
    label: str = ""

    @property
    def finished_at(self) -> str:
        return self.results.document.get("finished_at") or ""


def label_of(path: Path) -> str:
    """`rc-6.9.json` -> `rc-6.9`; `rc-6.9/results.json` -> `rc-6.9`."""
    if path.name == "results.json":
        parent = path.resolve().parent.name
        if parent:
            return parent
    return path.stem


def files_in(folder: Path) -> list[Path]:
    """The results files of a folder: its `*.json` files, then each `<sub>/results.json`."""
    try:
        direct = sorted(p for p in folder.glob("*.json") if p.is_file())
        below = sorted(p for p in folder.glob("*/results.json") if p.is_file())
    except OSError as exc:
        raise ResultsError(f"cannot read results folder {folder}: {exc.strerror or exc}") from None
    if not direct and not below:
        raise ResultsError(f"results folder {folder} holds no results file (*.json, or */results.json one folder down)")
    return direct + below


def _expand(paths: Iterable[Path]) -> list[Path]:
    found: list[Path] = []
    seen: set[Path] = set()
    for path in paths:
        for file in files_in(path) if path.is_dir() else [path]:
            key = file.resolve()
            if key not in seen:  # a file named twice (alone and in its folder) is one run
                seen.add(key)
                found.append(file)
    return found


def _labels(files: list[Path]) -> list[str]:
    labels = [label_of(f) for f in files]
    if len(set(labels)) == len(labels):
        return labels
    # Equal labels (a/x/results.json, b/x/results.json): the paths below their common folder.
    resolved = [f.resolve() for f in files]
    root = Path(os.path.commonpath([str(r.parent) for r in resolved]))
    counts = Counter(labels)
    out = []
    for label, file in zip(labels, resolved):
        if counts[label] > 1:
            rest = file.relative_to(root)
            rest = rest.parent if rest.name == "results.json" else rest.with_suffix("")
            label = rest.as_posix() if str(rest) != "." else str(file)
        out.append(label)
    if len(set(out)) != len(out):  # a/x.json beside a/x/results.json: the paths as they are
        out = [f.relative_to(root).as_posix() for f in resolved]
    return out


def load(paths: Sequence[Path]) -> list[Run]:
    """Every results file named, or found in a named folder, as a labelled run, in the order given."""
    files = _expand(paths)
    return [Run(Results.of(results_file.load(f)), str(f), label) for f, label in zip(files, _labels(files))]


def _finished(run: Run) -> datetime:
    raw = run.finished_at
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        problem = "has no finished_at" if not raw else f"has finished_at {raw!r}, not a date and time"
        raise ResultsError(f"results file {run.source} {problem}: a history needs dated runs") from None


def history(folder: Path) -> list[Run]:
    """The dated runs of a folder (see files_in), oldest first."""
    if not folder.is_dir():
        raise ResultsError(f"history folder {folder} is not a folder")
    runs = load([folder])
    return sorted(runs, key=lambda run: (_finished(run), run.label))


# --------------------------------------------------------------------------- implementations


@dataclass(frozen=True)
class Implementation:
    """One column of the side-by-side matrix: a target of one run."""

    column: str  # unique among all the runs shown
    name: str  # the target's own name in its run
    run: Run


def _column_names(runs: Sequence[Run]) -> dict[tuple[int, str], str]:
    per_run = []
    for run in runs:
        names = [t["name"] for t in run.results.targets()]
        names += sorted({r["target"] for r in run.results.document["results"]} - set(names))
        per_run.append(names)
    counts = Counter(name for names in per_run for name in names)
    columns: dict[tuple[int, str], str] = {}
    taken: set[str] = set()
    for index, (run, names) in enumerate(zip(runs, per_run)):
        for name in names:
            column = name if counts[name] == 1 else f"{name} ({run.label or index + 1})"
            base, n = column, 2
            while column in taken:
                column, n = f"{base} #{n}", n + 1
            taken.add(column)
            columns[(index, name)] = column
    return columns


def combine(runs: Sequence[Run]) -> tuple[Results, list[Implementation]]:
    """One Results whose targets are the implementations of all `runs` (named by their columns)."""
    columns = _column_names(runs)
    targets: list[dict[str, Any]] = []
    checks: list[dict[str, Any]] = []
    implementations = []
    for index, run in enumerate(runs):
        listed = {t["name"]: t for t in run.results.targets()}
        for (i, name), column in columns.items():
            if i != index:
                continue
            implementations.append(Implementation(column, name, run))
            if name in listed:
                targets.append({**listed[name], "name": column, "target_name": name, "run_label": run.label,
                                "run_source": run.source})
        for r in run.results.document["results"]:
            column = columns[(index, r["target"])]
            check_id = r["id"]
            if check_id.startswith(r["target"] + "::"):
                check_id = column + check_id[len(r["target"]):]
            checks.append({**r, "target": column, "id": check_id})
    return Results.of({"targets": targets, "results": checks}), implementations


# --------------------------------------------------------------------------- history


@dataclass
class Entry:
    """One run of one target in its history, and what changed since the previous one."""

    run: Run
    target: dict[str, Any]
    totals: dict[str, int]
    changes: diff.Changes | None = None  # None for the target's first run
    previous: Run | None = None


@dataclass
class Timeline:
    name: str
    api: str
    entries: list[Entry] = field(default_factory=list)


def _of_target(document: dict[str, Any], name: str) -> dict[str, Any]:
    keep = ("spec_fingerprint", "profile", "version")
    return {**{k: document[k] for k in keep if k in document},
            "results": [r for r in document["results"] if r["target"] == name]}


def timelines(runs: Sequence[Run]) -> list[Timeline]:
    """Per target name, its runs in the order given (oldest first), each diffed with the one before."""
    by_name: dict[str, Timeline] = {}
    last: dict[str, dict[str, Any]] = {}
    for run in runs:
        document = run.results.document
        listed = {t["name"]: t for t in run.results.targets()}
        names = list(listed) + sorted({r["target"] for r in document["results"]} - set(listed))
        for name in names:
            mine = _of_target(document, name)
            target = listed.get(name) or {"name": name, "api": mine["results"][0]["api"]}
            counts = Counter(r["outcome"] for r in mine["results"])
            entry = Entry(run, target, {k: counts.get(k, 0) for k in KINDS})
            timeline = by_name.setdefault(name, Timeline(name, target.get("api", "")))
            if name in last:
                entry.previous = timeline.entries[-1].run
                entry.changes = diff.diff(last[name], mine)
            timeline.entries.append(entry)
            last[name] = mine
    return sorted(by_name.values(), key=lambda t: (t.api, t.name))


__all__ = ["Entry", "Implementation", "Run", "ResultsError", "Timeline", "combine", "files_in", "history",
           "label_of", "load", "timelines"]
