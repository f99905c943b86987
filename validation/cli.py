"""The ``sliced-bench`` command line: ``validate``, ``curves``, ``rae`` and ``all``.

Each sub-command lives in its own module exposing ``add_arguments(parser)`` and
``run(args) -> int`` (the exit status); this file wires them together and gives every one the
same handling of errors and of ``--out``:

- a bad option, or a bad path or data file found before the work starts, is one line on
  stderr (``sliced-bench rae: error: ...``) and exit status 2: argparse's errors, ``--out``
  (checked by creating its staging folder, before the command runs), and the command's own
  checks (which print their line and return 2);
- the run writes into a staging folder and its files move into ``--out`` only when it
  completes (:mod:`validation.outdir`);
- an exception after the run began is a bug or a failure of the run, not a usage error: one
  line on stderr naming it and where it was raised, the full traceback in the staging folder
  (``traceback.txt``, printed instead if it could not be written), exit status 1; Ctrl-C:
  one line, exit status 130. Either way ``--out`` keeps its previous result.
"""

from __future__ import annotations

import argparse
import importlib
import re
import sys
import time
import traceback
from pathlib import Path
from typing import NoReturn

from validation import outdir, report

# sub-command -> (module, one-line help)
COMMANDS = {
    "validate": ("validation.validate", "cross-checks and statistical checks (exit 1 on failure)"),
    "curves": ("asv_bench.curves", "time-vs-dimension plots and CSV (asv results or a sweep)"),
    "rae": ("validation.rae.command", "end-to-end comparison of the discrepancies in an RAE"),
}


#: seeds accepted: non-negative (NumPy's generators refuse negative seeds) and below 2**32, so
#: that the offsets the commands add to the base seed stay far inside torch's 64-bit range
SEED_MAX = 2**32 - 1


class _Parser(argparse.ArgumentParser):
    """argparse with errors on one line (no usage block) and exit status 2."""

    def error(self, message: str) -> NoReturn:
        message = " ".join(message.split())
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _device(value: str) -> str:
    import torch

    match = re.fullmatch(r"cuda(?::(\d+))?", value)
    if value != "cpu" and match is None:
        raise argparse.ArgumentTypeError(f"must be 'cpu' or 'cuda[:i]', got {value!r}")
    if match is not None and not torch.cuda.is_available():
        raise argparse.ArgumentTypeError(f"{value!r}: CUDA is not available here")
    if match is not None and int(match[1] or 0) >= torch.cuda.device_count():
        raise argparse.ArgumentTypeError(
            f"{value!r}: there are {torch.cuda.device_count()} CUDA device(s) here")
    return value


def _seed(value: str) -> int:
    try:
        seed = int(value)
    except ValueError:
        seed = -1
    if not 0 <= seed <= SEED_MAX:
        raise argparse.ArgumentTypeError(
            f"must be an integer from 0 to 2**32 - 1 = {SEED_MAX}, got {value!r}")
    return seed


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="sliced-bench", description=__doc__.splitlines()[0])
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
    p.add_argument("--seed", type=_seed, default=0,
                   help=f"base random seed, 0 to {SEED_MAX} (default: 0)")


def _run_all(parser: argparse.ArgumentParser,
             args: argparse.Namespace) -> dict[str, tuple[int, float]]:
    out: Path = args.out
    status: dict[str, tuple[int, float]] = {}
    for name in COMMANDS:
        sub_argv = [name, "--quick", "--out", str(out / name), "--device", args.device,
                    "--seed", str(args.seed)]
        sub_args = parser.parse_args(sub_argv)
        sub_args.final_out = Path(getattr(args, "final_out", None) or out) / name
        print(f"\n=== sliced-bench {name} --quick ===", flush=True)
        start = time.perf_counter()
        code = importlib.import_module(COMMANDS[name][0]).run(sub_args)
        status[name] = (code, time.perf_counter() - start)
        if report.run_files(out / name):
            _write_report(out / name, command=f"sliced-bench {name} --quick", argv=sub_argv,
                          status={name: status[name]}, manifest=f"../{outdir.MANIFEST}")
    _write_index(out, status)
    return status


def _write_index(out: Path, status: dict[str, tuple[int, float]]) -> None:
    """``out/index.md``: every file below ``out``, which holds this run's files only (the
    staging folder), so nothing from an earlier run is listed."""
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


def _write_report(folder: Path, **kwargs) -> None:
    """The run's index.html; a failure to write it costs the page, not the run's results: one
    line on stderr, and the run is committed without the page."""
    try:
        report.write_report(folder, **kwargs)
    except Exception as err:
        message = " ".join(str(err).split())
        print(f"sliced-bench: warning: no {report.REPORT} in {folder.name}/: "
              f"{type(err).__name__}: {message} (raised at {_where(err)})", file=sys.stderr)


def _run(parser: argparse.ArgumentParser,
         args: argparse.Namespace) -> dict[str, tuple[int, float]]:
    """Run the command; its (sub-)commands' exit statuses and seconds."""
    if args.command == "all":
        return _run_all(parser, args)
    start = time.perf_counter()
    code = importlib.import_module(COMMANDS[args.command][0]).run(args)
    return {args.command: (code, time.perf_counter() - start)}


def _where(exc: BaseException) -> str:
    """``file:line`` where ``exc`` was raised."""
    frames = traceback.extract_tb(exc.__traceback__)
    return f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "?"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    prog = f"sliced-bench {args.command}"
    try:
        staging = outdir.Staging(args.out, prog, argv)
    except outdir.OutDirError as err:
        print(f"{prog}: error: --out: {err}", file=sys.stderr)
        return 2
    try:
        with staging:
            # final_out: where a command may keep what outlives one run (rae's task cache)
            status = _run(parser, argparse.Namespace(**{**vars(args), "out": staging.path,
                                                        "final_out": args.out}))
            staging.status = max(code for code, _ in status.values())
            # a usage error found by the command itself wrote nothing: no page, so that the
            # staging folder is discarded and --out left as it was
            if report.run_files(staging.path):
                _write_report(staging.path, command=prog, argv=argv, status=status)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted; {staging.summary()}", file=sys.stderr)
        return 130
    except Exception as err:
        if not (staging.path / outdir.TRACEBACK).exists():
            traceback.print_exc()
        message = " ".join(str(err).split())
        print(f"{prog}: error: the run failed: {type(err).__name__}: {message} "
              f"(raised at {_where(err)}); {staging.summary()}", file=sys.stderr)
        return 1
    if staging.outcome == "committed":
        print(f"\n{prog}: {staging.summary()}")
        if (args.out / report.REPORT).is_file():
            print(f"report: {args.out / report.REPORT}")
    return staging.status


if __name__ == "__main__":
    sys.exit(main())
