"""bench/selftest_table.py: its table says plainly which fault was missed and which variant raised a false alarm.

The full catalog run is a benchmark (minutes); these tests check the table and verdict logic on
made-up verdicts, and that bad usage is one line with exit code 2.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from chatcontract.selftest import Verdict

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "selftest_table.py"


@pytest.fixture(scope="module")
def table():
    spec = importlib.util.spec_from_file_location("selftest_table", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _verdict(fault: str, kind: str, ok: bool, failing: list[str], layer: str = "errors") -> Verdict:
    return Verdict("plugdj", fault, kind, layer if kind == "fault" else "-", ok, failing,
                   "boom" if failing else "", 3.0, 1.25 if failing else None, sorted({f.split("::")[0] for f in failing}), 1)


def test_table_counts_caught_missed_and_false_alarms(table) -> None:
    verdicts = [
        _verdict("caught-one", "fault", True, ["schema::plugdjListMutes", "errors::plugdjListMutes/401/notLoggedIn"]),
        _verdict("missed-one", "fault", False, []),
        _verdict("wrong-layer", "fault", False, ["schema::plugdjMuteUser"], layer="semantics"),
        _verdict("allowed-variant", "tolerated", True, []),
        _verdict("false-alarm", "tolerated", False, ["semantics::state-machine"]),
    ]
    text = table.markdown(verdicts, "fast", "python bench/selftest_table.py plugdj", 60.0, full=False)
    assert "**1/3 faults caught by their layer, 1/2 tolerated variants passed.**" in text
    rows = {line.split(" | ")[1].strip("`"): line for line in text.splitlines() if line.startswith("| plugdj | `")}
    assert "| caught |" in rows["caught-one"] and "`errors::plugdjListMutes/401/notLoggedIn`" in rows["caught-one"]
    assert "| MISSED |" in rows["missed-one"]
    assert "| caught, other layer |" in rows["wrong-layer"]
    assert "| FAILED (false alarm) |" in rows["false-alarm"]
    assert "Not as expected:" in text and "missed-one" in text.split("Not as expected:")[1]


def test_unknown_platform_or_fault_is_one_line_and_exit_2(table, capsys, tmp_path: Path) -> None:
    assert table.main(["nosuch", "--results-dir", str(tmp_path)]) == 2
    assert table.main(["plugdj", "--fault", "no-such-fault", "--results-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "nosuch" in err[0] and "no-such-fault" in err[1]
    assert not list(tmp_path.iterdir())
