"""The copy of a platform's spec that its page renders: vendor links, results and decisions added.

Swagger UI shows what the spec says; this adds to each operation's description (Markdown, which
Swagger UI renders in place) its vendor page and source tags, the conformance results of the
run for that operation, and the ambiguity decisions recorded on it, and to the spec's
introduction the platform's full decisions list. Each source tag links to the page that
`specs/sources/bibliography.yaml` gives for it. The specs on disk are never changed.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from jinja2 import Environment

from chatcontract import specs
from chatcontract.docs import bundle, decisions
from chatcontract.docs.results import SYMBOL, Results


def _html_block(html: str) -> str:
    """An HTML fragment as one Markdown HTML block: a blank line would end the block early."""
    return "\n".join(line for line in html.splitlines() if line.strip())


@cache
def bibliography() -> dict[str, Any]:
    """The sources the specs cite, by tag (`specs/sources/bibliography.yaml`)."""
    return specs.read_document(specs.specs_dir() / "sources" / "bibliography.yaml") or {}


SAFE_URL = re.compile(r"^https?://[^\s()<>\[\]`]+$")


def source_link(source: str) -> str:
    """A source as the notes show it (Markdown): a known tag as a link to its page, a URL as a
    link to itself, anything else as code. Only plain http(s) URLs become links."""
    url = (bibliography().get(source) or {}).get("url") if source.startswith("[") else source
    label = f"`{source.replace('`', '')}`"
    return f"[{label}]({url})" if isinstance(url, str) and SAFE_URL.match(url) else label


def shown(result: dict[str, Any]) -> dict[str, Any]:
    """A result as the templates show it: its outcome word as the reports spell it."""
    return {**result, "symbol": SYMBOL[result["outcome"]]}


def operation_notes(env: Environment, op: specs.Operation, results: Results | None) -> str:
    definition = op.definition
    external = definition.get("externalDocs") or {}
    actions = [(name, {"summary": a.get("summary", ""), "url": (a.get("externalDocs") or {}).get("url")})
               for name, a in (definition.get("x-actions") or {}).items()]
    checked = [shown(r) for r in results.operation(op.platform, op.operation_id)] if results else []
    results_html = ""
    if checked:
        results_html = _html_block(env.get_template("operation-results.html").render(
            operation_id=op.operation_id, results=checked))
    return env.get_template("operation-notes.md").render(
        vendor_doc=external.get("url"), vendor_doc_label=external.get("description") or external.get("url"),
        sources=definition.get("x-sources") or [], actions=actions, results_html=results_html,
        run=results is not None, decisions=decisions.of_operation(op), source_link=source_link,
        secondary_only=definition.get("x-secondary-only") is True)


def page_spec(env: Environment, platform: str, results: Results | None) -> dict[str, Any]:
    """The dereferenced spec of `platform` with the site's notes added to its descriptions."""
    spec = bundle.dereferenced(platform)
    for op in specs.operations(platform):
        node = spec["paths"][op.path][op.method]
        node["description"] = (node.get("description") or "").rstrip() + "\n\n" + operation_notes(env, op, results)
    info = spec.setdefault("info", {})
    notes = env.get_template("info-notes.md").render(decisions=decisions.of_platform(platform),
                                                         source_link=source_link)
    info["description"] = (info.get("description") or "").rstrip() + "\n\n" + notes
    return spec
