"""Mutation score of the conformance suite over one reference server's behaviour code (mutmut).

mutmut (pinned: `mutmut==2.5.1`, installed into the project venv) changes one operator, constant or
keyword at a time in `servers/<platform>/state.py` (and `routes.py` with `--routes`), then runs the
conformance suite against that platform's reference server as the test command:

    python -m pytest src/chatcontract/suite --api PLATFORM --profile fast -x -q -p no:cacheprovider \
        --hypothesis-seed 0

(without `--target` the suite starts the reference server itself, in the pytest process, from the
mutated code). A mutant is killed when that command fails. mutmut 2 is used because it runs any
shell command as the test (our suite is black-box HTTP, started from the command line); mutmut 3
only runs pytest in-process against test ids it maps to functions.

mutmut edits files in place, so everything runs in a scratch copy of `src/`, `specs/`,
`schemas/` and `pyproject.toml` (PYTHONPATH points at the copy): the checkout is never touched.
`--hypothesis-seed 0` makes every run draw the same examples, so a survivor is reproducible.

    python bench/mutation.py plugdj                      # state.py of plug.dj
    python bench/mutation.py agora --routes --max-minutes 30
    python bench/mutation.py plugdj --render              # re-render the .md after classifying survivors

Writes `bench/results/mutation-<platform>.json` and `.md`: score (killed / (killed + survived);
timeouts count as killed), mutants per minute, and every survivor with its diff and the
classification recorded in `bench/mutation_survivors.yaml` (missing assertion / equivalent /
docs leave it open), keyed by file, line and mutated text. Mutants not reached before
`--max-minutes` are reported as untested.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = ROOT / "bench" / "results"
CLASSIFICATION = ROOT / "bench" / "mutation_survivors.yaml"
PLATFORMS = ("agora", "ozeki", "plugdj", "rocketchat", "sendbird")


def make_copy(scratch: Path) -> Path:
    copy = scratch / "repo"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "_data")
    for name in ("src", "specs", "schemas"):
        shutil.copytree(ROOT / name, copy / name, ignore=ignore)
    shutil.copy2(ROOT / "pyproject.toml", copy / "pyproject.toml")
    return copy


def runner(platform: str) -> str:
    return (f"{sys.executable} -m pytest src/chatcontract/suite --api {platform} --profile fast -x -q "
            f"-p no:cacheprovider --hypothesis-seed 0")


def mutmut(copy: Path, *args: str, timeout: float | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(copy / "src")}
    binary = Path(sys.executable).parent / "mutmut"
    return subprocess.run([str(binary), *args], cwd=copy, env=env, capture_output=True, text=True, timeout=timeout)


def statuses(copy: Path) -> dict[int, tuple[str, int, str]]:
    """Every mutant in mutmut's cache (an SQLite file): id -> (status, line number, source line)."""
    with sqlite3.connect(copy / ".mutmut-cache") as db:
        rows = db.execute("SELECT m.id, m.status, l.line_number, l.line FROM mutant m JOIN line l ON m.line = l.id")
        return {i: (status, number + 1, line) for i, status, number, line in rows}


def survivor(copy: Path, mutant_id: int) -> dict:
    diff = mutmut(copy, "show", str(mutant_id)).stdout
    file_match = re.search(r"^--- (\S+)", diff, re.M)
    hunk = re.search(r"^@@ -(\d+)", diff, re.M)
    removed = [l[1:].strip() for l in diff.splitlines() if l.startswith("-") and not l.startswith("---")]
    added = [l[1:].strip() for l in diff.splitlines() if l.startswith("+") and not l.startswith("+++")]
    return {"id": mutant_id, "file": file_match.group(1) if file_match else "?",
            "hunk_line": int(hunk.group(1)) if hunk else 0, "original": " / ".join(removed),
            "mutant": " / ".join(added), "key": f"{file_match.group(1) if file_match else '?'}: {' / '.join(added)}"}


