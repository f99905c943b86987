"""``sliced-bench validate``: run the registered checks, print a table, write Markdown and JSON."""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from pathlib import Path

from tqdm import tqdm

from validation.checks import CheckResult, Context, load_all


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path("results/validate"),
                        help="folder for report.md and report.json (default: %(default)s)")
    parser.add_argument("--quick", action="store_true", help="smaller grids and sample sizes")
    parser.add_argument("--only", nargs="*", default=None, metavar="GROUP",
                        help="run only these check groups")


def _markdown(results: list[CheckResult], seconds: float) -> str:
    n_fail = sum(not r.passed for r in results)
    lines = [
        "# sliced-bench validate",
        "",
        f"{len(results) - n_fail} passed, {n_fail} failed, in {seconds:.1f} s.",
        "",
        "| group | check | status | measured | criterion | detail |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        status = "PASS" if r.passed else "**FAIL**"
        detail = r.detail.replace("|", "/").replace("\n", "<br>")
        lines.append(
            f"| {r.group} | {r.name} | {status} | {r.measured} | {r.criterion} | {detail} |"
        )
    return "\n".join(lines) + "\n"


def _table(results: list[CheckResult]) -> str:
    w_name = max([len(f"{r.group}/{r.name}") for r in results] + [5])
    rows = [f"{'check':<{w_name}}  status  measured  [criterion]"]
    for r in results:
        rows.append(f"{r.group + '/' + r.name:<{w_name}}  {'PASS' if r.passed else 'FAIL':<6}  "
                    f"{r.measured}  [{r.criterion}]")
    return "\n".join(rows)


def run(args: argparse.Namespace) -> int:
    registry = load_all()
    unknown = sorted(set(args.only or ()) - set(registry))
    if unknown or args.only == []:
        # a misspelt group would otherwise run nothing and report success
        print(f"sliced-bench validate: error: --only: "
              f"{'unknown group(s) ' + ', '.join(map(repr, unknown)) if unknown else 'no group'}"
              f"; choose from {', '.join(sorted(registry))}", file=sys.stderr)
        return 2
    ctx = Context(seed=args.seed, device=args.device, quick=args.quick)
    groups = [g for g in registry if args.only is None or g in args.only]
    todo = [(g, name, fn) for g in groups for name, fn in registry[g]]
    results: list[CheckResult] = []
    start = time.perf_counter()
    for group, name, fn in tqdm(todo, desc="validate", unit="check"):
        try:
            out = fn(ctx)
        except Exception as err:  # a crashing check is a failed check, reported with its trace
            out = CheckResult(group, name, False, f"error: {err!r}", "runs",
                              traceback.format_exc(limit=3))
        results.extend(out if isinstance(out, list) else [out])
    seconds = time.perf_counter() - start
    print(_table(results))
    n_fail = sum(not r.passed for r in results)
    print(f"validate: {len(results) - n_fail} passed, {n_fail} failed")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "report.md").write_text(_markdown(results, seconds))
    (args.out / "report.json").write_text(json.dumps(
        {"seed": args.seed, "device": args.device, "quick": args.quick, "seconds": seconds,
         "results": [r.as_dict() for r in results]}, indent=2, default=str))
    return 1 if n_fail else 0
