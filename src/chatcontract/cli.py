"""The `chatcontract` command line: a thin layer over the modules that do the work.

Exit codes (documented in README.md):
  0  success (specs valid / target conformant)
  1  a check failed (a spec problem, or a non-conformant target)
  2  bad usage or configuration
  3  the harness itself failed
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
from importlib import metadata
from pathlib import Path
from typing import Callable

from rich.console import Console
from rich.table import Table
from rich.text import Text

from chatcontract import exitcodes, inventory, speccheck, specs
from chatcontract.redaction import printable  # user and target text is shown as data, never as markup

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_HARNESS = exitcodes.OK, exitcodes.FAILED, exitcodes.USAGE, exitcodes.HARNESS

EPILOG = """\
examples:
  chatcontract run                                   the suite against the five reference servers
  chatcontract init rocketchat                       write rocketchat.target.yaml to fill in
  chatcontract run --target rc.target.yaml --profile fast
  chatcontract run --target rc.target.yaml --last-failed    rerun what failed last time
  chatcontract serve all --test-hooks --write-targets targets/
  pytest --target rc.target.yaml                     the same suite under plain pytest

exit codes:
  0  success: specs valid, every target conformant (or only failures the baseline accepts)
  1  a check failed: a spec problem, a non-conformant target, a baseline entry that now passes
  2  bad usage or configuration (one line on stderr)
  3  a target unreachable, or the harness itself failed
  130  interrupted (Ctrl-C); 143 stopped by SIGTERM: the reports hold what ran and say INTERRUPTED
"""

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
        errors.print(Text.assemble(("problem", "red"), f" {printable(problem)}"), highlight=False, soft_wrap=True)
    return EXIT_FAILED if problems else EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    return _check(_platforms(args.api))


def cmd_run(args: argparse.Namespace) -> int:
    """The main job: the conformance suite against the targets (default: the reference servers)."""
    from chatcontract import runner

    _platforms(args.api)
    if args.jobs is not None and args.jobs < 1:
        raise specs.SpecError(f"-j {args.jobs}: at least 1 worker")
    if args.shard:
        from chatcontract import shards

        try:
            shards.parse(args.shard)
        except shards.ShardError as exc:
            raise specs.SpecError(str(exc)) from None
    return runner.run(targets=args.target, apis=args.api or [], profile=args.profile, report_dir=args.report_dir,
                      seed=args.seed, jobs=args.jobs, baseline=args.baseline, base_url=args.base_url,
                      console=console, errors=errors, layers=args.layer, operations=args.operation,
                      keyword=args.keyword, exitfirst=args.exitfirst, last_failed=args.last_failed,
                      shard=args.shard, shard_by=args.shard_by, record=args.record)


def cmd_check_traffic(args: argparse.Namespace) -> int:
    """Check the exchanges of a HAR file against the spec, offline."""
    from chatcontract.traffic.commands import main_check_traffic

    return main_check_traffic(args.api, args.har, args.report_dir, args.target, base_url=args.base_url)


def cmd_proxy(args: argparse.Namespace) -> int:
    """A reverse proxy in front of the target that checks every exchange as it passes."""
    from chatcontract.traffic.commands import main_proxy

    return main_proxy(args.target, args.listen, args.max_exchanges, args.duration, args.report_dir,
                      record=args.record, allow_remote=args.allow_remote)


def cmd_merge(args: argparse.Namespace) -> int:
    """Merge the reports of a run's shards (or of runs of different targets) into one set."""
    from chatcontract import merge, runner
    from chatcontract.docs import results
    from chatcontract import reportlock
    from chatcontract.suite import reports

    files = merge.result_files(args.pieces, exclude=args.out)
    document = merge.merge([(path, results.load(path)) for path in files])
    try:
        reportlock.hold(args.out, "--out")  # not while a run (or another merge) writes that folder
    except reportlock.ReportDirBusy as exc:
        errors.print(f"chatcontract: {printable(exc)}", markup=False, highlight=False, soft_wrap=True)
        return EXIT_USAGE
    try:
        reports.write_document(args.out, document)
    finally:
        reportlock.release(args.out)
    runner.show(document, console)
    console.print(printable(f"merged {len(files)} results files into {args.out}/ (summary.md, results.json, junit.xml)"),
                  markup=False, highlight=False, soft_wrap=True)
    return runner.exit_code(document)


