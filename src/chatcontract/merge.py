"""`chatcontract merge`: put the results of several runs (the shards of one run, or runs of
different targets) back together into one set of reports and one exit code.

Refused, in one line (exit 2), when the pieces cannot make one honest report: results of another
spec version or another profile, a shard missing or given twice, shards of different plans, or one
check reported by two pieces.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from chatcontract import specs
from chatcontract.suite.outcomes import KINDS
from chatcontract.suite.reports import counts_by_target

RESULTS = "results.json"


class MergeError(specs.SpecError):
    """Pieces that cannot be merged into one report (one line)."""


def result_files(paths: list[Path], *, exclude: Path | None = None) -> list[Path]:
    """Every results.json named: a file itself, or any results.json under a folder (a CI job's
    downloaded artifacts put each shard's reports in a folder of its own), in path order."""
    found: list[Path] = []
    for path in paths:
        if path.is_file():
            found.append(path)
        elif path.is_dir():
            inside = sorted(p for p in path.rglob(RESULTS)
                            if exclude is None or exclude.resolve() not in p.resolve().parents)
            if not inside:
                raise MergeError(f"no {RESULTS} under {path}")
            found += inside
        else:
            raise MergeError(f"{path}: no such file or folder")
    if not found:
        raise MergeError("nothing to merge: name the shards' report folders or results.json files")
    return found


def _same(documents: list[tuple[Path, dict[str, Any]]], key: str, what: str) -> Any:
    values = {doc.get(key) for _, doc in documents}
    if len(values) > 1:
        shown = ", ".join(f"{path}: {doc.get(key)!r}" for path, doc in documents)
        raise MergeError(f"cannot merge runs of different {what} ({shown})")
    return values.pop()


def _check_shards(documents: list[tuple[Path, dict[str, Any]]]) -> dict[str, Any] | None:
    sharded = [(path, doc["shard"]) for path, doc in documents if doc.get("shard")]
    if not sharded:
        return None
    if len(sharded) != len(documents):
        plain = next(path for path, doc in documents if not doc.get("shard"))
        raise MergeError(f"{plain} is not a shard, the others are: merge the shards of one run")
    counts = {s["count"] for _, s in sharded}
    plans = {s["plan"] for _, s in sharded}
    if len(counts) > 1 or len(plans) > 1:
        raise MergeError("the shards come from different runs (their shard counts or plans differ): "
                         + ", ".join(f"{path}: {s['index']}/{s['count']} plan {s['plan']}" for path, s in sharded))
    count = counts.pop()
    seen = Counter(s["index"] for _, s in sharded)
    twice = sorted(i for i, n in seen.items() if n > 1)
    if twice:
        raise MergeError(f"shard {twice[0]}/{count} is given twice: "
                         + ", ".join(str(path) for path, s in sharded if s["index"] == twice[0]))
    missing = sorted(set(range(1, count + 1)) - set(seen))
    if missing:
        raise MergeError(f"shard{'s' if len(missing) > 1 else ''} {', '.join(f'{i}/{count}' for i in missing)} "
                         f"missing: {len(seen)} of {count} given")
    return {"count": count, "by": sharded[0][1]["by"], "plan": plans.pop(), "merged": sorted(seen)}


def merge(documents: list[tuple[Path, dict[str, Any]]]) -> dict[str, Any]:
    """One results document from several, checked to belong together."""
    profile = _same(documents, "profile", "profiles")
    fingerprint = _same(documents, "spec_fingerprint", "spec versions")
    shards = _check_shards(documents)
    owner: dict[str, Path] = {}
    results: list[dict[str, Any]] = []
    targets: dict[str, dict[str, Any]] = {}
    for path, doc in documents:
        for r in doc["results"]:
            if r["id"] in owner:
                raise MergeError(f"check {r['id']} is reported by both {owner[r['id']]} and {path}")
            owner[r["id"]] = path
            results.append(r)
        for t in doc["targets"]:
            targets.setdefault(t["name"], {k: v for k, v in t.items() if k != "totals"})
    counts = Counter(r["outcome"] for r in results)
    per_target = counts_by_target(results)  # one pass: merge stays linear in the results
    merged: dict[str, Any] = {
        "tool": "chatcontract",
        "profile": profile,
        "finished_at": max(doc["finished_at"] for _, doc in documents),
        "totals": {k: counts.get(k, 0) for k in KINDS},
        "targets": [{**t, "totals": {k: per_target[name].get(k, 0) for k in KINDS}} for name, t in targets.items()],
        "results": results,
        "merged_from": [str(path) for path, _ in documents],
    }
    if fingerprint is not None:
        merged["spec_fingerprint"] = fingerprint
    if (version := documents[0][1].get("version")) is not None:
        merged["version"] = version
    if shards is not None:
        merged["shards"] = shards
    if all(isinstance(doc.get("checks_planned"), int) for _, doc in documents):
        merged["checks_planned"] = sum(doc["checks_planned"] for _, doc in documents)
    if any(doc.get("interrupted") for _, doc in documents):
        merged["interrupted"] = True
    return merged
