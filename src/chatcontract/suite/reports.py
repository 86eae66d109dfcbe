"""Reports of a conformance run: JUnit XML, a JSON result, and a Markdown summary.

Every report is built from the recorder's results, whose messages and curl lines are already
redacted; the JSON embeds each target's redacted configuration. The Markdown summary is fit for a
CI step summary: totals, a compatibility matrix (rows: behaviours, columns: targets), and every
failure with the doc it checks and a curl command that reproduces it.

Text from a target or a user (messages, names, URLs, ids) is data: control characters are
written as escapes (`\x1b`) in every report and on the terminal (`printable`), so junit.xml is
always well-formed XML and a target cannot drive the terminal; in summary.md, Markdown and HTML
in it are escaped (`md`). Each report is written to a temporary file beside it and renamed over
it, so a symlink planted in the report directory is replaced, never written through.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Iterable

import pytest

from chatcontract.redaction import printable
from chatcontract.suite.outcomes import KINDS, Recorder

wire_key = pytest.StashKey[Any]()
SYMBOL = {"pass": "pass", "fail": "FAIL", "skip": "skip", "disabled": "disabled", "error": "ERROR"}
_WORST = ("error", "fail", "pass", "skip", "disabled")  # what a matrix cell shows when results mix


# Markdown's inline punctuation (the text never starts a line, so `#`, `-`, `+`, `.` need nothing)
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()|~])")


def md(text: Any) -> str:
    """Target or user text for summary.md: printable, HTML characters as entities, Markdown
    punctuation backslash-escaped, so it shows as written and never as markup."""
    plain = printable(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MARKDOWN.sub(r"\\\1", plain)


def _fence(text: str, info: str, indent: str) -> list[str]:
    """A fenced code block longer than any run of backticks in `text` (it cannot close early)."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{indent}{fence}{info}", *(f"{indent}{line}" for line in text.splitlines()), f"{indent}{fence}"]


def interruption(document: dict[str, Any]) -> str | None:
    """The one sentence every report of an interrupted run leads with (None for a whole run)."""
    if not document.get("interrupted"):
        return None
    ran, planned = len(document["results"]), document.get("checks_planned")
    of = f" of {planned}" if isinstance(planned, int) else ""
    return (f"INTERRUPTED: the run was stopped after {ran}{of} checks; these results are partial "
            "(the checks that did not run are in no total)")


def _counts(results: Iterable[dict[str, Any]]) -> Counter:
    return Counter(r["outcome"] for r in results)


def counts_by_target(results: Iterable[dict[str, Any]]) -> dict[str, Counter]:
    """Target name -> its outcome counts, in one pass (a run or merge of many targets stays linear)."""
    found: dict[str, Counter] = defaultdict(Counter)
    for r in results:
        found[r["target"]][r["outcome"]] += 1
    return found


def cell(kinds: Iterable[str]) -> str:
    present = set(kinds)
    for kind in _WORST:
        if kind in present:
            return SYMBOL[kind]
    return ""


def matrix_from_document(document: dict[str, Any]) -> tuple[list[str], dict[str, dict[str, str]]]:
    """The matrix of a results.json (as written by write_all), for terminals and the docs site."""
    rows: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for r in document["results"]:
        for row, kind in (r["behaviours"] or {r["matrix_row"]: r["outcome"]}).items():
            if r["outcome"] in ("error", "skip", "disabled"):
                kind = r["outcome"]
            rows[row][r["target"]].append(kind)
    return list(rows), {row: {t: cell(kinds) for t, kinds in per.items()} for row, per in rows.items()}


def result_document(recorder: Recorder, *, profile: str, finished_at: float,
                    run: dict[str, Any] | None = None) -> dict[str, Any]:
    """The results.json document; `run` adds what the run knows of itself (the suite's version,
    the specs' fingerprint, the shard it ran, the requests it sent)."""
    per_target = counts_by_target(recorder.results)
    return {
        "tool": "chatcontract",
        "profile": profile,
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(finished_at)),
        **(run or {}),
        "totals": {k: _counts(recorder.results).get(k, 0) for k in KINDS},
        "targets": [
            {**t, "totals": {k: per_target[name].get(k, 0) for k in KINDS}}
            for name, t in recorder.targets.items()
        ],
        "results": list(recorder.results),
    }


def junit(document: dict[str, Any]) -> ET.ElementTree:
    suites = ET.Element("testsuites", name="chatcontract")
    by_target: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in document["results"]:
        by_target[r["target"]].append(r)
    for name, results in by_target.items():
        counts = _counts(results)
        suite = ET.SubElement(suites, "testsuite", name=printable(name), tests=str(len(results)),
                              failures=str(counts["fail"]), errors=str(counts["error"]),
                              skipped=str(counts["skip"] + counts["disabled"]),
                              time=f"{sum(r['duration_s'] for r in results):.3f}")
        for r in results:
            case = ET.SubElement(suite, "testcase", classname=printable(f"{name}.{r['layer']}"),
                                 name=printable(r["behaviour"]), time=f"{r['duration_s']:.3f}")
            text = printable("\n".join(filter(None, [r["detail"], f"checks: {r['fact']['spec']} {r['fact']['vendor_doc']}",
                                                    f"reproduce: {r['curl']}" if r["curl"] else ""])), keep_newlines=True)
            message = printable(r["message"])
            if r["outcome"] == "fail":
                tag = "skipped" if r["accepted_by_baseline"] else "failure"
                message = ("accepted by baseline: " if r["accepted_by_baseline"] else "") + message
                ET.SubElement(case, tag, message=message).text = text
            elif r["outcome"] == "error":
                ET.SubElement(case, "error", message=message).text = text
            elif r["outcome"] in ("skip", "disabled"):
                ET.SubElement(case, "skipped", message=f"{r['outcome']}: {message}")
    if (stopped := interruption(document)) is not None:
        suite = ET.SubElement(suites, "testsuite", name="chatcontract", tests="1", failures="0", errors="1",
                              skipped="0", time="0.000")
        case = ET.SubElement(suite, "testcase", classname="chatcontract.run", name="interrupted", time="0.000")
        ET.SubElement(case, "error", message=stopped).text = stopped
    ET.indent(suites)
    return ET.ElementTree(suites)


