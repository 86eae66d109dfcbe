"""Merging shards' results and comparing two runs, on results documents: a missing, repeated or
foreign shard is refused in one line; a diff names regressions, fixes, new and removed checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatcontract import diff, merge, shards


def result(test_id: str, outcome: str, accepted: bool = False, message: str = "") -> dict:
    target, layer, behaviour = test_id.split("::", 2)
    return {"id": test_id, "target": target, "api": target, "layer": layer, "behaviour": behaviour,
            "operation_id": "", "matrix_row": layer, "behaviours": {}, "outcome": outcome,
            "accepted_by_baseline": accepted, "message": message, "detail": "", "curl": "", "duration_s": 0.1,
            "fact": {"spec": "", "vendor_doc": "", "summary": ""}}


def document(results: list[dict], *, shard: tuple[int, int] | None = None, profile: str = "fast",
             fingerprint: str = "f1", plan: list[list[str]] | None = None) -> dict:
    doc = {"tool": "chatcontract", "profile": profile, "finished_at": "2026-12-02T10:00:00Z",
           "spec_fingerprint": fingerprint, "totals": {},
           "targets": [{"name": n, "api": n, "base_url": "http://127.0.0.1:1"} for n in sorted({r["target"] for r in results})],
           "results": results}
    if shard:
        doc["shard"] = shards.record(shards.Shard(*shard), plan or [["a"], ["b"]], by_layer=False)
    return doc


A = [result("a::schema::op1", "pass"), result("a::errors::op1/400", "fail", message="wrong status")]
B = [result("b::schema::op1", "pass"), result("b::semantics::machine", "error")]


def test_two_shards_merge_into_one_document_with_recomputed_totals() -> None:
    merged = merge.merge([(Path("s1"), document(A, shard=(1, 2))), (Path("s2"), document(B, shard=(2, 2)))])
    assert [r["id"] for r in merged["results"]] == [r["id"] for r in A + B]
    assert merged["totals"] == {"pass": 2, "fail": 1, "skip": 0, "disabled": 0, "error": 1}
    assert {t["name"]: t["totals"]["pass"] for t in merged["targets"]} == {"a": 1, "b": 1}
    assert merged["shards"]["merged"] == [1, 2]


@pytest.mark.parametrize("pieces, message", [
    ([document(A, shard=(1, 2))], r"shard 2/2 missing: 1 of 2 given"),
    ([document(A, shard=(1, 2)), document(B, shard=(1, 2))], r"shard 1/2 is given twice"),
    ([document(A, shard=(1, 2)), document(B, shard=(2, 2), profile="default")], "different profiles"),
    ([document(A, shard=(1, 2)), document(B, shard=(2, 2), fingerprint="f2")], "different spec versions"),
    ([document(A, shard=(1, 2)), document(B, shard=(2, 2), plan=[["b"], ["a"]])], "different runs"),
    ([document(A, shard=(1, 2)), document(B)], "is not a shard"),
    ([document(A), document(A)], r"check a::schema::op1 is reported by both"),
])
def test_pieces_that_do_not_make_one_run_are_refused_in_one_line(pieces: list[dict], message: str) -> None:
    with pytest.raises(merge.MergeError, match=message) as caught:
        merge.merge([(Path(f"piece{i}"), doc) for i, doc in enumerate(pieces)])
    assert "\n" not in str(caught.value)


def test_result_files_are_found_in_artifact_folders(tmp_path: Path) -> None:
    for name in ("chatcontract-reports-1-of-2", "chatcontract-reports-2-of-2"):
        (tmp_path / "shards" / name).mkdir(parents=True)
        (tmp_path / "shards" / name / "results.json").write_text("{}")
    found = merge.result_files([tmp_path / "shards"])
    assert [p.parent.name for p in found] == ["chatcontract-reports-1-of-2", "chatcontract-reports-2-of-2"]
    (tmp_path / "empty").mkdir()
    with pytest.raises(merge.MergeError, match="no results.json under"):
        merge.result_files([tmp_path / "empty"])
    with pytest.raises(merge.MergeError, match="no such file or folder"):
        merge.result_files([tmp_path / "nowhere"])

def test_a_diff_names_each_kind_of_change() -> None:
    old = document([result("a::schema::kept", "pass"), result("a::errors::broke", "pass"),
                    result("a::errors::mended", "fail"), result("a::schema::gone", "pass"),
                    result("a::errors::known", "fail", accepted=True), result("a::errors::known2", "fail", accepted=True)])
    new = document([result("a::schema::kept", "pass"), result("a::errors::broke", "fail", message="now 500"),
                    result("a::errors::mended", "pass"), result("a::schema::added", "fail"),
                    result("a::errors::known", "fail", accepted=True), result("a::errors::known2", "error")],
                   fingerprint="f2")
    changes = diff.diff(old, new)
    assert [n["id"] for _, n in changes.regressions] == ["a::errors::broke", "a::errors::known2"]
    assert [n["id"] for _, n in changes.fixes] == ["a::errors::mended"]
    assert [r["id"] for r in changes.new] == ["a::schema::added"]
    assert [r["id"] for r in changes.removed] == ["a::schema::gone"]
    assert changes.unchanged == 2 and changes.regressed
    text = diff.lines(changes)
    assert "regression a::errors::broke (pass -> fail): now 500" in text
    assert any("spec fingerprint" in line for line in text)
    assert text[-1] == "2 regressions, 1 fixed, 0 changed, 1 new, 1 removed, 2 unchanged"


def test_no_regression_when_only_known_failures_remain() -> None:
    old = document([result("a::errors::known", "fail")])
    assert not diff.diff(old, old).regressed
