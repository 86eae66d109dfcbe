"""The suite judged on servers it did not write: the clean-room implementations, a quick subset.

Every platform's clean-room server (`tests/independent/<platform>/`, written from the vendor docs
alone by authors who never saw the specs, the suite or the reference servers) must pass as it
is — no test hooks, `reset: false, clock: false` — and so must the partial Rocket.Chat server
that serves only `chat.ignoreUser` and `subscriptions.getOne`, with its ignore semantics still
checked. Then the first fault and the first tolerated variant of each catalog (the fault must be
caught, the tolerated variant must pass), and the variants a target file lists under `x-ci`
(those a spec reading names as its proof, such as Rocket.Chat's older generation). `bench/cleanroom.py` runs every variant and writes the
table README quotes.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "independent"))

import harness  # noqa: E402  (tests/independent/harness.py)


def _subset() -> list[harness.Variant]:
    chosen = []
    for platform in harness.PLATFORMS:
        variants = harness.catalog(platform)
        chosen.append(variants[0])  # the faithful server
        for kind in ("partial", "fault", "tolerated"):
            first = next((v for v in variants if v.kind == kind), None)
            if first is not None:
                chosen.append(first)
        also = harness.target_document(platform).get("x-ci", [])  # variants spec readings rely on
        chosen += [v for v in variants if v.name in also and v not in chosen]
    return chosen


@pytest.mark.parametrize("variant", _subset(), ids=lambda v: f"{v.platform}-{v.name}")
def test_cleanroom_verdict(variant: harness.Variant) -> None:
    verdict = harness.judge(variant)
    expected = "some check fails" if variant.kind == "fault" else "every check passes or skips"
    assert verdict.ok, (f"{variant.platform} {variant.name} ({variant.kind}: {variant.what}): expected "
                        f"{expected}; exit {verdict.exit_code}, failing {verdict.failed[:5]}, errors "
                        f"{verdict.errors[:5]}: {verdict.first_message}")
    if variant.kind == "partial":
        # Not implemented is a skip, never a pass, and what the server does serve is still judged.
        assert verdict.skipped_not_implemented > 0, "a partial server's missing operations must be reported as skipped"
        assert verdict.outcomes.get("semantics::state-machine") == "pass", (
            f"the semantics of the operations a partial server does implement must be checked: "
            f"{verdict.outcomes.get('semantics::state-machine')}")
