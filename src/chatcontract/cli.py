"""The `chatcontract` command line: a thin layer over the modules that do the work.

Exit codes (documented in README.md):
  0  success (specs valid / target conformant)
  1  a check failed (a spec problem, or a non-conformant target)
  2  bad usage or configuration
  3  the harness itself failed
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from chatcontract import inventory, speccheck, specs

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_HARNESS = 0, 1, 2, 3

# Off a terminal (CI logs, pipes) rich would cut tables to 80 columns; give them room instead.
console = Console(width=None if sys.stdout.isatty() else 200)
errors = Console(stderr=True)


def _platforms(requested: list[str] | None) -> list[str]:
    known = specs.platforms()
    for name in requested or []:
        if name not in known:
            raise specs.SpecError(f"unknown platform {name!r} (known: {', '.join(known)})")
    return requested or known


def _print_inventory(table: list[inventory.Row]) -> None:
    view = Table(title="Operation inventory", title_justify="left")
    for header in inventory.HEADERS:
        view.add_column(header, justify="right" if header in ("responses", "documented errors") else "left")
    for r in table:
        view.add_row(r.platform, r.method, r.path, r.operation_id, str(r.responses), str(r.documented_errors))
    console.print(view)
    console.print(f"{len(table)} operations across {len({r.platform for r in table})} platforms.")


def cmd_inventory(args: argparse.Namespace) -> int:
    table = inventory.rows(_platforms(args.api))
    if args.format == "markdown":
        print(inventory.to_markdown(table))
    elif args.format == "json":
        print(json.dumps([r.as_dict() for r in table], indent=2))
    else:
        _print_inventory(table)
    return EXIT_OK


def _check(platform_names: list[str]) -> int:
    problems: list[speccheck.Problem] = []
    for platform in platform_names:
        found = speccheck.check_platform(platform)
        problems += found
        mark = "[green]ok[/green]" if not found else f"[red]{len(found)} problem(s)[/red]"
        console.print(f"{platform:<12} {mark}")
    if set(platform_names) == set(specs.platforms()):
        problems += speccheck.check_decision_coverage(platform_names)
    for problem in problems:
        errors.print(f"[red]problem[/red] {problem}", highlight=False, soft_wrap=True)
    return EXIT_FAILED if problems else EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    return _check(_platforms(args.api))


def cmd_run(args: argparse.Namespace) -> int:
    # Until the conformance suite lands, the main job validates the specs and lists what they cover.
    platform_names = _platforms(args.api)
    code = _check(platform_names)
    _print_inventory(inventory.rows(platform_names))
    return code


def cmd_serve(args: argparse.Namespace) -> int:
    import asyncio
    import ipaddress

    from chatcontract.servers import serve

    platform_names = specs.platforms() if args.platform == "all" else _platforms([args.platform])
    try:
        if not ipaddress.ip_address(args.host).is_loopback and not args.allow_remote:
            raise specs.SpecError(f"--host {args.host} is not a loopback address (add --allow-remote to mean it)")
    except ValueError:
        raise specs.SpecError(f"--host {args.host!r} is not an IP address") from None
    if not 0 <= args.port <= 65535 - len(platform_names):
        raise specs.SpecError(f"--port {args.port} is out of range")

    def announce(platform: str, base_url: str) -> None:
        console.print(f"{platform:<12} {base_url}", highlight=False)

    try:
        asyncio.run(serve.serve_forever(platform_names, host=args.host, port=args.port, test_hooks=args.test_hooks,
                                        target_dir=args.write_targets, announce=announce))
    except RuntimeError as exc:
        errors.print(f"chatcontract: {exc}", highlight=False, soft_wrap=True)
        return EXIT_HARNESS
    except KeyboardInterrupt:
        pass
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="chatcontract", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="the main job: check the specs and summarise what they cover")
    run.add_argument("--api", action="append", metavar="NAME", help="limit to one platform (repeatable)")
    run.set_defaults(func=cmd_run)

    check = sub.add_parser("check", help="validate the specs and schemas")
    check.add_argument("--api", action="append", metavar="NAME", help="limit to one platform (repeatable)")
    check.set_defaults(func=cmd_check)

    srv = sub.add_parser("serve", help="start reference servers on loopback")
    srv.add_argument("platform", help="a platform name, or 'all'")
    srv.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    srv.add_argument("--port", type=int, default=0,
                     help="port of the first server; the others take the next ones (default: free ports)")
    srv.add_argument("--test-hooks", action="store_true", help="enable /_chatcontract reset and clock hooks")
    srv.add_argument("--write-targets", type=Path, metavar="DIR",
                     help="write <platform>.target.yaml files pointing at the running servers")
    srv.add_argument("--allow-remote", action="store_true", help=argparse.SUPPRESS)
    srv.set_defaults(func=cmd_serve)

    inv = sub.add_parser("inventory", help="list every documented operation")
    inv.add_argument("--api", action="append", metavar="NAME", help="limit to one platform (repeatable)")
    inv.add_argument("--format", choices=("table", "markdown", "json"), default="table")
    inv.set_defaults(func=cmd_inventory)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)  # argparse itself exits 2 on bad usage
    try:
        return args.func(args)
    except specs.SpecError as exc:
        errors.print(f"chatcontract: {exc}", highlight=False, soft_wrap=True)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_HARNESS


if __name__ == "__main__":
    sys.exit(main())
