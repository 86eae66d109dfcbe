"""Target files: load, check and redact the description of a system under test.

A target file (YAML) names the platform (`api`), its `base_url`, named `credentials`, the
`fixtures` (ids that exist on it), optional `capabilities`, `tls`, extra `headers` and a request
rate limit (`rate_limit_per_s`). Its general shape is
`schemas/chatcontract/target.schema.json`; which identities and fixtures a platform needs is the
spec's `x-target`. Every problem is reported as one line (`TargetError`), in words, never a
traceback; a spec whose `x-target` cannot be used is a `specs.SpecError`, also one line. The file
is read through `inputs.py` (size cap, YAML without alias bombs).

Every credential of a loaded target is registered with `redaction.py` at once, so any later text
(and the target's own error messages) is redacted before it is shown.

A credential or header value may be `${NAME}`, or contain it: it is read from the environment
variable NAME when the file is loaded (`$${` writes a literal `${`), registered for redaction like
every credential, and kept only in the loaded Target: `redacted()` (the reports' echo of the
target) shows such a header as `<redacted>`, and nothing writes the file back.

`rate_limit_per_s` and the spec's `x-rate-limit` (specs/extensions.md) become `RateLimit`s: how
many requests a second the suite's clients send to the target (`Target.rate_limit_for`);
`suite/guarded.py` applies them.
"""

from __future__ import annotations

import copy
import ipaddress
import math
import os
import re
import ssl
import weakref
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlsplit

from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import SchemaError, ValidationError, best_match

from chatcontract import inputs, redaction, specs
from chatcontract.redaction import REDACTED

ANONYMOUS = "anonymous"
DEFAULT_HOOKS_PATH = "/_chatcontract"
NOT_IMPLEMENTED = "not implemented by this target"  # how a check of an operation outside `implements` is skipped


class TargetError(Exception):
    """A target file that cannot be used; the message is one line naming the file and problem."""


# Headers a target file may not set: HTTP's own framing and routing (httpx writes them from the
# request), and the codings guarded.py can bound (it asks for gzip and deflate only).
RESERVED_HEADERS = {"host": "names the server the request is for (it comes from base_url)",
                    "content-length": "is written from each request's body",
                    "transfer-encoding": "is written from each request's body",
                    "connection": "is managed by the HTTP client",
                    "accept-encoding": "is fixed to the codings chatcontract can bound (gzip, deflate)"}


@dataclass(frozen=True)
class RateLimit:
    """At most `per_s` requests a second in one count: `scope` is an operationId (each operation
    counted apart), or "*" for every request to the target together; `source` says where the
    number comes from, for messages."""

    per_s: float
    scope: str
    source: str


