"""Count mutmut's verdicts for one module from the results it keeps in mutants/.

Usage: python scripts/mutation_summary.py samplers/mixture.py [--seconds WALL] [--survivors]
       python scripts/mutation_summary.py samplers/mixture.py --sample N   (names to run)

The score is killed / (killed + survived + no tests): a mutant of a function that no test
reaches ("no tests") is one the suite cannot see; timeouts are counted apart (a mutant that
hangs is found, but by the clock, not by a test), and mutants listed as equivalent in
docs/mutation.md are not in mutmut's results, so they are subtracted by the reader of the note.
When only some mutants were decided (a sampled run), the score comes with its 95%
Clopper-Pearson interval, which holds for the module only if the decided mutants are a
uniform sample of its mutants, as ``--sample`` draws them.
"""

from __future__ import annotations

import argparse
import json
import random
from collections import Counter
from pathlib import Path

from mutmut.stats import status_by_exit_code
from scipy.stats import binomtest


def verdicts(module: str) -> dict[str, str]:
    """Mutant name -> mutmut's status, read from ``mutants/<module>.meta``."""
    meta = Path("mutants") / f"{module}.meta"
    if not meta.exists():
        raise SystemExit(f"no results for {module}: run scripts/mutation.sh {module} first")
    codes = json.loads(meta.read_text())["exit_code_by_key"]
    return {name: status_by_exit_code[code] for name, code in codes.items()}


def sample(module: str, size: int, seed: int = 0) -> list[str]:
    """A uniform sample of ``size`` of the module's mutants, the same for the same mutants."""
    names = sorted(verdicts(module))
    return sorted(random.Random(seed).sample(names, min(size, len(names))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("module")
    parser.add_argument("--seconds", type=int, default=None, help="wall time of the run")
    parser.add_argument("--survivors", action="store_true", help="list surviving mutants")
    parser.add_argument("--sample", type=int, default=None, metavar="N",
                        help="print the names of a seeded uniform sample of N mutants")
    args = parser.parse_args()
    if args.sample is not None:
        print("\n".join(sample(args.module, args.sample)))
        return
    status = verdicts(args.module)
    counts = Counter(status.values())
    killed = counts["killed"]
    decided = killed + counts["survived"] + counts["no tests"]
    score = f"{100 * killed / decided:.1f}%" if decided else "n/a"
    if decided and counts["not checked"]:
        low, high = binomtest(killed, decided).proportion_ci(0.95, method="exact")
        score += (f" ({decided} of {len(status)} decided; 95% interval {100 * low:.1f}-"
                  f"{100 * high:.1f}% if they are a uniform sample)")
    others = ", ".join(f"{k} {v}" for k, v in sorted(counts.items())
                       if k not in ("killed", "survived", "timeout", "no tests"))
    wall = "" if args.seconds is None else f", wall {args.seconds} s"
    print(f"{args.module}: {len(status)} mutants, killed {killed}, survived "
          f"{counts['survived']}, no tests {counts['no tests']}, timeout {counts['timeout']}"
          f"{', ' + others if others else ''}; killed/(killed+survived+no tests) {score}{wall}")
    if args.survivors:
        for name, verdict in sorted(status.items()):
            if verdict in ("survived", "no tests"):
                print(name)


if __name__ == "__main__":
    main()
