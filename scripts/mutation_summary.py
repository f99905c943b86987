"""Count mutmut's verdicts for one module from the results it keeps in mutants/.

Usage: python scripts/mutation_summary.py samplers/mixture.py [--seconds WALL] [--survivors]

The score is killed / (killed + survived): timeouts are counted apart (a mutant that hangs is
found, but by the clock, not by a test), and mutants listed as equivalent in
docs/mutation.md are not in mutmut's results, so they are subtracted by the reader of the note.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from mutmut.stats import status_by_exit_code


def verdicts(module: str) -> dict[str, str]:
    """Mutant name -> mutmut's status, read from ``mutants/<module>.meta``."""
    meta = Path("mutants") / f"{module}.meta"
    if not meta.exists():
        raise SystemExit(f"no results for {module}: run scripts/mutation.sh {module} first")
    codes = json.loads(meta.read_text())["exit_code_by_key"]
    return {name: status_by_exit_code[code] for name, code in codes.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("module")
    parser.add_argument("--seconds", type=int, default=None, help="wall time of the run")
    parser.add_argument("--survivors", action="store_true", help="list surviving mutants")
    args = parser.parse_args()
    status = verdicts(args.module)
    counts = Counter(status.values())
    killed, survived = counts["killed"], counts["survived"]
    decided = killed + survived
    score = f"{100 * killed / decided:.1f}%" if decided else "n/a"
    others = ", ".join(f"{k} {v}" for k, v in sorted(counts.items())
                       if k not in ("killed", "survived", "timeout"))
    wall = "" if args.seconds is None else f", wall {args.seconds} s"
    print(f"{args.module}: {len(status)} mutants, killed {killed}, survived {survived}, "
          f"timeout {counts['timeout']}{', ' + others if others else ''}; "
          f"killed/(killed+survived) {score}{wall}")
    if args.survivors:
        for name, verdict in sorted(status.items()):
            if verdict == "survived":
                print(name)


if __name__ == "__main__":
    main()