@dataclass(repr=False)
class Target:
    name: str
    api: str
    base_url: str
    credentials: dict[str, dict[str, str]]
    fixtures: dict[str, Any]
    capabilities: dict[str, Any] = field(default_factory=dict)
    disabled: list[str] = field(default_factory=list)
    request_timeout_s: float = 10.0
    source: str = "<built-in>"
    implements: frozenset[str] | None = None  # operationIds; None: every operation of the spec
    strict_http: dict[str, bool] = field(default_factory=dict)
    tls: dict[str, Any] = field(default_factory=dict)  # verify, ca_file, client_cert, client_key (paths resolved)
    headers: dict[str, str] = field(default_factory=dict)  # sent with every request (values resolved)
    secret_headers: frozenset[str] = frozenset()  # names of the headers whose value came from ${ENV}
    # operationId -> its limit; "*" (every request) when the target file gives rate_limit_per_s
    rate_limits: dict[str, RateLimit] = field(default_factory=dict)
    _ssl: ssl.SSLContext | None = field(default=None, compare=False)
    _routes: list[tuple[str, re.Pattern[str], str]] | None = field(default=None, compare=False)

    def ssl_context(self) -> ssl.SSLContext:
        """How to verify the target's certificate (and present a client one): the `tls` section
        over httpx's defaults. Built once (a context costs ~20 ms)."""
        if self._ssl is None:
            self._ssl = _ssl_context(self.tls, self.source)
            _CONTEXT_OWNERS[id(self._ssl)] = self
        return self._ssl

    def __repr__(self) -> str:
        # pytest prints test arguments on failure: never with the credentials in them.
        return f"Target(name={self.name!r}, api={self.api!r}, base_url={self.base_url!r}, credentials=<redacted>)"

    @property
    def hooks_path(self) -> str:
        return self.capabilities.get("hooks_path", DEFAULT_HOOKS_PATH)

    def can(self, capability: str) -> bool:
        return bool(self.capabilities.get(capability))

    def implemented(self, *operation_ids: str) -> bool:
        """Whether the target serves every one of these operations (its file's `implements`)."""
        return self.implements is None or all(op in self.implements for op in operation_ids)

    def strict(self, check: str) -> bool:
        """Whether the target file switched this generic HTTP check on (`strict_http`)."""
        return bool(self.strict_http.get(check))

    def secrets(self) -> list[str]:
        """Every credential value and every header value read from the environment, longest first
        (so a secret containing another is hidden whole)."""
        values = {str(v) for ident in self.credentials.values() for v in ident.values() if str(v)}
        values |= {self.headers[name] for name in self.secret_headers if self.headers[name]}
        return sorted(values, key=len, reverse=True)

    def rate_limit_for(self, method: str, url_path: str) -> RateLimit | None:
        """The limit a request to `url_path` (the URL's whole path) falls under: the target file's
        one for every request, else the spec's for the operation it calls; None for a request to
        the test hooks or to no operation of the spec (only a spec-wide limit counts those)."""
        if "*" in self.rate_limits:
            return self.rate_limits["*"]
        if not self.rate_limits:
            return None
        prefix = urlsplit(self.base_url).path.rstrip("/")
        path = url_path[len(prefix):] if url_path.startswith(prefix) else url_path
        if path.startswith(self.hooks_path.rstrip("/") + "/"):
            return None
        if self._routes is None:
            # Written by hand: a path template to a regex (each {name} one non-empty segment).
            self._routes = [(op.method.upper(), re.compile("^" + re.sub(r"\\\{[^/]*?\\\}", "[^/]+", re.escape(op.path)) + "/?$"),
                             op.operation_id) for op in specs.operations(self.api)]
        for route_method, pattern, operation_id in self._routes:
            if route_method == method.upper() and pattern.match(path) and operation_id in self.rate_limits:
                return self.rate_limits[operation_id]
        return None

    def redact(self, text: str) -> str:
        """`text` with every credential of every loaded target hidden, in every form (redaction.py)."""
        return redaction.redact(text)

    def redacted(self) -> dict[str, Any]:
        """The target as a document fit for a report: every credential value replaced."""
        return {
            "name": self.name,
            "api": self.api,
            "base_url": redaction.redact(self.base_url),
            "credentials": {who: {k: REDACTED for k in creds} for who, creds in self.credentials.items()},
            "fixtures": copy.deepcopy(self.fixtures),
            "capabilities": dict(self.capabilities),
            "disabled": list(self.disabled),
            "implements": sorted(self.implements) if self.implements is not None else None,
            "strict_http": dict(self.strict_http),
            "tls": dict(self.tls),
            # a header from ${ENV} is a secret like a credential; the others are shown as written
            "headers": {k: REDACTED if k in self.secret_headers else redaction.redact(v) for k, v in self.headers.items()},
            "rate_limits": {scope: {"per_s": limit.per_s, "source": limit.source} for scope, limit in self.rate_limits.items()},
            "source": self.source,
        }


# id(ssl_context()) -> its Target: a client built with a target's context is that target's client
# (guarded.py), whichever module built it. The context lives as long as its target does.
_CONTEXT_OWNERS: "weakref.WeakValueDictionary[int, Target]" = weakref.WeakValueDictionary()