def cmd_diff(args: argparse.Namespace) -> int:
    """What changed between two runs, check by check; exit 1 on a regression."""
    from chatcontract import diff
    from chatcontract.docs import results

    changes = diff.diff(results.load(args.old), results.load(args.new))
    for line in diff.lines(changes):
        console.print(printable(line), markup=False, highlight=False, soft_wrap=True)
    return EXIT_FAILED if changes.regressed else EXIT_OK


def cmd_baseline(args: argparse.Namespace) -> int:
    """A baseline accepting a run's failures, on stdout (redirect it to a file)."""
    from chatcontract.docs import results
    from chatcontract.suite import baseline

    sys.stdout.write(baseline.from_results(results.load(args.source)))
    return EXIT_OK


def cmd_init(args: argparse.Namespace) -> int:
    """Write a commented target file for a platform, from its spec's x-target."""
    from chatcontract import init
    from chatcontract.targets import TargetError, check_base_url, load_target

    _platforms([args.platform])
    try:
        check_base_url(args.base_url, "--base-url")
    except TargetError as exc:
        raise specs.SpecError(str(exc)) from None
    out: Path = args.out or Path(f"{args.platform}.target.yaml")
    text = init.target_file(args.platform, base_url=args.base_url)
    if str(out) == "-":
        sys.stdout.write(text)
        return EXIT_OK
    if out.exists() and not args.force:
        raise specs.SpecError(f"{out} exists; choose another --out or add --force to overwrite it")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise specs.SpecError(f"{out}: cannot write it ({exc.strerror or exc})") from None
    try:
        load_target(out)  # what it wrote must be a target file the suite accepts
    except TargetError as exc:
        errors.print(f"chatcontract: the written file does not load: {printable(exc)}", markup=False, highlight=False,
                     soft_wrap=True)
        return EXIT_HARNESS
    console.print(printable(f"wrote {out}: replace each change-me value and placeholder id with one of your "
                            f"server, then `chatcontract run --target {out} --profile fast` (filled-in examples: "
                            f"{init.examples_dir() / 'targets'})"), markup=False, highlight=False, soft_wrap=True)
    return EXIT_OK


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
    if args.fault:
        from chatcontract.servers.core.faults import Faults, UnknownFault

        if len(platform_names) != 1:
            raise specs.SpecError("--fault needs a single platform, not 'all'")
        try:
            Faults(platform_names[0], args.fault)
        except UnknownFault as exc:
            raise specs.SpecError(str(exc)) from None

    def announce(platform: str, base_url: str) -> None:
        console.print(f"{platform:<12} {base_url}", markup=False, highlight=False)

    try:
        return _serve_until_interrupted(lambda: asyncio.run(serve.serve_forever(
            platform_names, host=args.host, port=args.port, test_hooks=args.test_hooks,
            target_dir=args.write_targets, announce=announce, faults=tuple(args.fault))))
    except serve.PortInUse as exc:  # the user's --port: bad usage, one line
        raise specs.SpecError(str(exc)) from None


def _serve_until_interrupted(serve_forever: Callable[[], object]) -> int:
    """Run a server until Ctrl-C (exit 0); one that cannot start is one line and exit 3."""
    try:
        serve_forever()
    except RuntimeError as exc:
        errors.print(f"chatcontract: {printable(exc)}", markup=False, highlight=False, soft_wrap=True)
        return EXIT_HARNESS
    except KeyboardInterrupt:
        pass
    return EXIT_OK


def cmd_docs(args: argparse.Namespace) -> int:
    """Build the offline documentation site (and serve it on loopback with --serve)."""
    from chatcontract.docs import runs, site

    if not 0 <= args.port <= 65535:
        raise specs.SpecError(f"--port {args.port} is out of range")
    default = Path("reports") / "results.json"
    paths = args.results or ([default] if default.exists() else [])
    loaded = runs.load(paths)
    history = runs.history(args.history) if args.history else []
    index = site.build(args.out, loaded, history=history)
    shown = (f" with the results of {', '.join(map(str, paths))}" if loaded else " (no results.json found)") + \
        (f" and the history of {args.history} ({len(history)} runs)" if history else "")
    console.print(printable(f"site written to {index}{shown}"), markup=False, highlight=False, soft_wrap=True)
    if not args.serve:
        return EXIT_OK
    from chatcontract.docs import serve

    return _serve_until_interrupted(
        lambda: serve.serve_forever(args.out, port=args.port, announce=lambda url: print(f"serving {url}", flush=True)))


