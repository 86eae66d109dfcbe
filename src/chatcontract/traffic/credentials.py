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


def _cookie_pairs(header: str) -> list[tuple[str, str]]:
    """A Cookie header's (name, value) pairs, quotes taken off the values."""
    pairs = []
    for part in header.split(";"):
        name, sep, value = part.strip().partition("=")
        if sep and value:
            pairs.append((name.strip(), value.strip().strip('"')))
    return pairs


def _cookie_values(header: str) -> list[str]:
    return [value for _, value in _cookie_pairs(header)]


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
    found: list[str] = []
    for name, value in headers:
        if name in GENERIC:
            found += _auth_values(value)
        elif name == "cookie":
            found += _cookie_values(value)
    for name, value in exchange.response_headers:
        if name.lower() == "set-cookie":
            found += _cookie_values(value.split(";", 1)[0])
    if platform:
        found += [v for values in _scheme_values(platform, exchange).values() for v in values]
    return [v for v in dict.fromkeys(found) if v]


def register(platform: str | None, exchange: Exchange) -> None:
    """Hide every credential of the exchange from every later report (redaction.register)."""
    redaction.register(credentials_in(platform, exchange))


def _scheme_values(platform: str, exchange: Exchange) -> dict[str, list[str]]:
    """Every value the request carries where each of the platform's security schemes puts one
    (scheme name -> values; an `http` scheme's credential part after the scheme word)."""
    headers = [(k.lower(), v) for k, v in exchange.request_headers]
    query = parse_qsl(urlsplit(exchange.url).query, keep_blank_values=True)
    cookies = [pair for k, v in headers if k == "cookie" for pair in _cookie_pairs(v)]
    found: dict[str, list[str]] = {}
    for name, scheme in specs.security_schemes(platform).items():
        kind, where, key = scheme.get("type"), scheme.get("in"), str(scheme.get("name", ""))
        if kind == "apiKey" and where == "header":
            values = [v for k, v in headers if k == key.lower()]
        elif kind == "apiKey" and where == "query":
            values = [v for k, v in query if k.lower() == key.lower()]
        elif kind == "apiKey" and where == "cookie":
            values = [v for k, v in cookies if k == key]
        elif kind == "http":
            values = [v.strip().partition(" ")[2].strip() for k, v in headers if k == "authorization"]
        else:
            values = []
        found[str(name)] = [v for v in values if v]
    return found


def presented(platform: str, exchange: Exchange) -> dict[str, str]:
    """The value of each of the platform's security schemes the request carries (scheme name ->
    its first value): what tells one caller from another, and what a target file's
    `credentials` name."""
    return {name: values[0] for name, values in _scheme_values(platform, exchange).items() if values}
