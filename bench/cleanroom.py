"""The suite against the clean-room servers: every variant of every platform, as a table.

The servers in `tests/independent/<platform>/` were written from the vendor doc excerpts and the
vendor research alone, by authors who never saw the specs, the suite or the reference servers,
each with its own catalog of faults and tolerated variants (`catalog.yaml`). They have no test
hooks, so every run is a `reset: false, clock: false` target, as a real deployment is. For each
variant this starts the server, runs `chatcontract run --profile P` against it in a fresh process
(`tests/independent/harness.py`) and judges: a fault must make some check fail; the faithful
server, a tolerated variant and a partial implementation must pass with no failure and no error.

    python bench/cleanroom.py                      # every platform, fast profile (~25 min on 2 cores)
    python bench/cleanroom.py plugdj ozeki         # some platforms
    python bench/cleanroom.py --variant faithful   # only these variants (repeatable)
    python bench/cleanroom.py --out cleanroom-x    # another result name

Writes `bench/results/<out>.json` (one record per variant, rewritten after each, so an interrupted
run keeps what it measured) and `bench/results/<out>.md` (the table README quotes). Exit code 0
when every verdict is right, 1 otherwise, 2 on bad usage.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "independent"))

import harness  # noqa: E402  (tests/independent/harness.py: start a variant, run the suite, judge)

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def verdict_word(v: harness.Verdict) -> str:
    if v.kind == "fault":
        return "caught" if v.ok else ("MISSED" if not v.errors else "ERROR")
    return "passed" if v.ok else "FAILED (false alarm)"


def markdown(verdicts: list[harness.Verdict], profile: str, command: str, wall_s: float,
             skipped: list[harness.Variant]) -> str:
    lines = [
        "# The suite against the clean-room servers",
        "",
        f"`{command}` — profile `{profile}`, no test hooks (`reset: false, clock: false`), "
        f"{len(verdicts)} runs in {wall_s / 60:.1f} min; load before: {os.getloadavg()[0]:.1f}.",
        "",
        "| platform | faithful server | faults caught | tolerated variants passed | partial servers passed |",
        "|---|---|---|---|---|",
    ]
    totals = {"faults": [0, 0], "tolerated": [0, 0], "partial": [0, 0], "faithful": [0, 0]}
    for platform in harness.PLATFORMS:
        mine = [v for v in verdicts if v.platform == platform]
        if not mine:
            continue
        cells = []
        for kind, key in (("faithful", "faithful"), ("fault", "faults"), ("tolerated", "tolerated"),
                          ("partial", "partial")):
            of_kind = [v for v in mine if v.kind == kind]
            good = sum(v.ok for v in of_kind)
            totals[key][0] += good
            totals[key][1] += len(of_kind)
            cells.append(f"{good}/{len(of_kind)}" if of_kind else "-")
        lines.append(f"| {platform} | " + " | ".join(cells) + " |")
    cells = [f"**{good}/{count}**" if count else "-" for good, count in
             (totals["faithful"], totals["faults"], totals["tolerated"], totals["partial"])]
    lines.append("| **all** | " + " | ".join(cells) + " |")
    caught, faults = totals["faults"]
    if faults:
        lines += ["", f"Faults caught: {caught}/{faults} ({100 * caught / faults:.0f} %)."]
    lines += ["", "| platform | variant | kind | verdict | exit | failing checks | first message | s |",
              "|---|---|---|---|---|---|---|---|"]
    for v in verdicts:
        failing = ", ".join(t.split("::", 1)[1] for t in (v.failed + v.errors)[:3])
        if len(v.failed) + len(v.errors) > 3:
            failing += f" (+{len(v.failed) + len(v.errors) - 3})"
        message = v.first_message.replace("|", "\\|")[:160]
        lines.append(f"| {v.platform} | {v.variant} | {v.kind} | {verdict_word(v)} | {v.exit_code} | "
                     f"{failing or '-'} | {message or '-'} | {v.seconds:.0f} |")
    if skipped:
        lines += ["", "Not run, out of the specs' scope (the target file's `x-out-of-scope`):", ""]
        lines += [f"- {v.platform} `{v.name}`: {v.what}" for v in skipped]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("platform", nargs="*", help=f"platforms (default: all of {', '.join(harness.PLATFORMS)})")
    parser.add_argument("--variant", action="append", default=[], help="only these variants (repeatable)")
    parser.add_argument("--profile", default="fast", choices=("fast", "default", "thorough"))
    parser.add_argument("--out", default="cleanroom", help="result name under bench/results/")
    args = parser.parse_args(argv)
    unknown = [p for p in args.platform if p not in harness.PLATFORMS]
    if unknown:
        parser.error(f"unknown platform {unknown[0]!r}")
    command = "python bench/cleanroom.py " + " ".join(argv if argv is not None else sys.argv[1:])
    RESULTS_DIR.mkdir(exist_ok=True)
    verdicts: list[harness.Verdict] = []
    skipped: list[harness.Variant] = []
    started = time.monotonic()
    for platform in args.platform or harness.PLATFORMS:
        for variant in harness.catalog(platform):
            if args.variant and variant.name not in args.variant:
                continue
            if variant.kind == harness.OUT_OF_SCOPE:
                skipped.append(variant)
                continue
            v = harness.judge(variant, profile=args.profile)
            verdicts.append(v)
            print(f"{'ok ' if v.ok else 'BAD'} {v.platform:<11} {v.variant:<38} {v.kind:<9} {verdict_word(v):<20} "
                  f"{v.seconds:5.1f}s  {v.first_message[:100]}", flush=True)
            (RESULTS_DIR / f"{args.out}.json").write_text(json.dumps([harness.as_dict(x) for x in verdicts], indent=1))
    (RESULTS_DIR / f"{args.out}.md").write_text(markdown(verdicts, args.profile, command.strip(),
                                                         time.monotonic() - started, skipped))
    bad = [v for v in verdicts if not v.ok]
    print(f"{len(verdicts) - len(bad)}/{len(verdicts)} verdicts right")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
