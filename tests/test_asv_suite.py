"""The asv suite imports, is well formed, runs, and its peers and closed forms are right."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import numpy as np
import pytest
import scipy.integrate
import scipy.stats
import torch
from wood_oracle import wood_acceptance_exact

from asv_bench.benchmarks import bench_discrepancies, bench_samplers, bench_slicing, common
from discrepancies import REGISTRY, reference, sfg, sw
from samplers import von_mises_fisher as samplers_vmf

ROOT = Path(__file__).resolve().parents[1]
PREFIXES = ("time_", "peakmem_", "track_", "mem_", "timeraw_")


def _benchmark_classes():
    for module in (bench_samplers, bench_discrepancies, bench_slicing):
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == module.__name__ and not name.startswith("_") and any(
                    m.startswith(PREFIXES) for m in dir(cls)):
                yield cls


CLASSES = list(_benchmark_classes())


def test_asv_conf_points_at_the_suite_and_pins_torch():
    text = (ROOT / "asv.conf.json").read_text()
    # asv.conf.json allows // comments; drop them to read it as JSON
    conf = json.loads("\n".join(line for line in text.splitlines()
                                if not line.strip().startswith("//")))
    assert (ROOT / conf["benchmark_dir"] / "__init__.py").is_file()
    assert conf["matrix"]["req"]["torch"] == ["2.13.0"]
    assert conf["matrix"]["req"]["pip+asv_runner"] == ["0.3.2"]
    assert all("--no-deps" in c or "{wheel_file}" in c for c in conf["install_command"])


def test_every_benchmark_is_well_formed():
    assert len(CLASSES) >= 10
    for cls in CLASSES:
        params = getattr(cls, "params", [])
        assert len(params) == len(cls.param_names), cls
        for values in params:
            assert len(values) == len(set(values)) >= 1, cls


def _cheapest(cls) -> list[tuple]:
    """Parameter sets that run every method name of ``cls`` once, at its smallest point."""
    params = cls.params
    names = list(cls.param_names)
    first = [v[0] for v in params]
    for key in ("method", "sampler"):  # every registry entry, peer and sampler
        if key in names:
            i = names.index(key)
            return [(*first[:i], v, *first[i + 1:]) for v in params[i]]
    return [tuple(first)]


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_every_benchmark_runs_at_its_cheapest_point(cls, monkeypatch):
    monkeypatch.setattr(bench_discrepancies, "N_BASE", 32)
    monkeypatch.setattr(bench_discrepancies, "L_BASE", 8)
    monkeypatch.setattr(bench_slicing, "REFERENCE_SIZE", 256)
    # asv hands what setup_cache returns to setup and to every benchmark method, first
    cache = (cls().setup_cache(),) if hasattr(cls, "setup_cache") else ()
    for combo in _cheapest(cls):
        bench = cls()
        bench.setup(*cache, *combo)
        for name in dir(cls):
            if name.startswith(PREFIXES):
                value = getattr(bench, name)(*cache, *combo)
                if name.startswith("track_"):
                    assert np.isfinite(value), (cls, combo)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the skip on a machine with no GPU")
def test_cuda_is_skipped_not_failed_without_a_gpu():
    with pytest.raises(NotImplementedError, match="cuda"):
        bench_samplers.VonMisesFisherSampling().setup("cuda", 100, 2, 1.0)
    with pytest.raises(NotImplementedError, match="cuda"):
        bench_discrepancies.DiscrepancyVsN().setup("cuda", "sw", 64)


def test_capped_peers_are_skipped():
    with pytest.raises(NotImplementedError, match="scipy"):
        bench_samplers.ScipyVonMisesFisherSampling().setup(100, 2 * bench_samplers.SCIPY_MAX_D,
                                                            10.0)
    with pytest.raises(NotImplementedError, match="naive"):
        bench_discrepancies.DiscrepancyVsN().setup("cpu", "naive_sfg", 4096)


def test_registry_is_benchmarked_in_full():
    assert set(REGISTRY) <= set(bench_discrepancies.METHODS)
    for cls in (bench_discrepancies.DiscrepancyVsN, bench_discrepancies.DiscrepancyVsD,
                bench_discrepancies.DiscrepancyVsL, bench_discrepancies.TrainingStepVsN,
                bench_discrepancies.DiscrepancyPeakMemory):
        assert set(REGISTRY) <= set(cls.params[cls.param_names.index("method")])


@pytest.mark.parametrize("beta", [0.0, 0.3, 1.0])
def test_naive_sfg_peer_equals_sfg_and_the_reference(beta):
    g = torch.Generator().manual_seed(3)
    X = torch.randn(40, 5, generator=g, dtype=torch.float64)
    # clustered Y, so that the anti-identity coupling wins on some directions
    Y = torch.randn(40, 5, generator=g, dtype=torch.float64) * torch.tensor([3.0, 1, 1, 1, 1])
    theta = torch.randn(5, 16, generator=g, dtype=torch.float64)
    theta /= theta.norm(dim=0)
    naive = float(bench_discrepancies.naive_sfg(X, Y, projections=theta, beta=beta))
    assert naive == pytest.approx(float(sfg(X, Y, projections=theta, beta=beta)), rel=1e-10)
    oracle = reference.sfg(X.numpy(), Y.numpy(), projections=theta.numpy(), beta=beta)
    assert naive == pytest.approx(float(oracle), rel=1e-10)


def test_naive_sfg_blocks_do_not_change_the_value(monkeypatch):
    X, Y = common.point_clouds(30, 4, "cpu", 0)
    full = bench_discrepancies.naive_sfg(X, Y, 20, seed=1)
    monkeypatch.setattr(bench_discrepancies, "_NAIVE_BLOCK", 30 * 30 * 3)  # 3 slices a block
    assert float(bench_discrepancies.naive_sfg(X, Y, 20, seed=1)) == pytest.approx(float(full))


def test_translate_closed_form_holds_direction_by_direction():
    """The premise of EstimatorError: for Y = X + m, SW_2^2 on directions P is mean (P^T m)^2."""
    X, Y, m2 = bench_discrepancies._translate_pair(256, 16, 0)
    m = (Y - X)[0]
    assert float(m @ m) == pytest.approx(m2)
    g = torch.Generator().manual_seed(0)
    P = torch.randn(16, 7, generator=g, dtype=torch.float64)
    P /= P.norm(dim=0)
    assert float(sw(X, Y, projections=P)) ** 2 == pytest.approx(float(((P.T @ m) ** 2).mean()))


def test_estimator_error_falls_with_L():
    bench = bench_discrepancies.EstimatorError()
    bench.setup("sw", 16)
    small, large = (bench.track_relative_error("sw", L) for L in (16, 1024))
    # The Monte-Carlo error falls like 1/sqrt(L): a factor 8 from L = 16 to 1024, in mean
    # over 10 seeds; 2 leaves room for the spread and still fails if L were ignored.
    assert large < small / 2


# (d, kappa, per_draw): the track's grid corners and middle (shared pool), plus the branch for
# one kappa per draw; every case has over 900 expected rejections, so the normal approximation
# of the binomial holds. Level 1e-3 for the whole family (Bonferroni, two-sided).
ACCEPTANCE_CASES = [(2, 1.0, False), (2, 1e4, False), (16, 10.0, False), (16, 100.0, False),
                    (1024, 100.0, False), (1024, 1e4, False), (16384, 1e4, False),
                    (2, 10.0, True), (16, 100.0, True)]
Z_ACCEPTANCE = float(scipy.stats.norm.isf(1e-3 / (2 * len(ACCEPTANCE_CASES))))


def _observed_rate(d: int, kappa: float, per_draw: bool) -> tuple[float, int]:
    """The track's rate (or the per-draw branch's) and its number of draws."""
    if per_draw:
        n = 100_000
        g = torch.Generator().manual_seed(2)
        return samplers_vmf.wood_acceptance_rate(kappa, d, n, g, per_draw=True), n
    bench = bench_samplers.VonMisesFisherAcceptance()
    bench.setup(d, kappa)
    return bench.track_acceptance_rate(d, kappa), bench.N_DRAWS


def _binomial_tolerance(p: float, n_draws: int) -> float:
    # n_draws <= proposals, so this bounds the standard error of accepted / proposed
    return Z_ACCEPTANCE * np.sqrt(p * (1 - p) / n_draws)


@pytest.mark.parametrize(("d", "kappa", "per_draw"), ACCEPTANCE_CASES)
def test_observed_acceptance_matches_wood_exactly(d, kappa, per_draw):
    exact = wood_acceptance_exact(d, kappa)
    rate, n = _observed_rate(d, kappa, per_draw)
    assert abs(rate - exact) < _binomial_tolerance(exact, n), (rate, exact)


@pytest.mark.parametrize("factor", [0.5, 2.0])
def test_observed_acceptance_sees_a_wrong_envelope(monkeypatch, factor):
    """Mutation: with Wood's b scaled, the loop accepts at another rate (0.68 and 0.60 instead of
    0.729 at d = 16, kappa = 100) and the same check fails."""
    exact = wood_acceptance_exact(16, 100.0)
    right = samplers_vmf.wood_envelope
    monkeypatch.setattr(samplers_vmf, "wood_envelope", lambda k, d: factor * right(k, d))
    rate, n = _observed_rate(16, 100.0, False)
    assert abs(rate - exact) > _binomial_tolerance(exact, n)


def test_acceptance_rate_is_one_at_kappa_zero():
    bench = bench_samplers.VonMisesFisherAcceptance()
    bench.setup(8, 0.0)
    assert bench.track_acceptance_rate(8, 0.0) == 1.0


def test_smoke_grid_keeps_the_two_ends(monkeypatch):
    monkeypatch.setattr(common, "SMOKE", True)
    assert common.numeric_grid([2, 4, 8, 16]) == [2, 16]
    monkeypatch.setattr(common, "SMOKE", False)
    assert common.numeric_grid([2, 4, 8, 16]) == [2, 4, 8, 16]


def test_threads_are_pinned_only_inside_the_block():
    before = torch.get_num_threads()
    with common.pinned_threads():
        assert torch.get_num_threads() == common.NUM_THREADS
    assert torch.get_num_threads() == before


def test_slicing_error_track(monkeypatch):
    """The RMSE track of the slicing schemes: Monte Carlo's falls like L^-1/2 (a factor 8 from
    L = 16 to 1024, 3 leaves room for the spread of 16 seeds), POT's random projections track
    it, and in d = 3 the rotated spiral at L = 256 is far below both."""
    monkeypatch.setattr(bench_slicing, "REFERENCE_SIZE", 256)
    cache = bench_slicing.references([3], 0)

    def rmse(method, L):
        bench = bench_slicing.SlicingError()
        bench.setup(cache, "sw", method, 3, L)
        return bench.track_rmse(cache, "sw", method, 3, L)

    assert rmse("mc", 1024) < rmse("mc", 16) / 3
    assert 0.5 < rmse("pot", 256) / rmse("mc", 256) < 2
    assert rmse("rqmc", 256) < rmse("mc", 256) / 4
    with pytest.raises(NotImplementedError, match="control-variate"):
        bench_slicing.SlicingError().setup(cache, "sfg", "control-variate", 3, 16)


def test_the_base_seed_is_an_argument_of_each_benchmark():
    """asv builds benchmarks with no argument (seed 0); the curves' sweep passes its seed, and
    every input and generator of that benchmark follows it, with nothing left behind."""
    default, other = bench_discrepancies.DiscrepancyVsN(), bench_discrepancies.DiscrepancyVsN(5)
    default.setup("cpu", "sw", 64)
    other.setup("cpu", "sw", 64)
    assert torch.equal(other.X, common.point_clouds(64, bench_discrepancies.D_BASE, "cpu", 5)[0])
    assert torch.equal(default.X, common.point_clouds(64, bench_discrepancies.D_BASE, "cpu", 0)[0])
    assert not torch.equal(default.X, other.X)
    sampling = bench_samplers.VonMisesFisherSampling(seed=5)
    sampling.setup("cpu", 100, 4, 10.0)
    assert sampling.generator.initial_seed() == 5
    assert bench_samplers.VonMisesFisherSampling().seed == 0
