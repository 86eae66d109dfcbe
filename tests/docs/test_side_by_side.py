"""Many implementations side by side, and one target over time, as a reader sees them in Chromium.

The site is built (through `runs.load` and `runs.history`, the functions `chatcontract docs
--results DIR --history DIR` calls) from a folder of three real runs of one deployment named
"plugdj": it passed, broke (a fault switched on in the reference server) and was fixed. Each run is
a column, told apart by its folder's name; the broken run's failing cell leads to the failure with
its curl line and on to the operation's results row; the history shows the break and the fix.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from chatcontract.docs import runs, site
from tests.docs.conftest import FAULT_OPERATION, FAULT_PLATFORM, SERIES

pytestmark = pytest.mark.xdist_group("docs")
COLUMNS = [f"{FAULT_PLATFORM} ({label})" for label, _ in SERIES]
BROKEN = COLUMNS[1]


@pytest.fixture(scope="module")
def failure(series: Path) -> dict[str, Any]:
    found = [r for r in json.loads((series / SERIES[1][0] / "results.json").read_text())["results"]
             if r["outcome"] == "fail"]
    assert [r["operation_id"] for r in found] == [FAULT_OPERATION], found
    return found[0]


@pytest.fixture(scope="module")
def seen(series: Path, failure: dict[str, Any], browse, once) -> dict[str, Any]:
    def make(folder: Path) -> None:
        out = folder / "site"
        site.build(out, runs.load([series]), history=runs.history(series))
        follow = {"platform": FAULT_PLATFORM, "row": failure["matrix_row"], "column": BROKEN}
        report = browse([
            {"url": (out / "index.html").as_uri(), "kind": "index", "follow": follow},
            {"url": (out / f"{FAULT_PLATFORM}.html").as_uri(), "kind": "platform", "follow": follow},
            {"url": (out / "history.html").as_uri(), "kind": "history"},
        ])
        (folder / "seen.json").write_text(json.dumps(report))

    report = json.loads((once("side-by-side", make) / "seen.json").read_text())
    report["by_name"] = {Path(urlsplit(p["url"]).path).stem: p for p in report["pages"]}
    return report


@pytest.mark.parametrize("page", ["index", FAULT_PLATFORM])
def test_every_implementation_is_a_column(seen, failure, page: str) -> None:
    matrix = next(m for m in seen["by_name"][page]["matrices"] if m["platform"] == FAULT_PLATFORM)
    assert matrix["header"] == ["behaviour", *COLUMNS]
    rows = {cells[0]["text"]: [c["text"] for c in cells[1:]] for cells in matrix["rows"]}
    assert rows[failure["matrix_row"]] == ["pass", "FAIL", "pass"]
    assert all(cells == ["pass"] * 3 for row, cells in rows.items() if row != failure["matrix_row"]), rows
    assert all(c["href"].startswith("#cc-cell-") for cells in matrix["rows"] for c in cells[1:]), \
        "a matrix cell does not link to its checks"


@pytest.mark.parametrize("page", ["index", FAULT_PLATFORM])
def test_failing_cell_leads_to_the_failure_then_to_its_operation(seen, failure, page: str) -> None:
    followed = seen["by_name"][page]["follow"]
    block = followed["block"]
    assert followed["found"] and block["open"] and block["visible"], followed
    assert f"on {BROKEN}" in block["text"] and failure["message"] in block["text"]
    assert failure["curl"] in block["curls"] and "<redacted>" in failure["curl"]
    check = f"{BROKEN}::errors::{failure['behaviour']}"
    landed = followed["landed"]
    assert urlsplit(landed["url"]).path.endswith(f"/{FAULT_PLATFORM}.html")
    assert urlsplit(landed["url"]).fragment == f"/mutes/{FAULT_OPERATION}"
    assert landed["open"] == [FAULT_OPERATION], "the operation holding the check did not open"
    assert landed["wanted"]["check"] == check and landed["wanted"]["visible"], landed
    assert landed["wanted"]["text"].startswith(BROKEN) and "FAIL" in landed["wanted"]["text"]


def test_history_shows_the_break_and_the_fix(seen, failure) -> None:
    histories = seen["by_name"]["history"]["histories"]
    assert [h["target"] for h in histories] == [FAULT_PLATFORM]
    header, rows = histories[0]["header"], histories[0]["rows"]
    column = {name: i for i, name in enumerate(header)}
    assert [r[column["run"]] for r in rows] == [label for label, _ in SERIES]
    dates = [r[column["finished"]] for r in rows]
    assert dates == sorted(dates) and all(d.endswith("Z") for d in dates)
    assert [r[column["fail"]] for r in rows] == ["0", "1", "0"]
    assert [r[column["newly failing"]] for r in rows] == ["–", "1", "0"]
    assert [r[column["newly passing"]] for r in rows] == ["–", "0", "1"]
    changes = [r[column["changes since the previous run"]] for r in rows]
    assert changes[0] == "first run of this target"
    assert "Newly failing" in changes[1] and failure["id"] in changes[1] and failure["message"] in changes[1]
    assert "Newly passing" in changes[2] and failure["id"] in changes[2]


def test_nothing_left_this_machine(seen) -> None:
    assert seen["blocked"] == [] and seen["errors"] == []
    assert all(urlsplit(u).scheme in ("file", "data", "blob") for u in seen["requests"]), seen["requests"]
