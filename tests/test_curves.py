"""``sliced-bench curves``: the asv result parser, the timing statistics, the figures and CSV."""

from __future__ import annotations

import csv
import itertools
import json
import os
from pathlib import Path

import pytest

from asv_bench import asv_results, curves, figures, sweep
from asv_bench.benchmarks import bench_discrepancies
from asv_bench.timings import SAMPLER_SERIES
from validation.cli import build_parser

COLUMNS = ["result", "params", "version", "started_at", "duration", "stats_ci_99_a",
           "stats_ci_99_b", "stats_q_25", "stats_q_75", "stats_number", "stats_repeat",
           "samples", "profile"]

SAMPLING_PARAMS = [["'cpu'", "'cuda'"], ["100", "1000"], ["2", "8", "32"], ["10.0", "10000.0"]]
SAMPLING_NAMES = ["device", "n", "d", "kappa"]


def _sampling_value(cls: str, device: str, n: str, d: str, kappa: str) -> float | None:
    """A distinct, recognisable time for every combination (None: skipped, as on CUDA here)."""
    if device == "'cuda'":
        return None
    scale = {"VonMisesFisherSampling": 3.0, "PowerSphericalSampling": 1.0}[cls]
    return scale * 1e-6 * int(n) * int(d) * (2.0 if kappa == "10000.0" else 1.0)


def write_asv_results(root: Path, date: int = 1_700_000_000_000, name: str = "abcdef12") -> Path:
    """A result file in asv 0.6's ``result_columns`` format, with its benchmarks.json."""
    results = {}
    index = {}
    for cls in ("VonMisesFisherSampling", "PowerSphericalSampling"):
        bench = f"bench_samplers.{cls}.time_rsample"
        combos = list(itertools.product(*SAMPLING_PARAMS))
        values = [_sampling_value(cls, *c) for c in combos]
        q25 = [None if v is None else 0.9 * v for v in values]
        q75 = [None if v is None else 1.2 * v for v in values]
        # trailing empty columns are dropped, as asv does
        results[bench] = [values, SAMPLING_PARAMS, "v1", 0, 1.0, None, None, q25, q75]
        index[bench] = {"param_names": SAMPLING_NAMES, "type": "time", "unit": "seconds"}
    methods = ["'sw'", "'pot_sw'"]
    for cls, axis, grid in (("DiscrepancyVsN", "n", ["64", "256"]),
                            ("DiscrepancyVsL", "L", ["16", "64"])):
        bench = f"bench_discrepancies.{cls}.time_discrepancy"
        params = [["'cpu'"], methods, grid]
        values = [1e-3 * (i + 1) for i in range(len(methods) * len(grid))]
        results[bench] = [values, params, "v1", 0, 1.0, None, None, values, values]
        index[bench] = {"param_names": ["device", "method", axis], "type": "time"}
    # not a time: must be ignored by the curves
    results["bench_samplers.VonMisesFisherAcceptance.track_acceptance_rate"] = [
        [0.7], [["2"], ["10.0"]]]
    index["bench_samplers.VonMisesFisherAcceptance.track_acceptance_rate"] = {
        "param_names": ["d", "kappa"], "type": "track"}
    data = {"commit_hash": name * 5, "env_name": "virtualenv-py3.11-torch2.13.0", "date": date,
            "params": {}, "python": "3.11", "requirements": {}, "env_vars": {},
            "result_columns": COLUMNS, "results": results, "durations": {}, "version": 2}
    machine = root / "vm"
    machine.mkdir(parents=True, exist_ok=True)
    path = machine / f"{name}-virtualenv-py3.11-torch2.13.0.json"
    path.write_text(json.dumps(data))
    (machine / "machine.json").write_text(json.dumps({"machine": "vm", "version": 1}))
    (root / "benchmarks.json").write_text(json.dumps({**index, "version": 2}))
    return path


def test_parser_maps_each_value_to_its_parameters(tmp_path):
    path = write_asv_results(tmp_path)
    timings = asv_results.load_asv_results(path)
    vmf = {t.params: t for t in timings if t.cls == "VonMisesFisherSampling"}
    # 2 x 3 x 2 CPU combinations; the 12 CUDA ones were None (skipped) and are dropped
    assert len(vmf) == 12
    t = vmf[(("device", "cpu"), ("n", 1000), ("d", 32), ("kappa", 10000.0))]
    assert t.median == pytest.approx(3.0 * 1e-6 * 1000 * 32 * 2.0)
    assert (t.q25, t.q75) == pytest.approx((0.9 * t.median, 1.2 * t.median))
    # every combination, not just one: a column-major reading would swap n and d here
    for (_, (_, n), (_, d), (_, kappa)), t in vmf.items():
        assert t.median == pytest.approx(3e-6 * n * d * (2.0 if kappa == 1e4 else 1.0))
    assert not [t for t in timings if "track_" in t.benchmark]
    disc = {(t.cls, t.param("method"), t.param("n") or t.param("L")): t.median
            for t in timings if t.cls.startswith("Discrepancy")}
    assert disc[("DiscrepancyVsN", "pot_sw", 256)] == pytest.approx(4e-3)
    assert disc[("DiscrepancyVsL", "sw", 64)] == pytest.approx(2e-3)


