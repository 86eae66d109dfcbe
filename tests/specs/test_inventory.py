"""The operation inventory covers the documented operation set, and README shows it as it is."""

from __future__ import annotations

import json

from chatcontract import cli, inventory
from tests.specs.conftest import REPO

README_START = "<!-- inventory:start -->"
README_END = "<!-- inventory:end -->"


def test_inventory_lists_at_least_fourteen_operations() -> None:
    table = inventory.rows()
    assert len(table) >= 14
    assert {r.platform for r in table} == {"rocketchat", "plugdj", "ozeki", "agora", "sendbird"}


def test_every_operation_documents_errors() -> None:
    assert [r.operation_id for r in inventory.rows() if r.documented_errors == 0] == []


def test_readme_shows_the_current_inventory() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert README_START in readme and README_END in readme, "README lacks the inventory markers"
    shown = readme.split(README_START, 1)[1].split(README_END, 1)[0].strip()
    expected = inventory.to_markdown(inventory.rows()).strip()
    assert shown == expected, "README inventory is stale: paste `chatcontract inventory --format markdown`"


def test_inventory_command_prints_json_rows(capsys) -> None:
    assert cli.main(["inventory", "--format", "json"]) == cli.EXIT_OK
    printed = json.loads(capsys.readouterr().out)
    assert [row["operation_id"] for row in printed] == [r.operation_id for r in inventory.rows()]


def test_unknown_platform_is_a_usage_error(capsys) -> None:
    assert cli.main(["inventory", "--api", "slack"]) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert "unknown platform 'slack'" in err and len(err.strip().splitlines()) == 1
