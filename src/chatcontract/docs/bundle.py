"""One platform spec as a single self-contained JSON document, every `$ref` inlined.

The site embeds this document in the page (no fetch, so it opens from disk). References are
followed with `specs.deref`, the one place that knows how a `$ref` between the specs and
`schemas/` resolves. Written here because the project's libraries resolve one reference at a
time (referencing, specs.deref) and none inlines a whole OpenAPI document's relative file refs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chatcontract import specs

# Keywords whose values are data, not spec structure: a "$ref" inside them is a literal to keep.
_LITERAL_KEYS = frozenset({"example", "value", "default", "enum", "const"})
# Keywords whose value maps names (of properties...) to schemas: those names are not keywords.
_NAME_MAPS = frozenset({"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"})


def _inline(document: Path, node: Any, seen: frozenset, literal: bool = False, names: bool = False) -> Any:
    if isinstance(node, list):
        return [_inline(document, item, seen, literal) for item in node]
    if not isinstance(node, dict) or literal:
        return node
    if not names and isinstance(node.get("$ref"), str):
        target_doc, target, at = specs.deref(document, {"$ref": node["$ref"]})
        key = (target_doc, at)
        if key in seen:  # a recursive schema: say so instead of looping
            return {"description": f"(recursive reference to {node['$ref']})"}
        resolved = _inline(target_doc, target, seen | {key})
        siblings = {k: _inline(document, v, seen) for k, v in node.items() if k != "$ref"}
        # OpenAPI 3.1 lets a reference carry its own summary/description, which win.
        return {**resolved, **siblings} if isinstance(resolved, dict) else resolved
    return {k: _inline(document, v, seen, literal=not names and k in _LITERAL_KEYS, names=not names and k in _NAME_MAPS)
            for k, v in node.items()}


def dereferenced(platform: str) -> dict[str, Any]:
    """The platform's spec with every reference (local and to `schemas/`) replaced by its target."""
    path = specs.spec_path(platform)
    return _inline(path, specs.load_spec(path.stem), frozenset())
