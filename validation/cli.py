"""The ``sliced-bench`` command line: ``validate``, ``curves``, ``rae`` and ``all``.

Each sub-command lives in its own module exposing ``add_arguments(parser)`` and
``run(args) -> int`` (the exit status); this file only wires them together.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

# sub-command -> (module, one-line help)
COMMANDS = {
    "validate": ("validation.validate", "cross-checks and statistical checks (exit 1 on failure)"),
    "curves": ("asv_bench.curves", "time-vs-dimension plots and CSV (asv results or a sweep)"),
    "rae": ("validation.rae.command", "end-to-end comparison of the discrepancies in an RAE"),
}


def _device(value: str) -> str:
    import torch

    if value.startswith("cuda") and not torch.cuda.is_available():
        raise argparse.ArgumentTypeError(f"--device {value!r}: CUDA is not available here")
    if not (value == "cpu" or value.startswith("cuda")):
        raise argparse.ArgumentTypeError(f"--device must be 'cpu' or 'cuda[:i]', got {value!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sliced-bench", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (module, help_) in COMMANDS.items():
        p = sub.add_parser(name, help=help_, description=help_)
        importlib.import_module(module).add_arguments(p)
        _common(p)
    p = sub.add_parser("all", help="validate, curves and rae at their quick defaults, one folder",
                       description="validate, curves and rae at their quick defaults; "
                                   "everything in --out with an index.md")
    p.add_argument("--out", type=Path, default=Path("results"),
                   help="output folder (default: %(default)s)")
    _common(p)
    return parser


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", type=_device, default="cpu", help="cpu or cuda (default: cpu)")
    p.add_argument("--seed", type=int, default=0, help="base random seed (default: 0)")


def _run_all(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    status: dict[str, tuple[int, float]] = {}
    for name in COMMANDS:
        sub_args = parser.parse_args([name, "--quick", "--out", str(out / name),
                                      "--device", args.device, "--seed", str(args.seed)])
        print(f"\n=== sliced-bench {name} --quick ===", flush=True)
        start = time.perf_counter()
        code = importlib.import_module(COMMANDS[name][0]).run(sub_args)
        status[name] = (code, time.perf_counter() - start)
    _write_index(out, status)
    print(f"\nindex: {out / 'index.md'}")
    return max(code for code, _ in status.values())


def _write_index(out: Path, status: dict[str, tuple[int, float]]) -> None:
    lines = ["# sliced-bench all", ""]
    lines += ["| command | exit status | seconds |", "|---|---|---|"]
    lines += [f"| {name} | {code} | {sec:.1f} |" for name, (code, sec) in status.items()]
    for name in status:
        files = sorted(p for p in (out / name).rglob("*") if p.is_file())
        lines += ["", f"## {name}", ""]
        for f in files:
            rel = f.relative_to(out).as_posix()
            lines.append(f"![{rel}]({rel})" if f.suffix == ".png" else f"- [{rel}]({rel})")
    (out / "index.md").write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "all":
        return _run_all(parser, args)
    return importlib.import_module(COMMANDS[args.command][0]).run(args)


if __name__ == "__main__":
    sys.exit(main())