def markdown(document: dict[str, Any]) -> str:
    """The CI step summary, from a results document."""
    results = document["results"]
    totals = document["totals"]
    lines = ["# chatcontract conformance", ""]
    if (stopped := interruption(document)) is not None:
        lines += [f"> **{stopped}**", ""]
    lines += [f"Profile {md(document['profile'])}. " + ", ".join(f"{totals[k]} {k}" for k in KINDS) + ".", ""]
    lines += ["| target | api | base URL | " + " | ".join(KINDS) + " |", "|---|---|---|" + "---|" * len(KINDS)]
    for t in document["targets"]:
        lines.append(f"| {md(t['name'])} | {md(t['api'])} | {md(t['base_url'])} | "
                     + " | ".join(str(t["totals"][k]) for k in KINDS) + " |")
    lines += [f"\n**Hint**: {md(t['hint'])}" for t in document["targets"] if t.get("hint")]
    names = [t["name"] for t in document["targets"]]
    order, cells = matrix_from_document(document)
    lines += ["", "## Compatibility matrix", "", "| behaviour | " + " | ".join(md(n) for n in names) + " |",
              "|---|" + "---|" * len(names)]
    for row in order:
        lines.append(f"| {md(row)} | " + " | ".join(cells[row].get(n, "") or "–" for n in names) + " |")
    for kind, title in (("fail", "Failures"), ("error", "Errors"), ("skip", "Skipped"), ("disabled", "Disabled")):
        chosen = [r for r in results if r["outcome"] == kind]
        if not chosen:
            continue
        lines += ["", f"## {title}", ""]
        if kind == "error":  # one line for a target's checks that all erred alike (say, a closed port)
            same = shared_errors(chosen)
            for (target, message), count in same.items():
                lines.append(f"- **{md(target)}**: {count} checks, each: {md(message)}")
            chosen = [r for r in chosen if (r["target"], r["message"]) not in same]
        for r in chosen:
            note = " (accepted by the baseline)" if r["accepted_by_baseline"] else ""
            lines.append(f"- **{md(r['id'])}**{note}: {md(r['message'])}")
            if kind in ("fail", "error"):
                fact = r["fact"]  # the spec's own words and links (not the target's)
                lines.append(f"  - checks: [{fact['spec']}]({fact['vendor_doc']}) {fact['summary']}")
                if r["curl"]:
                    lines += ["  - reproduce:", "", *_fence(printable(r["curl"], keep_newlines=True), "sh", "    ")]
    return "\n".join(lines) + "\n"


def write_atomically(path: Path, data: bytes) -> None:
    """`data` in a temporary file beside `path`, then renamed over it: a reader never sees half a
    report, and a symlink at `path` is replaced rather than followed."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_all(report_dir: Path, recorder: Recorder, *, profile: str, finished_at: float,
              run: dict[str, Any] | None = None) -> dict[str, Any]:
    return write_document(report_dir, result_document(recorder, profile=profile, finished_at=finished_at, run=run))


def write_document(report_dir: Path, document: dict[str, Any]) -> dict[str, Any]:
    """results.json, junit.xml and summary.md of a results document (a run's, or merged shards')."""
    report_dir.mkdir(parents=True, exist_ok=True)
    write_atomically(report_dir / "results.json", json.dumps(document, indent=2, ensure_ascii=False).encode())
    write_atomically(report_dir / "junit.xml", ET.tostring(junit(document).getroot(), encoding="utf-8", xml_declaration=True))
    write_atomically(report_dir / "summary.md", markdown(document).encode())
    return document


def summary_lines(recorder: Recorder) -> list[str]:
    """One line per target with its totals, then one line per failure and error."""
    lines = []
    per_target = counts_by_target(recorder.results)
    for name in recorder.targets:
        counts = per_target[name]
        lines.append(f"{printable(name):<16} " + "  ".join(f"{k} {counts.get(k, 0)}" for k in KINDS))
    same = shared_errors([r for r in recorder.results if r["outcome"] == "error"])
    for (target, message), count in same.items():
        lines.append(f"ERROR {printable(target)}: {count} checks, each: {printable(message)}")
    for r in recorder.results:
        if r["outcome"] in ("fail", "error") and not r["accepted_by_baseline"]:
            if (r["target"], r["message"]) not in same:
                lines.append(f"{SYMBOL[r['outcome']]} {printable(r['id'])}: {printable(r['message'])}")
                if r["outcome"] == "fail" and r.get("curl"):
                    lines.append(f"  reproduce: {printable(r['curl'])}")
    return lines


def shared_errors(errors: list[dict[str, Any]]) -> dict[tuple[str, str], int]:
    """(target, message) -> count, for the messages more than one erred check of a target shares:
    an unreachable target is one line, not one per check."""
    counts = Counter((r["target"], r["message"]) for r in errors)
    return {key: n for key, n in counts.items() if n > 1}
