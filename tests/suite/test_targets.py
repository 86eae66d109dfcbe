"""Target files: every configuration mistake is one line naming the file and the problem."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from chatcontract.servers.core.seed import load_seed, target_profile
from chatcontract.targets import REDACTED, TargetError, load_target


def _valid() -> dict:
    return {"api": "plugdj", "base_url": "http://127.0.0.1:9", **target_profile(load_seed("plugdj"))}


def _write(tmp_path: Path, document) -> Path:
    path = tmp_path / "t.target.yaml"
    path.write_text(document if isinstance(document, str) else yaml.safe_dump(document))
    return path


def test_a_complete_target_loads_with_its_file_name(tmp_path: Path) -> None:
    target = load_target(_write(tmp_path, _valid()))
    assert target.name == "t" and target.api == "plugdj" and target.base_url == "http://127.0.0.1:9"


def _without(key: str) -> dict:
    doc = _valid()
    del doc[key]
    return doc


def _edit(path: list, value) -> dict:
    doc = _valid()
    node = doc
    for key in path[:-1]:
        node = node[key]
    if value is KeyError:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return doc


@pytest.mark.parametrize("document, message", [
    (_without("base_url"), "'base_url' is a required property"),
    (_without("credentials"), "'credentials' is a required property"),
    (_edit(["colour"], "blue"), "Additional properties are not allowed ('colour' was unexpected)"),
    (_edit(["api"], "matrix"), "unknown api 'matrix'"),
    (_edit(["base_url"], "ftp://127.0.0.1"), "has the scheme 'ftp'; chatcontract speaks http and https"),
    (_edit(["base_url"], "http://127.0.0.1:99999"), "has an invalid port"),
    (_edit(["credentials", "member"], KeyError), "credentials.member is missing"),
    (_edit(["credentials", "moderator"], {"cookie": "x"}), "credentials.moderator.session is missing"),
    (_edit(["fixtures", "unknown_user"], KeyError), "fixtures.unknown_user is missing"),
    (_edit(["fixtures", "mutable_users"], [1, 2]), "fixtures.mutable_users: [1, 2] is too short"),
    ("api: [unclosed", "not valid YAML at line 1"),
    ("- just\n- a list\n", "a target file must be a YAML mapping"),
])
def test_bad_target_files_fail_in_one_line(tmp_path: Path, document, message: str) -> None:
    path = _write(tmp_path, document)
    with pytest.raises(TargetError) as caught:
        load_target(path)
    text = str(caught.value)
    assert message in text and str(path) in text and "\n" not in text


def test_a_missing_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(TargetError, match=r"cannot read the target file"):
        load_target(tmp_path / "absent.yaml")


def test_base_url_override_is_checked_too(tmp_path: Path) -> None:
    path = _write(tmp_path, _valid())
    assert load_target(path, base_url="http://127.0.0.1:7/").base_url == "http://127.0.0.1:7"
    with pytest.raises(TargetError, match="has no scheme: write it as http://127.0.0.1:7 or https://127.0.0.1:7"):
        load_target(path, base_url="127.0.0.1:7")


def test_redaction_hides_every_credential(tmp_path: Path) -> None:
    target = load_target(_write(tmp_path, _valid()))
    secrets = target.secrets()
    text = " ".join(f"Cookie: session={s}" for s in secrets)
    assert all(s not in target.redact(text) for s in secrets)
    assert all(v == REDACTED for creds in target.redacted()["credentials"].values() for v in creds.values())


@pytest.mark.parametrize("path", sorted(Path(__file__).resolve().parents[2].joinpath("examples", "targets").glob("*.target.yaml")),
                         ids=lambda p: p.name)
def test_every_example_target_file_loads(path: Path) -> None:
    target = load_target(path)
    assert target.api == path.name.split(".")[0] and target.can("reset")
