"""The pytest plugin behind the suite: targets in, one test per (target, behaviour), reports out.

Options: `--target FILE` (repeatable), `--base-url URL`, `--api NAME` (repeatable),
`--profile fast|default|thorough`, `--report-dir DIR`, `--baseline FILE`, `--layer NAME`,
`--operation ID`, `--failed-in RESULTS_JSON`, `--shard K/N`, `--shard-by auto|target|layer`. With
no `--target` the built-in reference servers are the targets, each started on a free loopback port
when the first of its tests runs (so a process, an xdist worker or a shard starts only the servers
of its own tests); `--base-url URL --api NAME` alone is a server at URL seeded like that platform's
reference server.

Registered as the `chatcontract` pytest11 entry point, so `pytest --target FILE` works from any
folder and from an installed wheel: given `--target` or `--base-url` and no test paths, the plugin
itself names the suite's modules as the test paths (and keeps conftest.py files outside the suite
out), whatever the caller's rootdir, testpaths or python_files say.

Test modules of the suite define `LAYER` and `cases(target) -> list[Case]`; this plugin
parametrizes their `case` argument over every target. Outcomes are recorded as five kinds —
pass, fail, skip, disabled, error — and written by `reports.py`.
"""

from __future__ import annotations

import functools
import gc
import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import pytest
import yaml

from chatcontract import reportlock, runinfo, shards, specs, usercache
from chatcontract.suite import baseline as baseline_file
from chatcontract.suite import reports
from chatcontract.suite.cases import Case
from chatcontract.suite.outcomes import Recorder, classify, result_record
from chatcontract.suite import sharing
from chatcontract.targets import ANONYMOUS, NOT_IMPLEMENTED, Target, TargetError, from_document, load_target

# The HTTP stack (suite/guarded.py, suite/wire.py: httpx, httpcore, requests) is imported where it
# is used: the xdist controller sends no request, and it starts its workers only once this module
# is imported, so every import here is paid before any check starts (~0.15 s for the HTTP stack).
if TYPE_CHECKING:
    import httpx

    from chatcontract.suite.wire import Wire

SUITE_DIR = Path(__file__).resolve().parent
LAYER_MODULES = {"schema": "test_schema_layer.py", "errors": "test_documented_errors.py", "semantics": "test_semantics.py"}
DISABLED_PREFIX = "disabled by config"
_targets_key = pytest.StashKey[list[Target]]()
_servers_key = pytest.StashKey[list[Any]]()
_recorder_key = pytest.StashKey[Recorder]()
_reachable_key = pytest.StashKey[dict[str, str | None]]()
_hints_key = pytest.StashKey[dict[str, str | None]]()
_pending_key = pytest.StashKey[dict[str, str]]()  # reference-server target name -> platform, not yet started
_shard_key = pytest.StashKey[Any]()
_counted_key = pytest.StashKey[list[int]]()
_planned_key = pytest.StashKey[int]()  # the checks this run selected (collected, not deselected)
_config_of_reports: list[pytest.Config] = []  # pytest_runtest_logreport gets no config argument
RECORD = "chatcontract-result"
HINT = "chatcontract-hint"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("chatcontract", "chatcontract conformance suite")
    group.addoption("--target", action="append", default=[], metavar="FILE",
                    help="a target file to check (repeatable); without it the reference servers are started")
    group.addoption("--base-url", metavar="URL", help="override the base_url of every target")
    group.addoption("--api", action="append", default=[], metavar="NAME", help="only these platforms (repeatable)")
    group.addoption("--profile", choices=list(profiles()), default="default",
                    help="how hard the suite works: " + "; ".join(f"{name}: {p['description']}"
                                                                    for name, p in profiles().items()))
    group.addoption("--report-dir", metavar="DIR", help="write JUnit, JSON and Markdown reports here")
    group.addoption("--baseline", metavar="FILE", help="accepted failures per target (YAML); see README")
    group.addoption("--layer", action="append", default=[], choices=sorted(LAYER_MODULES),
                    help="only this layer of checks (repeatable; default: all)")
    group.addoption("--operation", action="append", default=[], metavar="ID",
                    help="only the schema and errors checks of this operationId (repeatable)")
    group.addoption("--failed-in", metavar="RESULTS_JSON",
                    help="only the checks that failed or errored in this results.json (all, if none did)")
    group.addoption("--shard", metavar="K/N", help="run only part K of N of the work (a CI job matrix); "
                    "`chatcontract merge` puts the parts' reports back together")
    group.addoption("--record", metavar="DIR", help="write every exchange with each target as DIR/<target>.har "
                    "(HAR 1.2, credentials replaced by pseudonyms), to share a failure or re-check it")
    group.addoption("--shard-by", choices=shards.BY, default="auto",
                    help="what a shard holds: whole targets, or single layers of a target (auto: whole "
                         "targets when there are at least N of them)")


