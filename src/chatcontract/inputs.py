"""Reading the files chatcontract is handed: bounded in size and cost, every problem one line in words.

`read_text` refuses a file larger than its cap (before reading it whole) and bytes that are not
UTF-8; `parse_yaml` is the one YAML loader (safe, and an alias may not expand the document past
`MAX_YAML_NODES`: a billion-laughs file is refused instead of eating memory); `parse_json`
refuses nesting too deep to walk. Every error is an `InputError` whose message says what is
wrong in words (a tab, an unclosed quote, the line it is on), never a traceback.

Written by hand where PyYAML has no option: bounding what aliases expand to.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

MIB = 1024 * 1024
MAX_CONFIG_BYTES = 1 * MIB  # target files, baselines: a few KB in practice
MAX_YAML_NODES = 200_000  # the largest spec has ~20,000 nodes once aliases are expanded
MAX_JSON_DEPTH = 200  # a results.json is 6 levels deep


class InputError(Exception):
    """A file that cannot be used; the message is one line."""


def read_text(path: Path | str, what: str, *, limit: int = MAX_CONFIG_BYTES) -> str:
    """The file's text; `what` names it in errors ("the target file")."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise InputError(f"{path}: cannot read {what} ({exc.strerror or exc})") from None
    if len(data) > limit:
        raise InputError(f"{path}: {what} is larger than {_size(limit)} (chatcontract reads no bigger one)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: {what} is not UTF-8 text (byte offset {exc.start})") from None


def _size(limit: int) -> str:
    return f"{limit // MIB} MiB" if limit % MIB == 0 else f"{limit} bytes"


class _Bounded:
    """A document whose aliases expand it past MAX_YAML_NODES, or that refers to itself, is
    refused before anything walks it (mixed into a PyYAML loader)."""

    max_nodes = MAX_YAML_NODES

    def construct_document(self, node: yaml.Node) -> Any:
        _expanded_size(node, {}, self.max_nodes)
        return super().construct_document(node)  # type: ignore[misc]


class _BoundedLoader(_Bounded, yaml.SafeLoader):
    """PyYAML's safe loader (pure Python), bounded."""


def _expanded_size(node: yaml.Node, sizes: dict[int, int], limit: int) -> int:
    """How many nodes `node` stands for once every alias is written out (memoised per node, so
    counting is linear in the file, not in the expansion)."""
    key = id(node)
    if key in sizes:
        if sizes[key] < 0:
            raise _Refused("an alias refers to the node that contains it (a recursive structure)", node)
        return sizes[key]
    sizes[key] = -1
    total = 1
    if isinstance(node, yaml.SequenceNode):
        children = node.value
    elif isinstance(node, yaml.MappingNode):
        children = [part for pair in node.value for part in pair]
    else:
        children = []
    for child in children:
        total += _expanded_size(child, sizes, limit)
        if total > limit:
            raise _Refused(f"its aliases (*name) expand it past {limit:,} values (an alias bomb?)", node)
    sizes[key] = total
    return total


class _Refused(Exception):
    def __init__(self, reason: str, node: yaml.Node) -> None:
        super().__init__(reason)
        self.line = node.start_mark.line + 1 if node.start_mark else None


def _yaml_reason(exc: yaml.YAMLError) -> str:
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    if "'\\t'" in problem:
        return "a tab character, where YAML allows only spaces for indentation"
    context = getattr(exc, "context", None)
    return f"{problem} ({context})" if context else problem


class _BoundedCLoader(_Bounded, getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """The same bounds on libyaml's parser (C): ten times faster on the bundled specs. Only for
    the package's own files (`trusted`): its node composer recurses in C, unchecked by Python's
    recursion limit, so a hostile file goes through the pure-Python loader."""


def parse_yaml(text: str, where: str, *, max_nodes: int = MAX_YAML_NODES, trusted: bool = False) -> Any:
    """One YAML document, safely and at bounded cost; `where` names it in errors. `trusted`: a
    file shipped with the package (parsed with libyaml when present; errors are still worded by
    the pure-Python loader, which parses it again)."""
    if trusted:
        fast = _BoundedCLoader(text)
        fast.max_nodes = max_nodes
        try:
            return fast.get_single_data()
        except (yaml.YAMLError, _Refused):
            pass  # the pure-Python loader below words the problem the same way as for any file
        finally:
            fast.dispose()
    loader = _BoundedLoader(text)
    loader.max_nodes = max_nodes
    try:
        return loader.get_single_data()
    except _Refused as exc:
        at = f" at line {exc.line}" if exc.line else ""
        raise InputError(f"{where}: refused{at}: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise InputError(f"{where}: not valid YAML{at}: {_yaml_reason(exc)}") from None
    except RecursionError:
        raise InputError(f"{where}: nested too deeply to read") from None
    finally:
        loader.dispose()


def _depth(value: Any, limit: int) -> None:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            raise InputError("")
        if isinstance(item, dict):
            stack += [(v, depth + 1) for v in item.values()]
        elif isinstance(item, list):
            stack += [(v, depth + 1) for v in item]


def parse_json(text: str, where: str, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """A JSON document; nesting deeper than `max_depth` is refused in one line."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{where}: not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise InputError(f"{where}: JSON nested too deeply to read (more than {max_depth} levels)") from None
    try:
        _depth(document, max_depth)
    except InputError:
        raise InputError(f"{where}: JSON nested too deeply to read (more than {max_depth} levels)") from None
    return document
