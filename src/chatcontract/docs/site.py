"""Build the static documentation site: an index, one API reference page per platform and, given
dated runs, a history page.

Pages are Jinja templates (`templates/`); the API reference is rendered in the browser by Swagger
UI, whose files come from the `swagger-ui-bundle-v2` package and are copied beside the pages, and
each page embeds its spec as JSON, so the site needs no network and opens from disk. Each bundled
spec is also written beside the pages as `<platform>.openapi.yaml` and `.json`, for download.

`build(out, runs, history=...)` takes any number of runs (see `runs.load`): every target of every
run is a column of the compatibility matrix (`matrix.view`).
"""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from pathlib import Path
from typing import Any, Sequence

import swagger_ui_bundle
import yaml
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from chatcontract import inventory, specs
from chatcontract.docs import annotate, bundle, decisions, matrix
from chatcontract.docs.results import SYMBOL, Results, status
from chatcontract.docs.runs import Run, combine, timelines
from chatcontract.suite.outcomes import KINDS
from chatcontract.suite.reports import interruption

HERE = Path(__file__).resolve().parent
RENDERER_FILES = ("swagger-ui-bundle.js", "swagger-ui.css")
OWN_FILES = ("site.js", "site.css")


class SiteError(specs.SpecError):
    """The site cannot be written (an unwritable or unusable output folder)."""


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
    env.globals["symbol"] = SYMBOL
    env.globals["renderer_version"] = renderer_version()
    return env


def _embedded_json(document: Any) -> Markup:
    """JSON safe inside <script type="application/json">: no `<` can close the element."""
    return Markup(json.dumps(document, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c"))




def _totals(results: list[dict[str, Any]]) -> dict[str, int]:
    counts = Counter(r["outcome"] for r in results)
    return {k: counts.get(k, 0) for k in KINDS}


def _run_view(runs: Sequence[Run], combined: Results | None) -> dict[str, Any] | None:
    if combined is None:
        return None
    sources = [{"label": run.label, "source": run.source, "finished_at": run.finished_at,
                "profile": run.results.document.get("profile"), "totals": _totals(run.results.document["results"]),
                "targets": len(run.results.targets()),
                "interrupted": interruption(run.results.document)} for run in runs]
    return {"sources": sources, "many": len(runs) > 1, "totals": _totals(combined.document["results"]),
            "targets": combined.targets(),
            "matrices": [matrix.view(combined, name) for name in specs.platforms() if combined.by_platform.get(name)]}


def spec_files(platform: str) -> dict[str, str]:
    """The file names of the platform's bundled spec, written beside the pages."""
    return {"yaml": f"{platform}.openapi.yaml", "json": f"{platform}.openapi.json"}


def _platform_views(results: Results | None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rows = {(r.platform, r.method.lower(), r.path): r for r in inventory.rows()}
    platforms, operations = [], []
    for name in specs.platforms():
        info = specs.load_spec(name).get("info", {})
        ops = list(specs.operations(name))
        checked = results.by_platform.get(name, []) if results else []
        platforms.append({
            "name": name, "page": f"{name}.html", "title": info.get("title", name), "version": info.get("version", ""),
            "operations": len(ops), "documented_errors": sum(rows[(name, o.method, o.path)].documented_errors for o in ops),
            "decisions": len(decisions.of_platform(name)), "status": status(checked), "totals": _totals(checked),
            "vendor_doc": (specs.load_spec(name).get("externalDocs") or {}).get("url"), "files": spec_files(name),
        })
        for op in ops:
            row = rows[(name, op.method, op.path)]
            operations.append({
                "platform": name, "method": row.method, "path": op.path, "operation_id": op.operation_id,
                "label": row.operation_id, "responses": row.responses, "documented_errors": row.documented_errors,
                "vendor_doc": (op.definition.get("externalDocs") or {}).get("url"),
                "link": matrix.operation_link(name, op.operation_id),
                "status": status(results.operation(name, op.operation_id)) if results else "",
            })
    return platforms, operations


def _platform_page(env: Environment, platform: dict[str, Any], common: dict[str, Any], results: Results | None) -> str:
    name = platform["name"]
    context: dict[str, Any] = {**common, **platform, "current": name, "targets": [], "loose_problems": [],
                               "matrix_view": None, "target_words": []}
    if results is not None and results.by_platform.get(name):
        known = {op.operation_id for op in specs.operations(name)}
        loose = results.not_per_operation(name, known)
        context["targets"] = results.targets(name)
        context["target_words"] = [
            {"name": t["name"], "word": status([r for r in results.by_platform[name] if r["target"] == t["name"]])}
            for t in context["targets"]]
        context["loose_problems"] = [annotate.shown(r) for r in loose if r["outcome"] != "pass"]
        context["matrix_view"] = matrix.view(results, name)
    spec = annotate.page_spec(env, name, results)
    index = matrix.operations_index(spec, name, results)
    return env.get_template("platform.html").render(**context, spec_json=_embedded_json(spec),
                                                    operations_json=_embedded_json(index))


def _history_page(env: Environment, common: dict[str, Any], history: Sequence[Run]) -> str:
    return env.get_template("history.html").render(**common, current="history", timelines=timelines(history),
                                                   runs=len(history))


def _prepare(out: Path) -> Path:
    try:
        (out / "assets").mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise SiteError(f"cannot write the site to {out}: a file is in the way") from None
    except OSError as exc:
        raise SiteError(f"cannot write the site to {out}: {exc.strerror}") from None
    return out


def _spec_downloads(platform: str) -> dict[str, str]:
    spec = bundle.dereferenced(platform)
    files = spec_files(platform)
    return {files["yaml"]: yaml.safe_dump(spec, sort_keys=False, allow_unicode=True, width=100),
            files["json"]: json.dumps(spec, ensure_ascii=False, indent=2) + "\n"}


def build(out: Path, runs: Run | Sequence[Run] | None = None, *, history: Sequence[Run] = ()) -> Path:
    """Write the site into `out` (created if needed; other files there are left alone). Returns index.html.

    `runs`: the runs whose results the pages show side by side (one Run is accepted as well);
    `history`: dated runs, oldest first (`runs.history(folder)`), shown per target on history.html.
    """
    out = _prepare(out)
    runs = [runs] if isinstance(runs, Run) else list(runs or [])
    env = environment()
    combined = combine(runs)[0] if runs else None
    platforms, operations = _platform_views(combined)
    common = {"platforms": platforms, "run": _run_view(runs, combined), "has_history": bool(history)}
    pages = {"index.html": env.get_template("index.html").render(**common, operations=operations, current="")}
    for platform in platforms:
        pages[platform["page"]] = _platform_page(env, platform, common, combined)
        pages.update(_spec_downloads(platform["name"]))
    if history:
        pages["history.html"] = _history_page(env, common, history)
    try:
        for name in RENDERER_FILES:
            (out / "assets" / name).write_bytes(swagger_ui_bundle.swagger_ui_path.joinpath(name).read_bytes())
        for name in OWN_FILES:
            shutil.copyfile(HERE / "static" / name, out / "assets" / name)
        for name, text in pages.items():
            (out / name).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise SiteError(f"cannot write the site to {out}: {exc.strerror or exc}") from None
    return out / "index.html"
