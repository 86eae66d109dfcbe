"""Hostile input files: each is one line on stderr and exit 2, at a bounded cost, in words.

Target files, baselines and a results file for `docs --results`: alias bombs (billion laughs,
generated at several depths and widths) and recursive aliases, binary bytes, nesting too deep to
walk, files too big to read, numbers that are not finite, a name with a trailing newline, a
base_url with a query, a fragment or no scheme, YAML errors (a tab) that must keep their reason,
and user text with console markup in it (`[/]`, `[bold]`), which must be printed as written.
Before round two, the bombs hung past 60 s at GBs, the binary baseline and the deep JSON raised
tracebacks, and the rest were accepted, or named a regex, or crashed rich.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from chatcontract import cli, exitcodes
from tests.hostile.test_bad_configuration import _assert_one_line, _document, _run_in_process, _write

BOUND_S = 10.0  # each of these is refused before any real work: well under a second when quiet


def alias_bomb(depth: int, width: int, under: str = "") -> str:
    """Billion laughs: each level a list of `width` aliases of the level below (`width**depth` leaves)."""
    lines = [f'l0: &l0 ["{"lol" * 3}"]']
    for level in range(1, depth + 1):
        lines.append(f"l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * width) + "]")
    text = "\n".join(lines) + "\n"
    return text + (under.replace("LAST", f"*l{depth}") if under else "")


BOMBS = [(depth, width) for depth, width in ((9, 9), (6, 20), (20, 3), (3, 100))]


def _one_line_quickly(capsys, tmp_path: Path, *args: str) -> str:
    started = time.monotonic()
    code, stderr = _run_in_process(capsys, tmp_path, *args)
    assert time.monotonic() - started < BOUND_S
    _assert_one_line(code, stderr)
    return stderr.strip()


@pytest.mark.parametrize("depth, width", BOMBS, ids=[f"{d}x{w}" for d, w in BOMBS])
def test_an_alias_bomb_in_a_target_file_is_refused(capsys, tmp_path: Path, depth: int, width: int) -> None:
    path = tmp_path / "bomb.target.yaml"
    path.write_text(yaml.safe_dump(_document()) + alias_bomb(depth, width).replace("l0:", "x-l0:"))
    # the bomb's keys are unknown keys, but the bomb must be refused before anything walks it
    line = _one_line_quickly(capsys, tmp_path, "--target", str(path))
    assert "aliases (*name) expand it past" in line and str(path) in line


@pytest.mark.parametrize("depth, width", BOMBS, ids=[f"{d}x{w}" for d, w in BOMBS])
def test_an_alias_bomb_in_a_baseline_is_refused(capsys, tmp_path: Path, depth: int, width: int) -> None:
    target = _write(tmp_path, _document())
    baseline = tmp_path / "baseline.yaml"
    baseline.write_text(alias_bomb(depth, width, under="bad:\n  errors::x: LAST\n"))
    line = _one_line_quickly(capsys, tmp_path, "--target", str(target), "--baseline", str(baseline))
    assert "aliases (*name) expand it past" in line and "baseline" in line


def test_a_recursive_alias_is_refused(capsys, tmp_path: Path) -> None:
    path = tmp_path / "loop.target.yaml"
    path.write_text(yaml.safe_dump(_document()) + "x-loop: &loop [*loop]\n")
    assert "refers to the node that contains it" in _one_line_quickly(capsys, tmp_path, "--target", str(path))


def test_small_aliases_are_still_fine(capsys, tmp_path: Path) -> None:
    """Anchors are ordinary YAML: a target file may reuse a value (only expansion is bounded)."""
    document = _document()
    text = yaml.safe_dump(document).replace("fixtures:\n", "fixtures: &fx\n", 1)
    from chatcontract.inputs import parse_yaml

    assert parse_yaml(text + "x-copy: *fx\n", "t")["x-copy"] == document["fixtures"]


@pytest.mark.parametrize("content", [bytes(range(256)) * 4, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", b"\xff\xfe\x00\x00"],
                         ids=["all-bytes", "png", "utf32-bom"])
def test_a_binary_baseline_is_one_line(capsys, tmp_path: Path, content: bytes) -> None:
    target = _write(tmp_path, _document())
    baseline = tmp_path / "baseline.yaml"
    baseline.write_bytes(content)
    line = _one_line_quickly(capsys, tmp_path, "--target", str(target), "--baseline", str(baseline))
    assert "the baseline is not UTF-8 text" in line


@pytest.mark.parametrize("which", ["target", "baseline"])
def test_a_file_too_big_to_read_is_refused_before_it_is_parsed(capsys, tmp_path: Path, which: str) -> None:
    target = _write(tmp_path, _document())
    big = tmp_path / "big.yaml"
    big.write_text(yaml.safe_dump(_document()) + "".join(f"# {'padding ' * 12}\n" for _ in range(600_000)))  # ~60 MB
    args = ["--target", str(big)] if which == "target" else ["--target", str(target), "--baseline", str(big)]
    line = _one_line_quickly(capsys, tmp_path, *args)
    assert "is larger than 1 MiB" in line


@pytest.mark.parametrize("key, value, words", [
    ("request_timeout_s", float("nan"), "request_timeout_s: not a finite number"),
    ("capabilities", {"realtime_budget_s": float("nan")}, "capabilities.realtime_budget_s: not a finite number"),
    ("name", "prod\n", "name: 'prod\\n' is not a name of letters, digits"),
    ("name", "a[bold]b[/]", "name: 'a[bold]b[/]' is not a name of letters"),
    ("base_url", "http://127.0.0.1:9/api?key=1", "has a query (?...)"),
    ("base_url", "http://127.0.0.1:9/api#top", "has a fragment (#...)"),
    ("base_url", "http://127.0.0.1:9/?", "has a query (?...)"),
    ("base_url", "127.0.0.1:9", "has no scheme: write it as http://127.0.0.1:9 or https://127.0.0.1:9"),
    ("base_url", "localhost", "has no scheme"),
    ("base_url", "ftp://127.0.0.1", "has the scheme 'ftp'"),
    ("base_url", "http://127.0.0.1:9/\n", "contains a space or control character"),
], ids=["nan", "nested-nan", "name-newline", "name-markup", "query", "fragment", "empty-query",
        "no-scheme", "bare-host", "ftp", "url-newline"])
def test_values_that_passed_the_schema_are_refused_in_words(capsys, tmp_path: Path, key: str, value, words: str) -> None:
    path = _write(tmp_path, _document(**{key: value}))
    line = _one_line_quickly(capsys, tmp_path, "--target", str(path))
    assert words in line and "does not match '^" not in line


def test_a_yaml_error_keeps_its_reason(capsys, tmp_path: Path) -> None:
    text = yaml.safe_dump(_document()).replace("\n  ", "\n\t", 1)
    path = _write(tmp_path, text.encode())
    line = _one_line_quickly(capsys, tmp_path, "--target", str(path))
    assert "not valid YAML at line" in line and "a tab character, where YAML allows only spaces" in line
    (tmp_path / "q.target.yaml").write_text("api: 'plugdj\nbase_url: x\n")
    line = _one_line_quickly(capsys, tmp_path, "--target", str(tmp_path / "q.target.yaml"))
    assert "found unexpected end of stream (while scanning a quoted scalar)" in line


@pytest.mark.parametrize("text", ["[/]", "[bold]loud[/bold]", "[red]", "[link=http://x]y[/link]"])
def test_console_markup_in_user_text_is_printed_as_written(capsys, tmp_path: Path, text: str) -> None:
    for document, shown in (({**_document(), "api": text}, f"unknown api {text!r}"),
                            ({**_document(), text: 1}, f"({text!r} was unexpected)")):
        path = _write(tmp_path, document, name=f"x{text}.target.yaml".replace("/", "_"))
        line = _one_line_quickly(capsys, tmp_path, "--target", str(path))
        assert shown in line and str(path) in line


def _docs(capsys, tmp_path: Path, results: Path) -> tuple[int, str]:
    code = cli.main(["docs", "--results", str(results), "--out", str(tmp_path / "site")])
    return code, capsys.readouterr().err


@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_docs_on_deeply_nested_results_is_one_line(capsys, tmp_path: Path, depth: int) -> None:
    results = _markup_path(tmp_path, "deep")
    results.write_text('{"results": ' + "[" * depth + "]" * depth + "}")
    started = time.monotonic()
    code, stderr = _docs(capsys, tmp_path, results)
    assert time.monotonic() - started < BOUND_S
    _assert_one_line(code, stderr, "nested too deeply", str(results))


def test_docs_on_a_binary_results_file_is_one_line(capsys, tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    results.write_bytes(b"\x00\xff" * 100)
    code, stderr = _docs(capsys, tmp_path, results)
    _assert_one_line(code, stderr, "not UTF-8 text")


def _markup_path(tmp_path: Path, stem: str) -> Path:
    """A path whose text holds `[bold]` and `[/]` (a folder named `[bold]x[` and a file `]{stem}.json`)."""
    folder = tmp_path / "[bold]x["
    folder.mkdir(exist_ok=True)
    return folder / f"]{stem}.json"


def test_docs_results_file_names_with_markup_are_printed_as_written(capsys, tmp_path: Path) -> None:
    results = _markup_path(tmp_path, "r")
    results.write_text("{not json")
    code, stderr = _docs(capsys, tmp_path, results)
    _assert_one_line(code, stderr, "[bold]x[/]r.json")
    assert code == exitcodes.USAGE
