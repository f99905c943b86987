"""Outcomes of the discrepancy fuzz per REGISTRY entry: the share of examples that reach the
invariances (a value) rather than an error, the examples that fail the property (listed), and
the effective relative tolerance of its
comparisons (tolerance / |expected value|) per dtype.

    python scripts/fuzz_outcomes.py [path/to/test_fuzz_discrepancies.py] [--examples 50]

Runs the module's ``problems`` strategy and ``run_property`` under the same settings as the
"default" profile (derandomised, so the figures are reproducible); any fuzz module with those
two names and a comparison helper ``close`` (or ``_close``, the earlier one) can be measured.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import statistics
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import torch  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from discrepancies import REGISTRY  # noqa: E402


def load(path: Path):
    spec = importlib.util.spec_from_file_location("fuzz_under_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def property_of(fuzz, name: str, state: dict, outcomes: Counter, examples: int,
                failures: list[str]):
    """The fuzz property on ``name``, counting whether each example reached the invariances."""
    @settings(max_examples=examples, derandomize=True, deadline=None, database=None)
    @given(data=st.data())
    def run(data):
        call = data.draw(fuzz.problems(name))
        state["dtype"], state["reached"] = call.dtype, False
        try:
            outcome = fuzz.run_property(call)
        except AssertionError as err:  # counted, so that one failure does not stop the count
            outcomes["failed"] += 1
            failures.append(f"{name}: {str(err).splitlines()[0][:200]} on {call!r}"[:600])
            return
        if outcome == "known":  # left out by the fuzz as an example of a known bug
            outcomes["known"] += 1
            return
        outcomes["value" if state["reached"] else "error"] += 1

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("module", nargs="?", type=Path,
                        default=ROOT / "tests" / "test_fuzz_discrepancies.py")
    parser.add_argument("--examples", type=int, default=50)
    args = parser.parse_args()
    fuzz = load(args.module)
    helper = "close" if hasattr(fuzz, "close") else "_close"
    original = getattr(fuzz, helper)
    ratios: dict[str, list[float]] = defaultdict(list)
    state = {"dtype": None, "reached": False}

    def recording(got, expected, *rest):
        expected_f = float(expected)
        if helper == "close":
            tolerance = float(rest[0])
        else:  # the earlier helper: tol * (|expected| + size) + float32's tiny
            size, tol = rest
            tolerance = tol * (abs(expected_f) + size) + torch.finfo(torch.float32).tiny
        if expected_f != 0 and math.isfinite(expected_f):
            ratios[str(state["dtype"])].append(tolerance / abs(expected_f))
        return original(got, expected, *rest)

    setattr(fuzz, helper, recording)
    check = fuzz.check_invariances

    def reached(call, *rest):
        state["reached"] = True
        return check(call, *rest)

    fuzz.check_invariances = reached
    failures: list[str] = []
    print("| entry | examples | value (invariances) | error | known bug | failed | float32 "
          "median / max rel. tol | float64 median / max rel. tol |")
    print("|---|---|---|---|---|---|---|---|")
    for name in REGISTRY:
        outcomes: Counter = Counter()
        ratios.clear()

        property_of(fuzz, name, state, outcomes, args.examples, failures)()
        total = sum(outcomes.values())

        def spread(dtype):
            r = ratios[str(dtype)]
            return f"{statistics.median(r):.1e} / {max(r):.1e}" if r else "-"

        print(f"| {name} | {total} | {outcomes['value'] / total:.0%} | "
              f"{outcomes['error'] / total:.0%} | {outcomes['known']} | {outcomes['failed']} | "
              f"{spread(torch.float32)} | {spread(torch.float64)} |")
    for failure in failures:
        print("failed:", failure)


if __name__ == "__main__":
    main()
