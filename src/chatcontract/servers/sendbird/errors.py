"""Sendbird error bodies: `{"message", "code", "error": true}`, sent with HTTP 400 or 500.

"All errors return a 400 or 500 HTTP response" ([SB-err]; decision 30): a 4xxxxx
code (including 400401 for the API token and 403100) goes out with 400, a 5xxxxx code with 500.
The messages are the spec's own error examples (wording is not contract, §6.32), so they are
read from `specs/sendbird.yaml` rather than restated; only routing's 400404 has none there.
Routing errors: an unknown URL is 400 / 400404 InvalidRequestURL and a crash 500 / 500901, by
that rule; a method the path does not serve is the one exception, HTTP 405 with `Allow` (RFC 9110;
no Sendbird source says otherwise) and the 400404 envelope, as no Sendbird code is documented for it.
"""

from __future__ import annotations

from functools import cache

from chatcontract import specs
from chatcontract.servers.core.errors import VendorError
from chatcontract.servers.sendbird.state import Code

_NOT_IN_SPEC = {Code.INVALID_REQUEST_URL: "The request URL is invalid.",
                Code.RESOURCE_ALREADY_EXISTS: "The resource already exists."}  # tolerated variant only


@cache
def _spec_examples() -> dict[str, dict]:
    """Every error example of the spec by name (e.g. `apiTokenMissing`), plus one per code."""
    found: dict[str, dict] = {}
    for op in specs.operations("sendbird"):
        for status, response in op.responses.items():
            if not specs.is_error_status(status):
                continue
            for name, example in response["content"]["application/json"].get("examples", {}).items():
                value = example["value"]
                found.setdefault(name, value)
                found.setdefault(str(value["code"]), value)
    return found


def message(code: Code) -> str:
    example = _spec_examples().get(str(int(code)))
    return example["message"] if example else _NOT_IN_SPEC[code]


def error(code: Code, text: str | None = None) -> VendorError:
    status = 500 if code >= 500000 else 400
    return VendorError(status, {"message": text or message(code), "code": int(code), "error": True})


def auth_error(missing: bool) -> VendorError:
    """400401 for a missing or a wrong `Api-Token`, with the spec's wording for each."""
    return error(Code.INVALID_API_TOKEN, _spec_examples()["apiTokenMissing" if missing else "apiTokenInvalid"]["message"])


def http_error(status: int) -> VendorError:
    if status == 405:
        return VendorError(405, error(Code.INVALID_REQUEST_URL).body)
    return error(Code.INTERNAL_ERROR if status >= 500 else Code.INVALID_REQUEST_URL)