def markdown(doc: dict, classes: dict) -> str:
    s = doc["counts"]
    lines = [f"mutmut 2.5.1 over `{'`, `'.join(doc['paths'])}` with `{doc['runner_display']}` as the test command. "
             f"Reproduce: `{doc['command']}`.", "",
             "| platform | mutants | killed | timeout | survived | untested (time budget) | score | wall (min) | mutants/min | baseline suite run (s) |",
             "|---|---|---|---|---|---|---|---|---|---|",
             f"| {doc['platform']} | {doc['total']} | {s.get('killed', 0)} | {s.get('timeout', 0)} | {s.get('survived', 0)} | "
             f"{s.get('untested', 0)} | {doc['score']} | {doc['wall_s'] / 60:.1f} | {doc['per_minute']:.2f} | {doc['baseline_s']:.1f} |",
             ""]
    equivalent = sum(1 for m in doc["survivors"] if classes.get(m["key"], {}).get("class", "").startswith("equivalent"))
    if equivalent:
        s_kill = s.get("killed", 0) + s.get("timeout", 0) + s.get("suspicious", 0)
        by_class: dict[str, int] = {}
        for m in doc["survivors"]:
            name = classes.get(m["key"], {}).get("class", "not yet classified")
            by_class[name] = by_class.get(name, 0) + 1
        lines += [f"Without the {equivalent} equivalent mutants the score is **{100 * s_kill / max(s_kill + s.get('survived', 0) - equivalent, 1):.1f}%** "
                  f"({s_kill}/{s_kill + s.get('survived', 0) - equivalent}). Survivors by class: "
                  + ", ".join(f"{k} {v}" for k, v in by_class.items()) + ".", ""]
    if doc["survivors"]:
        lines += ["| id | file | mutated line (after) | was | classification | what it reveals |", "|---|---|---|---|---|---|"]
        for m in doc["survivors"]:
            c = classes.get(m["key"], {})
            lines.append(f"| {m['id']} | `{m['file']}`:{m['line']} | `{m['mutant'][:90]}` | `{m['original'][:90]}` | "
                         f"{c.get('class', 'not yet classified')} | {c.get('note', '')} |".replace("\n", " "))
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("platform", choices=PLATFORMS)
    parser.add_argument("--routes", action="store_true", help="mutate routes.py too")
    parser.add_argument("--max-minutes", type=float, default=40.0, help="stop mutmut after this much wall time")
    parser.add_argument("--render", action="store_true",
                        help="only rewrite the .md from the existing .json (after classifying survivors)")
    args = parser.parse_args(argv)
    if args.render:
        render(json.loads((RESULTS_DIR / f"mutation-{args.platform}.json").read_text()))
        return 0
    paths = [f"src/chatcontract/servers/{args.platform}/state.py"]
    if args.routes:
        paths.append(f"src/chatcontract/servers/{args.platform}/routes.py")
    command = f"python bench/mutation.py {args.platform}" + (" --routes" if args.routes else "") + \
        f" --max-minutes {args.max_minutes:g}"
    RESULTS_DIR.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="chatcontract-mutation-") as tmp:
        copy = make_copy(Path(tmp))
        originals = {path: (copy / path).read_bytes() for path in paths}
        started = time.monotonic()
        base = subprocess.run(runner(args.platform).split(), cwd=copy, capture_output=True, text=True,
                              env={**os.environ, "PYTHONPATH": str(copy / "src")})
        baseline_s = time.monotonic() - started
        if base.returncode != 0:
            print(f"the suite fails on the unmutated {args.platform} server (exit {base.returncode}); "
                  f"no mutation score without a green baseline:\n{base.stdout[-2000:]}", file=sys.stderr)
            return 1
        print(f"baseline suite run: {baseline_s:.1f}s", flush=True)
        started = time.monotonic()
        run = subprocess.Popen(
            [str(Path(sys.executable).parent / "mutmut"), "run", "--paths-to-mutate", ",".join(paths),
             "--runner", runner(args.platform), "--tests-dir", "src/chatcontract/suite", "--simple-output",
             "--no-progress", "--test-time-multiplier", "3"],
            cwd=copy, env={**os.environ, "PYTHONPATH": str(copy / "src")}, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            run.wait(timeout=args.max_minutes * 60)
        except subprocess.TimeoutExpired:
            os.killpg(run.pid, signal.SIGTERM)  # mutmut and the suite run it started, nothing else
            run.wait()
            # Killed mid-mutant, mutmut leaves that mutant applied; `mutmut show` diffs against the
            # file, so put the originals back before the survivors are read.
            for path, original in originals.items():
                (copy / path).write_bytes(original)
            print("time budget reached; untested mutants are reported as such", flush=True)
        wall = time.monotonic() - started
        cache = statuses(copy)
        names = {"ok_killed": "killed", "bad_timeout": "timeout", "ok_suspicious": "suspicious",
                 "bad_survived": "survived", "untested": "untested", "skipped": "untested"}
        counts: dict[str, int] = {}
        for status, _, _ in cache.values():
            counts[names.get(status, status)] = counts.get(names.get(status, status), 0) + 1
        survivors = [{**survivor(copy, i), "line": number, "source": line.strip()}
                     for i, (status, number, line) in sorted(cache.items()) if status == "bad_survived"]
    total = len(cache)
    tested = total - counts.get("untested", 0)
    killed = counts.get("killed", 0) + counts.get("timeout", 0) + counts.get("suspicious", 0)
    score = f"{100 * killed / max(killed + counts.get('survived', 0), 1):.1f}%"
    doc = {"platform": args.platform, "paths": paths, "command": command,
           "runner_display": runner(args.platform).replace(sys.executable, "python"),
           "baseline_s": round(baseline_s, 1), "wall_s": round(wall, 1), "total": total, "counts": counts,
           "per_minute": tested / (wall / 60) if wall else 0.0, "score": score, "survivors": survivors}
    render(doc)
    print(f"{args.platform}: score {score}, counts {counts}, {len(survivors)} survivors; "
          f"wrote bench/results/mutation-{args.platform}.md")
    return 0


def render(doc: dict) -> None:
    """Write the JSON and the Markdown table, survivors classified from bench/mutation_survivors.yaml."""
    classes = (yaml.safe_load(CLASSIFICATION.read_text()) or {}) if CLASSIFICATION.exists() else {}
    classes = classes.get(doc["platform"], {})
    args_platform = doc["platform"]
    (RESULTS_DIR / f"mutation-{args_platform}.json").write_text(json.dumps(doc, indent=2))
    (RESULTS_DIR / f"mutation-{args_platform}.md").write_text(markdown(doc, classes))


if __name__ == "__main__":
    sys.exit(main())
