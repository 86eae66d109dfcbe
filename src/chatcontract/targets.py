"""Target files: load, check and redact the description of a system under test.

A target file (YAML) names the platform (`api`), its `base_url`, named `credentials`, the
`fixtures` (ids that exist on it), optional `capabilities` and `tls`. Its general shape is
`schemas/chatcontract/target.schema.json`; which identities and fixtures a platform needs is the
spec's `x-target`. Every problem is reported as one line (`TargetError`), in words, never a
traceback; a spec whose `x-target` cannot be used is a `specs.SpecError`, also one line. The file
is read through `inputs.py` (size cap, YAML without alias bombs).

Every credential of a loaded target is registered with `redaction.py` at once, so any later text
(and the target's own error messages) is redacted before it is shown.
"""

from __future__ import annotations

import copy
import ipaddress
import math
import re
import ssl
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlsplit

import httpx
from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import SchemaError, ValidationError, best_match

from chatcontract import inputs, redaction, specs
from chatcontract.redaction import REDACTED

ANONYMOUS = "anonymous"
DEFAULT_HOOKS_PATH = "/_chatcontract"
NOT_IMPLEMENTED = "not implemented by this target"  # how a check of an operation outside `implements` is skipped


class TargetError(Exception):
    """A target file that cannot be used; the message is one line naming the file and problem."""


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
    _ssl: ssl.SSLContext | None = field(default=None, compare=False)

    def ssl_context(self) -> ssl.SSLContext:
        """How to verify the target's certificate (and present a client one): the `tls` section
        over httpx's defaults. Built once (a context costs ~20 ms)."""
        if self._ssl is None:
            self._ssl = _ssl_context(self.tls, self.source)
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
        """Every credential value, longest first (so a secret containing another is hidden whole)."""
        values = {str(v) for ident in self.credentials.values() for v in ident.values() if str(v)}
        return sorted(values, key=len, reverse=True)

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
            "source": self.source,
        }


def _ssl_context(tls: dict[str, Any], where: str) -> ssl.SSLContext:
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
    schema = specs.read_document(specs.schemas_dir() / "chatcontract" / "target.schema.json")
    checker = validators.extend(Draft202012Validator, {"pattern": _ecma_pattern})
    return checker(schema)


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


def from_document(document: Any, *, where: str, default_name: str, base_url: str | None = None) -> Target:
    """A checked Target; every problem a TargetError whose message is redacted."""
    if isinstance(document, dict):
        _register_credentials(document)  # before anything could quote them
    try:
        return _from_document(document, where=where, default_name=default_name, base_url=base_url)
    except TargetError as exc:
        raise TargetError(redaction.redact(str(exc))) from None


def _from_document(document: Any, *, where: str, default_name: str, base_url: str | None = None) -> Target:
    if not isinstance(document, dict):
        raise TargetError(f"{where}: a target file must be a YAML mapping")
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
