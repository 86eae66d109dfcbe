"""The suite's checks run on a fresh frame-stack chunk: deep calls that go up and down no longer take
memory from the OS and give it back each time (framestack.py says why that cost ~0.1 s per process).

Measured as the thread's minor page faults: each chunk CPython maps anew is touched fresh, so a
call pattern that crosses a chunk's end N times costs at least N faults. A new thread starts its
frames at the start of a chunk, so where its chunks end is the same on every run.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from chatcontract.suite.framestack import call_on_fresh_stack

pytestmark = pytest.mark.skipif(sys.implementation.name != "cpython" or not hasattr(resource, "RUSAGE_THREAD"),
                                reason="frame-stack chunks are CPython's (3.11+); per-thread fault counts are Linux's")

ROUNDS = 2000
REACH = 300  # frames: ~4,000 slots, past a 16 KiB chunk's 2,048 wherever the chunk starts


def _down(depth: int) -> int:
    return 0 if depth == 0 else _down(depth - 1) + 1


def _faults_going_up_and_down() -> int:
    before = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
    for _ in range(ROUNDS):
        assert _down(REACH) == REACH
    return resource.getrusage(resource.RUSAGE_THREAD).ru_minflt - before


def _in_new_thread(function) -> int:
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(function()))
    thread.start()
    thread.join()
    return result[0]


def test_deep_calls_on_a_fresh_stack_do_not_map_a_chunk_each_time() -> None:
    plain = _in_new_thread(_faults_going_up_and_down)
    fresh = _in_new_thread(lambda: call_on_fresh_stack(_faults_going_up_and_down))
    assert plain >= ROUNDS, f"the pattern itself should cross a chunk's end every round ({plain} faults)"
    assert fresh < ROUNDS // 20, f"{fresh} page faults in {ROUNDS} rounds on a fresh stack (plain: {plain})"


def test_the_body_s_result_and_exceptions_come_through_unchanged() -> None:
    assert call_on_fresh_stack(lambda a, *, b: (a, b), 1, b=2) == (1, 2)
    failure = AssertionError("the check's own message")
    with pytest.raises(AssertionError) as raised:
        call_on_fresh_stack(lambda: (_ for _ in ()).throw(failure))
    assert raised.value is failure


# A `chatcontract run` whose fresh-stack calls are recorded: the body each one ran, one per line.
RECORDED_RUN = """
import sys
from chatcontract.suite import framestack
plain = framestack._call
def recording(function, *args, **kwargs):
    with open(sys.argv[1], "a") as log:
        log.write(function.__name__ + "\\n")
    return plain(function, *args, **kwargs)
framestack._call = recording
from chatcontract.cli import main
raise SystemExit(main(sys.argv[2:]))
"""


def test_every_check_of_a_run_runs_through_it(tmp_path: Path) -> None:
    log = tmp_path / "bodies.txt"
    run = subprocess.run([sys.executable, "-c", RECORDED_RUN, str(log), "run", "--api", "ozeki", "--profile", "fast",
                          "-j", "1", "--report-dir", str(tmp_path / "reports")],
                         capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    checks = json.loads((tmp_path / "reports" / "results.json").read_text())
    bodies = log.read_text().split()
    assert len(bodies) == len(checks["results"]) == checks["checks_planned"], (len(bodies), checks["totals"])
    assert set(bodies) == {"test_documented_error", "test_operation_conforms", "test_moderation_semantics"}, sorted(set(bodies))
