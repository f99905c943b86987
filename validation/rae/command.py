"""``sliced-bench rae`` (placeholder until the RAE harness lands; see issue 5)."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path("results/rae"))
    parser.add_argument("--quick", action="store_true")


def run(args: argparse.Namespace) -> int:
    print("sliced-bench rae: not implemented yet (issue 5)")
    return 1
