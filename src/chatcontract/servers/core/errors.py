"""The one exception a handler raises to answer with a vendor's own error status and body."""

from __future__ import annotations

from typing import Any


class VendorError(Exception):
    """An error response in the vendor's documented shape; the app renders it as JSON as-is."""

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body
        self.headers = headers or {}