def suite_paths(layers: list[str] | tuple[str, ...] = ()) -> list[str]:
    """The suite's test modules (of `layers`, default every layer), as pytest arguments. Named
    one by one, not as a folder, so pytest collects them whatever `python_files` says."""
    return [str(SUITE_DIR / module) for layer, module in LAYER_MODULES.items() if not layers or layer in layers]


def _suite_asked(namespace: Any) -> bool:
    return bool(getattr(namespace, "target", None) or getattr(namespace, "base_url", None))


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser, args: list[str]) -> None:
    """`pytest --target FILE` (or `--base-url URL`) with no test paths runs exactly the suite.

    pytest picks its rootdir before any plugin loads, and takes the target file for a test path
    when it does, so the caller's folder (or the target file's) decides what would be collected:
    all of a project's tests, or nothing. Here, before the first conftest is read, the suite's
    modules become the test paths and conftest.py files outside the suite are not loaded."""
    namespace = early_config.known_args_namespace
    if not _suite_asked(namespace) or namespace.file_or_dir:
        return
    paths = suite_paths(namespace.layer or ())
    args[:] = [*args, "--confcutdir", str(SUITE_DIR), *paths]
    namespace.file_or_dir = paths
    namespace.confcutdir = str(SUITE_DIR)


@functools.cache
def profiles() -> dict[str, dict[str, Any]]:
    """The profiles of suite/profiles.yaml, by name: numbers and a one-line description each
    (read once; treat as read-only)."""
    with open(SUITE_DIR / "profiles.yaml", encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def profile(config: pytest.Config) -> dict[str, Any]:
    return profiles()[config.getoption("profile")]


def _runs_suite(config: pytest.Config) -> bool:
    """Whether this pytest run collects the suite (not some other project's tests)."""
    if _suite_asked(config.option):
        return True
    return any(Path(arg.split("::")[0]).resolve() in (SUITE_DIR, *(SUITE_DIR / m for m in LAYER_MODULES.values()))
               for arg in config.args)


def hypothesis_home() -> Path:
    """Where hypothesis keeps its caches during a suite run: the user's cache folder, not a
    `.hypothesis/` in whatever folder the run was started from."""
    return usercache.folder("hypothesis")


_heap_key = pytest.StashKey[str]()  # "paused": collector off until collected; "frozen": gc.freeze() done


def _pause_collector(config: pytest.Config) -> None:
    """No garbage collection from configuration to the end of collection; what exists is moved
    out of the collector's sight (gc.freeze) at configuration and again when collection ends.

    The modules, specs, schemas and schemathesis' and hypothesis' strategies that the suite builds
    before its first check live until the process ends, yet each full collection during the
    checks walks all of them: in a one-worker Ozeki schema layer, five full collections took
    0.30-0.34 s of a 2.3 s run (two of them during imports and collection), four took 0.07-0.12 s
    with the freezes (gc.callbacks timing, alternating runs). Plain `st run` on the same spec spends
    ~0.3 s in them too. A check's own garbage is collected as always; the collector is on again
    once collection ends, whatever its outcome."""
    if gc.isenabled():
        gc.disable()
        gc.freeze()  # pytest's, hypothesis' and our modules: out of sight of the explicit full
        # collection (and gc.get_referrers walk) hypothesis' register_random makes when
        # schemathesis is imported during collection (39 -> ~20 ms in the run above)
        config.stash[_heap_key] = "paused"


def _settle_heap(config: pytest.Config) -> None:
    if config.stash.get(_heap_key, None) == "paused":
        gc.freeze()
        gc.enable()
        config.stash[_heap_key] = "frozen"


@pytest.hookimpl(wrapper=True)
def pytest_collection(session: pytest.Session) -> Iterator[None]:
    try:
        return (yield)
    finally:
        _settle_heap(session.config)


def pytest_configure(config: pytest.Config) -> None:
    if _runs_suite(config):
        _pause_collector(config)
    _config_of_reports[:] = [config]
    config.stash[_recorder_key] = Recorder()
    config.stash[_reachable_key] = {}
    config.stash[_hints_key] = {}
    config.addinivalue_line("markers", "chatcontract: a conformance check of one target")
    if not hasattr(config, "workerinput"):  # the run (its xdist workers inherit the id)
        sharing.begin_run()
    if config.getoption("record") and _runs_suite(config):
        from chatcontract.suite import guarded

        config.stash[_recording_key] = Recording(config, Path(config.getoption("record")))
        guarded.observers.append(config.stash[_recording_key])
    if _runs_suite(config) and not os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY") and not _hands_out_checks(config):
        # (Each worker sets its own; in the controller, which runs no check, importing hypothesis
        # took ~80 ms before it could start its workers.)
        from hypothesis.configuration import set_hypothesis_home_dir

        set_hypothesis_home_dir(hypothesis_home())


def _hands_out_checks(config: pytest.Config) -> bool:
    """Whether this process is an xdist controller: it hands the checks to its workers and runs
    none itself (xdist's own test, `_is_distribution_mode`, which it does not export)."""
    return (not hasattr(config, "workerinput") and config.getoption("dist", "no") != "no"
            and bool(config.getoption("tx", None)))


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    layers = config.getoption("layer")
    if layers and collection_path.parent == SUITE_DIR and collection_path.name in LAYER_MODULES.values():
        if collection_path.name not in {LAYER_MODULES[layer] for layer in layers}:
            return True
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
        elif base_url:
            found = [seeded_target(wanted, base_url)]
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


def pytest_sessionstart(session: pytest.Session) -> None:
    """Bad options and target files stop the run here, as one `ERROR:` line and pytest's usage
    exit code, rather than as a collection error with a traceback."""
    config = session.config
    if not _runs_suite(config):
        return
    if _suite_asked(config.option):
        apis = {t.api for t in targets(config)}  # loads and checks the target files
    else:
        apis = set(config.getoption("api") or specs.platforms())
    check_operations(config.getoption("operation"), apis)
    _failed_ids(config)
    if not hasattr(config, "workerinput"):
        check_listed_ids(config)
        if config.getoption("report_dir"):  # plain pytest; under `chatcontract run` the runner holds it already
            try:
                reportlock.hold(Path(config.getoption("report_dir")))  # released in pytest_unconfigure
            except reportlock.ReportDirBusy as exc:
                raise pytest.UsageError(str(exc)) from None


_layer_cases_key = pytest.StashKey[dict[str, dict[str, list[Case]]]]()


def layer_cases(config: pytest.Config, layer: str) -> dict[str, list[Case]]:
    """Target name -> the cases of `layer` for it (built once per run, for the checks that look
    at every case before collection: the baseline and `disabled` entries, the shard plan)."""
    import importlib

    cache = config.stash.setdefault(_layer_cases_key, {})
    if layer not in cache:
        module = importlib.import_module(f"chatcontract.suite.{LAYER_MODULES[layer].removesuffix('.py')}")
        cache[layer] = {target.name: module.cases(target) for target in targets(config)}
    return cache[layer]


def check_listed_ids(config: pytest.Config) -> None:
    """Every baseline entry and every `disabled` entry of a target file names a check of this
    run's targets (any layer, selected or not): a typo must not silently widen the gate."""
    found = targets(config)
    if not config.getoption("baseline") and not any(t.disabled for t in found):
        return  # nothing listed to check (building every layer's cases for it: ~0.2 s a run)
    known: dict[str, set[str]] = {t.name: set() for t in found}
    for layer in LAYER_MODULES:
        for name, cases in layer_cases(config, layer).items():
            known[name].update(case.test_id for case in cases)
    every = set().union(*known.values())
    listed = baseline_file.load(config.getoption("baseline"))
    stray = baseline_file.unmatched(listed, every, set(known), some_targets_left_out=bool(config.getoption("api")))
    if stray:
        target = stray[0].split(baseline_file.SEPARATOR, 1)[0]
        why = (f"no check of target {target!r} has that id" if target in known else
               f"no target of this run is named {target!r} (targets: {', '.join(known) or 'none'})")
        raise pytest.UsageError(f"--baseline {config.getoption('baseline')}: entry {stray[0]!r} matches no check: {why}"
                                f"{f' (and {len(stray) - 1} more)' if len(stray) > 1 else ''}; ids are as the "
                                "reports print them (`chatcontract baseline --from reports/results.json`)")
    for target in found:
        for entry in target.disabled:
            if baseline_file.full_id(target.name, str(entry)) not in known[target.name]:
                raise pytest.UsageError(f"target {target.name!r}: `disabled` entry {entry!r} matches no check of the "
                                        "target; ids are as the reports print them")


def seeded_target(apis: list[str], base_url: str) -> Target:
    """`--base-url URL --api NAME` without a target file: a server at URL provisioned like NAME's
    reference server (its seed's identities and fixtures), without test hooks."""
    if len(apis) != 1:
        raise TargetError("--base-url without --target needs one --api NAME: the platform the server at "
                          f"{base_url} speaks (or write a target file: `chatcontract init NAME`)")
    from chatcontract.servers.targetfile import target_document

    return from_document(target_document(apis[0], base_url, test_hooks=False), where="--base-url", default_name=apis[0])


def check_operations(wanted: list[str], apis: set[str]) -> None:
    """`--operation` names only operations of the run's platforms (a typo must not run nothing)."""
    known = [op.operation_id for api in sorted(apis) for op in specs.operations(api)]
    for operation_id in wanted:
        if operation_id not in known:
            raise pytest.UsageError(f"--operation {operation_id!r} is no operation of "
                                    f"{', '.join(f'specs/{a}.yaml' for a in sorted(apis)) or 'the targets'} "
                                    f"(known: {', '.join(known)})")


# Where a reference server's target points until the server starts (nothing is sent there: the
# `target` fixture starts the server before the first request of its tests).
_NOT_STARTED = "http://127.0.0.1:9"


def _start_reference_servers(config: pytest.Config, platforms: list[str]) -> list[Target]:
    """The reference servers' targets; each server starts when its first test runs (_started)."""
    from chatcontract.servers.targetfile import target_document

    pending = config.stash.setdefault(_pending_key, {})
    found = []
    for platform in platforms:
        document = target_document(platform, _NOT_STARTED, test_hooks=True)
        found.append(from_document(document, where=f"reference server {platform}", default_name=platform))
        pending[found[-1].name] = platform
    return found


def _started(config: pytest.Config, target: Target) -> Target:
    """The target, its reference server started first if it is one and has not started yet."""
    platform = config.stash.get(_pending_key, {}).pop(target.name, None)
    if platform is not None:
        from chatcontract.servers.serve import start_in_thread

        server = start_in_thread(platform, test_hooks=True)
        config.stash.setdefault(_servers_key, []).append(server)
        target.base_url = server.base_url
    return target


class Recording:
    """`--record DIR`: every exchange with a target into DIR/<target>.har (traffic.har.HarWriter).
    The schema and errors layers break requests on purpose; their exchanges are marked so, so a
    re-check (`chatcontract check-traffic`) judges only the server's side of them. The test
    hooks' calls are recorded too (outside the spec, they are skipped on a re-check)."""

    def __init__(self, config: pytest.Config, folder: Path) -> None:
        self.config, self.folder = config, folder
        self.writers: dict[str, Any] = {}
        self.layer = ""  # the layer of the test running now

    def __call__(self, request: httpx.Request, response: httpx.Response) -> None:
        url = str(request.url)
        for target in targets(self.config):
            # The test hooks' calls too: a reset or a clock move between a write and a read is
            # what lets a re-check see that the state changed (the model forgets, never guesses).
            if url.startswith(target.base_url):
                self._writer(target).add(request, response, on_purpose=self.layer in ("schema", "errors"))
                return

    def _writer(self, target: Target) -> Any:
        if target.name not in self.writers:
            from chatcontract.traffic.har import HarWriter

            chosen = shard_plan(self.config)
            suffix = f".shard-{chosen['shard'].index}-of-{chosen['shard'].count}" if chosen else ""
            self.writers[target.name] = HarWriter(self.folder / f"{target.name}{suffix}.har", api=target.api,
                                                  secrets=target.secrets())
        return self.writers[target.name]

    def close(self) -> None:
        for writer in self.writers.values():
            writer.close()


_recording_key = pytest.StashKey[Recording]()


def pytest_runtest_setup(item: pytest.Item) -> None:
    recording = item.config.stash.get(_recording_key, None)
    case = getattr(item, "callspec", None) and item.callspec.params.get("case")
    if recording is not None and isinstance(case, Case):
        recording.layer = case.layer


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """A check of the suite runs on a fresh frame-stack chunk (framestack: under pytest's and
    pluggy's frames, the deep calls of schemathesis and hypothesis otherwise cross a chunk's end
    thousands of times a run, each an mmap and a munmap). Anything else is pytest's to call."""
    case = getattr(pyfuncitem, "callspec", None) and pyfuncitem.callspec.params.get("case")
    if not isinstance(case, Case):
        return None
    from chatcontract.suite.framestack import call_on_fresh_stack

    body = pyfuncitem.obj
    arguments = {name: pyfuncitem.funcargs[name] for name in _parameter_names(body)}
    call_on_fresh_stack(body, **arguments)
    return True


@functools.cache
def _parameter_names(function: Any) -> tuple[str, ...]:
    import inspect

    return tuple(inspect.signature(function).parameters)


def pytest_unconfigure(config: pytest.Config) -> None:
    _settle_heap(config)  # a run that never collected
    if config.stash.get(_heap_key, None) == "frozen" and not hasattr(config, "workerinput"):
        # In-process (-j 1, a caller's own pytest.main), the caller's memory is collectable again
        # (an xdist worker ends right after this, frozen: see below).
        gc.unfreeze()
    if _recording_key in config.stash:
        from chatcontract.suite import guarded

        guarded.observers.remove(config.stash[_recording_key])
        config.stash[_recording_key].close()
    for client in config.stash.get(_hook_client_key, {}).values():
        client.close()
    for server in config.stash.get(_servers_key, []):
        server.ask_to_stop()
    # An xdist worker's process ends right after this (its servers are daemon threads, ended
    # with it): waiting out uvicorn's 0.1 s tick there would only hold up the end of the run.
    # In-process (-j 1, a caller's own pytest.main) the servers are stopped before returning.
    if not hasattr(config, "workerinput"):
        for server in config.stash.get(_servers_key, []):
            server.stop()
    sharing.withdraw()
    if config.getoption("report_dir", None) and not hasattr(config, "workerinput"):
        reportlock.release(Path(config.getoption("report_dir")))
    if hasattr(config, "workerinput"):
        # An xdist worker ends with its session: no last garbage collection over all it built
        # (~0.2 s of each worker's exit, which the run waits for; see cli.entry).
        gc.freeze()


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
            if case.local_id in target.disabled or case.test_id in target.disabled:
                marks.append(pytest.mark.skip(reason=f"{DISABLED_PREFIX}: listed in the target's `disabled`"))
            elif (missing := not_implemented(case)) is not None:
                # Decided here, once for every layer: the case never runs, so it never passes.
                marks.append(pytest.mark.skip(reason=missing))
            elif case.test_id in accepted:
                marks.append(pytest.mark.xfail(strict=True, reason=f"baseline: {accepted[case.test_id]}"))
            marks.append(pytest.mark.xdist_group(_worker_group(config, target, case)))
            params.append(pytest.param(case, id=case.test_id, marks=marks))
    metafunc.parametrize("case", params)


def _worker_group(config: pytest.Config, target: Target, case: Case) -> str:
    """The xdist group of a check: everything of one target stays on one worker (its state is
    shared), except a built-in reference server's layers, which may run on different workers at
    once: each worker starts its own server, so no two layers share state (as with --shard-by
    layer). That is what lets one platform's run use both cores. Not under --record: a target's
    HAR file is one sequence of exchanges with one server."""
    if target.name in config.stash.get(_pending_key, {}) and not config.getoption("record", None):
        return shards.unit_of(target.name, case.layer, by_layer=True)
    return target.name


def _reachability(config: pytest.Config, target: Target) -> str | None:
    """None when the target answers HTTP at all; else a one-line reason (cached per target)."""
    cache = config.stash[_reachable_key]
    if target.name not in cache:
        from chatcontract.suite.guarded import probe

        cache[target.name] = probe(target)  # bounded in total time, even against a dripping target
    return cache[target.name]


def platform_hint(target: Target) -> str | None:
    """A hint when the target answers, but 404 to every operation of its spec: most likely a
    server of another platform, or a base_url without its path prefix. None when any operation
    answers something else. Each operation is sent as its `x-request` says but without
    credentials, so the probe changes no state (a real server answers it with an auth error)."""
    from chatcontract.suite.wire import FixtureError, Wire, base_call

    statuses = []
    wire = Wire(target)
    try:
        for op in specs.operations(target.api):
            if not target.implemented(op.operation_id):
                continue
            try:
                status = wire.send(base_call(target, op.operation_id, **{"as": ANONYMOUS})).status_code
            except FixtureError:
                continue
            except Exception:  # noqa: BLE001 - a hint never changes an outcome: the checks say what is wrong
                return None
            if status != 404:
                return None  # the first other answer settles it
            statuses.append(status)
    finally:
        wire.close()
    if not statuses:
        return None
    return (f"target {target.name} answered 404 to all {len(statuses)} operations of specs/{target.api}.yaml "
            f"at {target.base_url}: is this a {target.api} server, and is base_url its root (with any path prefix)?")


def _hint(config: pytest.Config, target: Target) -> str | None:
    cache = config.stash[_hints_key]
    if target.name not in cache:
        cache[target.name] = target.redact(platform_hint(target) or "") or None
    return cache[target.name]


class TargetUnreachable(Exception):
    pass


_hook_client_key = pytest.StashKey[dict[str, Any]]()  # target name -> its httpx.Client


def _hook_client(config: pytest.Config, target: Target) -> httpx.Client:
    """One client per target for its test hooks (a new one per call costs a TLS context), with the
    target's own TLS settings (a private CA, a client certificate); each call's timeout bounds
    the whole exchange, redirects are not followed."""
    clients = config.stash.setdefault(_hook_client_key, {})
    if target.name not in clients:
        from chatcontract.suite.guarded import guarded_client

        clients[target.name] = guarded_client(verify=target.ssl_context())
    return clients[target.name]


@pytest.fixture
def target(case: Case, request: pytest.FixtureRequest) -> Target:
    """The case's target, checked reachable and reset to its seeded state when it can be."""
    _started(request.config, case.target)
    sharing.announce(case.target.base_url)  # so another run against it on this machine can say so
    problem = _reachability(request.config, case.target)
    if problem:
        raise TargetUnreachable(problem)
    hint = _hint(request.config, case.target)
    if hint:  # as report data, so it reaches the xdist controller (see pytest_runtest_logreport)
        request.node.user_properties.append((HINT, json.dumps({"target": case.target.name, "hint": hint})))
    if case.target.can("reset"):
        import httpx

        try:
            response = _hook_client(request.config, case.target).post(case.target.base_url + case.target.hooks_path + "/reset",
                                                         timeout=case.target.request_timeout_s)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise TargetUnreachable(f"the reset hook of {case.target.name} failed: {exc}") from None
    return case.target


@pytest.fixture
def wire(target: Target, request: pytest.FixtureRequest) -> Iterator[Wire]:
    """Sends calls to the target; its last request becomes the failure's curl line."""
    from chatcontract.suite.wire import Wire

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
        from chatcontract.suite.guarded import requests_sent, take_notices

        outcome = classify(report, call, DISABLED_PREFIX)
        if outcome is not None:
            wire = item.stash.get(reports.wire_key, None)
            curl = ((wire.curl() if wire is not None else case.extra.get("curl", ""))
                    if outcome.kind in ("fail", "error") else "")
            record = result_record(case, outcome, curl, report.duration)
            limited = take_notices()  # said while this check ran (its phases that decide nothing keep theirs)
            if outcome.kind in ("fail", "error"):
                if limited:  # a 429 this check took as the answer, not retried: say why
                    record["detail"] = case.target.redact("\n".join([*limited, record["detail"]]).strip())
                shared = case.target.redact(sharing.notice(case.target.base_url))
                if shared:  # what this check saw may be another run's doing: say so where it is read first
                    record["message"] += f" {sharing.SAME_TIME}"
                    record["detail"] = f"{shared}\n{record['detail']}".strip()
            counted = item.config.stash.setdefault(_counted_key, [0])
            record["requests"], counted[0] = requests_sent() - counted[0], requests_sent()
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
        elif name == HINT:
            data = json.loads(value)
            _config_of_reports[0].stash[_hints_key][data["target"]] = data["hint"]


def _with_hints(config: pytest.Config, recorder: Recorder) -> Recorder:
    """Each target's hint (see platform_hint) into its entry of the reports."""
    for name, hint in config.stash.get(_hints_key, {}).items():
        if hint and name in recorder.targets:
            recorder.targets[name]["hint"] = hint
    return recorder


def _failed_ids(config: pytest.Config) -> set[str] | None:
    """The test ids that failed or errored in the `--failed-in` results.json; None without it."""
    path = config.getoption("failed_in")
    if not path:
        return None
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
        return {r["id"] for r in document["results"] if r["outcome"] in ("fail", "error")}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise pytest.UsageError(f"--failed-in {path}: not a readable results.json ({type(exc).__name__})") from None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """--operation and --failed-in: the checks outside the selection are deselected (not run,
    not reported), as pytest's own -k does."""
    _keep_shard(config, items)
    _heaviest_groups_first(config, items)
    operations = set(config.getoption("operation"))
    failed = _failed_ids(config)
    if failed is not None and not failed:
        failed = None  # nothing failed last time: everything runs again (pytest's --lf does the same)
    if not operations and failed is None:
        return
    keep, drop = [], []
    for item in items:
        case = getattr(item, "callspec", None) and item.callspec.params.get("case")
        if isinstance(case, Case):
            chosen = (not operations or case.operation_id in operations) and (failed is None or case.test_id in failed)
            (keep if chosen else drop).append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def _heaviest_groups_first(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On xdist workers: the groups in order of their rough cost, heaviest first (each group's
    own tests keep their order). xdist hands a free worker the next group in collection order
    (the run passes --no-loadscope-reorder), so the state machines, the longest tests, start first
    and the cheap checks fill the gaps: otherwise they came last and one worker ran on alone."""
    if not hasattr(config, "workerinput"):
        return
    cost: dict[str, int] = {}
    group_of: dict[int, str] = {}
    for item in items:
        marker = item.get_closest_marker("xdist_group")
        case = getattr(item, "callspec", None) and item.callspec.params.get("case")
        group = group_of[id(item)] = str(marker.args[0]) if marker and marker.args else ""
        cost[group] = cost.get(group, 0) + (shards.weight(case.layer) if isinstance(case, Case) else 1)
    rank = {group: index for index, group in enumerate(sorted(cost, key=lambda g: (-cost[g], g)))}
    items.sort(key=lambda item: rank[group_of[id(item)]])


def shard_plan(config: pytest.Config) -> dict[str, Any] | None:
    """`--shard K/N`: this shard and the whole plan (every process of the run computes the same
    one from the same targets and layers; see shards.py). None without --shard."""
    if _shard_key in config.stash:
        return config.stash[_shard_key]
    text = config.getoption("shard")
    if not text:
        config.stash[_shard_key] = None
        return None
    try:
        shard = shards.parse(text)
        found = targets(config)
        by_layer = shards.splits_layers([t.name for t in found], shard.count, config.getoption("shard_by"))
    except shards.ShardError as exc:
        raise pytest.UsageError(str(exc)) from None
    weights: dict[str, int] = {}
    layers = config.getoption("layer") or list(LAYER_MODULES)
    for layer in layers:
        for name, cases in layer_cases(config, layer).items():
            unit = shards.unit_of(name, layer, by_layer)
            weights[unit] = weights.get(unit, 0) + shards.weight(layer) * len(cases)
    plan = shards.plan(weights, shard.count)
    config.stash[_shard_key] = {"shard": shard, "by_layer": by_layer, "plan": plan,
                                "mine": set(plan[shard.index - 1])}
    return config.stash[_shard_key]


def _keep_shard(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect the checks of the other shards (not run, not reported)."""
    chosen = shard_plan(config)
    if chosen is None:
        return
    keep, drop = [], []
    for item in items:
        case = getattr(item, "callspec", None) and item.callspec.params.get("case")
        if isinstance(case, Case):
            unit = shards.unit_of(case.target.name, case.layer, chosen["by_layer"])
            (keep if unit in chosen["mine"] else drop).append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_collection_finish(session: pytest.Session) -> None:
    """How many checks the run selected, so an interrupted run can say how many of them ran."""
    session.config.stash[_planned_key] = len(session.items)


_interrupted_key = pytest.StashKey[bool]()


@pytest.hookimpl(tryfirst=True)
def pytest_keyboard_interrupt(excinfo: pytest.ExceptionInfo[BaseException]) -> None:
    """Ctrl-C or SIGTERM: remembered for the reports; and the frames CPython 3.11 gives no line
    number (an interrupt landing between instructions) are left out of the traceback pytest
    prints, which would otherwise fail on them (`tb_lineno` None) with an internal error."""
    _config_of_reports[0].stash[_interrupted_key] = True
    kept = [entry for entry in excinfo.traceback if entry._rawentry.tb_lineno is not None]
    if len(kept) != len(excinfo.traceback):
        excinfo.traceback = excinfo.traceback.__class__(kept)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node: Any, ids: list[str]) -> None:
    """Under xdist the controller collects nothing: each worker sends the same ids."""
    node.config.stash[_planned_key] = len(ids)


def _interrupted(config: pytest.Config, exitstatus: int) -> bool:
    """Ctrl-C or SIGTERM stopped the suite's run (chatcontract run turns SIGTERM into KeyboardInterrupt)."""
    return ((exitstatus == pytest.ExitCode.INTERRUPTED or config.stash.get(_interrupted_key, False))
            and _runs_suite(config))


def _run_info(config: pytest.Config, recorder: Recorder, interrupted: bool) -> dict[str, Any]:
    info: dict[str, Any] = {**runinfo.run_info(),
                            "requests_sent": sum(r.get("requests", 0) for r in recorder.results)}
    if _planned_key in config.stash:
        info["checks_planned"] = config.stash[_planned_key]
    if interrupted:  # what ran is written, and every report says the run stopped early (reports.interruption)
        info["interrupted"] = True
    chosen = shard_plan(config)
    if chosen is not None:
        info["shard"] = shards.record(chosen["shard"], chosen["plan"], chosen["by_layer"])
    return info


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if hasattr(session.config, "workerinput"):
        return  # an xdist worker: the controller writes the reports
    report_dir = session.config.getoption("report_dir")
    recorder = session.config.stash.get(_recorder_key, None)
    # A shard may hold no check at all (more shards than units): its empty report still says
    # which shard ran, so that `chatcontract merge` can tell it from a missing one.
    interrupted = _interrupted(session.config, exitstatus)
    if report_dir and recorder is not None and (recorder.results or interrupted or shard_plan(session.config) is not None):
        reports.write_all(Path(report_dir), _with_hints(session.config, recorder),
                          profile=session.config.getoption("profile"), finished_at=time.time(),
                          run=_run_info(session.config, recorder, interrupted))


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    recorder = config.stash.get(_recorder_key, None)
    if recorder is not None and recorder.results and not hasattr(config, "workerinput"):
        terminalreporter.write_sep("-", "chatcontract conformance")
        for line in reports.summary_lines(recorder):
            terminalreporter.write_line(line)
        for name, hint in config.stash.get(_hints_key, {}).items():
            if hint:
                terminalreporter.write_line(f"hint: {reports.printable(hint)}")
