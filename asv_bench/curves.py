"""``sliced-bench curves`` (placeholder until the curves land; see issue 4)."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path("results/curves"))
    parser.add_argument("--quick", action="store_true")


def run(args: argparse.Namespace) -> int:
    print("sliced-bench curves: not implemented yet (issue 4)")
    return 1
