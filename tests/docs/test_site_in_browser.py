"""The docs site as a reader sees it in headless Chromium, opened from disk (file://).

Built from the real specs and a real run with a failing result: every platform page shows its
operations with their vendor pages and decisions, the failure appears on its operation, the
index counts match the inventory, and the browser never requests anything off this machine.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from chatcontract import inventory, specs
from chatcontract.docs import decisions
from tests.docs.conftest import FAULT_OPERATION, FAULT_PLATFORM, REPO

pytestmark = pytest.mark.xdist_group("docs")
SCREENSHOT = REPO / "reports" / "site-screenshot.png"


@pytest.fixture(scope="session")
def seen(site: Path, browse, once) -> dict[str, Any]:
    """One browser visit of the index and every platform page (shared by the xdist workers)."""
    def visit(folder: Path) -> None:
        SCREENSHOT.parent.mkdir(exist_ok=True)
        pages = [{"url": (site / "index.html").as_uri(), "kind": "index"}]
        for platform in specs.platforms():
            page = {"url": (site / f"{platform}.html").as_uri(), "kind": "platform"}
            if platform == FAULT_PLATFORM:
                page |= {"screenshot": str(SCREENSHOT), "focus": ".opblock:has(.cc-row-fail)"}
            pages.append(page)
        (folder / "seen.json").write_text(json.dumps(browse(pages)))

    report = json.loads((once("browser", visit) / "seen.json").read_text())
    report["by_name"] = {Path(urlsplit(p["url"]).path).stem: p for p in report["pages"]}
    return report


@pytest.fixture(scope="module")
def failures(failing_results: Path) -> list[dict[str, Any]]:
    found = [r for r in json.loads(failing_results.read_text())["results"] if r["outcome"] == "fail"]
    assert any(r["operation_id"] == FAULT_OPERATION for r in found), "the faulty run did not fail where expected"
    return found


@pytest.mark.parametrize("platform", specs.platforms())
def test_platform_page_shows_every_operation_with_vendor_page_and_decisions(seen, platform: str) -> None:
    page = seen["by_name"][platform]
    shown = {o["operationId"]: o for o in page["operations"]}
    expected = {op.operation_id: op for op in specs.operations(platform)}
    assert sorted(shown) == sorted(expected), f"{platform} page shows {sorted(shown)}"
    for op_id, op in expected.items():
        block = shown[op_id]
        assert (block["method"].lower(), block["path"]) == (op.method, op.path)
        vendor = op.definition["externalDocs"]["url"]
        assert vendor in block["links"], f"{op_id} does not link its vendor page {vendor}"
        assert f"Decisions on this operation ({len(decisions.of_operation(op))})" in block["text"]
        for d in decisions.of_operation(op):
            if d.ambiguity:
                assert f"Decision {d.ambiguity}." in block["text"], f"{op_id} hides decision {d.ambiguity}"
    assert page["decisionsHeading"] == f"Decisions ({len(decisions.of_platform(platform))})"
    assert page["decisionsAnchor"], "the page's 'recorded decisions' link has no target"


def test_failing_result_appears_on_its_operation(seen, failures) -> None:
    for failure in failures:
        page = seen["by_name"][failure["api"]]
        rows = {o["operationId"]: o["results"] for o in page["operations"]}
        row = next((r for r in rows[failure["operation_id"]] if r[2] == failure["behaviour"]), None)
        assert row is not None, f"{failure['id']} is not listed on {failure['operation_id']}"
        assert row[3] == "FAIL" and failure["message"] in row[4]
        assert failure["curl"] and "<redacted>" in row[4], "the reproducing curl line is missing"
        others = [op for op, results in rows.items() if op != failure["operation_id"]
                  and any(failure["behaviour"] == r[2] for r in results)]
        assert not others, f"{failure['id']} also shown on {others}"
    plugdj = {o["operationId"]: o["results"] for o in seen["by_name"][FAULT_PLATFORM]["operations"]}
    assert all(r[3] == "pass" for op, results in plugdj.items() if op != FAULT_OPERATION for r in results)
    assert SCREENSHOT.stat().st_size > 10_000


def test_index_counts_come_from_the_inventory_and_show_the_matrix(seen, failures) -> None:
    index = seen["by_name"]["index"]
    rows = {r.operation_id.split(" ")[0]: r for r in inventory.rows()}
    assert len(index["operations"]) == len(rows)
    for shown in index["operations"]:
        row = rows[shown["operationId"]]
        assert shown["cells"][4:6] == [str(row.responses), str(row.documented_errors)], shown
    failing_row = next(r for r in index["operations"] if r["operationId"] == FAULT_OPERATION)
    assert failing_row["cells"][-1] == "FAIL"
    matrix = {r[0]: r[1:] for r in index["matrix"]}
    assert {failures[0]["matrix_row"]} <= set(matrix) and "FAIL" in matrix[failures[0]["matrix_row"]]


def test_no_request_left_this_machine_and_no_page_error(seen) -> None:
    assert seen["blocked"] == [], f"the site tried to reach {seen['blocked']}"
    remote = [u for u in seen["requests"] if urlsplit(u).scheme not in ("file", "data", "blob")]
    assert remote == [], remote
    assert any(u.endswith("/assets/swagger-ui-bundle.js") for u in seen["requests"])
    assert seen["errors"] == []
