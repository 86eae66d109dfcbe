"""Build the static documentation site: an index and one API reference page per platform.

Pages are Jinja templates (`templates/`); the API reference is rendered in the browser by Swagger
UI, whose files come from the `swagger-ui-bundle-v2` package and are copied beside the pages, and
each page embeds its spec as JSON, so the site needs no network and opens from disk.
"""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import swagger_ui_bundle
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from chatcontract import inventory, specs
from chatcontract.docs import annotate, decisions
from chatcontract.docs.results import Results, status
from chatcontract.suite.outcomes import KINDS

HERE = Path(__file__).resolve().parent
RENDERER_FILES = ("swagger-ui-bundle.js", "swagger-ui.css")
OWN_FILES = ("site.js", "site.css")


class SiteError(specs.SpecError):
    """The site cannot be written (an unwritable or unusable output folder)."""


@dataclass(frozen=True)
class Run:
    """A loaded results file and where it came from (shown on every page)."""

    results: Results
    source: str


def renderer_version() -> str:
    match = re.search(r"swagger-ui-([\d.]+)$", str(swagger_ui_bundle.swagger_ui_path))
    return match.group(1) if match else "?"


def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    # Inside a Markdown HTML block a literal newline could end the block: keep them as entities.
    env.filters["nl"] = lambda text: Markup(str(escape(text)).replace("\n", "&#10;"))
    env.filters["oneline"] = lambda text: " ".join(str(text).split())
    env.globals["kinds"] = KINDS
    env.globals["renderer_version"] = renderer_version()
    return env


def _embedded_json(document: Any) -> Markup:
    """JSON safe inside <script type="application/json">: no `<` can close the element."""
    return Markup(json.dumps(document, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c"))


def _totals(results: list[dict[str, Any]]) -> dict[str, int]:
    counts = Counter(r["outcome"] for r in results)
    return {k: counts.get(k, 0) for k in KINDS}


def _run_view(run: Run | None) -> dict[str, Any] | None:
    if run is None:
        return None
    doc = run.results.document
    names, rows, cells = run.results.matrix()
    return {"source": run.source, "finished_at": doc.get("finished_at"), "profile": doc.get("profile"),
            "totals": _totals(doc["results"]), "targets": run.results.targets(), "names": names, "rows": rows,
            "cells": cells}


def _platform_views(run: Run | None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rows = {(r.platform, r.method.lower(), r.path): r for r in inventory.rows()}
    platforms, operations = [], []
    for name in specs.platforms():
        info = specs.load_spec(name).get("info", {})
        ops = list(specs.operations(name))
        checked = run.results.by_platform.get(name, []) if run else []
        platforms.append({
            "name": name, "page": f"{name}.html", "title": info.get("title", name), "version": info.get("version", ""),
            "operations": len(ops), "documented_errors": sum(rows[(name, o.method, o.path)].documented_errors for o in ops),
            "decisions": len(decisions.of_platform(name)), "status": status(checked), "totals": _totals(checked),
            "vendor_doc": (specs.load_spec(name).get("externalDocs") or {}).get("url"),
        })
        for op in ops:
            row = rows[(name, op.method, op.path)]
            # Swagger UI's deep link is #/<tag>/<operationId>, whitespace in the tag as %20.
            tag = re.sub(r"\s", "%20", (op.definition.get("tags") or ["default"])[0].strip())
            operations.append({
                "platform": name, "method": row.method, "path": op.path, "operation_id": op.operation_id,
                "label": row.operation_id, "responses": row.responses, "documented_errors": row.documented_errors,
                "vendor_doc": (op.definition.get("externalDocs") or {}).get("url"),
                "link": f"{name}.html#/{tag}/{op.operation_id}",
                "status": status(run.results.operation(name, op.operation_id)) if run else "",
            })
    return platforms, operations


def _platform_page(env: Environment, platform: dict[str, Any], common: dict[str, Any], run: Run | None) -> str:
    name = platform["name"]
    results = run.results if run else None
    context: dict[str, Any] = {**common, **platform, "current": name, "targets": [],
                               "loose_problems": []}
    if results is not None and results.by_platform.get(name):
        known = {op.operation_id for op in specs.operations(name)}
        loose = results.not_per_operation(name, known)
        context["targets"] = results.targets(name)
        context["loose_problems"] = [annotate.shown(r) for r in loose if r["outcome"] != "pass"]
        context["matrix_names"], context["matrix_rows"], context["matrix_cells"] = results.matrix(name)
    spec = annotate.page_spec(env, name, results)
    return env.get_template("platform.html").render(**context, spec_json=_embedded_json(spec))


def _prepare(out: Path) -> Path:
    try:
        (out / "assets").mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise SiteError(f"cannot write the site to {out}: a file is in the way") from None
    except OSError as exc:
        raise SiteError(f"cannot write the site to {out}: {exc.strerror}") from None
    return out


def build(out: Path, run: Run | None = None) -> Path:
    """Write the site into `out` (created if needed; other files there are left alone). Returns index.html."""
    out = _prepare(out)
    env = environment()
    platforms, operations = _platform_views(run)
    common = {"platforms": platforms, "run": _run_view(run)}
    pages = {"index.html": env.get_template("index.html").render(**common, operations=operations, current="")}
    for platform in platforms:
        pages[platform["page"]] = _platform_page(env, platform, common, run)
    try:
        for name in RENDERER_FILES:
            (out / "assets" / name).write_bytes(swagger_ui_bundle.swagger_ui_path.joinpath(name).read_bytes())
        for name in OWN_FILES:
            shutil.copyfile(HERE / "static" / name, out / "assets" / name)
        for name, html in pages.items():
            (out / name).write_text(html, encoding="utf-8")
    except OSError as exc:
        raise SiteError(f"cannot write the site to {out}: {exc.strerror or exc}") from None
    return out / "index.html"
