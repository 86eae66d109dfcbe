"""Reports of a conformance run: JUnit XML, a JSON result, and a Markdown summary.

Every report is built from the recorder's results, whose messages and curl lines are already
redacted; the JSON embeds each target's redacted configuration. The Markdown summary is fit for a
CI step summary: totals, a compatibility matrix (rows: behaviours, columns: targets), and every
failure with the doc it checks and a curl command that reproduces it.
"""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Iterable

import pytest

from chatcontract.suite.outcomes import KINDS, Recorder

wire_key = pytest.StashKey[Any]()
SYMBOL = {"pass": "pass", "fail": "FAIL", "skip": "skip", "disabled": "disabled", "error": "ERROR"}
_WORST = ("error", "fail", "pass", "skip", "disabled")  # what a matrix cell shows when results mix


def _counts(results: Iterable[dict[str, Any]]) -> Counter:
    return Counter(r["outcome"] for r in results)


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


def result_document(recorder: Recorder, *, profile: str, finished_at: float) -> dict[str, Any]:
    return {
        "tool": "chatcontract",
        "profile": profile,
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(finished_at)),
        "totals": {k: _counts(recorder.results).get(k, 0) for k in KINDS},
        "targets": [
            {**t, "totals": {k: _counts(r for r in recorder.results if r["target"] == name).get(k, 0) for k in KINDS}}
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
        suite = ET.SubElement(suites, "testsuite", name=name, tests=str(len(results)),
                              failures=str(counts["fail"]), errors=str(counts["error"]),
                              skipped=str(counts["skip"] + counts["disabled"]),
                              time=f"{sum(r['duration_s'] for r in results):.3f}")
        for r in results:
            case = ET.SubElement(suite, "testcase", classname=f"{name}.{r['layer']}", name=r["behaviour"],
                                 time=f"{r['duration_s']:.3f}")
            text = "\n".join(filter(None, [r["detail"], f"checks: {r['fact']['spec']} {r['fact']['vendor_doc']}",
                                           f"reproduce: {r['curl']}" if r["curl"] else ""]))
            if r["outcome"] == "fail":
                tag = "skipped" if r["accepted_by_baseline"] else "failure"
                message = ("accepted by baseline: " if r["accepted_by_baseline"] else "") + r["message"]
                ET.SubElement(case, tag, message=message).text = text
            elif r["outcome"] == "error":
                ET.SubElement(case, "error", message=r["message"]).text = text
            elif r["outcome"] in ("skip", "disabled"):
                ET.SubElement(case, "skipped", message=f"{r['outcome']}: {r['message']}")
    ET.indent(suites)
    return ET.ElementTree(suites)


def markdown(document: dict[str, Any]) -> str:
    """The CI step summary, from a results document."""
    results = document["results"]
    totals = document["totals"]
    lines = ["# chatcontract conformance", ""]
    lines += [f"Profile `{document['profile']}`. " + ", ".join(f"{totals[k]} {k}" for k in KINDS) + ".", ""]
    lines += ["| target | api | base URL | " + " | ".join(KINDS) + " |", "|---|---|---|" + "---|" * len(KINDS)]
    for t in document["targets"]:
        lines.append(f"| {t['name']} | {t['api']} | {t['base_url']} | " + " | ".join(str(t["totals"][k]) for k in KINDS) + " |")
    names = [t["name"] for t in document["targets"]]
    order, cells = matrix_from_document(document)
    lines += ["", "## Compatibility matrix", "", "| behaviour | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for row in order:
        lines.append(f"| {row} | " + " | ".join(cells[row].get(n, "") or "–" for n in names) + " |")
    for kind, title in (("fail", "Failures"), ("error", "Errors"), ("skip", "Skipped"), ("disabled", "Disabled")):
        chosen = [r for r in results if r["outcome"] == kind]
        if not chosen:
            continue
        lines += ["", f"## {title}", ""]
        for r in chosen:
            note = " (accepted by the baseline)" if r["accepted_by_baseline"] else ""
            lines.append(f"- **{r['id']}**{note}: {r['message']}")
            if kind in ("fail", "error"):
                fact = r["fact"]
                lines.append(f"  - checks: [{fact['spec']}]({fact['vendor_doc']}) {fact['summary']}")
                if r["curl"]:
                    lines += ["  - reproduce:", "", "    ```sh", f"    {r['curl']}", "    ```"]
    return "\n".join(lines) + "\n"


def write_all(report_dir: Path, recorder: Recorder, *, profile: str, finished_at: float) -> dict[str, Any]:
    report_dir.mkdir(parents=True, exist_ok=True)
    document = result_document(recorder, profile=profile, finished_at=finished_at)
    (report_dir / "results.json").write_text(json.dumps(document, indent=2, ensure_ascii=False), encoding="utf-8")
    junit(document).write(report_dir / "junit.xml", encoding="utf-8", xml_declaration=True)
    (report_dir / "summary.md").write_text(markdown(document), encoding="utf-8")
    return document


def summary_lines(recorder: Recorder) -> list[str]:
    """One line per target with its totals, then one line per failure and error."""
    lines = []
    for name in recorder.targets:
        counts = _counts(r for r in recorder.results if r["target"] == name)
        lines.append(f"{name:<16} " + "  ".join(f"{k} {counts.get(k, 0)}" for k in KINDS))
    for r in recorder.results:
        if r["outcome"] in ("fail", "error") and not r["accepted_by_baseline"]:
            lines.append(f"{SYMBOL[r['outcome']]} {r['id']}: {r['message']}")
    return lines
