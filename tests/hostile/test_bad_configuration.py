"""Bad configuration stops `chatcontract run` before any check, in one line, with exit code 2.

tests/suite/test_targets.py checks each target-file mistake at load level and test_run_command.py
a missing file, an unknown `--api` and a bad `--base-url` end to end (and an unreachable port,
exit 3). Here: the command line for the other kinds of mistake the issue names (missing and
unknown keys, unknown platform, malformed URLs), files that used to escape as tracebacks (an
IPv6 typo, bytes that are not UTF-8), a credential in the base URL, two targets with one name,
an unwritable report directory, a missing baseline, and a spec that fails to load (a copy of
`specs/` and `schemas/` with one thing broken).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from chatcontract import cli, exitcodes, specs
from chatcontract.servers.serve import target_document
from tests.hostile.conftest import has_traceback

UNREACHABLE = "http://127.0.0.1:9"  # never contacted: configuration is checked first


def _document(**changes) -> dict:
    document = {**target_document("plugdj", UNREACHABLE, test_hooks=False), "name": "bad"}
    for key, value in changes.items():
        if value is None:
            document.pop(key)
        else:
            document[key] = value
    return document


def _write(directory: Path, content: dict | bytes, name: str = "bad.target.yaml") -> Path:
    path = directory / name
    path.write_bytes(content if isinstance(content, bytes) else yaml.safe_dump(content).encode())
    return path


def _run_in_process(capsys: pytest.CaptureFixture, tmp_path: Path, *args: str) -> tuple[int, str]:
    code = cli.main(["run", "--profile", "fast", "--report-dir", str(tmp_path / "reports"), *args])
    captured = capsys.readouterr()
    assert captured.out == ""  # nothing ran
    return code, captured.err


def _assert_one_line(code: int, stderr: str, *needles: str) -> None:
    assert code == exitcodes.USAGE, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("chatcontract: "), stderr
    assert not has_traceback(stderr)
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.mark.parametrize("content, message", [
    (_document(fixtures=None), "'fixtures' is a required property"),
    (_document(colour="blue"), "Additional properties are not allowed ('colour' was unexpected)"),
    (_document(api="matrix"), "unknown api 'matrix' (known: agora, ozeki, plugdj, rocketchat, sendbird)"),
    (_document(base_url="http://[::1"), "base_url 'http://[::1' is not a valid URL (Invalid IPv6 URL)"),
    (_document(base_url="http://127.0.0.1:http"), "has an invalid port"),
    (_document(base_url="http://admin:s3cret@127.0.0.1:9"), "base_url must not carry a user or password"),
    (b"api: plugdj\nname: caf\xe9\n", "not UTF-8 text (byte offset 21)"),
], ids=["missing-key", "unknown-key", "unknown-platform", "ipv6-typo", "port-not-a-number", "credential-in-url",
        "not-utf8"])
def test_a_bad_target_file_is_one_line_and_exit_2(capsys: pytest.CaptureFixture, tmp_path: Path,
                                                   content: dict | bytes, message: str) -> None:
    path = _write(tmp_path, content)
    code, stderr = _run_in_process(capsys, tmp_path, "--target", str(path))
    _assert_one_line(code, stderr, str(path), message)
    assert "s3cret" not in stderr


def test_a_missing_baseline_is_one_line_and_exit_2(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    path = _write(tmp_path, _document())
    code, stderr = _run_in_process(capsys, tmp_path, "--target", str(path), "--baseline", str(tmp_path / "none.yaml"))
    _assert_one_line(code, stderr, "none.yaml: cannot read the baseline")


def _broken_data_root(tmp_path: Path, breakage: str) -> Path:
    root = tmp_path / "data"
    shutil.copytree(specs.specs_dir(), root / "specs")
    shutil.copytree(specs.schemas_dir(), root / "schemas")
    spec = root / "specs" / "plugdj.yaml"
    if breakage == "not-yaml":
        spec.write_text("openapi: 3.1.0\npaths: [unclosed\n")
    elif breakage == "no-x-target":
        document = yaml.safe_load(spec.read_text())
        del document["x-target"]
        spec.write_text(yaml.safe_dump(document))
    elif breakage == "missing-schema-file":
        (root / "schemas" / "plugdj" / "envelope.schema.json").unlink()
    return root


@pytest.mark.parametrize("breakage, message", [
    ("not-yaml", "plugdj.yaml: not valid YAML at line 3, column 1: expected"),
    ("no-x-target", "specs/plugdj.yaml has no usable x-target"),
], ids=["not-yaml", "no-x-target"])
def test_a_spec_that_fails_to_load_is_one_line_and_exit_2(capsys: pytest.CaptureFixture, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch, breakage: str,
                                                           message: str) -> None:
    root = _broken_data_root(tmp_path, breakage)
    monkeypatch.setattr(specs, "data_root", lambda: root)
    path = _write(tmp_path, _document())
    code, stderr = _run_in_process(capsys, tmp_path, "--target", str(path))
    _assert_one_line(code, stderr, message)


# The cases below are only caught once the suite has started (today: pytest would run), so they
# run as a user runs them, in a process of their own.

_RUN_WITH_DATA_ROOT = (
    "import sys; from pathlib import Path; import chatcontract.specs as s; root = Path(sys.argv[1]); "
    "s.data_root = lambda: root; from chatcontract.cli import main; raise SystemExit(main(sys.argv[2:]))"
)


def _run_process(tmp_path: Path, *args: str, data_root: Path | None = None) -> subprocess.CompletedProcess:
    command = ["run", "--profile", "fast", "--layer", "errors", *args]
    if "--report-dir" not in args:
        command += ["--report-dir", str(tmp_path / "reports")]
    prefix = ["-c", _RUN_WITH_DATA_ROOT, str(data_root)] if data_root else ["-m", "chatcontract.cli"]
    return subprocess.run([sys.executable, *prefix, *command], capture_output=True, text=True, timeout=120, cwd=tmp_path)


def test_a_spec_whose_ref_points_at_a_missing_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    root = _broken_data_root(tmp_path, "missing-schema-file")
    path = _write(tmp_path, _document())
    done = _run_process(tmp_path, "--target", str(path), data_root=root)
    _assert_one_line(done.returncode, done.stderr, "envelope.schema.json")


def test_two_targets_with_one_name_are_one_line_and_exit_2(tmp_path: Path) -> None:
    first = _write(tmp_path, _document(), "a.target.yaml")
    second = _write(tmp_path, _document(), "b.target.yaml")
    done = _run_process(tmp_path, "--target", str(first), "--target", str(second))
    _assert_one_line(done.returncode, done.stderr, "two targets are named 'bad'")


def test_an_unwritable_report_dir_is_one_line_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    path = _write(tmp_path, _document())
    done = _run_process(tmp_path, "--target", str(path), "--report-dir", str(tmp_path / "a-file" / "reports"))
    _assert_one_line(done.returncode, done.stderr, "--report-dir", "a-file")
