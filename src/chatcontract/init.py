"""`chatcontract init PLATFORM`: a commented target file to fill in, written from the spec.

Everything in it is read from data: the identities and fixtures (and which are optional) from the
spec's `x-target`, the credential slots from its securitySchemes, the other keys' meanings from
`schemas/chatcontract/target.schema.json`. Each value is a placeholder of the right shape (so the
file loads as it is written, and `chatcontract run` says what it finds there), and every line
says what it is for. Optional identities and fixtures are written commented out.

Written by hand: no library writes a commented YAML document from a JSON Schema. Placeholder
strings that must match a `pattern` come from hypothesis' `from_regex`, shrunk to the simplest
match (deterministic).
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Any

import yaml

from chatcontract import specs
from chatcontract.targets import credential_headers, spec_rate_limits, target_requirements

PLACEHOLDER = "change-me"
WIDTH = 96


def _target_schema() -> dict:
    """The target file's schema (schemas/chatcontract/target.schema.json): what each key is for."""
    return specs.read_document(specs.schemas_dir() / "chatcontract" / "target.schema.json")


def _comment(text: str, indent: str = "", prefix: str = "# ") -> list[str]:
    plain = " ".join(str(text).split())
    return [indent + prefix + line for line in textwrap.wrap(plain, WIDTH - len(indent) - len(prefix))] or []


def _first_sentence(text: str) -> str:
    plain = " ".join(str(text or "").split())
    match = re.match(r"(.+?[.!?])(\s|$)", plain)
    return match.group(1) if match else plain


def _matching(pattern: str) -> str:
    """The simplest string that `pattern` matches (hypothesis shrinks to it)."""
    from hypothesis import HealthCheck, find, settings
    from hypothesis import strategies as st

    quiet = settings(database=None, derandomize=True, suppress_health_check=list(HealthCheck))
    return find(st.from_regex(pattern, fullmatch=True), lambda _: True, settings=quiet)


def placeholder(schema: Any, name: str, index: int | None = None) -> Any:
    """A value of the shape `schema` asks for, visibly not a real one where the type allows."""
    schema = schema if isinstance(schema, dict) else {}
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    kind = schema.get("type", "string")
    kind = kind[0] if isinstance(kind, list) else kind
    if kind == "integer" or kind == "number":
        low = schema.get("minimum", 0)
        return low + (index or 0)
    if kind == "boolean":
        return False
    if kind == "array":
        count = max(int(schema.get("minItems", 1)), 1)
        return [placeholder(schema.get("items", {}), name, i) for i in range(count)]
    if kind == "object":
        properties = schema.get("properties", {})
        return {key: placeholder(properties.get(key, {}), f"{name}-{key}") for key in schema.get("required", properties)}
    text = f"{PLACEHOLDER}-{name}".replace("_", "-") + (f"-{index + 1}" if index is not None else "")
    pattern = schema.get("pattern")
    if pattern and not re.search(pattern, text):
        text = _matching(pattern)
        if index:  # list items stay distinct (uniqueItems) and still match
            text = next((c for c in (f"{text}{index}", f"{index}{text}") if re.search(pattern, c)), text)
    return text


def _entry(key: str, value: Any, indent: str, mark: str = "") -> list[str]:
    """`key: value` as YAML lines: one line (flow style) when it fits, else a block under the key."""
    flow = yaml.safe_dump(value, default_flow_style=True, width=10_000, sort_keys=False).strip()
    flow = flow.removesuffix("...").strip()
    if len(indent) + len(key) + len(flow) + 2 <= WIDTH or not isinstance(value, (list, dict)):
        return [f"{indent}{mark}{key}: {flow}"]
    block = yaml.safe_dump(value, default_flow_style=False, sort_keys=False).splitlines()
    return [f"{indent}{mark}{key}:", *(f"{indent}{mark}  {line}" for line in block)]


def _schema_text(*path: str) -> str:
    schema = specs.read_document(specs.schemas_dir() / "chatcontract" / "target.schema.json")
    node: Any = schema
    for key in path:
        node = node["properties"][key]
    return node.get("description", "")


def examples_dir() -> Path:
    """The example target files and CI workflow: the checkout's `examples/`, or the copy an
    installed wheel carries beside the specs."""
    return specs.data_root() / "examples"


