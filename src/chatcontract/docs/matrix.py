"""The compatibility matrix as the site shows it: rows are behaviours, columns implementations,
and every cell links to the checks it stands for (outcome, message, detail, curl line), each of
which links to the operation that holds it on its platform page.

Rows, columns and cell words come from `Results.matrix` (the reports' own matrix); this module only
adds, per cell, the list of its checks, grouped the same way (a check's `behaviours` map, or its
`matrix_row`; an error, skip or disabled outcome counts as such on every row it names).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any
from urllib.parse import quote

from chatcontract import specs
from chatcontract.docs.results import SYMBOL, Results

BAD = ("fail", "error")


def tag_of(op: specs.Operation) -> str:
    """The tag of Swagger UI's deep link #/<tag>/<operationId>, whitespace written as %20."""
    return quote((op.definition.get("tags") or ["default"])[0].strip(), safe="")


def operation_link(platform: str, operation_id: str, check_id: str | None = None) -> str:
    """The platform page opened at the operation (and, with `check_id`, at that check's row)."""
    op = next((o for o in specs.operations(platform) if o.operation_id == operation_id), None)
    if op is None:
        raise ValueError(f"{platform} has no operation {operation_id}")
    query = f"?check={quote(check_id, safe='')}" if check_id else ""
    return f"{platform}.html{query}#/{tag_of(op)}/{quote(operation_id, safe='')}"


def _check(result: dict[str, Any], kind: str, known: set[str]) -> dict[str, Any]:
    on_operation = result["operation_id"] in known
    return {
        "id": result["id"], "target": result["target"], "layer": result["layer"], "behaviour": result["behaviour"],
        "outcome": kind, "symbol": SYMBOL[kind], "accepted": bool(result.get("accepted_by_baseline")),
        "message": result.get("message") or "", "detail": result.get("detail") or "", "curl": result.get("curl") or "",
        "operation_id": result["operation_id"] if on_operation else "",
        "link": operation_link(result["api"], result["operation_id"], result["id"]) if on_operation else "",
    }


def view(results: Results, platform: str) -> dict[str, Any]:
    """The matrix of one platform's implementations with the checks behind every cell."""
    names, rows, cells = results.matrix(platform)
    known = {op.operation_id for op in specs.operations(platform)}
    behind: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in results.by_platform.get(platform, []):
        for row, kind in (r["behaviours"] or {r["matrix_row"]: r["outcome"]}).items():
            if r["outcome"] in ("error", "skip", "disabled"):
                kind = r["outcome"]
            behind[(row, r["target"])].append(_check(r, kind, known))
    view_rows = []
    for i, row in enumerate(rows):
        row_cells = []
        for j, name in enumerate(names):
            word = cells[row].get(name, "")
            checks = sorted(behind.get((row, name), []), key=lambda c: (c["outcome"] not in BAD, c["id"]))
            row_cells.append({
                "word": word, "anchor": f"cc-cell-{platform}-{i}-{j}" if word else "", "row": row, "column": name,
                "checks": checks, "bad": any(c["outcome"] in BAD for c in checks),
            })
        view_rows.append({"name": row, "cells": row_cells})
    return {"platform": platform, "names": names, "rows": view_rows}


# Members of an error example's body that name the error on the wire (agora `forbidden_op`,
# Sendbird `400201`, Rocket.Chat `error-invalid-user`, plug.dj `notAuthorized`).
_WIRE_NAMES = ("error", "errorType", "code", "status", "errormessage")


def _wire_names(example: Any) -> list[str]:
    value = example.get("value") if isinstance(example, dict) else None
    if not isinstance(value, dict):
        return []
    return [str(value[k]) for k in _WIRE_NAMES
            if isinstance(value.get(k), (str, int)) and not isinstance(value.get(k), bool) and len(str(value[k])) <= 120]


def operations_index(spec: dict[str, Any], platform: str, results: Results | None) -> list[dict[str, Any]]:
    """What the page's filter matches on, per operation: its id, method, path, summary, tag, its
    documented errors (statuses, example names, the error names their bodies carry), and its
    checks' names and outcomes."""
    found = []
    for op in specs.operations(platform):
        node = spec["paths"][op.path][op.method]
        errors: list[str] = []
        for code, response in (node.get("responses") or {}).items():
            if specs.is_error_status(str(code)):
                errors.append(str(code))
                for media in (response.get("content") or {}).values():
                    for name, example in (media.get("examples") or {}).items():
                        errors.extend([name, *_wire_names(example)])
        errors = list(dict.fromkeys(errors))
        checked = results.operation(platform, op.operation_id) if results else []
        found.append({
            "operationId": op.operation_id, "method": op.method, "path": op.path, "summary": node.get("summary") or "",
            "tag": (op.definition.get("tags") or ["default"])[0], "errors": errors,
            "checks": sorted({r["behaviour"] for r in checked}), "outcomes": sorted({r["outcome"] for r in checked}),
        })
    return found
