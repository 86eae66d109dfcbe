"""Read a conformance run's results.json for the site: load, check its shape, group by operation.

The format is the one `suite/reports.py` writes; `results.schema.json` beside this module lists
the parts the site reads, so a file from another tool or a broken file is refused in one line.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from chatcontract import inputs, specs
from chatcontract.suite.reports import SYMBOL, cell, matrix_from_document

SCHEMA = Path(__file__).with_name("results.schema.json")


class ResultsError(specs.SpecError):
    """A results file that cannot be read or is not a chatcontract result document."""


@cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(json.loads(SCHEMA.read_text(encoding="utf-8")))


MAX_RESULTS_BYTES = 64 * 1024 * 1024  # a full run's results.json is ~2 MB


def load(path: Path) -> dict[str, Any]:
    """The document, read once, bounded in size and nesting; every problem one line."""
    try:
        document = inputs.parse_json(inputs.read_text(path, "results file", limit=MAX_RESULTS_BYTES),
                                     f"results file {path}")
    except inputs.InputError as exc:
        raise ResultsError(str(exc)) from None
    error = next(iter(sorted(_validator().iter_errors(document), key=lambda e: list(e.absolute_path))), None)
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "the top level"
        raise ResultsError(f"results file {path} is not a chatcontract results.json: at {where}: {error.message}")
    return document


@dataclass
class Results:
    """One run's results, grouped the way the site shows them."""

    document: dict[str, Any]
    by_operation: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    by_platform: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @classmethod
    def of(cls, document: dict[str, Any]) -> "Results":
        by_operation, by_platform = defaultdict(list), defaultdict(list)
        for r in document["results"]:
            by_platform[r["api"]].append(r)
            if r["operation_id"]:
                by_operation[(r["api"], r["operation_id"])].append(r)
        return cls(document, dict(by_operation), dict(by_platform))

    def targets(self, platform: str | None = None) -> list[dict[str, Any]]:
        return [t for t in self.document["targets"] if platform is None or t["api"] == platform]

    def operation(self, platform: str, operation_id: str) -> list[dict[str, Any]]:
        return self.by_operation.get((platform, operation_id), [])

    def not_per_operation(self, platform: str, known_ids: set[str]) -> list[dict[str, Any]]:
        """Results of the platform not tied to one of its operations (the semantic state machine)."""
        return [r for r in self.by_platform.get(platform, []) if r["operation_id"] not in known_ids]

    def matrix(self, platform: str | None = None) -> tuple[list[str], list[str], dict[str, dict[str, str]]]:
        """Target names, behaviour rows and cells of the compatibility matrix (of one platform's targets)."""
        document = self.document
        if platform is not None:
            document = {**document, "results": self.by_platform.get(platform, [])}
        rows, cells = matrix_from_document(document)
        names = [t["name"] for t in self.targets(platform)]
        names += sorted({t for per in cells.values() for t in per} - set(names))
        return names, rows, cells


def status(results: list[dict[str, Any]]) -> str:
    """The one word a cell shows for several results (the worst wins), as the matrix does."""
    return cell(r["outcome"] for r in results)


__all__ = ["Results", "ResultsError", "SYMBOL", "load", "status"]
