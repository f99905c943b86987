"""Reading the timings of an ``asv run``: asv 0.6 result files (``result_columns`` JSON).

:func:`newest_result_file` picks the file (``.asv/results`` or one result file),
:func:`load_asv_results` turns its ``time_*`` results into :class:`~asv_bench.timings.Timing`
rows. Every failure is a ValueError on one line naming the file (``--from-asv: ...``).
"""

from __future__ import annotations

import ast
import itertools
import json
import math
from pathlib import Path

from asv_bench.timings import Timing, benchmark_classes


def _literal(text: str) -> object:
    """asv stores parameter values as their repr (``"'cpu'"``, ``"100"``, ``"1.0"``)."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def newest_result_file(path: Path) -> Path:
    """``path`` itself if it is a file, else the asv result file below it of the newest commit
    (asv's ``date`` is the commit's), the most recently written one among equals."""
    if path.is_file():
        return path
    if not path.is_dir():
        raise ValueError(f"--from-asv: {str(path)!r} is neither an asv result file nor a folder")
    best: tuple[tuple[int, float], Path] | None = None
    unreadable = []
    for f in path.rglob("*.json"):
        if f.name in ("machine.json", "benchmarks.json"):
            continue
        try:
            data = json.loads(f.read_text())
            if isinstance(data, dict) and "result_columns" in data and "results" in data:
                key = ((int(data.get("date") or 0), f.stat().st_mtime), f)
                best = key if best is None or key[0] > best[0] else best
        except (OSError, ValueError, TypeError):
            unreadable.append(f)
    if best is None:
        skipped = f" ({len(unreadable)} unreadable, e.g. {unreadable[0]})" if unreadable else ""
        raise ValueError(f"--from-asv: no asv result file (result_columns format) under "
                         f"{path}{skipped}")
    return best[1]


def load_asv_results(path: Path) -> list[Timing]:
    """The ``time_*`` results of one asv 0.6 result file, one :class:`Timing` per parameter set.

    The file maps each benchmark name to a row whose columns are named by ``result_columns``
    (``result``, ``params``, ..., ``stats_q_25``, ``stats_q_75``, ...; trailing empty columns
    dropped). ``result`` and the stats are lists over the product of ``params`` in row-major
    order, with ``None`` (or NaN) where the combination was skipped or failed.

    Raises ValueError naming the file when it (or its ``benchmarks.json``) cannot be read, is
    not JSON, or does not have that layout.
    """
    try:
        data = json.loads(Path(path).read_text())
    except OSError as err:
        raise ValueError(f"--from-asv: cannot read {path}: {err.strerror or err}") from err
    except ValueError as err:  # not JSON, or not text
        raise ValueError(f"--from-asv: {path} is not valid JSON: {err}") from err
    if not (isinstance(data, dict) and "result_columns" in data):
        raise ValueError(f"--from-asv: {path} is not an asv 0.6 result file (no result_columns)")
    names = _param_names(Path(path))
    try:
        return _timings(data, names)
    except (KeyError, TypeError, AttributeError, ValueError) as err:
        raise ValueError(f"--from-asv: {path} does not have the layout of an asv 0.6 result "
                         f"file: {type(err).__name__}: {err}") from err


def _timings(data: dict, names: dict[str, list[str]]) -> list[Timing]:
    columns = data["result_columns"]
    out: list[Timing] = []
    for bench, row in data["results"].items():
        if bench.split(".")[-1].split("_")[0] != "time":
            continue
        cols = dict(zip(columns, row, strict=False))  # trailing empty columns are dropped
        result, params = cols.get("result"), cols.get("params") or []
        if result is None:
            continue
        q25 = cols.get("stats_q_25") or [None] * len(result)
        q75 = cols.get("stats_q_75") or [None] * len(result)
        combos = list(itertools.product(*params)) if params else [()]
        pnames = names.get(bench) or [f"param{i + 1}" for i in range(len(params))]
        for combo, med, lo, hi in zip(combos, result, q25, q75, strict=True):
            if med is None or not math.isfinite(med):
                continue
            lo = med if lo is None else lo
            hi = med if hi is None else hi
            values = tuple((k, _literal(v)) for k, v in zip(pnames, combo, strict=True))
            out.append(Timing(bench, values, float(med), float(lo), float(hi)))
    return out


def _param_names(result_file: Path) -> dict[str, list[str]]:
    """Parameter names from ``benchmarks.json`` (two folders up), or those of the suite."""
    for folder in (result_file.parent.parent, result_file.parent):
        index = folder / "benchmarks.json"
        if index.is_file():
            try:
                data = json.loads(index.read_text())
                return {k: v.get("param_names", []) for k, v in data.items()
                        if isinstance(v, dict)}
            except (OSError, ValueError, AttributeError) as err:
                raise ValueError(f"--from-asv: cannot read the parameter names in {index}: "
                                 f"{err}") from err
    return {name: list(cls.param_names) for name, cls in benchmark_classes()}