def test_newest_result_file_is_chosen_by_date(tmp_path):
    old = write_asv_results(tmp_path, date=1_000, name="00000000")
    new = write_asv_results(tmp_path, date=2_000, name="11111111")
    assert asv_results.newest_result_file(tmp_path) == new
    assert asv_results.newest_result_file(old) == old
    # same commit, two environments: the file written last wins
    again = write_asv_results(tmp_path, date=2_000, name="22222222")
    os.utime(new, (1e9, 1e9))
    assert asv_results.newest_result_file(tmp_path) == again
    with pytest.raises(ValueError, match=r"not an asv 0\.6 result file"):
        asv_results.load_asv_results(tmp_path / "vm" / "machine.json")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="no asv result file"):
        asv_results.newest_result_file(empty)


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open() as f:
        return list(csv.DictReader(f))


def _expect_figures(out: Path, names: tuple[str, ...]) -> None:
    for name in names:
        for ext in ("png", "svg"):
            f = out / f"{name}.{ext}"
            assert f.is_file() and f.stat().st_size > 1000, f


def test_curves_from_asv_writes_figures_and_every_point(tmp_path):
    write_asv_results(tmp_path / "results")
    out = tmp_path / "curves"
    args = build_parser().parse_args(["curves", "--from-asv", str(tmp_path / "results"),
                                      "--out", str(out)])
    assert curves.run(args) == 0
    _expect_figures(out, ("sampling_time_vs_d", "sampling_ratio_vmf_power_spherical",
                          "discrepancy_time"))
    rows = _read_csv(out / "curves.csv")
    by_figure = {}
    for r in rows:
        by_figure.setdefault(r["figure"], []).append(r)
    # n = 1000 only (the largest n): 2 samplers x 3 d x 2 kappa; ratio: 3 d x 2 kappa
    assert len(by_figure["sampling_time_vs_d"]) == 12
    assert len(by_figure["discrepancy_time"]) == 8
    ratios = by_figure["sampling_ratio_vmf_power_spherical"]
    assert len(ratios) == 6
    assert all(float(r["y"]) == pytest.approx(3.0) for r in ratios)
    peer = [r for r in by_figure["discrepancy_time"] if r["series"] == figures.PEERS["pot_sw"]]
    assert len(peer) == 4


def test_curves_reports_a_missing_results_folder(tmp_path, capsys):
    args = build_parser().parse_args(["curves", "--from-asv", str(tmp_path / "nope"),
                                      "--out", str(tmp_path / "out")])
    assert curves.run(args) == 2
    assert "nope" in capsys.readouterr().err


def test_curves_from_asv_through_main_lists_its_files(tmp_path, capsys):
    from validation.cli import main

    write_asv_results(tmp_path / "asv")
    out = tmp_path / "curves"
    assert main(["curves", "--from-asv", str(tmp_path / "asv"), "--out", str(out)]) == 0
    listed = json.loads((out / "manifest.json").read_text())["files"]
    assert listed == sorted(p.name for p in out.iterdir() if p.name != "manifest.json")
    assert "curves.csv" in listed and "wrote curves.csv" in capsys.readouterr().out


def test_measure_reports_median_and_quartiles(monkeypatch):
    # A fake clock: the warm-up call lasts 1 s (so one call per sample), then 1, 2, 3, 4, 5 s.
    durations = iter([1.0, 4.0, 1.0, 5.0, 2.0, 3.0, 100.0])
    now = [0.0]

    def fn():
        now[0] += next(durations)

    monkeypatch.setattr(sweep.time, "perf_counter", lambda: now[0])
    med, q25, q75 = sweep.measure(fn, repeat=5, min_time=0.5)
    assert (med, q25, q75) == (3.0, 2.0, 4.0)
    # with a budget of 6 s of samples, the third sample (5 s) is the last one started
    durations = iter([1.0, 4.0, 1.0, 5.0, 2.0, 3.0, 100.0])
    med, q25, q75 = sweep.measure(fn, repeat=5, min_time=0.5, max_time=6.0)
    assert (med, q25, q75) == (4.0, 2.5, 4.5)
    # a budget spent by the first sample stops there, unless min_repeat asks for more
    durations = iter([1.0, 4.0, 1.0, 5.0, 2.0, 3.0, 100.0])
    assert sweep.measure(fn, repeat=5, min_time=0.5, max_time=0.1) == (4.0, 4.0, 4.0)
    durations = iter([1.0, 4.0, 1.0, 5.0, 2.0, 3.0, 100.0])
    assert sweep.measure(fn, repeat=5, min_time=0.5, max_time=0.1, min_repeat=2) == (
        2.5, 1.75, 3.25)


