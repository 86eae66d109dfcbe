"""What one conformance test checks: the target, the layer, the behaviour and the doc behind it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chatcontract import specs
from chatcontract.targets import Target


@dataclass
class Fact:
    """The documented fact a test checks: where in our spec, and the vendor page it came from."""

    spec_pointer: str  # e.g. specs/rocketchat.yaml#/paths/~1api~1v1~1chat.ignoreUser/get
    vendor_url: str
    summary: str

    @classmethod
    def of_operation(cls, op: specs.Operation, *more: str | int, summary: str = "") -> "Fact":
        return cls(
            spec_pointer=f"specs/{op.platform}.yaml#{op.json_pointer(*more)}",
            vendor_url=(op.definition.get("externalDocs") or {}).get("url", ""),
            summary=summary or op.definition.get("summary", ""),
        )

    def as_dict(self) -> dict[str, str]:
        return {"spec": self.spec_pointer, "vendor_doc": self.vendor_url, "summary": self.summary}


@dataclass
class Case:
    """One parametrized conformance test: `behaviour` is unique within the layer."""

    target: Target
    layer: str  # schema | errors | semantics
    behaviour: str
    fact: Fact
    payload: Any = None
    operation_id: str = ""
    matrix_row: str = ""  # the compatibility-matrix row this case counts towards
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def local_id(self) -> str:
        return f"{self.layer}::{self.behaviour}"

    @property
    def test_id(self) -> str:
        return f"{self.target.name}::{self.local_id}"
