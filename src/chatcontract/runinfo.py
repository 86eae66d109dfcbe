"""What a results file says about the run that made it, so runs can be merged and compared.

`spec_fingerprint()` is a digest of every spec (`specs/<platform>.yaml`) and schema file (their
bytes, in path order): two shards of one run must carry the same one, and `chatcontract diff` says when two
runs checked against different specs.
"""

from __future__ import annotations

import hashlib
from functools import cache

from chatcontract import __version__, specs


@cache
def spec_fingerprint() -> str:
    digest = hashlib.sha256()
    root = specs.data_root()
    files = [*specs.specs_dir().glob("*.yaml"), *specs.schemas_dir().rglob("*.json")]
    for path in sorted(files):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def run_info() -> dict[str, str]:
    """The fields every results.json carries about its run."""
    return {"version": __version__, "spec_fingerprint": spec_fingerprint()}