def test_tiny_sweep_draws_the_same_figures(tmp_path, monkeypatch):
    # a small base point keeps the discrepancy axes cheap; the grid is the smallest that
    # exercises every sampler, every registry entry and every peer
    monkeypatch.setattr(bench_discrepancies, "N_BASE", 32)
    monkeypatch.setattr(bench_discrepancies, "L_BASE", 8)
    grid = sweep.SweepGrid(n=20, d=(2, 16), kappa=(10.0,),
                           axes={"n": (16,), "d": (4,), "L": (8,)}, repeat=2, min_time=0.0,
                           max_time=0.0, min_repeat=1)
    timings = sweep.run_sweep(grid, "cpu", seed=1, progress=False)
    sampling = figures.sampling_points(timings, "cpu")
    assert {p.series for p in sampling} == {s for s, _ in SAMPLER_SERIES.values()}
    disc = figures.discrepancy_points(timings, "cpu")
    methods = set(bench_discrepancies.METHODS)
    assert {p.series for p in disc} == {figures.PEERS.get(m, m) for m in methods}
    assert {p.panel for p in disc} == {"n", "d", "L"}
    points = sampling + figures.ratio_points(sampling) + disc
    figures.write_csv(points, tmp_path / "curves.csv")
    figures.draw(points, tmp_path, "cpu", "test sweep")
    _expect_figures(tmp_path, ("sampling_time_vs_d", "sampling_ratio_vmf_power_spherical",
                               "discrepancy_time"))
    assert len(_read_csv(tmp_path / "curves.csv")) == len(points)


def test_slicing_slope_and_equal_time_ratio_on_known_points():
    from asv_bench import slicing_curves as sc

    assert sc.slope([1, 10, 100], [1, 0.1, 0.01]) == pytest.approx(-1.0)
    mc = [sc.ErrorPoint("sw", 3, "mc", L, rmse, sec, 0.0)
          for L, rmse, sec in ((8, 1.0, 1.0), (64, 0.1, 10.0))]
    # at 10^0.5 s, Monte Carlo's log-log interpolated RMSE is 10^-0.5
    scheme = sc.ErrorPoint("sw", 3, "rqmc", 8, 0.1, 10**0.5, 0.0)
    (row,) = sc.equal_time_ratios([*mc, scheme])
    assert row["ratio"] == pytest.approx(0.1 / 10**-0.5)
    table = sc.equal_time_table([row], "cmd")
    assert "| sw | rqmc | 0.32 |" in table and "`cmd`" in table


def test_slicing_sweep_writes_its_figures_and_points(tmp_path):
    from asv_bench import slicing_curves as sc

    grid = sc.SlicingGrid(dims=(3,), Ls=(8, 32), n_seeds=3, n_points=12, reference_size=256)
    points = sc.sweep(grid, progress=False)
    schemes = {p.scheme for p in points}
    assert schemes == {"mc", "orthogonal", "rqmc", "control-variate", sc.POT}
    # SW: 4 schemes and POT; SFG: 3 schemes (no control variates, no POT); 2 values of L
    assert len(points) == (5 + 3) * 2
    assert all(p.rmse >= 0 and p.seconds > 0 for p in points)
    files = sc.write(points, tmp_path, "cmd") + sc.draw(points, tmp_path, "test")
    assert all(f.is_file() and f.stat().st_size > 100 for f in files)
    assert len(_read_csv(tmp_path / "slicing.csv")) == len(points)


def test_memory_curves_write_their_csv_and_figure(tmp_path, monkeypatch):
    """``sliced-bench curves``' peak-memory figure: one row per method, mode and n, and the
    child process's measurement on a tiny n (which must run and report a positive peak)."""
    from asv_bench import memory_curves as mc

    assert all(p > 0 for p in mc._child("sfg", "chunked", 0, [50, 100]))
    rows = [{"method": m, "mode": mode, "n": n, "peak_bytes": 2**20 * n}
            for m in ("sw", "sfg") for mode in ("chunked", "unchunked") for n in (10, 20)]
    monkeypatch.setattr(mc, "sweep", lambda ns, seed: rows)
    files = mc.run(tmp_path, quick=True, seed=0)
    assert {f.name for f in files} == {"memory.csv", "memory.png", "memory.svg"}
    assert len(_read_csv(tmp_path / "memory.csv")) == len(rows)
