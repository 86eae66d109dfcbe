"""Credentials that travel inside observed traffic, found so that no report ever shows them.

A recorded exchange carries the client's credentials whether or not a target file names them
(a browser export of a real session, a proxy in front of production). Every value that travels
where the platform's security schemes say a credential goes (an `apiKey` header, query
parameter or cookie; an `http` bearer token; the user and password of `http` basic) is
registered with `redaction.py` before anything about the exchange is written, and so are the
values of the headers that carry credentials in any HTTP API (`Authorization`,
`Proxy-Authorization`, `Cookie`, `Set-Cookie`). From then on `redaction.redact` hides each of
them in every escaping, as it hides a target file's.
"""

from __future__ import annotations

import base64
import binascii
from urllib.parse import parse_qsl, urlsplit

from chatcontract import redaction, specs
from chatcontract.traffic.exchange import Exchange

GENERIC = ("authorization", "proxy-authorization")


def _cookie_values(header: str) -> list[str]:
    values = []
    for part in header.split(";"):
        name, sep, value = part.strip().partition("=")
        if sep and value:
            values.append(value.strip().strip('"'))
    return values


def _auth_values(value: str) -> list[str]:
    """An Authorization header's value, its credential part, and a basic one decoded."""
    found = [value.strip()]
    scheme, _, rest = value.strip().partition(" ")
    if rest.strip():
        found.append(rest.strip())
    if scheme.lower() == "basic":
        try:
            user, _, password = base64.b64decode(rest.strip(), validate=True).decode("utf-8").partition(":")
            found += [user, password, f"{user}:{password}"]
        except (binascii.Error, UnicodeDecodeError, ValueError):
            pass
    return found


def credentials_in(platform: str | None, exchange: Exchange) -> list[str]:
    """Every credential value the exchange carries (see the module docstring)."""
    headers = [(k.lower(), v) for k, v in exchange.request_headers]
    query = parse_qsl(urlsplit(exchange.url).query, keep_blank_values=True)
    found: list[str] = []
    for name, value in headers:
        if name in GENERIC:
            found += _auth_values(value)
        elif name == "cookie":
            found += _cookie_values(value)
    for name, value in exchange.response_headers:
        if name.lower() == "set-cookie":
            found += _cookie_values(value.split(";", 1)[0])
    if platform:  # (an apiKey cookie is among the Cookie header's values above)
        for scheme in specs.security_schemes(platform).values():
            kind, where, key = scheme.get("type"), scheme.get("in"), str(scheme.get("name", "")).lower()
            if kind == "apiKey" and where == "header":
                found += [v for k, v in headers if k == key]
            elif kind == "apiKey" and where == "query":
                found += [v for k, v in query if k.lower() == key]
    return [v for v in dict.fromkeys(found) if v]


def register(platform: str | None, exchange: Exchange) -> None:
    """Hide every credential of the exchange from every later report (redaction.register)."""
    redaction.register(credentials_in(platform, exchange))


def presented(platform: str, exchange: Exchange) -> dict[str, str]:
    """The value of each of the platform's security schemes the request carries (scheme name ->
    value; an `http` scheme's credential part after the scheme word): what tells one caller from
    another, and what a target file's `credentials` name."""
    headers = [(k.lower(), v) for k, v in exchange.request_headers]
    query = parse_qsl(urlsplit(exchange.url).query, keep_blank_values=True)
    cookies = dict(part.strip().partition("=")[::2] for k, v in headers if k == "cookie" for part in v.split(";"))
    found: dict[str, str] = {}
    for name, scheme in specs.security_schemes(platform).items():
        kind, where, key = scheme.get("type"), scheme.get("in"), str(scheme.get("name", ""))
        if kind == "apiKey" and where == "header":
            value = next((v for k, v in headers if k == key.lower()), "")
        elif kind == "apiKey" and where == "query":
            value = next((v for k, v in query if k == key), "")
        elif kind == "apiKey" and where == "cookie":
            value = cookies.get(key, "").strip().strip('"')
        elif kind == "http":
            value = next((v.strip().partition(" ")[2].strip() for k, v in headers if k == "authorization"), "")
        else:
            value = ""
        if value:
            found[str(name)] = value
    return found
