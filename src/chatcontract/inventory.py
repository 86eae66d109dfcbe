"""The operation inventory: what each spec documents, one row per operation.

Read from `specs/` every time, so the table in README.md (kept in step by a test) and the
`chatcontract inventory` command can never drift from the specs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from chatcontract import specs
from chatcontract.specs import is_error_status


@dataclass(frozen=True)
class Row:
    platform: str
    method: str
    path: str
    operation_id: str
    responses: int  # response entries (one per status or status range)
    documented_errors: int  # named error examples across the error responses

    def as_dict(self) -> dict:
        return asdict(self)


def _documented_errors(op: specs.Operation) -> int:
    count = 0
    for code, response in op.responses.items():
        if is_error_status(str(code)):
            _, response, _ = specs.deref(specs.spec_path(op.platform), response)
            for media in (response.get("content") or {}).values():
                count += len(media.get("examples") or {}) or (1 if "example" in media else 0)
    return count


def rows(platform_names: list[str] | None = None) -> list[Row]:
    result = []
    for platform in platform_names or specs.platforms():
        for op in specs.operations(platform):
            actions = op.definition.get("x-actions")
            op_id = op.operation_id + (f" ({', '.join(actions)})" if isinstance(actions, dict) else "")
            result.append(Row(platform, op.method.upper(), op.path, op_id, len(op.responses), _documented_errors(op)))
    return result


HEADERS = ("platform", "method", "path", "operationId", "responses", "documented errors")


def to_markdown(table: list[Row]) -> str:
    lines = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    for r in table:
        lines.append(
            f"| {r.platform} | {r.method} | `{r.path}` | `{r.operation_id}` | {r.responses} | {r.documented_errors} |"
        )
    lines.append(f"\n{len(table)} operations across {len({r.platform for r in table})} platforms.")
    return "\n".join(lines)
