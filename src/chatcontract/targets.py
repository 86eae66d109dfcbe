"""Target files: load, check and redact the description of a system under test.

A target file (YAML) names the platform (`api`), its `base_url`, named `credentials`, the
`fixtures` (ids that exist on it) and optional `capabilities`. Its general shape is
`schemas/chatcontract/target.schema.json`; which identities and fixtures a platform needs is the
spec's `x-target`. Every problem is reported as one line (`TargetError`), never a traceback; a
spec whose `x-target` cannot be used is a `specs.SpecError`, also one line.

Redaction hides each credential in the forms it can take on the way out: as written, URL-encoded
(query strings, cookies), JSON-escaped (a body quoted in a report) and base64 (HTTP Basic).
"""

from __future__ import annotations

import base64
import copy
import ipaddress
import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus, urlsplit

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError, best_match

from chatcontract import specs

ANONYMOUS = "anonymous"
REDACTED = "<redacted>"
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

    @cached_property
    def _redacted_forms(self) -> list[str]:
        """Every secret in every encoded form, longest first; built once (redact runs per report line)."""
        forms = {form for secret in self.secrets() for form in encoded_forms(secret)}
        return sorted(forms, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for form in self._redacted_forms:
            text = text.replace(form, REDACTED)
        return text

    def redacted(self) -> dict[str, Any]:
        """The target as a document fit for a report: every credential value replaced."""
        return {
            "name": self.name,
            "api": self.api,
            "base_url": self.base_url,
            "credentials": {who: {k: REDACTED for k in creds} for who, creds in self.credentials.items()},
            "fixtures": copy.deepcopy(self.fixtures),
            "capabilities": dict(self.capabilities),
            "disabled": list(self.disabled),
            "implements": sorted(self.implements) if self.implements is not None else None,
            "strict_http": dict(self.strict_http),
            "source": self.source,
        }


def encoded_forms(secret: str) -> list[str]:
    """`secret` as written and as it reads once URL-encoded, JSON-escaped or base64-encoded."""
    raw = secret.encode()
    forms = [secret, quote(secret, safe=""), quote(secret), quote_plus(secret), json.dumps(secret)[1:-1],
             json.dumps(secret, ensure_ascii=False)[1:-1]]
    for encoded in (base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()):
        forms += [encoded, encoded.rstrip("=")]
    return list(dict.fromkeys(f for f in forms if f))


def _validator() -> Draft202012Validator:
    schema = specs.read_document(specs.schemas_dir() / "chatcontract" / "target.schema.json")
    return Draft202012Validator(schema)


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
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # e.g. "Invalid IPv6 URL"
        raise TargetError(f"{where}: base_url {url!r} is not a valid URL ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetError(f"{where}: base_url {url!r} is not an http(s) URL with a host")
    try:
        parts.port
    except ValueError:
        raise TargetError(f"{where}: base_url {url!r} has an invalid port") from None
    if parts.username is not None or parts.password is not None:
        # Reports show the base URL; a credential in it would be shown too.
        raise TargetError(f"{where}: base_url must not carry a user or password (put credentials under `credentials:`)")
    return url.rstrip("/")


def from_document(document: Any, *, where: str, default_name: str, base_url: str | None = None) -> Target:
    if not isinstance(document, dict):
        raise TargetError(f"{where}: a target file must be a YAML mapping")
    error = best_match(_validator().iter_errors(document))
    if error is not None:
        raise TargetError(f"{where}: {_where(error)}: {error.message}")
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
    )


def load_target(path: Path, *, base_url: str | None = None) -> Target:
    """Read and check one target file; `base_url` overrides the file's."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise TargetError(f"{path}: cannot read the target file ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise TargetError(f"{path}: not UTF-8 text (byte offset {exc.start})") from None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark else ""
        raise TargetError(f"{path}: not valid YAML{at}") from None
    default_name = Path(path).name.removesuffix(".yaml").removesuffix(".yml").removesuffix(".target")
    return from_document(document, where=str(path), default_name=default_name, base_url=base_url)


def is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"
