"""Redaction: every credential hidden from every text the suite shows, before it is cut, quoted or escaped.

One registry per process: each target loaded registers its credential values (`register`), and
`redact(text)` replaces each of them, in any form it can take on the way back from a target or
into a report, by `<redacted>`. `clip(text, limit)` is the one way to shorten a text for a
report: it redacts first, so a cut never leaves part of a secret behind.

The forms, per character of a secret (so mixed escaping is covered too): the character itself;
JSON escapes (`\\uXXXX` in either case, surrogate pairs, `\\/`, `\\"`, `\\\\`, `\\n`...);
percent-encoding of its UTF-8 bytes in either case, `+` for a space; HTML character references
(decimal, hex, named); shell quoting of `'` (`'"'"'`, `'\\''`) and Python-repr/backslash escapes.
Base64 (HTTP Basic, debug pages) is matched whole at each of its three alignments, so the secret
is found inside the base64 of a longer text (`user:secret`, `Bearer secret`).

`printable(text)` is every text as it may be shown anywhere (terminal, XML, Markdown): redacted,
control and invisible characters written as escapes, so a target cannot drive a terminal.

Written by hand: no library redacts a value under arbitrary mixed escaping.
"""

from __future__ import annotations

import base64
import html.entities
import re
import threading
import unicodedata
from functools import lru_cache
from typing import Any, Iterable

REDACTED = "<redacted>"
MIN_BASE64_FRAGMENT = 8  # shorter base64 fragments would hide unrelated text
# A value this short cannot be hidden without hiding the letters of every report (no issued
# credential of these APIs is that short; user ids and tokens are 16+ characters).
MIN_SECRET_CHARS = 4

_secrets: set[str] = set()
_lock = threading.Lock()
_NAMED = {chr(code): name for code, name in html.entities.codepoint2name.items()}
_JSON_SHORT = {'"': '\\"', "\\": "\\\\", "/": "\\/", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def register(secrets: Iterable[str]) -> None:
    """Hide these values from every later `redact` (values shorter than MIN_SECRET_CHARS are not
    hidden: see there)."""
    new = {str(s) for s in secrets if len(str(s)) >= MIN_SECRET_CHARS}
    with _lock:
        if new <= _secrets:
            return
        _secrets.update(new)
    _patterns.cache_clear()


def _hex(value: str) -> str:
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else c for c in value)


def _char(c: str) -> str:
    """A regex matching one character of a secret in any of its forms."""
    forms = [re.escape(c)]
    code = ord(c)
    if code > 0xFFFF:  # JSON writes it as a surrogate pair
        high, low = 0xD800 + ((code - 0x10000) >> 10), 0xDC00 + ((code - 0x10000) & 0x3FF)
        forms.append(rf"\\u{_hex(f'{high:04x}')}\\u{_hex(f'{low:04x}')}")
    else:
        forms.append(rf"\\u{_hex(f'{code:04x}')}")
    if c in _JSON_SHORT:
        forms.append(re.escape(_JSON_SHORT[c]))
    forms.append(re.escape("\\" + c))  # a backslash escape (Python repr of a quote, shells)
    forms.append("".join(f"%{_hex(f'{b:02x}')}" for b in c.encode()))
    if c == " ":
        forms.append(r"\+")
    if c == "'":
        forms += [re.escape("'\"'\"'"), re.escape("'\\''")]  # shell quoting (shlex, schemathesis' curl)
    forms.append(f"&#0*{code};")
    forms.append(f"&#[xX]0*{_hex(f'{code:x}')};")
    if c in _NAMED:
        forms.append(f"&{_NAMED[c]};")
    if c == "'":
        forms.append("&apos;")
    return "(?:" + "|".join(forms) + ")"


def base64_fragments(secret: str) -> list[str]:
    """The base64 characters that depend on `secret` alone, at each of the three alignments it can
    have inside a longer encoded text, in the standard and URL-safe alphabets."""
    raw = secret.encode()
    found = []
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + raw).decode()
        start, end = -(-8 * offset // 6), 8 * (offset + len(raw)) // 6
        for fragment in (encoded[start:end], encoded[start:end].replace("+", "-").replace("/", "_")):
            if len(fragment) >= MIN_BASE64_FRAGMENT:
                found.append(fragment)
    return list(dict.fromkeys(found))


@lru_cache(maxsize=1)
def _patterns() -> tuple[list[re.Pattern[str]], list[str]]:
    """One pattern per secret, longest first (a pattern each is several times faster than one
    alternation of all: each gets re's first-character scan), and the base64 fragments, matched
    as plain substrings."""
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    fragments = sorted({f for s in secrets for f in base64_fragments(s)}, key=len, reverse=True)
    return [re.compile("".join(_char(c) for c in s)) for s in secrets], fragments


def redact(text: str) -> str:
    """`text` with every registered secret, in every form, replaced by `<redacted>`."""
    if not text:
        return text
    patterns, fragments = _patterns()
    for pattern in patterns:
        text = pattern.sub(REDACTED, text)
    for fragment in fragments:
        if fragment in text:
            text = text.replace(fragment, REDACTED)
    return text


def clip(text: str, limit: int) -> str:
    """`text` redacted, on one line, then cut to `limit` characters (with `…` when cut)."""
    flat = " ".join(redact(text).split())
    return flat if len(flat) <= limit else flat[:limit] + "…"


_UNSAFE = ("Cc", "Cf", "Cs", "Co", "Cn")  # control, format (bidi overrides), surrogate, private, unassigned


def printable(text: Any, *, keep_newlines: bool = False) -> str:
    r"""`text` redacted, with every control or invisible character written as an escape (`\x1b`,
    `\u202e`): fit for a terminal, XML and Markdown. Newlines are kept only where asked."""
    def escaped(c: str) -> str:
        if keep_newlines and c == "\n":
            return c
        if unicodedata.category(c) not in _UNSAFE:
            return c
        code = ord(c)
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"
    return "".join(escaped(c) for c in redact(str(text)))
