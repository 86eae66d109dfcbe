"""The vendors' own examples (`tests/specs/vendor-examples/<platform>/<name>.yaml`, one each) are
judged by our specs as the file says: `accepted` ones validate against the schema they name,
`rejected` ones do not and say why (a vendor bug, a superseded generation, a generator
placeholder, and the decision that records it). A documented zero-length body
(`example-empty-body: true`) must be what the spec's decisions accept for that response."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from chatcontract import decisions, fidelity, specs

HERE = Path(__file__).resolve().parent / "vendor-examples"
FILES = sorted(HERE.glob("*/*.yaml"))


def _load(path: Path) -> dict[str, Any]:
    data = specs.read_document(path)
    assert isinstance(data, dict), f"{path.name}: not a mapping"
    return data


def _response_of(target: str) -> tuple[str, str, int]:
    """(platform, operationId, status) of a `specs/<platform>.yaml#/paths/<p>/<method>/responses/<status>/...` target."""
    file, _, pointer = target.partition("#")
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
    assert file.startswith("specs/") and len(parts) >= 5 and parts[0] == "paths" and parts[3] == "responses", \
        f"an empty-body example must name a spec response (specs/<platform>.yaml#/paths/.../responses/<status>), not {target}"
    platform = Path(file).stem
    op = specs.load_spec(platform)["paths"][parts[1]][parts[2]]
    return platform, op["operationId"], int(parts[4])


def test_there_are_vendor_examples() -> None:
    assert {p.parent.name for p in FILES} >= {"rocketchat", "sendbird", "plugdj", "ozeki"}


@pytest.mark.parametrize("path", FILES, ids=[f"{p.parent.name}/{p.stem}" for p in FILES])
def test_vendor_example(path: Path) -> None:
    data = _load(path)
    assert path.parent.name in specs.platforms(), f"{path.parent.name} is not a platform"
    source = data.get("source") or {}
    assert fidelity.public_url(source.get("url")) and source.get("revision") and source.get("where"), \
        f"{path.name}: `source` needs a public url, a revision and where in it the example stands"
    assert data.get("expect") in ("accepted", "rejected"), f"{path.name}: expect is accepted or rejected"
    if data["expect"] == "rejected":
        assert isinstance(data.get("reason"), str) and data["reason"].strip(), \
            f"{path.name}: a rejected vendor example must say why (vendor bug, superseded generation...)"
    target = data.get("validates-against")
    assert isinstance(target, str) and target, f"{path.name}: no `validates-against`"
    fidelity.resolve(target)  # the schema it names exists
    if data.get("example-empty-body"):
        assert "example" not in data, f"{path.name}: an empty-body example carries no `example`"
        platform, operation_id, status = _response_of(target)
        accepted = decisions.empty_body_accepted(platform, operation_id, status)
        verdict = f"a zero-length {status} from {operation_id} is {'accepted' if accepted else 'rejected'}"
    else:
        assert "example" in data, f"{path.name}: no `example` (or `example-empty-body: true`)"
        file, _, pointer = target.partition("#")
        validator = specs.validator_at(specs.data_root() / file, pointer)
        errors = [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
                  for e in validator.iter_errors(data["example"])]
        accepted = not errors
        verdict = "accepted" if accepted else "rejected: " + "; ".join(errors)[:600]
    assert ("accepted" if accepted else "rejected") == data["expect"], \
        f"{path.name}: expected {data['expect']}, our spec says {verdict}"