def owner_of(context: Any) -> Target | None:
    """The loaded Target whose `ssl_context()` this is, or None."""
    found = _CONTEXT_OWNERS.get(id(context)) if isinstance(context, ssl.SSLContext) else None
    return found if found is not None and found._ssl is context else None


def _ssl_context(tls: dict[str, Any], where: str) -> ssl.SSLContext:
    import httpx  # here: a process that loads targets but sends nothing (the xdist controller) skips it

    try:
        context = httpx.create_ssl_context(verify=bool(tls.get("verify", True)))
        if tls.get("ca_file") and tls.get("verify", True):
            context.load_verify_locations(cafile=tls["ca_file"])
        if tls.get("client_cert"):
            context.load_cert_chain(tls["client_cert"], tls.get("client_key"))
    except (OSError, ssl.SSLError) as exc:
        raise TargetError(f"{where}: tls: cannot use the certificate files ({getattr(exc, 'strerror', None) or exc})") from None
    return context


def _ecma_pattern(validator: Any, pattern: str, instance: Any, schema: dict[str, Any]) -> Iterator[ValidationError]:
    """JSON Schema's `pattern` as ECMA-262 reads it: `$` is the end of the text. (Python's `$`
    also matches before a final newline, so `name: "prod\n"` would pass `^...$`.) Where the
    schema says in words what is expected (`x-expected`), the error says that, not the regex."""
    if not isinstance(instance, str):
        return
    if not re.search(re.sub(r"(?<!\\)\$", r"\\Z", pattern), instance):
        expected = schema.get("x-expected")
        yield ValidationError(f"{instance!r} is not {expected}" if expected else f"{instance!r} does not match {pattern!r}")


@cache
def _validator() -> Draft202012Validator:
    return checked_by(specs.read_document(specs.schemas_dir() / "chatcontract" / "target.schema.json"))


