"""Seed data: the users, rooms, roles and credentials each reference server starts from.

Each platform keeps its seed as `servers/<platform>/seed.yaml` with at least:

    identities:            # who can call the server; each one is a target-file identity
      <name>:
        credentials: {<securityScheme name from the spec>: <value>, ...}
        ...                # platform-specific: the user id the credentials belong to, role...
    fixtures: {...}        # ids a suite needs (rooms, users, chat room, org/app names...)
    ...                    # anything else the platform's state loads

The `credentials` keys are the names of the spec's `components.securitySchemes`, so the suite can
apply them from the spec alone.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

from chatcontract import inputs

SERVERS_DIR = Path(__file__).resolve().parents[1]


def seed_path(platform: str) -> Path:
    return SERVERS_DIR / platform / "seed.yaml"


def load_seed(platform: str, path: Path | None = None) -> dict[str, Any]:
    """A fresh deep copy of the platform's seed data (callers may mutate it)."""
    path = Path(path or seed_path(platform))
    stat = path.stat()
    return copy.deepcopy(_parsed(path, stat.st_mtime_ns, stat.st_size))


@functools.cache
def _parsed(path: Path, mtime_ns: int, size: int) -> dict[str, Any]:
    """The seed file, parsed once per version of it (load_seed hands out copies). A seed is the
    package's own file or one a test writes: trusted, so inputs.py parses it with libyaml."""
    return inputs.parse_yaml(path.read_text(encoding="utf-8"), str(path), trusted=True)


def target_profile(seed: dict[str, Any]) -> dict[str, Any]:
    """The part of a target file the seed determines: named credentials and fixture ids."""
    return {
        "credentials": {name: dict(ident["credentials"]) for name, ident in seed["identities"].items()},
        "fixtures": copy.deepcopy(seed.get("fixtures", {})),
    }
