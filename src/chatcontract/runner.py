"""`chatcontract run`: check the configuration, run the suite under pytest, map the outcome.

Bad configuration is reported in one line before any test starts (exit 2). The exit code then
comes from the run's own results: any error (unreachable target, broken harness) -> 3, else any
failure the baseline does not accept -> 1, else 0. A selection (`--operation`, `-k`,
`--last-failed`) that leaves no check to run is bad usage too (exit 2), never an empty pass.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from rich.table import Table
from rich.text import Text

from chatcontract import exitcodes, reportlock, speccheck, specs
from chatcontract.redaction import printable
from chatcontract.suite import baseline as baseline_file
from chatcontract.suite.plugin import (
    LAYER_MODULES,
    SUITE_DIR,
    seeded_target,
    suite_paths,
)
from chatcontract.suite.reports import interruption, matrix_from_document
from chatcontract.targets import TargetError, check_base_url, load_target


def _preflight(targets: list[Path], apis: list[str], baseline: Path | None, base_url: str | None,
               report_dir: Path) -> int:
    """Check the configuration (one line, exit 2, before any test); the number of targets."""
    if base_url:
        check_base_url(base_url, "--base-url")
    loaded = [load_target(path, base_url=base_url) for path in targets]
    if base_url and not targets:
        loaded = [seeded_target(apis, base_url)]
    names = [t.name for t in loaded]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise TargetError(f"two targets are named {duplicates[0]!r}; give one a `name:`")
    # The specs of the platforms this run checks (not the others: ~15 ms each, paid before any
    # worker starts): one that fails to load is a SpecError, one line; one that parses but is
    # broken (a $ref to a missing file, not OpenAPI) stops the run here too, rather than as an
    # error in every check (~0.2 s per platform).
    used = sorted({t.api for t in loaded} or set(apis) or set(specs.platforms()))
    for platform in used:
        specs.load_spec(platform)
    problem = speccheck.structural_problem(used)
    if problem:
        raise specs.SpecError(problem)
    baseline_file.load(str(baseline) if baseline else None)
    try:
        report_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TargetError(f"--report-dir {report_dir}: cannot create it ({exc.strerror or exc})") from None
    if not os.access(report_dir, os.W_OK):
        raise TargetError(f"--report-dir {report_dir}: not writable")
    if loaded:
        return len([t for t in loaded if not apis or t.api in apis])
    return len(apis or specs.platforms())


def auto_jobs(unit_count: int) -> int:
    """Worker processes when -j is not given: one per core, no more than there are units of work
    that may run apart (see work_units)."""
    return max(1, min(os.cpu_count() or 1, unit_count))


def work_units(target_count: int, *, reference_servers: bool, layers: list[str]) -> int:
    """How many parts of the run may go to different workers: a target's checks share its state,
    so one target is one unit; a built-in reference server is started by each worker that needs
    it, so each of its layers is a unit of its own (plugin._worker_group): one platform alone
    still uses two cores."""
    return target_count * len(layers or LAYER_MODULES) if reference_servers else target_count


def pytest_args(*, targets: list[Path], apis: list[str], profile: str, report_dir: Path, seed: int | None,
                jobs: int, baseline: Path | None, base_url: str | None, layers: list[str] = (),
                operations: list[str] = (), keyword: str | None = None, exitfirst: bool = False,
                failed_in: Path | None = None, shard: str | None = None, shard_by: str = "auto",
                record: Path | None = None) -> list[str]:
    # The suite's modules by name, as plain `pytest --target FILE` collects them (plugin.suite_paths).
    # Only the plugins the suite uses, whatever else the environment has installed (pytest-asyncio,
    # pytest-cov, pytest-benchmark, schemathesis' own plugin: each would be imported in every
    # process, ~0.5 s for schemathesis', and could change how the suite's tests run): no entry-point
    # autoloading, and ours, hypothesis' (--hypothesis-seed) and xdist's (workers; the suite's
    # xdist_group marks) by name.
    # No conftest.py outside the suite's folder either (a checkout's own, which imported hypothesis
    # in the xdist controller before it started its workers; or any in a folder above the package).
    args = [*suite_paths(list(layers)), "--confcutdir", str(SUITE_DIR), "--disable-plugin-autoload", "-p", "chatcontract.suite.plugin",
            "-p", "_hypothesis_pytestplugin", "-p", "xdist.plugin",
            "-p", "no:cacheprovider", "--profile", profile, "--report-dir", str(report_dir),
            "-q", "--no-header", "-rN", "--tb=no", "--assert=plain",  # the suite raises its own failures: no module needs rewriting
            "-p", "no:unraisableexception"]  # its warnings are never shown here, and it ends each process with gc.collect x2
    for path in targets:
        args += ["--target", str(path)]
    for api in apis:
        args += ["--api", api]
    for layer in layers:
        args += ["--layer", layer]
    if base_url:
        args += ["--base-url", base_url]
    if baseline:
        args += ["--baseline", str(baseline)]
    if seed is not None:
        args += [f"--hypothesis-seed={seed}"]
    if jobs > 1:
        # Groups in the order the suite puts them (heaviest first), not xdist's (most tests first).
        args += ["-n", str(jobs), "--dist", "loadgroup", "--no-loadscope-reorder"]
    for operation in operations:
        args += ["--operation", operation]
    if keyword:
        args += ["-k", keyword]
    if exitfirst:
        args += ["--exitfirst"]
    if failed_in is not None:
        args += ["--failed-in", str(failed_in)]
    if shard:
        args += ["--shard", shard, "--shard-by", shard_by]
    if record is not None:
        args += ["--record", str(record)]
    return args


def _previous_results(report_dir: Path, keep_in: Path) -> Path:
    """`--last-failed`: the previous run's results.json, copied aside (this run replaces it)."""
    previous = report_dir / "results.json"
    try:
        document = json.loads(previous.read_text(encoding="utf-8"))
        document["results"]
    except (OSError, ValueError, KeyError, TypeError):
        raise TargetError(f"--last-failed: no readable results of a previous run in {previous} "
                          "(run once without --last-failed, with the same --report-dir)") from None
    copy = keep_in / "previous-results.json"
    shutil.copyfile(previous, copy)
    return copy


