"""Items 13 and 14: `chatcontract init PLATFORM` writes a commented target file that the real
loader accepts and that, filled in with a server's values, runs clean; and a run leaves nothing
in the folder it was started from but the reports (no `.hypothesis/`)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from chatcontract import specs, targets
from chatcontract.servers.serve import RunningServer, target_document
from chatcontract.targets import load_target, target_requirements
from tests.gate.conftest import command, said


@pytest.mark.parametrize("platform", specs.platforms())
def test_init_writes_a_commented_target_file_the_loader_accepts(tmp_path: Path, platform: str) -> None:
    done = command(tmp_path, "init", platform)
    assert done.returncode == 0, said(done)
    written = tmp_path / f"{platform}.target.yaml"
    target = load_target(written)  # the real loader: shape, x-target identities and fixtures
    assert target.api == platform
    text = " ".join(written.read_text().split())
    needs = target_requirements(platform)
    optional = set(needs.get("optional", []))
    for identity, purpose in needs["identities"].items():
        assert " ".join(str(purpose).split())[:40] in text  # what each identity is for
        assert (identity in target.credentials) == (identity not in optional)  # optional ones commented out
    for fixture, schema in needs["fixtures"].items():
        assert " ".join(schema["description"].split())[:40] in text
        assert (fixture in target.fixtures) == (fixture not in optional)


@pytest.mark.parametrize("platform", ["sendbird", "plugdj"])
def test_init_offers_env_credentials_headers_and_the_rate_limit_commented(
        tmp_path: Path, platform: str, monkeypatch: pytest.MonkeyPatch) -> None:
    done = command(tmp_path, "init", platform)
    assert done.returncode == 0, said(done)
    text = (tmp_path / f"{platform}.target.yaml").read_text()
    assert "${ENV_VAR}" in text and "$${" in text
    documented = targets.spec_rate_limits(platform)
    assert all(f"{op} {limit.per_s:g}/s" in " ".join(text.split()) for op, limit in documented.items())
    # Uncommented as written, the options load: the header from the environment, the rate limit.
    monkeypatch.setenv("GATEWAY_KEY", "gw-0123456789abcdef")
    opened = text.replace("# headers:", "headers:").replace("#   X-Gateway-Key:", "  X-Gateway-Key:")
    opened = opened.replace("# rate_limit_per_s: 10", "rate_limit_per_s: 10")
    assert opened.count("\nheaders:") == 1 and "\nrate_limit_per_s: 10" in opened
    (tmp_path / "opened.target.yaml").write_text(opened)
    target = load_target(tmp_path / "opened.target.yaml")
    assert target.headers == {"X-Gateway-Key": "gw-0123456789abcdef"} and target.secret_headers == {"X-Gateway-Key"}
    assert target.rate_limit_for("GET", "/anything").per_s == 10
    assert target.redacted()["headers"] == {"X-Gateway-Key": "<redacted>"}


def test_init_never_overwrites_a_file_without_force(tmp_path: Path) -> None:
    (tmp_path / "mine.yaml").write_text("api: plugdj\n")
    again = command(tmp_path, "init", "plugdj", "--out", "mine.yaml")
    assert again.returncode == 2 and "exists" in again.stderr and len(again.stderr.strip().splitlines()) == 1
    assert (tmp_path / "mine.yaml").read_text() == "api: plugdj\n"


def test_an_init_file_filled_in_runs_clean_and_leaves_no_hypothesis_folder(
        tmp_path: Path, faithful: RunningServer) -> None:
    work = tmp_path / "work"
    work.mkdir()
    done = command(work, "init", "plugdj", "--out", "ci/plugdj.target.yaml", "--base-url", faithful.base_url)
    assert done.returncode == 0, said(done)
    path = work / "ci" / "plugdj.target.yaml"
    document = yaml.safe_load(path.read_text())
    server = target_document("plugdj", faithful.base_url, test_hooks=True)
    document.update(credentials=server["credentials"], fixtures=server["fixtures"], capabilities=server["capabilities"])
    path.write_text(yaml.safe_dump(document))
    run = command(work, "run", "--target", "ci/plugdj.target.yaml", "--profile", "fast")
    assert run.returncode == 0, said(run)
    # (.benchmarks is pytest-benchmark's, a plugin some environments have and chatcontract does not use)
    assert sorted(p.name for p in work.iterdir() if p.name != ".benchmarks") == ["ci", "reports"]
    assert not (work / ".hypothesis").exists()


def test_plain_pytest_leaves_no_hypothesis_folder_either(tmp_path: Path, faithful: RunningServer) -> None:
    work = tmp_path / "work"
    work.mkdir()
    target = tmp_path / "lounge.target.yaml"
    target.write_text(yaml.safe_dump(target_document("plugdj", faithful.base_url, test_hooks=True)))
    done = command(work, "pytest", "--target", str(target), "--profile", "fast", "--layer", "semantics",
                   "-p", "no:cacheprovider")
    assert done.returncode == 0, said(done)
    assert not (work / ".hypothesis").exists()
