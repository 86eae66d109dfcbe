"""Every recorded ambiguity decision (`x-decisions`) of a spec, with where it is recorded.

Decisions may sit on the root, an operation, a parameter or any schema, including the shared
schemas under `schemas/` that a spec references; this walks the spec following its references
so the site can show each one once per platform and beside every operation it concerns.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from chatcontract import specs


@dataclass(frozen=True)
class Decision:
    record: dict[str, Any]  # one item of an `x-decisions` list (see specs/extensions.md)
    recorded_at: str  # file (relative to the repository) and JSON pointer of the object holding it

    @property
    def ambiguity(self) -> int | None:
        return self.record.get("ambiguity")


def _where(document: Path, at: tuple) -> str:
    try:
        name = document.relative_to(specs.data_root()).as_posix()
    except ValueError:
        name = document.name
    return f"{name}#{specs.pointer(*at)}"


def _walk(document: Path, node: Any, at: tuple, seen: set) -> Iterator[Decision]:
    if isinstance(node, list):
        for index, item in enumerate(node):
            yield from _walk(document, item, (*at, index), seen)
        return
    if not isinstance(node, dict):
        return
    if isinstance(node.get("$ref"), str):
        document, node, at = specs.deref(document, {"$ref": node["$ref"]})
        if (document, at) in seen:
            return
        seen.add((document, at))
        yield from _walk(document, node, at, seen)
        return
    for record in node.get("x-decisions") or []:
        yield Decision(record, _where(document, at))
    for key, value in node.items():
        if key not in ("x-decisions", "example", "examples", "value", "x-request", "x-provoke", "x-target"):
            yield from _walk(document, value, (*at, key), seen)


def _unique(found: Iterator[Decision]) -> list[Decision]:
    result: dict[tuple, Decision] = {}
    for d in found:
        result.setdefault((d.recorded_at, d.record.get("ambiguity"), d.record.get("question")), d)
    return list(result.values())


def of_platform(platform: str) -> list[Decision]:
    """Every decision of the platform: the root's first, then in document order."""
    path = specs.spec_path(platform)
    return _unique(_walk(path, specs.load_spec(platform), (), set()))


def of_operation(op: specs.Operation) -> list[Decision]:
    """The decisions recorded on the operation, its parameters (also the path's) and its schemas."""
    path = specs.spec_path(op.platform)
    item = specs.load_spec(op.platform)["paths"][op.path]
    shared = _walk(path, item.get("parameters") or [], ("paths", op.path, "parameters"), set())
    own = _walk(path, op.definition, op.json_pointer_parts(), set())
    return _unique(iter([*own, *shared]))
