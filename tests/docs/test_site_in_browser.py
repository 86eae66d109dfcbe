"""The docs site as a reader sees it in headless Chromium, opened from disk (file://).

Built from the real specs and a real run with a failing result: every platform page starts with
its operations folded and shows them, once opened, with their vendor pages and decisions; the
failure appears on its operation; the filter hides what does not match; the bundled-spec links
deliver the specs; the index counts match the inventory, its matrix cell leads to the failure and
on to its operation; and the browser never requests anything off this machine.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

import yaml

from chatcontract import inventory, specs
from chatcontract.docs import bundle, decisions
from tests.docs.conftest import FAULT_OPERATION, FAULT_PLATFORM

pytestmark = pytest.mark.xdist_group("docs")
# Outside the checkout: the test command leaves no file in reports/ (or anywhere in the tree).
SCREENSHOT = Path(tempfile.gettempdir()) / "chatcontract-site-screenshot.png"
FILTERS = [
    {"text": "reasonRequired"},  # a documented error name of one operation only
    {"status": "failing"},
    {"text": "delete"},  # a method
    {"text": "/_/mutes/{userID}"},  # a path
    {"text": "mute", "status": "passing"},
    {"text": "no-such-operation"},
    {},
]


@pytest.fixture(scope="session")
def seen(site: Path, failing_results: Path, browse, once) -> dict[str, Any]:
    """One browser visit of the index and every platform page (shared by the xdist workers)."""
    def visit(folder: Path) -> None:
        SCREENSHOT.parent.mkdir(exist_ok=True)
        failure = next(r for r in json.loads(failing_results.read_text())["results"] if r["outcome"] == "fail")
        follow = {"platform": FAULT_PLATFORM, "row": failure["matrix_row"], "column": failure["target"]}
        pages = [{"url": (site / "index.html").as_uri(), "kind": "index", "follow": follow}]
        for platform in specs.platforms():
            page = {"url": (site / f"{platform}.html").as_uri(), "kind": "platform"}
            if platform == FAULT_PLATFORM:
                page |= {"screenshot": str(SCREENSHOT), "focus": ".opblock:has(.cc-row-fail)", "filters": FILTERS,
                         "downloads": True}
            if platform == "agora":  # tags with spaces ("Chat room mute all") and wire error names
                page |= {"filters": [{"text": "agoraUnmuteAllChatRoomMembers"}, {"text": "forbidden_op"}]}
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
    assert page["decisionsLink"] == {"open": True, "visible": True}, "the 'recorded decisions' link left them folded"


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


@pytest.mark.parametrize("platform", specs.platforms())
def test_operations_start_folded(seen, platform: str) -> None:
    page = seen["by_name"][platform]
    arrival = page["onArrival"]
    assert arrival["operations"] == len(list(specs.operations(platform)))
    assert arrival["open"] == 0 and arrival["bodies"] == 0, f"{platform}: operations open on arrival: {arrival}"
    # Every operation's line is on the first screen (browse.mjs's viewport is 1000 px tall).
    assert arrival["lastOperationBottom"] <= 1000, f"{platform}: operations end at {arrival['lastOperationBottom']} px"
    # Folded, the operations take under half the room they take open (measured on their own blocks:
    # the whole page also holds the matrix and decisions, which folding does not touch).
    assert arrival["operationsHeight"] < page["expandedOperationsHeight"] / 2, (arrival, page["expandedOperationsHeight"])
    assert page["foldedByPathLink"], f"{platform}: an open operation did not fold from its path link"


def test_filter_hides_operations_that_do_not_match(seen) -> None:
    page = seen["by_name"][FAULT_PLATFORM]
    every = [op.operation_id for op in specs.operations(FAULT_PLATFORM)]
    shown = {json.dumps({k: v for k, v in f.items() if k in ("text", "status")}, sort_keys=True): f
             for f in page["filters"]}

    def visible(**f: str) -> list[str]:
        return shown[json.dumps(f, sort_keys=True)]["visible"]

    assert visible(text="reasonRequired") == [FAULT_OPERATION]
    assert visible(status="failing") == [FAULT_OPERATION]
    assert visible(text="delete") == ["plugdjUnmuteUser"]
    assert visible(text="/_/mutes/{userID}") == ["plugdjUnmuteUser"]
    assert visible(text="mute", status="passing") == [o for o in every if o != FAULT_OPERATION]
    assert visible(text="no-such-operation") == []
    assert shown[json.dumps({"text": "no-such-operation"})]["count"] == f"0 of {len(every)} operations match"
    assert visible() == every


def test_filter_finds_operations_under_tags_with_spaces_and_by_wire_error_name(seen) -> None:
    filters = {f["text"]: f["visible"] for f in seen["by_name"]["agora"]["filters"]}
    assert filters["agoraUnmuteAllChatRoomMembers"] == ["agoraUnmuteAllChatRoomMembers"]
    spec = bundle.dereferenced("agora")
    with_error = [op.operation_id for op in specs.operations("agora")
                  if '"forbidden_op"' in json.dumps(spec["paths"][op.path][op.method]["responses"])]
    assert filters["forbidden_op"] == with_error and 0 < len(with_error) < len(list(specs.operations("agora")))


def test_download_links_deliver_the_bundled_spec(seen) -> None:
    delivered = {d["href"]: d for d in seen["by_name"][FAULT_PLATFORM]["downloads"]}
    assert sorted(delivered) == [f"{FAULT_PLATFORM}.openapi.json", f"{FAULT_PLATFORM}.openapi.yaml"]
    expected = bundle.dereferenced(FAULT_PLATFORM)
    assert json.loads(delivered[f"{FAULT_PLATFORM}.openapi.json"]["body"]) == expected
    assert yaml.safe_load(delivered[f"{FAULT_PLATFORM}.openapi.yaml"]["body"]) == expected
    assert all(d["name"] == href for href, d in delivered.items())


def test_index_matrix_cell_leads_to_the_failure_and_its_operation(seen, failures) -> None:
    failure = next(f for f in failures if f["operation_id"] == FAULT_OPERATION)
    index = seen["by_name"]["index"]
    plugdj = next(m for m in index["matrices"] if m["platform"] == FAULT_PLATFORM)
    assert plugdj["header"] == ["behaviour", failure["target"]]
    followed = index["follow"]
    assert followed["found"] and followed["block"]["open"] and followed["block"]["visible"], followed
    assert failure["message"] in followed["block"]["text"]
    assert failure["curl"] in followed["block"]["curls"], "the failing cell does not show its curl line"
    landed = followed["landed"]
    assert landed["url"].split("?")[0].endswith(f"/{FAULT_PLATFORM}.html") and landed["open"] == [FAULT_OPERATION]
    assert landed["wanted"] == {"check": failure["id"], "visible": True, "text": landed["wanted"]["text"]}
    assert "FAIL" in landed["wanted"]["text"] and "<redacted>" in landed["wanted"]["text"]
