"""The fidelity checklists (`specs/fidelity/<platform>.yaml`) hold: every fact has a public
source, every `where` resolves in our files, ids are unique, nothing is left contradicted, every
fact that is not exact says how it was resolved; README's totals are `python -m
chatcontract.fidelity`'s output."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from chatcontract import fidelity, specs

REPO = Path(__file__).resolve().parents[2]
FILES = fidelity.files()


def test_there_is_a_checklist() -> None:
    assert FILES, "specs/fidelity/ holds no checklist"


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_checklist_is_sound(path: Path) -> None:
    assert fidelity.problems(path) == []


def test_fact_ids_are_unique_across_checklists() -> None:
    seen: dict[str, str] = {}
    clashes = []
    for path in FILES:
        for fact in fidelity.load(path)["facts"]:
            if fact.get("id") in seen:
                clashes.append(f"{fact['id']} in {seen[fact['id']]} and {path.name}")
            seen[fact.get("id")] = path.name
    assert clashes == []


def test_checklists_cite_no_private_path() -> None:
    for path in FILES:
        text = path.read_text(encoding="utf-8")
        assert "/work/shared" not in text and "../shared" not in text and "shared/research" not in text, path.name


def test_platform_list_ignores_the_fidelity_folder() -> None:
    assert "fidelity" not in specs.platforms()


@pytest.mark.parametrize("broken, complaint", [
    ({"source": {"url": "file:///work/x.md", "revision": "1"}}, "public http(s)"),
    ({"source": {"url": "http://127.0.0.1/x", "revision": "1"}}, "public http(s)"),
    ({"where": ["specs/agora.yaml#/paths/~1no~1such"]}, "does not resolve"),
    ({"where": ["specs/nosuch.yaml#/info"]}, "no file"),
    ({"status": "contradicted", "resolution": "x"}, "still contradicted"),
    ({"status": "different"}, "needs a `resolution`"),
    ({"status": "wrong"}, "is not one of"),
])
def test_a_broken_fact_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, broken: dict, complaint: str) -> None:
    import yaml

    fact = {"id": "XX-001", "fact": "f", "source": {"url": "https://example.com/a", "revision": "2026-12-01"},
            "status": "exact", "audit-status": "exact", "where": ["specs/agora.yaml#/info/title"]}
    fact.update(broken)
    path = tmp_path / "agora.yaml"
    path.write_text(yaml.safe_dump({"audit": {"date": "2026-12-01", "spec-revision": "x"}, "facts": [fact]}))
    assert any(complaint in line for line in fidelity.problems(path)), fidelity.problems(path)


def test_the_module_prints_the_totals() -> None:
    run = subprocess.run([sys.executable, "-m", "chatcontract.fidelity"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == fidelity.markdown()
    rows = {line.split("|")[1].strip(): line for line in run.stdout.splitlines()[2:]}
    assert set(rows) == {p.stem for p in FILES} | {"all"}
    total = sum(len(fidelity.load(p)["facts"]) for p in FILES)
    assert f"| all | {total} |" in run.stdout


def test_readme_totals_are_current() -> None:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    start, end = fidelity.MARKERS
    assert start in text and end in text, "README has no fidelity totals between the markers"
    shown = text.split(start, 1)[1].split(end, 1)[0].strip()
    assert shown == fidelity.markdown(), "README's fidelity totals are stale: run python -m chatcontract.fidelity"
