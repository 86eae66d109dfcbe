"""The pytest plugin behind the suite: targets in, one test per (target, behaviour), reports out.

Options: `--target FILE` (repeatable), `--base-url URL`, `--api NAME` (repeatable),
`--profile fast|default|thorough`, `--report-dir DIR`, `--baseline FILE`. With no `--target` the
built-in reference servers for every platform start on free loopback ports and are the targets.

Test modules of the suite define `LAYER` and `cases(target) -> list[Case]`; this plugin
parametrizes their `case` argument over every target. Outcomes are recorded as five kinds —
pass, fail, skip, disabled, error — and written by `reports.py`.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest
import yaml

from chatcontract import specs
from chatcontract.suite import baseline as baseline_file
from chatcontract.suite import reports
from chatcontract.suite.cases import Case
from chatcontract.suite.outcomes import Recorder, classify, result_record
from chatcontract.suite.guarded import guarded_client, probe
from chatcontract.suite.wire import Wire
from chatcontract.targets import NOT_IMPLEMENTED, Target, TargetError, from_document, load_target

SUITE_DIR = Path(__file__).resolve().parent
LAYER_MODULES = {"schema": "test_schema_layer.py", "errors": "test_documented_errors.py", "semantics": "test_semantics.py"}
DISABLED_PREFIX = "disabled by config"
_targets_key = pytest.StashKey[list[Target]]()
_servers_key = pytest.StashKey[list[Any]]()
_recorder_key = pytest.StashKey[Recorder]()
_reachable_key = pytest.StashKey[dict[str, str | None]]()
_config_of_reports: list[pytest.Config] = []  # pytest_runtest_logreport gets no config argument
RECORD = "chatcontract-result"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("chatcontract", "chatcontract conformance suite")
    group.addoption("--target", action="append", default=[], metavar="FILE",
                    help="a target file to check (repeatable); without it the reference servers are started")
    group.addoption("--base-url", metavar="URL", help="override the base_url of every target")
    group.addoption("--api", action="append", default=[], metavar="NAME", help="only these platforms (repeatable)")
    group.addoption("--profile", choices=("fast", "default", "thorough"), default="default",
                    help="how many generated examples per check (see suite/profiles.yaml)")
    group.addoption("--report-dir", metavar="DIR", help="write JUnit, JSON and Markdown reports here")
    group.addoption("--baseline", metavar="FILE", help="accepted failures per target (YAML); see README")
    group.addoption("--layer", action="append", default=[], choices=sorted(LAYER_MODULES),
                    help="only this layer of checks (repeatable; default: all)")


def profile(config: pytest.Config) -> dict[str, int]:
    with open(SUITE_DIR / "profiles.yaml", encoding="utf-8") as handle:
        return yaml.safe_load(handle)[config.getoption("profile")]


def pytest_configure(config: pytest.Config) -> None:
    _config_of_reports[:] = [config]
    config.stash[_recorder_key] = Recorder()
    config.stash[_reachable_key] = {}
    config.addinivalue_line("markers", "chatcontract: a conformance check of one target")


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    layers = config.getoption("layer")
    if layers and collection_path.parent == SUITE_DIR and collection_path.name in LAYER_MODULES.values():
        if collection_path.name not in {LAYER_MODULES[layer] for layer in layers}:
            return True
    # `pytest --target FILE` in this repository runs the suite only, not the project's own tests.
    if config.getoption("target") and config.args_source == pytest.Config.ArgsSource.TESTPATHS:
        if SUITE_DIR not in collection_path.resolve().parents and collection_path.resolve() != SUITE_DIR:
            return collection_path.is_dir() or collection_path.suffix == ".py" or None
    return None


def targets(config: pytest.Config) -> list[Target]:
    """The targets of this run, loaded (or reference servers started) on first use."""
    if _targets_key in config.stash:
        return config.stash[_targets_key]
    wanted = config.getoption("api")
    unknown = [name for name in wanted if name not in specs.platforms()]
    if unknown:
        raise pytest.UsageError(f"unknown platform {unknown[0]!r} (known: {', '.join(specs.platforms())})")
    base_url = config.getoption("base_url")
    found: list[Target] = []
    try:
        if config.getoption("target"):
            found = [load_target(Path(p), base_url=base_url) for p in config.getoption("target")]
            found = [t for t in found if not wanted or t.api in wanted]
        else:
            found = _start_reference_servers(config, wanted or specs.platforms())
    except TargetError as exc:
        raise pytest.UsageError(str(exc)) from None
    names = [t.name for t in found]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise pytest.UsageError(f"two targets are named {duplicates[0]!r}; give one a `name:`")
    config.stash[_targets_key] = found
    return found


def _start_reference_servers(config: pytest.Config, platforms: list[str]) -> list[Target]:
    from chatcontract.servers.serve import start_in_thread, target_document

    running = config.stash.setdefault(_servers_key, [])
    found = []
    for platform in platforms:
        server = start_in_thread(platform, test_hooks=True)
        running.append(server)
        document = target_document(platform, server.base_url, test_hooks=True)
        found.append(from_document(document, where=f"reference server {platform}", default_name=platform))
    return found


def pytest_unconfigure(config: pytest.Config) -> None:
    if _hook_client_key in config.stash:
        config.stash[_hook_client_key].close()
    for server in config.stash.get(_servers_key, []):
        server.stop()


def operations_needed(case: Case) -> list[str]:
    """The operations a case calls: its own, and for a documented-error case the operations of the
    `x-provoke.before` steps that set the error up. (The semantic layer's machine guards its own
    steps one by one: its case names no operation.)"""
    needed = [case.operation_id] if case.operation_id else []
    payload = case.payload
    if isinstance(payload, tuple) and payload and isinstance(payload[-1], dict):
        provoke = payload[-1].get("x-provoke")
        if isinstance(provoke, dict):
            needed += [step["operation"] for step in provoke.get("before") or []
                       if isinstance(step, dict) and isinstance(step.get("operation"), str)]
    return list(dict.fromkeys(needed))


def not_implemented(case: Case) -> str | None:
    """Why the target cannot run this case (its file's `implements:` lacks an operation), or None."""
    missing = [op for op in operations_needed(case) if not case.target.implemented(op)]
    if not missing:
        return None
    own = case.operation_id in missing
    what = " and ".join(missing)
    return (f"{NOT_IMPLEMENTED}: {what} {'is' if len(missing) == 1 else 'are'} not in the target's `implements`"
            + ("" if own else f" (the error is set up with {what})"))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "case" not in metafunc.fixturenames or not hasattr(metafunc.module, "cases"):
        return
    config = metafunc.config
    accepted = baseline_file.load(config.getoption("baseline"))
    params = []
    for target in targets(config):
        for case in metafunc.module.cases(target):
            marks: list[Any] = [pytest.mark.chatcontract]
            if case.local_id in target.disabled:
                marks.append(pytest.mark.skip(reason=f"{DISABLED_PREFIX}: listed in the target's `disabled`"))
            elif (missing := not_implemented(case)) is not None:
                # Decided here, once for every layer: the case never runs, so it never passes.
                marks.append(pytest.mark.skip(reason=missing))
            elif case.test_id in accepted:
                marks.append(pytest.mark.xfail(strict=True, reason=f"baseline: {accepted[case.test_id]}"))
            # Everything of one target stays on one xdist worker (its state is shared).
            marks.append(pytest.mark.xdist_group(target.name))
            params.append(pytest.param(case, id=case.test_id, marks=marks))
    metafunc.parametrize("case", params)


def _reachability(config: pytest.Config, target: Target) -> str | None:
    """None when the target answers HTTP at all; else a one-line reason (cached per target)."""
    cache = config.stash[_reachable_key]
    if target.name not in cache:
        cache[target.name] = probe(target)  # bounded in total time, even against a dripping target
    return cache[target.name]


class TargetUnreachable(Exception):
    pass


_hook_client_key = pytest.StashKey[httpx.Client]()


def _hook_client(config: pytest.Config) -> httpx.Client:
    """One client for the test hooks (a new one per call costs a TLS context, ~0.1 s); each call's
    timeout bounds the whole exchange, redirects are not followed."""
    if _hook_client_key not in config.stash:
        config.stash[_hook_client_key] = guarded_client()
    return config.stash[_hook_client_key]


@pytest.fixture
def target(case: Case, request: pytest.FixtureRequest) -> Target:
    """The case's target, checked reachable and reset to its seeded state when it can be."""
    problem = _reachability(request.config, case.target)
    if problem:
        raise TargetUnreachable(problem)
    if case.target.can("reset"):
        try:
            response = _hook_client(request.config).post(case.target.base_url + case.target.hooks_path + "/reset",
                                                         timeout=case.target.request_timeout_s)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise TargetUnreachable(f"the reset hook of {case.target.name} failed: {exc}") from None
    return case.target


@pytest.fixture
def wire(target: Target, request: pytest.FixtureRequest) -> Iterator[Wire]:
    """Sends calls to the target; its last request becomes the failure's curl line."""
    w = Wire(target)
    request.node.stash[reports.wire_key] = w
    yield w
    w.close()


@pytest.fixture
def run_profile(request: pytest.FixtureRequest) -> dict[str, int]:
    return profile(request.config)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    case = getattr(item, "callspec", None) and item.callspec.params.get("case")
    if isinstance(case, Case):
        outcome = classify(report, call, DISABLED_PREFIX)
        if outcome is not None:
            wire = item.stash.get(reports.wire_key, None)
            curl = wire.curl() if wire is not None and outcome.kind in ("fail", "error") else ""
            record = result_record(case, outcome, curl, report.duration)
            notes = case.extra.get("notes") or {}
            if notes:  # why behaviours of a state machine were skipped (a partial target, no clock)
                record["behaviour_notes"] = {b: case.target.redact(n) for b, n in notes.items()}
                if outcome.kind == "pass":
                    skipped = sorted(b for b, kind in record["behaviours"].items() if kind == "skip")
                    record["message"] = case.target.redact(
                        f"{len(skipped)} behaviour(s) skipped: " + "; ".join(f"{b}: {notes.get(b, '')}" for b in skipped))
            # As report data, so it reaches the xdist controller too (see pytest_runtest_logreport).
            report.user_properties.append((RECORD, json.dumps({"result": record, "target": case.target.redacted()})))
    return report


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    for name, value in report.user_properties:
        if name == RECORD:
            data = json.loads(value)
            _config_of_reports[0].stash[_recorder_key].add(data["result"], data["target"])


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if hasattr(session.config, "workerinput"):
        return  # an xdist worker: the controller writes the reports
    report_dir = session.config.getoption("report_dir")
    recorder = session.config.stash.get(_recorder_key, None)
    if report_dir and recorder is not None and recorder.results:
        reports.write_all(Path(report_dir), recorder, profile=session.config.getoption("profile"),
                          finished_at=time.time())


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    recorder = config.stash.get(_recorder_key, None)
    if recorder is not None and recorder.results and not hasattr(config, "workerinput"):
        terminalreporter.write_sep("-", "chatcontract conformance")
        for line in reports.summary_lines(recorder):
            terminalreporter.write_line(line)