def _not_finite(value: Any, where: str = "") -> Iterator[str]:
    """Where in a document a number is NaN or infinite (YAML's .nan, .inf pass every range check)."""
    if isinstance(value, float) and not math.isfinite(value):
        yield where or "(top level)"
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _not_finite(item, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _not_finite(item, f"{where}.{index}")


def target_requirements(platform: str) -> dict[str, Any]:
    """The spec's `x-target`: identities, fixtures (JSON Schemas) and error-identity pointers."""
    spec = specs.load_spec(platform)
    found = spec.get("x-target") if isinstance(spec, dict) else None
    if not isinstance(found, dict) or not all(isinstance(found.get(k), dict) for k in ("identities", "fixtures")):
        raise specs.SpecError(f"specs/{platform}.yaml has no usable x-target (identities and fixtures, see "
                              f"specs/extensions.md); run `chatcontract check --api {platform}`")
    return found


def _where(error: Any) -> str:
    return "/".join(str(p) for p in error.absolute_path) or "(top level)"


def check_base_url(url: str, where: str) -> str:
    """The base URL without its trailing `/`; each problem said in words."""
    if any(c.isspace() or not c.isprintable() for c in url):
        raise TargetError(f"{where}: base_url {url!r} contains a space or control character")
    if "://" not in url:
        raise TargetError(f"{where}: base_url {url!r} has no scheme: write it as http://{url} or https://{url}")
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # e.g. "Invalid IPv6 URL"
        raise TargetError(f"{where}: base_url {url!r} is not a valid URL ({exc})") from None
    if parts.scheme not in ("http", "https"):
        raise TargetError(f"{where}: base_url {url!r} has the scheme {parts.scheme!r}; chatcontract speaks http and https")
    if not parts.hostname:
        raise TargetError(f"{where}: base_url {url!r} has no host name")
    if "?" in url or "#" in url:
        part = "a query (?...)" if "?" in url else "a fragment (#...)"
        raise TargetError(f"{where}: base_url {url!r} has {part}; each operation's path and query are "
                          "appended to the base URL, so it must end at its path")
    try:
        parts.port
    except ValueError:
        raise TargetError(f"{where}: base_url {url!r} has an invalid port") from None
    if parts.username is not None or parts.password is not None:
        # Reports show the base URL; a credential in it would be shown too.
        raise TargetError(f"{where}: base_url must not carry a user or password (put credentials under `credentials:`)")
    return url.rstrip("/")


def _register_credentials(document: dict[str, Any]) -> None:
    credentials = document.get("credentials")
    if isinstance(credentials, dict):
        redaction.register(str(v) for creds in credentials.values() if isinstance(creds, dict)
                           for v in creds.values() if isinstance(v, (str, int)) and not isinstance(v, bool))


# `$${` (a literal `${`), `${NAME}` (an environment variable), or any other `${` (a mistake).
# Written by hand: string.Template and os.path.expandvars also replace a bare `$name`, which a
# plain password may contain, and expandvars leaves an unset variable in place without a word.
_ENV_REFERENCE = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$\{")


def _from_environment(value: Any, key: str, where: str) -> tuple[Any, bool]:
    """`value` with each `${NAME}` replaced by the environment variable NAME, and whether one was."""
    if not isinstance(value, str) or "${" not in value:
        return value, False
    used = False

    def replace(match: re.Match[str]) -> str:
        nonlocal used
        if match.group(0) == "$${":
            return "${"
        name = match.group(1)
        if name is None:
            raise TargetError(f"{where}: {key}: `${{` starts no ${{NAME}} reference (an environment variable "
                              "name of letters, digits and _); write $${ for a literal ${")
        if name not in os.environ:
            raise TargetError(f"{where}: {key}: the environment variable {name} is not set")
        if not os.environ[name]:
            raise TargetError(f"{where}: {key}: the environment variable {name} is empty")
        used = True
        return os.environ[name]

    return _ENV_REFERENCE.sub(replace, value), used


def _resolve_environment(document: dict[str, Any], where: str) -> tuple[dict[str, Any], frozenset[str]]:
    """The document with `${NAME}` read from the environment in every credentials and headers
    value (the caller's document is not changed), and the names of the headers that used one."""
    document = dict(document)
    credentials = document.get("credentials")
    if isinstance(credentials, dict):
        document["credentials"] = {
            who: {scheme: _from_environment(v, f"credentials.{who}.{scheme}", where)[0] for scheme, v in creds.items()}
            if isinstance(creds, dict) else creds
            for who, creds in credentials.items()}
    secret: set[str] = set()
    headers = document.get("headers")
    if isinstance(headers, dict):
        resolved = {}
        for name, value in headers.items():
            resolved[name], used = _from_environment(value, f"headers.{name}", where)
            if used:
                secret.add(str(name))
        document["headers"] = resolved
        redaction.register(str(resolved[name]) for name in secret)
    return document, frozenset(secret)


def from_document(document: Any, *, where: str, default_name: str, base_url: str | None = None) -> Target:
    """A checked Target; every problem a TargetError whose message is redacted."""
    try:
        secret_headers: frozenset[str] = frozenset()
        if isinstance(document, dict):
            document, secret_headers = _resolve_environment(document, where)
            _register_credentials(document)  # before anything could quote them
        return _from_document(document, where=where, default_name=default_name, base_url=base_url,
                              secret_headers=secret_headers)
    except TargetError as exc:
        raise TargetError(redaction.redact(str(exc))) from None


def checked_by(schema: dict[str, Any]) -> Draft202012Validator:
    """A validator of `schema` that reads `pattern` as ECMA-262 does and says `x-expected` in words."""
    return validators.extend(Draft202012Validator, {"pattern": _ecma_pattern})(schema)


def credential_headers(api: str) -> dict[str, str]:
    """Lower-cased header name -> the securityScheme that carries a credential in it."""
    found = {}
    for name, scheme in specs.security_schemes(api).items():
        if scheme.get("type") == "http" or scheme.get("type") in ("oauth2", "openIdConnect"):
            found["authorization"] = name
        elif scheme.get("type") == "apiKey" and scheme.get("in") == "header":
            found[str(scheme.get("name", "")).lower()] = name
        elif scheme.get("type") == "apiKey" and scheme.get("in") == "cookie":
            found["cookie"] = name
    return found


def _headers(headers: dict[str, Any], api: str, where: str) -> dict[str, str]:
    """The target file's extra headers, checked: none may carry what a security scheme or HTTP
    itself sets, no value may break the header's line."""
    carriers = credential_headers(api)
    checked: dict[str, str] = {}
    for name, value in headers.items():
        lower = name.lower()
        if lower in carriers:
            raise TargetError(f"{where}: headers.{name}: this header carries the {carriers[lower]!r} credential "
                              f"(securityScheme of specs/{api}.yaml); give it under credentials: for each identity")
        if lower in RESERVED_HEADERS:
            raise TargetError(f"{where}: headers.{name}: cannot be set in a target file: {name} {RESERVED_HEADERS[lower]}")
        if lower in {k.lower() for k in checked}:
            raise TargetError(f"{where}: headers.{name}: given twice (header names are case-insensitive)")
        text = str(value)
        if any(c in "\r\n\0" or (not c.isprintable() and c != "\t") for c in text):
            raise TargetError(f"{where}: headers.{name}: the value contains a line break or control character")
        checked[name] = text
    return checked


def _rate_limits(document: dict[str, Any], api: str, url: str, where: str) -> dict[str, RateLimit]:
    """The target file's `rate_limit_per_s` (one count for every request), else the spec's
    `x-rate-limit` (at the root: every operation, each counted apart; at an operation: its own).
    The documented limits are the vendor service's: a target on loopback (a reference server, a
    local mock) is not held to them unless its file says so."""
    if "rate_limit_per_s" in document:
        given = document["rate_limit_per_s"]
        return {} if given is False else {"*": RateLimit(float(given), "*", f"rate_limit_per_s in {where}")}
    return {} if is_loopback(url) else spec_rate_limits(api)


def spec_rate_limits(api: str) -> dict[str, RateLimit]:
    """operationId -> the limit the spec documents for it (`x-rate-limit`, specs/extensions.md)."""
    spec = specs.load_spec(api)
    root = spec.get("x-rate-limit") if isinstance(spec, dict) else None
    limits = {}
    for op in specs.operations(api):
        own = op.definition.get("x-rate-limit")
        entry = own if isinstance(own, dict) else root if isinstance(root, dict) else None
        if entry is None or not isinstance(entry.get("calls_per_second"), (int, float)):
            continue
        scope = "*" if entry is root and entry.get("per") == "api" else op.operation_id
        sources = " ".join(entry.get("sources", []))
        limits[op.operation_id] = RateLimit(float(entry["calls_per_second"]), scope,
                                            f"x-rate-limit of specs/{api}.yaml {sources}".strip())
    return limits


def _from_document(document: Any, *, where: str, default_name: str, base_url: str | None = None,
                   secret_headers: frozenset[str] = frozenset()) -> Target:
    if not isinstance(document, dict):
        raise TargetError(f"{where}: a target file must be a YAML mapping")
    extra = document
    if isinstance(document.get("base_url"), str) and base_url is None:
        check_base_url(document["base_url"], where)  # its problems in words, not as a regex
    error = best_match(_validator().iter_errors(document))
    if error is not None:
        raise TargetError(f"{where}: {_where(error)}: {error.message}")
    for at in _not_finite(document):
        raise TargetError(f"{where}: {at}: not a finite number (.nan and .inf are not allowed)")
    api = document["api"]
    if api not in specs.platforms():
        raise TargetError(f"{where}: unknown api {api!r} (known: {', '.join(specs.platforms())})")
    needs = target_requirements(api)
    schemes = specs.security_scheme_names(api)
    optional = set(needs.get("optional", []))
    for identity in needs["identities"]:
        creds = document["credentials"].get(identity)
        if creds is None and identity in optional:
            continue
        if creds is None:
            raise TargetError(f"{where}: credentials.{identity} is missing ({needs['identities'][identity]})")
        for scheme in schemes:
            if scheme not in creds:
                raise TargetError(f"{where}: credentials.{identity}.{scheme} is missing (securityScheme {scheme!r})")
    for name, schema in needs["fixtures"].items():
        if name not in document["fixtures"] and name in optional:
            continue
        if name not in document["fixtures"]:
            description = schema.get("description", "see x-target in the spec") if isinstance(schema, dict) else ""
            raise TargetError(f"{where}: fixtures.{name} is missing ({description})")
        try:
            problem = best_match(Draft202012Validator(schema).iter_errors(document["fixtures"][name]))
        except (SchemaError, TypeError, AttributeError, LookupError) as exc:
            raise specs.SpecError(f"specs/{api}.yaml: x-target.fixtures.{name} is not a usable JSON Schema "
                                  f"({type(exc).__name__})") from None
        if problem is not None:
            raise TargetError(f"{where}: fixtures.{name}: {problem.message}")
    known_operations = [op.operation_id for op in specs.operations(api)]
    for operation_id in document.get("implements", []):
        if operation_id not in known_operations:
            raise TargetError(f"{where}: implements: {operation_id!r} is no operation of specs/{api}.yaml "
                              f"(known: {', '.join(known_operations)})")
    url = check_base_url(base_url or document["base_url"], where)
    return Target(
        name=document.get("name", default_name),
        api=api,
        base_url=url,
        credentials={who: {k: str(v) for k, v in creds.items()} for who, creds in document["credentials"].items()},
        fixtures=document["fixtures"],
        capabilities=document.get("capabilities", {}),
        disabled=list(document.get("disabled", [])),
        request_timeout_s=float(document.get("request_timeout_s", 10.0)),
        source=where,
        implements=frozenset(document["implements"]) if "implements" in document else None,
        strict_http=dict(document.get("strict_http", {})),
        tls=_tls_paths(document.get("tls", {}), where),
        headers=_headers(extra.get("headers", {}), api, where),
        secret_headers=secret_headers,
        rate_limits=_rate_limits(extra, api, url, where),
    )


def _tls_paths(tls: dict[str, Any], where: str) -> dict[str, Any]:
    """The `tls` section with its file paths resolved against the target file's folder, checked
    by building the context once (a missing or bad file is one line at load time)."""
    folder = Path(where).parent if Path(where).is_file() else Path.cwd()
    resolved = {k: str((folder / v).resolve()) if k != "verify" else v for k, v in tls.items()}
    if resolved:
        _ssl_context(resolved, where)
    return resolved


def load_target(path: Path, *, base_url: str | None = None) -> Target:
    """Read and check one target file; `base_url` overrides the file's. A file read once in this
    process (`chatcontract run` checks it, then the suite loads it) is not parsed again unless
    it changed."""
    try:
        stat = Path(path).stat()
    except OSError:
        return _load_target(path, base_url, None)
    return _load_target(path, base_url, (str(Path(path).resolve()), stat.st_mtime_ns, stat.st_size))


@cache
def _load_target_cached(path: Path, base_url: str | None, _identity: tuple[str, int, int]) -> Target:
    return _load_target(path, base_url, None)


def _load_target(path: Path, base_url: str | None, identity: tuple[str, int, int] | None) -> Target:
    if identity is not None:
        return _load_target_cached(path, base_url, identity)
    try:
        document = inputs.parse_yaml(inputs.read_text(path, "the target file"), str(path))
    except inputs.InputError as exc:
        raise TargetError(str(exc)) from None
    default_name = Path(path).name.removesuffix(".yaml").removesuffix(".yml").removesuffix(".target")
    return from_document(document, where=str(path), default_name=default_name, base_url=base_url)


def is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"
