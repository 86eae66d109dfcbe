"""Loading many results files for the site (`docs.runs`): folders, labels, implementations with
equal target names, dated history; bad input is one line; target text stays text on the pages.

The documents are the real series of runs (tests/docs/conftest.py SERIES), copied into layouts a
user would have; where a test needs a property those runs lack (a hostile name, no date), it
changes that one field and says so.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from chatcontract import cli
from chatcontract.docs import runs, site
from chatcontract.docs.results import ResultsError
from tests.docs.conftest import FAULT_OPERATION, FAULT_PLATFORM, SERIES

pytestmark = pytest.mark.xdist_group("docs")
BEFORE, BROKEN, FIXED = (label for label, _ in SERIES)


def _copy(series: Path, label: str, to: Path) -> Path:
    to.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(series / label / "results.json", to)
    return to


def test_a_folder_holds_its_json_files_and_the_results_json_one_level_down(series: Path, tmp_path: Path) -> None:
    _copy(series, BEFORE, tmp_path / "eu-west.json")
    _copy(series, BROKEN, tmp_path / "us-east" / "results.json")
    _copy(series, FIXED, tmp_path / "deep" / "er" / "results.json")  # two levels down: not a run of this folder
    (tmp_path / "us-east" / "summary.md").write_text("# not a results file")
    loaded = runs.load([tmp_path])
    assert [(r.label, Path(r.source).relative_to(tmp_path).as_posix()) for r in loaded] == [
        ("eu-west", "eu-west.json"), ("us-east", "us-east/results.json")]
    # A file named again, alone, is the same run, not a second column.
    again = runs.load([tmp_path, tmp_path / "eu-west.json"])
    assert [r.label for r in again] == ["eu-west", "us-east"]


def test_equal_target_names_become_columns_named_by_their_run(series: Path) -> None:
    loaded = runs.load([series / label for label, _ in SERIES])
    combined, implementations = runs.combine(loaded)
    columns = [f"{FAULT_PLATFORM} ({label})" for label, _ in SERIES]
    assert [i.column for i in implementations] == columns
    assert {i.name for i in implementations} == {FAULT_PLATFORM}
    names, _rows, _cells = combined.matrix(FAULT_PLATFORM)
    assert names == columns
    broken = [r for r in combined.operation(FAULT_PLATFORM, FAULT_OPERATION) if r["outcome"] == "fail"]
    assert [r["target"] for r in broken] == [columns[1]]
    assert broken[0]["id"].startswith(columns[1] + "::errors::")
    # One run alone keeps its target's own name, as the single-file site always did.
    alone, _ = runs.combine(loaded[:1])
    assert alone.matrix(FAULT_PLATFORM)[0] == [FAULT_PLATFORM]


def test_equal_labels_are_told_apart_by_their_paths(series: Path, tmp_path: Path) -> None:
    a = _copy(series, BEFORE, tmp_path / "tenant-a" / "prod" / "results.json")
    b = _copy(series, BROKEN, tmp_path / "tenant-b" / "prod" / "results.json")
    loaded = runs.load([a, b])
    assert [r.label for r in loaded] == ["tenant-a/prod", "tenant-b/prod"]
    _, implementations = runs.combine(loaded)
    assert [i.column for i in implementations] == [f"{FAULT_PLATFORM} (tenant-a/prod)",
                                                   f"{FAULT_PLATFORM} (tenant-b/prod)"]
    # A file and a folder of the same name side by side: their paths, as written.
    c = _copy(series, FIXED, tmp_path / "tenant-a" / "prod.json")
    assert [r.label for r in runs.load([c, a])] == ["prod.json", "prod/results.json"]


def _one_line(exc: pytest.ExceptionInfo) -> str:
    message = str(exc.value)
    assert len(message.splitlines()) == 1, message
    return message


def test_a_file_that_is_not_a_results_file_is_one_line_naming_it(series: Path, tmp_path: Path) -> None:
    _copy(series, BEFORE, tmp_path / "good.json")
    (tmp_path / "package.json").write_text(json.dumps({"name": "x", "version": "1.0.0"}))
    with pytest.raises(ResultsError) as exc:
        runs.load([tmp_path])
    message = _one_line(exc)
    assert str(tmp_path / "package.json") in message and "is not a chatcontract results.json" in message


@pytest.mark.parametrize("case", ["empty folder", "missing file", "not JSON"])
def test_bad_paths_are_one_line(tmp_path: Path, case: str) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "broken.json").write_text("{not json")
    path, expected = {
        "empty folder": (tmp_path / "empty", "holds no results file"),
        "missing file": (tmp_path / "nope.json", "cannot read results file"),
        "not JSON": (tmp_path / "broken.json", "not valid JSON"),
    }[case]
    with pytest.raises(ResultsError) as exc:
        runs.load([path])
    assert expected in _one_line(exc)


def test_history_is_in_date_order_whatever_the_names(series: Path, tmp_path: Path) -> None:
    # Names that sort the other way round from the runs' real finished_at.
    for name, (label, _) in zip(["c", "b", "a"], SERIES):
        _copy(series, label, tmp_path / f"{name}.json")
    loaded = runs.history(tmp_path)
    assert [r.label for r in loaded] == ["c", "b", "a"]
    assert [r.finished_at for r in loaded] == sorted(r.finished_at for r in loaded)
    [timeline] = runs.timelines(loaded)
    assert (timeline.name, timeline.api) == (FAULT_PLATFORM, FAULT_PLATFORM)
    first, broke, fixed = timeline.entries
    assert first.changes is None and first.previous is None
    assert [now["behaviour"] for _, now in broke.changes.regressions] == ["plugdjMuteUser/4XX/reasonRequired"]
    assert broke.changes.fixes == [] and broke.previous is first.run
    assert [now["behaviour"] for _, now in fixed.changes.fixes] == ["plugdjMuteUser/4XX/reasonRequired"]
    assert fixed.changes.regressions == [] and (broke.totals["fail"], fixed.totals["fail"]) == (1, 0)


@pytest.mark.parametrize("finished_at", [None, "yesterday"])
def test_history_refuses_an_undated_run_in_one_line(series: Path, tmp_path: Path, finished_at) -> None:
    _copy(series, BEFORE, tmp_path / "dated.json")
    document = json.loads((series / BROKEN / "results.json").read_text())
    document.pop("finished_at")
    if finished_at is not None:
        document["finished_at"] = finished_at
    (tmp_path / "undated.json").write_text(json.dumps(document))
    with pytest.raises(ResultsError) as exc:
        runs.history(tmp_path)
    message = _one_line(exc)
    assert str(tmp_path / "undated.json") in message and "a history needs dated runs" in message
    with pytest.raises(ResultsError) as exc:
        runs.history(tmp_path / "dated.json")
    assert "is not a folder" in _one_line(exc)


def test_target_text_from_results_files_is_escaped_on_every_page(series: Path, tmp_path: Path) -> None:
    hostile = '<img src=x onerror="alert(1)">'
    documents = []
    for label in (BEFORE, BROKEN):
        document = json.loads((series / label / "results.json").read_text())
        for t in document["targets"]:
            t["name"] = hostile
        for r in document["results"]:
            r["id"] = r["id"].replace(r["target"], hostile, 1)
            r["target"] = hostile
            if r["outcome"] == "fail":
                r["message"] = "</pre><script>alert(2)</script>"
        path = tmp_path / label / "results.json"
        path.parent.mkdir()
        path.write_text(json.dumps(document))
        documents.append(path)
    out = tmp_path / "site"
    site.build(out, runs.load(documents), history=runs.history(tmp_path))
    for page in ["index.html", f"{FAULT_PLATFORM}.html", "history.html"]:
        html = (out / page).read_text(encoding="utf-8")
        assert "<img src=x" not in html and "<script>alert" not in html, page
        assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in html or "\\u003cimg" in html, page


def test_build_takes_one_run_or_many_and_writes_the_bundled_specs(series: Path, tmp_path: Path) -> None:
    one = runs.load([series / BROKEN])
    site.build(tmp_path / "one", one[0])
    site.build(tmp_path / "many", runs.load([series]))
    one_index = (tmp_path / "one" / "index.html").read_text(encoding="utf-8")
    many_index = (tmp_path / "many" / "index.html").read_text(encoding="utf-8")
    assert "Conformance results from <code>" in one_index and "side by side" not in one_index
    assert "Conformance results of 3 runs side by side (3 implementations)" in many_index
    assert not (tmp_path / "one" / "history.html").exists()
    for platform_files in (site.spec_files(FAULT_PLATFORM),):
        spec = json.loads((tmp_path / "one" / platform_files["json"]).read_text(encoding="utf-8"))
        assert spec["openapi"] == "3.1.0" and '"$ref"' not in json.dumps(spec["paths"])
        assert (tmp_path / "one" / platform_files["yaml"]).read_text(encoding="utf-8").startswith("openapi: 3.1.0")


def test_docs_command_with_one_results_file_still_works(series: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    assert cli.main(["docs", "--out", str(out), "--results", str(series / BROKEN / "results.json")]) == cli.EXIT_OK
    index = (out / "index.html").read_text(encoding="utf-8")
    plugdj = next(m for m in re.findall(r'<table class="cc-matrix" data-platform="plugdj">.*?</table>', index, re.S))
    assert f"<th scope=\"col\">{FAULT_PLATFORM}</th>" in plugdj and "FAIL" in plugdj
    assert (out / f"{FAULT_PLATFORM}.openapi.yaml").is_file()


def test_the_filter_knows_each_operations_error_names_as_the_wire_spells_them() -> None:
    from chatcontract.docs import annotate, matrix

    found = {}
    for platform in ("sendbird", "agora", FAULT_PLATFORM):
        spec = annotate.page_spec(site.environment(), platform, None)
        found |= {o["operationId"]: o for o in matrix.operations_index(spec, platform, None)}
    assert {"userNotFound", "400201", "400"} <= set(found["sendbirdListBlockedUsers"]["errors"])
    assert {"notMember", "forbidden_op"} <= set(found["agoraMuteChatRoomMembers"]["errors"])
    assert "reasonRequired" in found[FAULT_OPERATION]["errors"]
    assert "reasonRequired" not in found["plugdjListMutes"]["errors"]
    assert found[FAULT_OPERATION]["outcomes"] == []  # no run loaded: "not checked"