def target_file(platform: str, *, base_url: str = "http://127.0.0.1:8080", name: str | None = None) -> str:
    """The text of a commented target file for `platform`."""
    needs = target_requirements(platform)
    optional = set(needs.get("optional", []))
    schemes = specs.security_schemes(platform)
    scheme_names = specs.security_scheme_names(platform)
    lines = [
        f"# chatcontract target file for {platform}, written by `chatcontract init {platform}` from",
        f"# specs/{platform}.yaml (x-target: the identities and fixtures the suite needs).",
        f"# Replace every {PLACEHOLDER} value (and each placeholder id) with one that exists on your server;",
        "# the comment above each key says what it is for. Entries marked optional are commented out:",
        "# give them if your server has them, else the checks that need them are skipped, saying which.",
        "# Then: chatcontract run --target THIS_FILE --profile fast",
        "",
        f"api: {platform}",
        *_comment(_schema_text("name")),
        f"name: {name or 'my-' + platform}",
        "# The server's root URL, with any path prefix the API lives under (no query, no credentials).",
        f"base_url: {base_url}",
        "",
        "# Who the suite calls as: identity -> one value per security scheme. Any value may be ${ENV_VAR}",
        "# (or contain it): read from that environment variable when the file is loaded, never written",
        "# anywhere; a missing variable stops the run naming it. Write $${ for a literal ${. Each scheme:",
    ]
    for scheme in scheme_names:
        lines += _comment(f"{scheme}: {_first_sentence(schemes[scheme].get('description', ''))}", prefix="#   ")
    lines.append("credentials:")
    for identity, purpose in needs["identities"].items():
        is_optional = identity in optional
        lines += _comment(("optional: " if is_optional else "") + str(purpose), "  ")
        mark = "# " if is_optional else ""
        lines.append(f"  {mark}{identity}:")
        for scheme in scheme_names:
            lines += _entry(scheme, f"{PLACEHOLDER}-{identity}-{scheme}".replace("_", "-"), "  ", mark + "  ")
            lines.append(f"  {mark}  # {scheme}: ${{{_variable(platform, identity, scheme)}}}")
    lines += ["", "# Ids that exist on the server, as the spec's x-target describes them.", "fixtures:"]
    for fixture, schema in needs["fixtures"].items():
        is_optional = fixture in optional
        description = schema.get("description", "") if isinstance(schema, dict) else ""
        lines += _comment(("optional: " if is_optional else "") + description, "  ")
        mark = "# " if is_optional else ""
        lines += _entry(fixture, placeholder(schema, fixture), "  ", mark)
    lines += ["", "# What the server offers beyond the vendor API (the /_chatcontract test hooks, see README).",
              "capabilities:"]
    for key, value in (("reset", False), ("clock", False), ("realtime_budget_s", 0)):
        lines += _comment(_schema_text("capabilities", key), "  ")
        lines += _entry(key, value, "  ")
    lines += ["", *_comment(_schema_text("request_timeout_s")), "request_timeout_s: 10",
              *_comment(_schema_text("disabled")), "disabled: []",
              *_comment(_schema_text("implements") + " For example:"),
              f"# implements: [{', '.join(op.operation_id for op in specs.operations(platform))}]", ""]
    return "\n".join([*lines, *_headers_and_rate(platform), ""])


def _variable(platform: str, identity: str, scheme: str) -> str:
    """An environment variable name for one credential, e.g. SENDBIRD_MASTER_APITOKEN."""
    return re.sub(r"[^A-Z0-9]+", "_", f"{platform}_{identity}_{scheme}".upper()).strip("_")


def _headers_and_rate(platform: str) -> list[str]:
    """The commented-out `headers` and `rate_limit_per_s` options, with what the spec documents."""
    schemes = specs.security_schemes(platform)
    carriers = sorted({"Cookie" if schemes[name].get("in") == "cookie" else str(schemes[name].get("name"))
                       if schemes[name].get("type") == "apiKey" else "Authorization"
                       for name in credential_headers(platform).values()})
    limits = spec_rate_limits(platform)
    documented = ", ".join(f"{op} {limit.per_s:g}/s" for op, limit in limits.items())
    tags = sorted({tag for limit in limits.values() for tag in re.findall(r"\[[^\]]+\]", limit.source)})
    rate = (f"Without it, the limits specs/{platform}.yaml documents ({' '.join(tags)}) apply, "
            + ("all operations counted together" if any(limit.scope == "*" for limit in limits.values())
               else "each operation counted apart")
            + f": {documented}; but not to a base_url on loopback." if limits else
            f"Without it, there is no limit (specs/{platform}.yaml documents none).")
    return [
        *_comment(_target_schema()["properties"]["headers"]["description"] + ", e.g. a gateway's key. A request's own header "
                  "of the same name wins. A value from ${ENV_VAR} is a secret: reports and curl lines show it as "
                  "<redacted>. Host, Content-Length and the credentials' own headers"
                  + (f" ({', '.join(carriers)})" if carriers else "") + " cannot be set here."),
        "# headers:",
        "#   X-Gateway-Key: ${GATEWAY_KEY}",
        *_comment("At most this many requests a second to this target, all operations together (false: no limit). "
                  + rate + " A 429 answer with Retry-After to a generated request is waited out (up to "
                  "request_timeout_s) and sent once more; the errors the suite provokes on purpose are never retried."),
        "# rate_limit_per_s: 10",
    ]
