"""`chatcontract run` against targets whose text is hostile, into a report dir with planted symlinks.

One run (exit 1) against: a target whose body and headers carry every C0 control byte, DEL, C1
controls and a bidi override, a fake "ALL CHECKS PASSED" after a clear-screen, HTML, Markdown
and console markup; and gzip bombs, plain and stacked. The report directory has `junit.xml` and
`summary.md` planted as symlinks to files outside it. Before round two, the control bytes reached
the terminal raw and made junit.xml invalid XML, the HTML went into summary.md as HTML, the
bombs drove the run to GBs (the stacked one never ended, exit 3, malformed junit.xml), and the
reports were written through the symlinks.
"""

from __future__ import annotations

import json
import subprocess
import time
import xml.etree.ElementTree as ET
from typing import Iterator

import pytest

from chatcontract import exitcodes
from tests.hostile.conftest import has_traceback, hostile_target, run_command
from tests.hostile.servers import CONTROL_CHARS, HostileServers

pytestmark = pytest.mark.xdist_group("hostile-text")

KINDS = ("control-bytes", "gzip-bomb", "gzip-gzip-bomb", "deflate-gzip-bomb")
RUN_BOUND_S = 240
ALLOWED_CONTROLS = {"\n", "\t"}
PLANTED = ("junit.xml", "summary.md", "results.json")
VICTIM_TEXT = "a file outside the report dir, which no report may overwrite\n"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    cwd = tmp_path_factory.mktemp("text-run")
    outside = tmp_path_factory.mktemp("outside")
    reports = cwd / "reports"
    reports.mkdir()
    for name in PLANTED:
        (outside / name).write_text(VICTIM_TEXT)
        (reports / name).symlink_to(outside / name)
    with HostileServers(kinds=KINDS) as servers:
        args = []
        for kind in KINDS:
            args += ["--target", str(hostile_target(cwd, kind, servers.url(kind)))]
        started = time.monotonic()
        done = subprocess.run(run_command(cwd, *args), cwd=cwd, capture_output=True, text=True, timeout=RUN_BOUND_S)
    yield {"done": done, "reports": reports, "outside": outside, "took": time.monotonic() - started}


def test_the_run_ends_with_exit_1_and_every_check_a_one_line_fail(run: dict) -> None:
    done = run["done"]
    assert done.returncode == exitcodes.FAILED, done.stderr[-2000:]
    document = json.loads((run["reports"] / "results.json").read_text(encoding="utf-8"))
    for kind in KINDS:
        results = [r for r in document["results"] if r["target"] == kind]
        assert results and {r["outcome"] for r in results} == {"fail"}, [(r["id"], r["outcome"], r["message"]) for r in results]
        for r in results:
            assert "\n" not in r["message"] and not has_traceback(r["message"] + r["detail"])
            if kind.endswith("bomb"):
                assert "once decoded" in r["message"] and "more than the 2 MiB" in r["message"], r["message"]


def test_junit_is_well_formed_xml_and_holds_the_hostile_text_escaped(run: dict) -> None:
    tree = ET.parse(run["reports"] / "junit.xml")  # raises on a control byte
    messages = [e.get("message", "") for e in tree.iter() if e.tag in ("failure", "error")]
    assert any("\\x1b[2J" in m and "ALL CHECKS PASSED" in m for m in messages), messages[:3]


@pytest.mark.parametrize("char", sorted(set(CONTROL_CHARS) - ALLOWED_CONTROLS), ids=lambda c: f"U+{ord(c):04X}")
def test_no_control_character_reaches_the_terminal_or_a_report(run: dict, char: str) -> None:
    done = run["done"]
    for name, text in (("stdout", done.stdout), ("stderr", done.stderr),
                       ("junit.xml", (run["reports"] / "junit.xml").read_text(encoding="utf-8")),
                       ("summary.md", (run["reports"] / "summary.md").read_text(encoding="utf-8"))):
        assert char not in text, f"{name} holds U+{ord(char):04X} raw"


def test_summary_md_shows_html_and_markdown_from_the_target_as_text(run: dict) -> None:
    summary = (run["reports"] / "summary.md").read_text(encoding="utf-8")
    assert "&lt;img src=x onerror=alert\\(1\\)&gt;" in summary and "<img" not in summary and "<script" not in summary
    assert "\\*\\*bold\\*\\*" in summary and "\\[link\\]\\(http://evil.example\\)" in summary
    assert "[link](http://evil.example)" not in summary


def test_console_markup_from_the_target_is_printed_as_written(run: dict) -> None:
    stdout = run["done"].stdout
    assert "[bold]markup[/bold]" in stdout  # neither rendered (the brackets gone) nor a MarkupError


def test_reports_replace_planted_symlinks_instead_of_writing_through_them(run: dict) -> None:
    for name in PLANTED:
        report = run["reports"] / name
        assert report.is_file() and not report.is_symlink(), name
        assert (run["outside"] / name).read_text() == VICTIM_TEXT, f"{name} was written through its symlink"
    assert not [p.name for p in run["reports"].iterdir() if p.name.endswith(".tmp")]
