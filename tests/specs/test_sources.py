"""Every source the specs cite can be followed by a user: each `[XX-yyy]` tag resolves through
`specs/sources/bibliography.yaml` to a public http(s) page, no spec text points at files outside
the project, and a sources list made only of secondary sources says so (`x-secondary-only`).

Each check is a function over plain data, run once on the real files and once on a small
hand-made case it must reject, so none of them can pass by finding nothing.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlsplit

import pytest

from chatcontract import specs
from chatcontract.docs import annotate

BIBLIOGRAPHY = specs.specs_dir() / "sources" / "bibliography.yaml"
# `[RC-chat]`, `[SB-list]`, `[AG-doc-new]`: two or more capitals, a hyphen, then the rest.
TAG = re.compile(r"\[[A-Z]{2,}-[A-Za-z0-9][A-Za-z0-9-]*\]")
PRIVATE_MENTIONS = ("vendors.md", "shared/research", "seeds/")
ENTRY_KEYS = {"url", "revision", "what", "secondary"}
MARKER = "x-secondary-only"
SOURCE_LISTS = ("x-sources", "sources")


def spec_files() -> list[Path]:
    return [specs.spec_path(p) for p in specs.platforms()]


def bibliography() -> dict[str, Any]:
    return specs.read_document(BIBLIOGRAPHY)


def tags_in_text(text: str, name: str) -> Iterator[tuple[str, str]]:
    """Every tag-shaped token of a file's text, in order, with `file:line` where it stands."""
    for number, line in enumerate(text.splitlines(), 1):
        for match in TAG.finditer(line):
            yield match.group(0), f"{name}:{number}"


