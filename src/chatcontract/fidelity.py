"""The fidelity checklist (`specs/fidelity/<platform>.yaml`): each fact of the vendors' own
material, its public source and where our spec holds it, read and counted.

`python -m chatcontract.fidelity` prints the totals per platform as a Markdown table (the one
README shows between `<!-- fidelity:start -->` and `<!-- fidelity:end -->`); a checklist that
does not read is one line on stderr and exit 2. `problems()` lists every rule a checklist breaks
(tests/specs/test_fidelity.py asserts there are none).

Written by hand: the checklist is this project's own data format.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from chatcontract import specs

STATUSES = ("exact", "different", "missing", "contradicted", "beyond")
MARKERS = ("<!-- fidelity:start -->", "<!-- fidelity:end -->")


def fidelity_dir() -> Path:
    return specs.specs_dir() / "fidelity"


def files() -> list[Path]:
    """One checklist per platform: `specs/fidelity/<platform>.yaml`."""
    return sorted(fidelity_dir().glob("*.yaml"))


def load(path: Path) -> dict[str, Any]:
    document = specs.read_document(path)
    if not isinstance(document, dict) or not isinstance(document.get("facts"), list):
        raise specs.SpecError(f"{path.name}: a fidelity checklist is a mapping with a list `facts`")
    return document


def public_url(url: Any) -> bool:
    """An http(s) URL on a public host (not loopback, not a local path, not the project's
    private research folder)."""
    if not isinstance(url, str):
        return False
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    return (parts.scheme in ("http", "https") and "." in host and host not in ("localhost",)
            and not host.startswith(("127.", "10.", "192.168.")) and "shared/research" not in parts.path)


def resolve(where: str) -> Any:
    """The node a `file#/json/pointer` names (file relative to the folder holding specs/ and
    schemas/); raise LookupError when it does not resolve."""
    from chatcontract.decisions import MISSING, lookup

    target, _, pointer = where.partition("#")
    path = specs.data_root() / target
    if not target or not path.is_file():
        raise LookupError(f"{where}: no file {target!r}")
    node = lookup(specs.read_document(path), pointer) if pointer else specs.read_document(path)
    if node is MISSING:
        raise LookupError(f"{where}: the pointer {pointer!r} does not resolve in {target}")
    return node


def problems(path: Path) -> list[str]:
    """Every rule the checklist at `path` breaks, one line each (empty: it is sound)."""
    found: list[str] = []
    try:
        document = load(path)
    except specs.SpecError as exc:
        return [str(exc)]
    name = path.name
    if path.stem not in specs.platforms():
        found.append(f"{name}: {path.stem!r} is not a platform (known: {', '.join(specs.platforms())})")
    audit = document.get("audit")
    if not isinstance(audit, dict) or not audit.get("date") or not audit.get("spec-revision"):
        found.append(f"{name}: `audit` needs `date` and `spec-revision`")
    for index, fact in enumerate(document["facts"]):
        label = f"{name} fact {fact.get('id', index) if isinstance(fact, dict) else index}"
        if not isinstance(fact, dict):
            found.append(f"{label}: not a mapping")
            continue
        for key in ("id", "fact", "source", "status", "audit-status", "where"):
            if not fact.get(key) and key != "where":
                found.append(f"{label}: no `{key}`")
        source = fact.get("source")
        if not isinstance(source, dict) or not public_url(source.get("url")) or not source.get("revision"):
            found.append(f"{label}: `source` needs a public http(s) `url` and a `revision` (got {source!r})")
        for key in ("status", "audit-status"):
            if fact.get(key) not in STATUSES:
                found.append(f"{label}: `{key}` {fact.get(key)!r} is not one of {', '.join(STATUSES)}")
        if fact.get("status") == "contradicted":
            found.append(f"{label}: still contradicted by its source")
        if fact.get("status") != "exact" or fact.get("audit-status") != "exact":
            if not (isinstance(fact.get("resolution"), str) and fact["resolution"].strip()):
                found.append(f"{label}: status {fact.get('status')} (audit: {fact.get('audit-status')}) "
                             f"needs a `resolution`")
        where = fact.get("where")
        if not isinstance(where, list) or not where:
            found.append(f"{label}: `where` must be a non-empty list of file#pointer")
            continue
        for item in where:
            try:
                resolve(str(item))
            except LookupError as exc:
                found.append(f"{label}: {exc}")
    return found


def totals() -> dict[str, dict[str, int]]:
    """Per platform (and `all`): facts, each status as it stands now, and how many moved since
    the audit."""
    table: dict[str, dict[str, int]] = {}
    for path in files():
        row = table.setdefault(path.stem, {"facts": 0, **{s: 0 for s in STATUSES}, "changed": 0})
        for fact in load(path)["facts"]:
            if not isinstance(fact, dict) or fact.get("status") not in STATUSES or fact.get("audit-status") not in STATUSES:
                raise specs.SpecError(f"{path.name}: fact {fact!r:.60} has no valid `status` and `audit-status`")
            row["facts"] += 1
            row[fact["status"]] += 1
            row["changed"] += fact["status"] != fact["audit-status"]
    table["all"] = {key: sum(row[key] for row in table.values()) for key in
                    ("facts", *STATUSES, "changed")}
    return table


def markdown() -> str:
    header = ["platform", "facts", *STATUSES, "changed since the audit"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for platform, row in totals().items():
        lines.append("| " + " | ".join([platform, *(str(row[k]) for k in ("facts", *STATUSES, "changed"))]) + " |")
    return "\n".join(lines)


def main() -> int:
    try:
        print(markdown())
    except specs.SpecError as exc:
        print(f"chatcontract.fidelity: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
