"""Items 7, 9, 10: what the commands say. A closed port is one line per target, not one per
check; a target pointed at another platform's server gets a hint; `serve` on a busy port is one
line and exit 2; `--version`, and help with examples, the exit codes, the profiles and the
platform names."""

from __future__ import annotations

import socket
from pathlib import Path

import yaml

from chatcontract import specs
from chatcontract.servers.serve import RunningServer, target_document
from chatcontract.suite.plugin import profiles
from tests.gate.conftest import command, results, said, target_file


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed when the block ends: nothing listens there


def test_a_closed_port_is_one_line_per_target(tmp_path: Path) -> None:
    first, second = (target_file(tmp_path, f"http://127.0.0.1:{_closed_port()}", name=n) for n in ("east", "west"))
    done = command(tmp_path, "run", "--target", str(first), "--target", str(second), "--profile", "fast",
                   "--report-dir", str(tmp_path / "reports"))
    assert done.returncode == 3, said(done)
    summary = (tmp_path / "reports" / "summary.md").read_text()
    checks = results(tmp_path / "reports")
    for name in ("east", "west"):
        count = sum(1 for r in checks if r["target"] == name and r["outcome"] == "error")
        assert count > 10
        for text in (done.stdout, summary):
            lines = [line for line in text.splitlines() if f"target {name} unreachable" in line]
            assert len(lines) == 1, lines[:3]
            assert "ConnectError" in lines[0] and f"{count} checks" in lines[0]


def test_a_target_pointed_at_another_platforms_server_gets_a_hint(tmp_path: Path, faithful: RunningServer) -> None:
    # A Rocket.Chat target file whose base_url is, by mistake, a plug.dj server.
    document = {**target_document("rocketchat", faithful.base_url, test_hooks=False), "name": "mixup"}
    target = tmp_path / "mixup.target.yaml"
    target.write_text(yaml.safe_dump(document))
    done = command(tmp_path, "run", "--target", str(target), "--profile", "fast", "--layer", "errors",
                   "--report-dir", str(tmp_path / "reports"))
    assert done.returncode == 1, said(done)
    hint = "is this a rocketchat server"
    assert hint in done.stdout and hint in (tmp_path / "reports" / "summary.md").read_text()


def test_a_conformant_target_gets_no_hint(tmp_path: Path, faithful: RunningServer) -> None:
    done = command(tmp_path, "run", "--target", str(target_file(tmp_path, faithful.base_url)), "--profile", "fast",
                   "--layer", "errors", "--report-dir", str(tmp_path / "reports"))
    assert done.returncode == 0 and "hint" not in done.stdout.lower(), said(done)


def test_serve_on_a_busy_port_is_one_line_and_exit_2(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = command(tmp_path, "serve", "plugdj", "--port", str(port), timeout=60)
    assert done.returncode == 2, said(done)
    assert done.stderr.strip() == done.stderr.strip().splitlines()[0], done.stderr
    assert f"127.0.0.1:{port}" in done.stderr and "Traceback" not in done.stderr + done.stdout


def test_version_and_help_say_what_a_new_user_needs(tmp_path: Path) -> None:
    from importlib import metadata

    version = command(tmp_path, "--version")
    assert version.returncode == 0 and version.stdout.strip() == f"chatcontract {metadata.version('chatcontract')}"
    top = command(tmp_path, "--help").stdout
    assert "examples:" in top and "exit codes:" in top
    for code in ("0", "1", "2", "3"):
        assert f"\n  {code}  " in top
    run = command(tmp_path, "run", "--help").stdout
    for name, profile in profiles().items():
        line = next(line for line in run.splitlines() if line.strip().startswith(name + " "))
        assert profile["description"] in line and f"{profile['examples']} fuzzing examples" in line
    serve = " ".join(command(tmp_path, "serve", "--help").stdout.split())
    assert all(platform in serve for platform in specs.platforms())