def source_lists(node: Any, where: str = "") -> Iterator[tuple[str, dict[str, Any], list[Any]]]:
    """Every `x-sources` / `sources` list of strings, with the object that holds it."""
    if isinstance(node, dict):
        for key in SOURCE_LISTS:
            value = node.get(key)
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                yield f"{where}/{key}", node, value
        for key, value in node.items():
            yield from source_lists(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from source_lists(value, f"{where}/{index}")


def is_public_url(url: Any) -> bool:
    if not isinstance(url, str) or not annotate.SAFE_URL.match(url):
        return False
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and "." in parts.netloc and not any(m in url for m in PRIVATE_MENTIONS)


def entry_problems(bib: dict[str, Any]) -> list[str]:
    """Each bibliography entry: a tag key, the four keys, public URLs, a boolean `secondary`."""
    problems = []
    for tag, entry in bib.items():
        if not (isinstance(tag, str) and tag.startswith("[") and tag.endswith("]")):
            problems.append(f"{tag!r}: a key is a tag in brackets")
            continue
        if not isinstance(entry, dict):
            problems.append(f"{tag}: not a mapping")
            continue
        missing = ENTRY_KEYS - set(entry)
        if missing:
            problems.append(f"{tag}: lacks {', '.join(sorted(missing))}")
        unknown = set(entry) - ENTRY_KEYS - {"also"}
        if unknown:
            problems.append(f"{tag}: unknown keys {', '.join(sorted(unknown))}")
        for url in [entry.get("url"), *(entry.get("also") or [])]:
            if not is_public_url(url):
                problems.append(f"{tag}: {url!r} is not a public http(s) URL")
        if not isinstance(entry.get("secondary"), bool):
            problems.append(f"{tag}: secondary is not true or false")
        for key in ("what", "revision"):
            if not (isinstance(entry.get(key), str) and entry[key].strip()):
                problems.append(f"{tag}: {key} is empty")
    return problems


def unresolved(files: dict[str, str], bib: dict[str, Any]) -> list[str]:
    """Tags of the texts (`name -> text`) that the bibliography lacks, first one first."""
    return [f"{where}: {tag} is not in {BIBLIOGRAPHY.name}" for name, text in files.items()
            for tag, where in tags_in_text(text, name) if tag not in bib]


def list_problems(name: str, document: Any, bib: dict[str, Any]) -> list[str]:
    """Every entry of a sources list is a known tag or a public URL; a list made only of secondary
    sources (their tags, or URLs a secondary entry lists) carries `x-secondary-only: true`, and
    only such a list does."""
    secondary_urls = {u: tag for tag, e in bib.items() if isinstance(e, dict) and e.get("secondary") is True
                      for u in [e.get("url"), *(e.get("also") or [])]}
    problems = []
    for where, holder, entries in source_lists(document):
        for entry in entries:
            if entry.startswith("["):
                if entry not in bib:
                    problems.append(f"{name}{where}: {entry} is not in {BIBLIOGRAPHY.name}")
            elif not is_public_url(entry):
                problems.append(f"{name}{where}: {entry!r} is neither a tag nor a public URL")
        secondary_only = bool(entries) and all(
            e in secondary_urls or (bib.get(e) or {}).get("secondary") is True for e in entries)
        marked = holder.get(MARKER)
        if secondary_only and marked is not True:
            problems.append(f"{name}{where}: {entries} are all secondary sources; add {MARKER}: true beside it")
        if not secondary_only and marked is not None:
            problems.append(f"{name}{where}: {MARKER} is set but {entries} include a primary source")
    return problems


def mentions(files: dict[str, str]) -> list[str]:
    return [f"{name}:{number}: mentions {m!r}, which a user of the project cannot open"
            for name, text in files.items() for number, line in enumerate(text.splitlines(), 1)
            for m in PRIVATE_MENTIONS if m in line]


# --- the real files ------------------------------------------------------------------------------


def test_the_bibliography_is_not_a_platform() -> None:
    assert "sources" not in specs.platforms() and "bibliography" not in specs.platforms()
    assert len(spec_files()) >= 5


def test_every_bibliography_entry_is_complete_and_public() -> None:
    bib = bibliography()
    assert len(bib) >= 40
    assert entry_problems(bib) == []


def test_every_tag_in_the_specs_resolves() -> None:
    files = {p.name: p.read_text(encoding="utf-8") for p in spec_files()}
    tags = [t for name, text in files.items() for t, _ in tags_in_text(text, name)]
    assert len(tags) > 300, "the tag pattern finds the specs' tags"
    missing = unresolved(files, bibliography())
    assert not missing, missing[0]


def test_every_tag_in_the_schemas_and_the_fidelity_data_resolves() -> None:
    paths = [*sorted(specs.schemas_dir().rglob("*.json")), *sorted((specs.specs_dir() / "fidelity").glob("*.yaml"))]
    files = {str(p.relative_to(specs.data_root())): p.read_text(encoding="utf-8") for p in paths}
    assert any(True for name, text in files.items() for _ in tags_in_text(text, name))
    missing = unresolved(files, bibliography())
    assert not missing, missing[0]


def test_every_sources_list_resolves_and_secondary_only_lists_are_marked() -> None:
    bib = bibliography()
    problems: list[str] = []
    lists = 0
    for path in spec_files():
        document = specs.read_document(path)
        lists += len(list(source_lists(document)))
        problems += list_problems(path.name, document, bib)
    assert lists > 50
    assert not problems, "\n".join(problems)


def test_some_facts_rest_on_secondary_sources_only_and_say_so() -> None:
    marked = [where for p in spec_files() for where, holder, _ in source_lists(specs.read_document(p))
              if holder.get(MARKER) is True]
    assert marked, "plug.dj's operations rest on community material only"


def test_no_spec_text_points_outside_the_project() -> None:
    # The schemas too: their descriptions are shown on the docs site; and the two READMEs.
    paths = [*spec_files(), BIBLIOGRAPHY, specs.specs_dir() / "extensions.md", specs.specs_dir() / "README.md",
             specs.schemas_dir() / "README.md", *sorted(specs.schemas_dir().rglob("*.json"))]
    files = {str(p.relative_to(specs.data_root())): p.read_text(encoding="utf-8") for p in paths if p.exists()}
    found = mentions(files)
    assert not found, found[0]


def test_no_code_comment_or_server_data_points_outside_the_project() -> None:
    """The package's own modules, seeds, fault catalogs and templates cite decisions and source
    tags, never the research files they were written from (fidelity.py names the research path
    only to refuse it as a source URL)."""
    package = Path(specs.__file__).resolve().parent
    paths = [p for p in sorted(package.rglob("*")) if p.suffix in (".py", ".yaml", ".md", ".json", ".html", ".js")
             and "__pycache__" not in p.parts and p.name != "fidelity.py"]
    files = {str(p.relative_to(package)): p.read_text(encoding="utf-8") for p in paths}
    found = mentions(files)
    assert not found, found[0]


def test_the_site_links_a_tag_to_its_bibliography_page() -> None:
    url = bibliography()["[SB-list]"]["url"]
    assert annotate.source_link("[SB-list]") == f"[`[SB-list]`]({url})"
    assert annotate.source_link("[NO-such-tag]") == "`[NO-such-tag]`"
    assert annotate.source_link("javascript:alert(1)") == "`javascript:alert(1)`"


def test_the_platform_pages_link_the_sources_and_flag_secondary_only_ones() -> None:
    from chatcontract.docs import site

    env = site.environment()
    bib = bibliography()
    plugdj = annotate.page_spec(env, "plugdj", None)
    notes = plugdj["paths"]["/_/mutes"]["get"]["description"]
    assert f"**Sources:** [`[PD-docs]`]({bib['[PD-docs]']['url']})" in notes
    assert "(secondary sources only)" in notes
    sendbird = annotate.page_spec(env, "sendbird", None)
    notes = sendbird["paths"]["/v3/users/{user_id}/block"]["get"]["description"]
    assert f"[`[SB-list]`]({bib['[SB-list]']['url']})" in notes
    assert "(secondary sources only)" not in notes
    assert f"[`[SB-apisio]`]({bib['[SB-apisio]']['url']})" in sendbird["info"]["description"]


# --- each check rejects what it should -------------------------------------------------------------

FAKE_BIB = {
    "[AA-doc]": {"url": "https://example.org/a", "revision": "abc", "what": "A page.", "secondary": False},
    "[BB-forum]": {"url": "https://forum.example.org/t/1", "revision": "2026", "what": "A thread.", "secondary": True},
}


def test_a_missing_tag_is_named_first() -> None:
    text = "x-sources: [\"[AA-doc]\"]\ndescription: see [ZZ-gone] and [YY-gone]\n"
    assert unresolved({"demo.yaml": text}, FAKE_BIB) == [
        "demo.yaml:2: [ZZ-gone] is not in bibliography.yaml", "demo.yaml:2: [YY-gone] is not in bibliography.yaml"]
    assert unresolved({"demo.yaml": "[invalid-params] [AA-doc]"}, FAKE_BIB) == []


@pytest.mark.parametrize("url", ["/work/shared/research/vendors.md", "file:///etc/passwd", "../shared/seeds/001.md",
                                 "https://example.org/shared/research/vendors.md", "ftp://example.org/x", "https://x"])
def test_a_private_or_odd_url_is_rejected(url: str) -> None:
    bib = {"[AA-doc]": {**FAKE_BIB["[AA-doc]"], "url": url}}
    assert entry_problems(bib) == [f"[AA-doc]: {url!r} is not a public http(s) URL"]


def test_an_incomplete_entry_is_rejected() -> None:
    problems = entry_problems({"[AA-doc]": {"url": "https://example.org/a", "secondary": "yes"}})
    assert "[AA-doc]: lacks revision, what" in problems
    assert "[AA-doc]: secondary is not true or false" in problems


def test_secondary_only_lists_need_the_marker_and_only_they_may_have_it() -> None:
    unmarked = {"paths": {"/a": {"get": {"x-sources": ["[BB-forum]"]}}}}
    assert list_problems("demo", unmarked, FAKE_BIB) == [
        "demo/paths//a/get/x-sources: ['[BB-forum]'] are all secondary sources; add x-secondary-only: true beside it"]
    marked = {"x-decisions": [{"sources": ["[BB-forum]"], MARKER: True}, {"sources": ["https://forum.example.org/t/1"], MARKER: True}]}
    assert list_problems("demo", marked, FAKE_BIB) == []
    wrongly = {"x-decisions": [{"sources": ["[AA-doc]", "[BB-forum]"], MARKER: True}]}
    assert list_problems("demo", wrongly, FAKE_BIB) == [
        "demo/x-decisions/0/sources: x-secondary-only is set but ['[AA-doc]', '[BB-forum]'] include a primary source"]


def test_list_entries_must_be_known_tags_or_untagged_public_urls() -> None:
    document = {"sources": ["[plugged]", "/shared/research/vendors.md", "https://ok.example.org/"]}
    assert list_problems("demo", document, FAKE_BIB) == [
        "demo/sources: [plugged] is not in bibliography.yaml",
        "demo/sources: '/shared/research/vendors.md' is neither a tag nor a public URL",
    ]


def test_a_mention_of_the_research_files_is_found() -> None:
    assert mentions({"demo.yaml": "ok\nsee vendors.md §6\n"}) == [
        "demo.yaml:2: mentions 'vendors.md', which a user of the project cannot open"]
