"""Under `chatcontract run -j N` every test of one target must run on one worker: a stateful target
(its mutes, its rate limits) cannot take two workers' tests at once. The suite asks for that with
`xdist_group(<target name>)`; some pytest / pytest-xdist pairs silently ignore the mark
(pytest 9.2.0 with pytest-xdist 3.8.0, pytest-xdist#1386), so the pinned pair is checked here.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

GROUPED = '''
import pytest

@pytest.mark.parametrize("i", range(8))
@pytest.mark.xdist_group("lounge")
def test_lounge(i): pass

@pytest.mark.parametrize("i", range(8))
@pytest.mark.xdist_group("staging")
def test_staging(i): pass
'''


def test_tests_of_one_target_stay_on_one_worker(tmp_path: Path) -> None:
    (tmp_path / "test_grouped.py").write_text(GROUPED)
    done = subprocess.run([sys.executable, "-m", "pytest", "-n", "2", "--dist", "loadgroup", "-v", "-p", "no:cacheprovider",
                           "-p", "no:chatcontract", "test_grouped.py"], capture_output=True, text=True, cwd=tmp_path,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    workers: dict[str, set[str]] = defaultdict(set)
    for worker, group in re.findall(r"\[(gw\d+)\].*PASSED test_grouped\.py::test_(\w+)\[", done.stdout):
        workers[group].add(worker)
    assert set(workers) == {"lounge", "staging"}, done.stdout
    assert all(len(w) == 1 for w in workers.values()), f"a target's tests ran on several workers: {dict(workers)}"
