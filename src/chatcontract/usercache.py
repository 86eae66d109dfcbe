"""Where chatcontract keeps what it remembers between runs: the user's cache folder
(`$XDG_CACHE_HOME/chatcontract`, else `~/.cache/chatcontract`), never the folder a run starts in."""

from __future__ import annotations

import os
from pathlib import Path


def folder(*parts: str) -> Path:
    """`<cache>/chatcontract/<parts...>` (not created here). RuntimeError when there is no home
    folder to be found and no XDG_CACHE_HOME."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache", "chatcontract", *parts)