def _version() -> str:
    try:
        return metadata.version("chatcontract")
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        from chatcontract import __version__

        return __version__


def _profiles_help() -> str:
    from chatcontract.suite.plugin import profiles

    return "\n".join(f"  {name:<9} {p['description']} ({p['examples']} fuzzing examples per operation, "
                     f"{p['machine_examples']} x {p['machine_steps']} state-machine steps)"
                     for name, p in profiles().items())


def build_parser() -> argparse.ArgumentParser:
    from chatcontract.suite.plugin import profiles

    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(prog="chatcontract", description=__doc__.splitlines()[0], epilog=EPILOG,
                                     formatter_class=raw)
    parser.add_argument("--version", action="version", version=f"chatcontract {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    names = ", ".join(specs.platforms())

    run = sub.add_parser("run", help="the main job: check targets (default: the reference servers) against the specs",
                         description="Check targets (default: the five reference servers) against the specs.",
                         formatter_class=raw, epilog="profiles (--profile):\n" + _profiles_help() + "\n\n" + EPILOG)
    run.add_argument("--target", action="append", default=[], type=Path, metavar="FILE",
                     help="a target file (repeatable; `chatcontract init PLATFORM` writes one); without it the "
                          "five reference servers are started")
    run.add_argument("--api", action="append", metavar="NAME", help=f"only these platforms (repeatable): {names}")
    run.add_argument("--profile", choices=list(profiles()), default="default",
                     help="how hard the suite works (default: default; see the list below)")
    run.add_argument("--report-dir", type=Path, default=Path("reports"), metavar="DIR",
                     help="where junit.xml, results.json and summary.md go (default: reports/)")
    run.add_argument("--seed", type=int, metavar="N", help="seed for generated data and state-machine sequences (the same seed replays a run)")
    run.add_argument("-j", "--jobs", type=int, default=None, metavar="N",
                     help="run targets in parallel on N worker processes (pytest-xdist; default: one per core, "
                          "at most one per target, since a target's checks stay on one worker)")
    run.add_argument("--baseline", type=Path, metavar="FILE", help="accepted failures per target (see README)")
    run.add_argument("--base-url", metavar="URL",
                     help="override every target's base_url; without --target, with one --api NAME: a server "
                          "at URL seeded like NAME's reference server")
    run.add_argument("--layer", action="append", default=[], choices=("schema", "errors", "semantics"),
                     help="only this layer of checks (repeatable; default: all three)")
    run.add_argument("--operation", action="append", default=[], metavar="ID",
                     help="only the schema and errors checks of this operationId (repeatable; see `inventory`)")
    run.add_argument("-k", dest="keyword", metavar="EXPR",
                     help="only the checks whose test id matches EXPR (pytest -k: substrings with and/or/not), "
                          "e.g. -k notLoggedIn or -k 'errors and not 4XX'")
    run.add_argument("-x", "--exitfirst", action="store_true", help="stop at the first failing check")
    run.add_argument("--last-failed", action="store_true",
                     help="only the checks that failed or errored in the previous run (its results.json in "
                          "--report-dir); everything when none did. Runs are deterministic, so they fail again "
                          "until fixed")
    run.add_argument("--record", type=Path, metavar="DIR",
                     help="also write every exchange with each target as DIR/<target>.har (credentials replaced "
                          "by pseudonyms), to share a failure; `check-traffic` re-checks it")
    run.add_argument("--shard", metavar="K/N",
                     help="run only part K of N of the work, for a CI job matrix (see `merge`)")
    run.add_argument("--shard-by", choices=("auto", "target", "layer"), default="auto",
                     help="what one shard holds: whole targets, or single layers of a target; auto: whole "
                          "targets when there are at least N (a layer shard runs at the same time as the "
                          "target's other layers: fine for per-shard deployments, not for one shared server)")
    run.set_defaults(func=cmd_run)

    merge = sub.add_parser("merge", help="merge the reports of a sharded run into one set and one exit code",
                           description="Merge results.json files (the shards of one run, or runs of different "
                                       "targets) into one results.json, junit.xml and summary.md.",
                           formatter_class=raw,
                           epilog="example:\n  chatcontract merge shards/ --out reports\n\n"
                                  "exit codes: as `run` (0, 1, 3) for the merged results; 2 when the pieces do not "
                                  "make one run (another spec version or profile, a shard missing or given twice)")
    merge.add_argument("pieces", nargs="+", type=Path, metavar="DIR_OR_FILE",
                       help="results.json files, or folders searched for them (a CI job's downloaded artifacts)")
    merge.add_argument("--out", type=Path, default=Path("reports"), metavar="DIR",
                       help="where the merged reports go (default: reports/)")
    merge.set_defaults(func=cmd_merge)

    traffic = sub.add_parser("check-traffic", help="check recorded traffic (a HAR file) against the spec",
                             description="Check every exchange of a HAR 1.2 file (browser devtools, mitmproxy, "
                                         "`proxy --record`) against the spec: the server's answers and the client's "
                                         "requests, with the same checks and decisions as `run`.",
                             formatter_class=raw,
                             epilog="example:\n  chatcontract check-traffic --api sendbird session.har\n\n"
                                    "exit codes: 0 every exchange conforms, 1 a check failed, 2 bad input "
                                    "(a malformed or huge HAR, an unknown platform)")
    traffic.add_argument("har", type=Path, metavar="FILE.har")
    traffic.add_argument("--api", metavar="NAME", help=f"the platform whose spec judges the traffic: {names}")
    traffic.add_argument("--target", type=Path, metavar="FILE",
                         help="the target file (its api, base_url and credentials to redact)")
    traffic.add_argument("--base-url", metavar="URL", help="only exchanges under this URL are matched")
    traffic.add_argument("--report-dir", type=Path, default=Path("reports"), metavar="DIR",
                         help="where junit.xml, results.json and summary.md go (default: reports/)")
    traffic.set_defaults(func=cmd_check_traffic)

    proxy = sub.add_parser("proxy", help="a checking reverse proxy: point a client at it instead of the server",
                           description="Forward every request unchanged to the target's base_url, check each "
                                       "exchange against the spec, print a one-line verdict per exchange, and "
                                       "write the usual reports on Ctrl-C, --max-exchanges or --duration.",
                           formatter_class=raw,
                           epilog="example:\n  chatcontract proxy --target sendbird.target.yaml --listen 127.0.0.1:8900\n\n"
                                  "exit codes: 0 every exchange conforms, 1 a check failed, 2 bad usage, "
                                  "3 the target unreachable or the proxy could not listen")
    proxy.add_argument("--target", type=Path, required=True, metavar="FILE", help="the target to forward to")
    proxy.add_argument("--listen", default="127.0.0.1:0", metavar="HOST:PORT",
                       help="where the proxy listens (default: a free loopback port, printed first)")
    proxy.add_argument("--max-exchanges", type=int, metavar="N", help="stop after N checked exchanges")
    proxy.add_argument("--duration", type=float, metavar="S", help="stop after S seconds")
    proxy.add_argument("--report-dir", type=Path, default=Path("reports"), metavar="DIR",
                       help="where junit.xml, results.json and summary.md go (default: reports/)")
    proxy.add_argument("--record", type=Path, metavar="FILE.har",
                       help="also write every exchange as HAR (credentials replaced by same-shape pseudonyms)")
    proxy.add_argument("--allow-remote", action="store_true", help=argparse.SUPPRESS)
    proxy.set_defaults(func=cmd_proxy)

    diff = sub.add_parser("diff", help="what changed between two runs: regressions, fixes, new and removed checks",
                          formatter_class=raw,
                          epilog="example:\n  chatcontract diff last-week/results.json reports/results.json\n\n"
                                 "exit codes: 0 no regression, 1 a check that passed now fails or errors, "
                                 "2 a file that is not a results.json")
    diff.add_argument("old", type=Path, metavar="OLD", help="the earlier run's results.json")
    diff.add_argument("new", type=Path, metavar="NEW", help="the later run's results.json")
    diff.set_defaults(func=cmd_diff)

    base = sub.add_parser("baseline", help="write a baseline accepting a run's failures (to bring a target in gradually)",
                          formatter_class=raw,
                          epilog="example:\n  chatcontract baseline --from reports/results.json > baseline.yaml\n"
                                 "  chatcontract run --target rc.target.yaml --baseline baseline.yaml\n\n"
                                 "Each failing check of the run is listed under its target, by the id the reports "
                                 "print, with its failure as the note.\n"
                                 "exit codes: 0 written, 2 a file that is not a results.json")
    base.add_argument("--from", dest="source", type=Path, required=True, metavar="RESULTS",
                      help="a run's results.json (e.g. reports/results.json)")
    base.set_defaults(func=cmd_baseline)

    init = sub.add_parser("init", help="write a commented target file for a platform, to fill in",
                          description="Write a commented target file for PLATFORM from its spec's x-target: "
                                      "every identity and fixture the suite needs, what each is for, which are "
                                      "optional. Fill in your server's values, then `chatcontract run --target FILE`.",
                          formatter_class=raw,
                          epilog="example:\n  chatcontract init sendbird --out ci/sendbird.target.yaml "
                                 "--base-url https://api-APP_ID.sendbird.com")
    init.add_argument("platform", metavar="PLATFORM", help=f"one of: {names}")
    init.add_argument("--out", type=Path, metavar="FILE",
                      help="where to write it (default: PLATFORM.target.yaml here; - for stdout)")
    init.add_argument("--base-url", default="http://127.0.0.1:8080", metavar="URL",
                      help="the server's base URL to write (default: http://127.0.0.1:8080)")
    init.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    init.set_defaults(func=cmd_init)

    check = sub.add_parser("check", help="validate the specs and schemas")
    check.add_argument("--api", action="append", metavar="NAME", help="limit to one platform (repeatable)")
    check.set_defaults(func=cmd_check)

    srv = sub.add_parser("serve", help="start reference servers on loopback",
                         description="Start reference servers on loopback until Ctrl-C; each prints its base URL.",
                         formatter_class=raw,
                         epilog="examples:\n  chatcontract serve plugdj --port 8803 --test-hooks\n"
                                "  chatcontract serve all --test-hooks --write-targets targets/\n\n"
                                "exit codes: 0 stopped with Ctrl-C, 2 bad usage (a busy --port), "
                                "3 a server failed to start")
    srv.add_argument("platform", metavar="PLATFORM", help=f"one of: {names}; or all")
    srv.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    srv.add_argument("--port", type=int, default=0,
                     help="port of the first server; the others take the next ones (default: free ports)")
    srv.add_argument("--test-hooks", action="store_true", help="enable /_chatcontract reset and clock hooks")
    srv.add_argument("--write-targets", type=Path, metavar="DIR",
                     help="write <platform>.target.yaml files pointing at the running servers")
    srv.add_argument("--fault", action="append", default=[], metavar="NAME",
                     help="switch on a deviation from servers/<platform>/faults.yaml (repeatable; one platform only)")
    srv.add_argument("--allow-remote", action="store_true", help=argparse.SUPPRESS)
    srv.set_defaults(func=cmd_serve)

    docs = sub.add_parser("docs", help="build the offline documentation site (specs, decisions, latest results)")
    docs.add_argument("--out", type=Path, default=Path("reports") / "site", metavar="DIR",
                      help="where the site goes (default: reports/site/)")
    docs.add_argument("--results", type=Path, action="append", default=[], metavar="FILE_OR_DIR",
                      help="a run's results.json to show beside each operation (repeatable: every target of "
                           "every file is a column of the matrix; a folder means its results files; default: "
                           "reports/results.json if present)")
    docs.add_argument("--history", type=Path, metavar="DIR",
                      help="a folder of dated results files: a per-target history page (totals, newly failing "
                           "and newly passing checks, run by run)")
    docs.add_argument("--serve", action="store_true", help="then serve the site on 127.0.0.1 until Ctrl-C")
    docs.add_argument("--port", type=int, default=0, help="port for --serve (default: a free one)")
    docs.set_defaults(func=cmd_docs)

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
        errors.print(f"chatcontract: {printable(exc)}", markup=False, highlight=False, soft_wrap=True)
        return EXIT_USAGE
    except KeyboardInterrupt:  # Ctrl-C outside a run (a run maps it itself, see runner)
        return exitcodes.INTERRUPTED


def entry() -> int:
    """The `chatcontract` command: main(), then the process ends without a last garbage
    collection over everything the run built (gc.freeze: ~0.2 s of a run's exit, spent finding
    cycles in memory the operating system is about to take back; every report is written and
    closed by then). main() itself, called from Python, leaves the collector alone."""
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    gc.freeze()
    return code


if __name__ == "__main__":
    sys.exit(entry())