def exit_code(document: dict[str, Any]) -> int:
    results = document["results"]
    if any(r["outcome"] == "error" for r in results):
        return exitcodes.HARNESS
    if any(r["outcome"] == "fail" and not r["accepted_by_baseline"] for r in results):
        return exitcodes.FAILED
    return exitcodes.OK


def show(document: dict[str, Any], console: Console) -> None:
    names = [t["name"] for t in document["targets"]]
    order, cells = matrix_from_document(document)
    table = Table(title="Compatibility matrix", title_justify="left")
    table.add_column("behaviour")
    for name in names:
        table.add_column(Text(printable(name)))  # a target's name is data, never console markup
    style = {"pass": "green", "FAIL": "bold red", "ERROR": "bold magenta", "skip": "yellow", "disabled": "dim"}
    for row in order:
        table.add_row(Text(printable(row)), *[f"[{style.get(c, '')}]{c}[/]" if c else "–" for c in (cells[row].get(n, "") for n in names)])
    console.print(table)
    totals = document["totals"]
    console.print("  ".join(f"{k} {v}" for k, v in totals.items()))


def run(*, targets: list[Path], apis: list[str], profile: str, report_dir: Path, seed: int | None, jobs: int | None,
        baseline: Path | None, base_url: str | None, console: Console, errors: Console, layers: list[str] = (),
        operations: list[str] = (), keyword: str | None = None, exitfirst: bool = False,
        last_failed: bool = False, shard: str | None = None, shard_by: str = "auto", record: Path | None = None) -> int:
    with tempfile.TemporaryDirectory(prefix="chatcontract-") as scratch:
        try:
            count = _preflight(targets, apis, baseline, base_url, report_dir)
            failed_in = _previous_results(report_dir, Path(scratch)) if last_failed else None
            reportlock.hold(report_dir)  # before anything in it is touched (_run removes results.json)
        except (TargetError, specs.SpecError, reportlock.ReportDirBusy) as exc:
            errors.print(f"chatcontract: {printable(exc)}", markup=False, highlight=False, soft_wrap=True)
            return exitcodes.USAGE
        try:
            args = pytest_args(targets=targets, apis=apis, profile=profile, report_dir=report_dir, seed=seed,
                               jobs=auto_jobs(work_units(count, reference_servers=not targets and not base_url and record is None,
                                                         layers=list(layers))) if jobs is None else jobs, baseline=baseline, base_url=base_url,
                               layers=list(layers), operations=list(operations), keyword=keyword, exitfirst=exitfirst,
                               failed_in=failed_in, shard=shard, shard_by=shard_by, record=record)
            return _run(args, report_dir, console, errors)
        finally:
            reportlock.release(report_dir)


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised where pytest stops for Ctrl-C, so the reports of what ran are written."""


def _main_until_stopped(args: list[str]) -> tuple[int, int | None]:
    """pytest.main(args) and, when a signal stopped it, the exit code that says which."""
    stopped: list[int] = []

    def on_term(signum: int, frame: Any) -> None:
        stopped.append(exitcodes.TERMINATED)
        raise _Terminated()

    try:
        previous = signal.signal(signal.SIGTERM, on_term)
    except ValueError:  # not the main thread (run called from a thread): SIGTERM keeps its default
        previous = None
    try:
        code = pytest.main(args)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    if stopped:  # SIGTERM, wherever pytest was when it came
        return code, stopped[0]
    return code, exitcodes.INTERRUPTED if code == pytest.ExitCode.INTERRUPTED else None


def _run(args: list[str], report_dir: Path, console: Console, errors: Console) -> int:
    results_file = report_dir / "results.json"
    results_file.unlink(missing_ok=True)
    started = time.monotonic()
    code, signalled = _main_until_stopped(args)
    if signalled is not None and not results_file.exists():
        errors.print("chatcontract: INTERRUPTED before any check ran; no reports written", highlight=False)
        return signalled
    if code == pytest.ExitCode.USAGE_ERROR:
        return exitcodes.USAGE
    if code == pytest.ExitCode.NO_TESTS_COLLECTED and not ("--shard" in args and results_file.exists()):
        errors.print("chatcontract: no check matches the selection (--operation, -k, --layer, --api)",
                     markup=False, highlight=False, soft_wrap=True)
        return exitcodes.USAGE
    if not results_file.exists():
        errors.print(f"chatcontract: the suite wrote no results (pytest exit code {int(code)})", highlight=False)
        return exitcodes.HARNESS
    document = json.loads(results_file.read_text(encoding="utf-8"))
    if document["results"]:
        show(document, console)
    for target in document["targets"]:
        if target.get("hint"):
            console.print(printable(f"hint: {target['hint']}"), markup=False, highlight=False, soft_wrap=True)
    console.print(printable(f"Reports in {report_dir}/ (summary.md, results.json, junit.xml); "
                            f"{time.monotonic() - started:.1f} s."), markup=False, highlight=False)
    if (stopped := interruption(document)) is not None:
        errors.print(f"chatcontract: {stopped}", markup=False, highlight=False, soft_wrap=True)
    return signalled if signalled is not None else exit_code(document)
