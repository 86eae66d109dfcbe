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


def problem(data: dict[str, Any], platform: str, name: str) -> str | None:
    """Why the vendor example `data` (of `platform`'s folder) does not hold, or None."""
    if platform not in specs.platforms():
        return f"{platform} is not a platform"
    source = data.get("source") or {}
    if not (fidelity.public_url(source.get("url")) and source.get("revision") and source.get("where")):
        return f"{name}: `source` needs a public url, a revision and where in it the example stands"
    if data.get("expect") not in ("accepted", "rejected"):
        return f"{name}: expect is accepted or rejected"
    if data["expect"] == "rejected" and not (isinstance(data.get("reason"), str) and data["reason"].strip()):
        return f"{name}: a rejected vendor example must say why (vendor bug, superseded generation...)"
    target = data.get("validates-against")
    if not isinstance(target, str) or not target:
        return f"{name}: no `validates-against`"
    try:
        fidelity.resolve(target)  # the schema it names exists
    except LookupError as exc:
        return f"{name}: {exc}"
    if data.get("example-empty-body"):
        if "example" in data:
            return f"{name}: an empty-body example carries no `example`"
        platform_of, operation_id, status = _response_of(target)
        accepted = decisions.empty_body_accepted(platform_of, operation_id, status)
        verdict = f"a zero-length {status} from {operation_id} is {'accepted' if accepted else 'rejected'}"
    else:
        if "example" not in data:
            return f"{name}: no `example` (or `example-empty-body: true`)"
        file, _, pointer = target.partition("#")
        validator = specs.validator_at(specs.data_root() / file, pointer)
        errors = [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
                  for e in validator.iter_errors(data["example"])]
        accepted = not errors
        verdict = "accepted" if accepted else "rejected: " + "; ".join(errors)[:600]
    if ("accepted" if accepted else "rejected") != data["expect"]:
        return f"{name}: expected {data['expect']}, our spec says {verdict}"
    return None


@pytest.mark.parametrize("path", FILES, ids=[f"{p.parent.name}/{p.stem}" for p in FILES])
def test_vendor_example(path: Path) -> None:
    assert problem(_load(path), path.parent.name, path.name) is None


UNBLOCK_200 = ("specs/sendbird.yaml#/paths/~1v3~1users~1{user_id}~1block~1{target_id}/delete/responses/200"
               "/content/application~1json/schema")
LIST_200 = "specs/sendbird.yaml#/paths/~1v3~1users~1{user_id}~1block/get/responses/200/content/application~1json/schema"
SOURCE = {"url": "https://example.com/doc", "revision": "2026-12-01", "where": "a page"}


@pytest.mark.parametrize("data, complaint", [
    ({"validates-against": LIST_200, "example": {"users": "x"}, "expect": "rejected"}, "must say why"),
    ({"validates-against": LIST_200, "example": {"users": "x"}, "expect": "accepted"}, "our spec says rejected"),
    ({"validates-against": LIST_200, "example": {"users": [], "next": ""}, "expect": "rejected", "reason": "r"},
     "our spec says accepted"),
    ({"validates-against": LIST_200, "example-empty-body": True, "expect": "accepted"}, "is rejected"),
    ({"validates-against": UNBLOCK_200, "example-empty-body": True, "expect": "rejected", "reason": "r"}, "is accepted"),
    ({"validates-against": "schemas/sendbird/nosuch.schema.json", "example": {}, "expect": "accepted"}, "no file"),
    ({"validates-against": LIST_200, "example": {}, "expect": "accepted", "source": {"url": "file:///x"}}, "public url"),
])
def test_a_wrong_expectation_is_named(data: dict, complaint: str) -> None:
    found = problem({"source": SOURCE, **data}, "sendbird", "made-up.yaml")
    assert found is not None and complaint in found, found
