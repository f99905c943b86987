"""The RAE harness: prior, Frechet distance, networks, training on tiny data, the scale rule,
the selection (never touching the test split), the paired verdicts, and the command."""

import csv
import dataclasses
import inspect
import json

import numpy as np
import pytest
import scipy.linalg
import torch

import discrepancies
from validation.rae import command, engine
from validation.rae.data import DataSplits, ImageData, load_digits
from validation.rae.experiment import (
    HARNESS_SETTINGS,
    Run,
    method_kwargs,
    paired_comparisons,
    resolve_methods,
)
from validation.rae.metrics import frechet_distance, train_feature_classifier
from validation.rae.model import GMMPrior, conv_networks
from validation.rae.plan import FINAL, TRIAL, Task, default_knobs, grid_offsets, knob_grid
from validation.rae.selection import select
from validation.rae.stats import WORSE
from validation.rae.train import (
    TrainConfig,
    WarmDiscrepancy,
    gamma_scale,
    init_model,
    reconstruction_error,
    takes_state,
    train_rae,
)
from validation.threads import torch_threads


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """As the command does: tiny networks run faster on one intra-op thread."""
    with torch_threads(1):
        yield


@pytest.fixture(scope="module")
def tiny() -> ImageData:
    full = load_digits(seed=0).test
    return ImageData("tiny", full.x_train[:400], full.y_train[:400], full.x_test[:200],
                     full.y_test[:200], full.shape)


@pytest.fixture(scope="module")
def tiny_splits() -> DataSplits:
    """400 training, 100 validation and 200 test images of the digits."""
    full = load_digits(seed=0)
    fit, val, test = full.validation, full.validation, full.test
    x, y = fit.x_train[:400], fit.y_train[:400]
    return DataSplits(ImageData("tiny", x, y, val.x_test[:100], val.y_test[:100], fit.shape),
                      ImageData("tiny", x, y, test.x_test[:200], test.y_test[:200], fit.shape))


def _latent_sw(result, data: ImageData, seed: int = 123) -> float:
    """SW_2 (POT, independent of the suite) between held-out codes and prior samples."""
    import ot

    with torch.no_grad():
        codes = result.model.encode(torch.as_tensor(data.x_test)).numpy()
        prior = result.model.prior.rsample(len(codes), torch.Generator().manual_seed(seed))
    return float(ot.sliced_wasserstein_distance(codes, prior.numpy(), n_projections=2000,
                                                seed=seed))


# --- prior ------------------------------------------------------------------------------------

def test_prior_spreads_samples_evenly_and_is_reparameterised():
    prior = GMMPrior(3, n_components=10, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        prior.logvar.fill_(np.log(0.01))
    z = prior.rsample(25_003, torch.Generator().manual_seed(1))
    component = torch.arange(25_003) % 10
    counts = torch.bincount(component)
    assert counts.max() - counts.min() == 1
    # each component's samples: mean mu_k (std error 0.1 / sqrt(2500) = 0.002), std 0.1
    for k in range(10):
        zk = z[component == k].detach()
        np.testing.assert_allclose(zk.mean(0), prior.mu[k].detach(), atol=0.01)
        np.testing.assert_allclose(zk.std(0), 0.1, rtol=0.05)
    z.sum().backward()
    np.testing.assert_allclose(prior.mu.grad.numpy(), counts[:, None].expand(10, 3).numpy())
    assert prior.logvar.grad.abs().sum() > 0


# --- Frechet distance -------------------------------------------------------------------------

def test_frechet_matches_sqrtm_formula_and_1d_closed_form():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(500, 6)) @ rng.normal(size=(6, 6))
    b = rng.normal(size=(400, 6)) @ rng.normal(size=(6, 6)) + 0.3
    ca, cb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    expected = (np.sum((a.mean(0) - b.mean(0)) ** 2)
                + np.trace(ca + cb - 2 * np.real(scipy.linalg.sqrtm(ca @ cb))))
    np.testing.assert_allclose(frechet_distance(a, b), expected, rtol=1e-9)
    # one dimension: (m_a - m_b)^2 + (s_a - s_b)^2
    u, v = a[:, :1], b[:, :1]
    closed = (u.mean() - v.mean()) ** 2 + (u.std(ddof=1) - v.std(ddof=1)) ** 2
    np.testing.assert_allclose(frechet_distance(u, v), closed, rtol=1e-9)
    assert abs(frechet_distance(a, a)) < 1e-9


def test_frechet_handles_singular_covariances_and_bad_shapes():
    rng = np.random.default_rng(1)
    a = np.concatenate([rng.normal(size=(300, 3)), np.zeros((300, 2))], axis=1)  # dead features
    assert abs(frechet_distance(a, a)) < 1e-9
    with pytest.raises(ValueError, match=r"\(500, 3\) and \(4, 2\)"):
        frechet_distance(np.zeros((500, 3)), np.zeros((4, 2)))


# --- training ---------------------------------------------------------------------------------

TINY = TrainConfig(latent_dim=4, hidden=(32,), epochs=20, batch_size=50)


@pytest.fixture(scope="module")
def plain(tiny):
    """The unregularised autoencoder on the tiny data, and its codes' distance to the prior."""
    result = train_rae(tiny, TINY, None, seed=0)
    return result, _latent_sw(result, tiny)


def test_loss_decreases(tiny, plain):
    history = plain[0].history
    assert history[-1]["loss"] < 0.5 * history[0]["loss"]
    # held-out: better than predicting the mean training image for every image
    mean_image = ((tiny.x_test - tiny.x_train.mean(axis=0)) ** 2).sum(axis=1).mean()
    assert history[-1]["test_recon"] < 0.95 * mean_image


@pytest.mark.parametrize("method", sorted(discrepancies.REGISTRY))
def test_regulariser_pulls_posterior_to_prior(tiny, plain, method):
    """Every method trains without NaN, its loss decreases, and its codes end much closer to
    the prior than the plain autoencoder's (measured with POT's SW, not the suite's)."""
    fn = discrepancies.REGISTRY[method]
    result = train_rae(tiny, TINY, fn, method_kwargs(fn), seed=0)
    assert all(np.isfinite(list(h.values())).all() for h in result.history)
    assert result.history[-1]["loss"] < 0.7 * result.history[0]["loss"]
    assert _latent_sw(result, tiny) < 0.5 * plain[1]


def test_pull_check_fails_without_the_regulariser(tiny, plain):
    """The mutation of the check above: gamma = 0 leaves the codes where the plain
    autoencoder puts them, and the same criterion then fails."""
    fn = discrepancies.REGISTRY["sw"]
    config = TrainConfig(**{**TINY.__dict__, "gamma": 0.0})
    result = train_rae(tiny, config, fn, method_kwargs(fn), seed=0)
    assert not _latent_sw(result, tiny) < 0.5 * plain[1]
    np.testing.assert_allclose(_latent_sw(result, tiny), plain[1], rtol=1e-6)


def test_warm_start_passes_each_call_the_previous_state():
    """The first call is cold with the harness's keywords; every later one gets the state the
    previous call returned and warm_iters ascent steps; a discrepancy without a state (SW) is
    called as without the warm start."""
    calls = []

    def optimised(X, Y, *, seed, log=False, n_iter=10, state=None):
        calls.append((n_iter, state))
        return (X - Y).pow(2).mean(), {"state": {"step": len(calls)}}

    warm = WarmDiscrepancy(optimised, {"n_iter": 10}, 2)
    X = torch.zeros(3, 2)
    for seed in range(3):
        warm(X, X + 1, seed=seed)
    assert calls == [(10, None), (2, {"step": 1}), (2, {"step": 2})]
    assert takes_state(discrepancies.max_sfg) and takes_state(discrepancies.dsw)
    assert not takes_state(discrepancies.sw) and not takes_state(None)


@pytest.mark.parametrize("method", ["max_sfg", "dsw"])
def test_warm_start_trains_and_changes_the_path(tiny, method):
    """With --warm-start the optimised methods train to finite losses, and differently from
    the cold training (the mutation: a warm start that does nothing would leave it equal)."""
    fn = discrepancies.REGISTRY[method]
    config = TrainConfig(**{**TINY.__dict__, "epochs": 2})
    cold = train_rae(tiny, config, fn, method_kwargs(fn), seed=0).history
    warm_config = TrainConfig(**{**config.__dict__, "warm_iters": 1})
    warm = train_rae(tiny, warm_config, fn, method_kwargs(fn), seed=0).history
    assert all(np.isfinite(h["loss"]) for h in warm)
    assert warm[-1]["loss"] != cold[-1]["loss"]


def test_warm_start_flag_reaches_the_config(tmp_path):
    from validation.rae.command import _plan

    fns = [discrepancies.sw]
    profile = command.PROFILES[("digits", True)]
    assert _plan(_args(tmp_path), profile, fns).config.warm_iters is None
    assert _plan(_args(tmp_path, "--warm-start"), profile, fns).config.warm_iters == 2
    assert _plan(_args(tmp_path, "--warm-start", "5"), profile, fns).config.warm_iters == 5
    with pytest.raises(SystemExit):
        _args(tmp_path, "--warm-start", "-1")
    with pytest.raises(ValueError, match="warm_iters must be None or an integer >= 0"):
        TrainConfig(warm_iters=-1)


def test_non_finite_loss_is_reported(tiny):
    def broken(X, Y, **kwargs):
        return (X - Y).sum() * float("nan")

    with pytest.raises(FloatingPointError, match="epoch 1"):
        train_rae(tiny, TrainConfig(epochs=1), broken, seed=0)


def test_bad_config():
    with pytest.raises(ValueError, match="gamma must be a non-negative number, got -1"):
        TrainConfig(gamma=-1.0)
    with pytest.raises(ValueError, match="batch_size must be >= 2, got 1"):
        TrainConfig(batch_size=1)


# --- command ----------------------------------------------------------------------------------

def _args(tmp_path, *extra):
    from validation.cli import build_parser

    return build_parser().parse_args(["rae", "--out", str(tmp_path), "--jobs", "1", *extra])


def test_settings_and_knobs_come_from_the_registry_signatures():
    for fn in discrepancies.REGISTRY.values():
        accepted = inspect.signature(fn).parameters
        assert set(method_kwargs(fn)) == set(HARNESS_SETTINGS) & set(accepted)
        for knobs in knob_grid(fn):
            assert set(knobs) <= set(accepted)
    sizes = {name: len(knob_grid(fn)) for name, fn in discrepancies.REGISTRY.items()}
    assert sizes == {"sw": 1, "max_sw": 1, "sfg": 1, "max_sfg": 1, "ssfg": 2, "pssfg": 2,
                     "mssfg": 4, "ebsw": 2, "ebsfg": 2, "sir_ebsw": 2, "mh_ebsw": 2,
                     "dsw": 2, "dsfg": 2}
    assert default_knobs(discrepancies.mssfg) == {"kappa": 10.0, "n_components": 5}

    # a new entry with a concentration is tuned over kappa without naming it anywhere
    def new_spherical(X, Y, *, seed=None, kappa=3.0, n_projections=100):
        return (X - Y).pow(2).mean()

    assert knob_grid(new_spherical) == [{"kappa": 5.0}, {"kappa": 50.0}]
    assert method_kwargs(new_spherical) == {"n_projections": 50}
    assert resolve_methods(None, discrepancies.REGISTRY)[0] == "none"


def test_grid_offsets_are_evenly_spaced_over_three_decades():
    np.testing.assert_allclose(grid_offsets(7), [-1.5, -1, -0.5, 0, 0.5, 1, 1.5], atol=1e-12)
    assert grid_offsets(1).tolist() == [0.0]
    with pytest.raises(ValueError, match="at least one value"):
        grid_offsets(0)


def test_gamma_scale_balances_the_terms_at_initialisation(tiny):
    """With a constant regulariser c, scale * c is the mean reconstruction error over the
    first five batches of the seed's order, recomputed here from the untrained model."""
    config = TrainConfig(latent_dim=4, hidden=(32,), batch_size=50)

    def constant(X, Y, *, seed=None, value=2.5):
        return torch.full((), value) + 0 * X.sum()

    scale = gamma_scale(tiny, config, constant, seed=3)
    model = init_model(tiny, config, 3)
    order = torch.randperm(len(tiny.x_train), generator=torch.Generator().manual_seed(4))
    x = torch.as_tensor(tiny.x_train)[order[:250]]
    with torch.no_grad():
        recon = reconstruction_error(model(x)[0], x).item()
    np.testing.assert_allclose(scale * 2.5, recon, rtol=1e-5)
    # the scale of a regulariser twice as large is half as large
    doubled = gamma_scale(tiny, config, constant, {"value": 5.0}, seed=3)
    np.testing.assert_allclose(doubled, scale / 2, rtol=1e-6)
    with pytest.raises(ValueError, match=r"regulariser is 0\.0 at initialisation"):
        gamma_scale(tiny, config, constant, {"value": 0.0}, seed=3)


def test_gamma_scale_puts_sw_and_sfg_on_one_footing(tiny):
    """SW is a root, SFG(beta=0) its square on the same directions (same seed): the scale
    rule's weights make both start at the reconstruction's size, whatever their convention."""
    config = TrainConfig(latent_dim=4, hidden=(32,), batch_size=50)
    kwargs = {"n_projections": 50}
    s_sw = gamma_scale(tiny, config, discrepancies.sw, kwargs, seed=0, n_batches=1)
    s_sfg = gamma_scale(tiny, config, discrepancies.sfg, {**kwargs, "beta": 0.0}, seed=0,
                        n_batches=1)
    # one batch: s_sw * SW = s_sfg * SW^2 = recon, so s_sw / s_sfg = SW
    model = init_model(tiny, config, 0)
    order = torch.randperm(len(tiny.x_train), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        z = model.encode(torch.as_tensor(tiny.x_train)[order[:50]])
        prior = model.prior.rsample(50, torch.Generator().manual_seed(2))
    value = discrepancies.sw(z, prior, seed=0, n_projections=50).item()
    np.testing.assert_allclose(s_sw / s_sfg, value, rtol=1e-5)


# --- the convolutional networks ----------------------------------------------------------------

def test_conv_networks_follow_the_rae_code():
    encoder, decoder = conv_networks((28, 28), 8, width=1 / 16)
    convs = [m for m in encoder.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [(c.in_channels, c.out_channels) for c in convs] == [(1, 8), (8, 16), (16, 32),
                                                                 (32, 64)]
    assert all(c.kernel_size == (4, 4) and c.stride == (2, 2) and c.padding == (1, 1)
               for c in convs)
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in encoder.modules()) == 4
    # 28 -> 14 -> 7 -> 3 -> 1: the linear map reads 64 features
    assert encoder[-1].in_features == 64 and encoder[-1].out_features == 8
    deconvs = [m for m in decoder.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size) for c in deconvs] == [
        (64, 32, (4, 4)), (32, 16, (4, 4)), (16, 1, (1, 1))]
    assert not any(isinstance(m, torch.nn.Sigmoid) for m in decoder.modules())
    x = torch.rand(5, 784)
    z = encoder(x)
    assert z.shape == (5, 8) and decoder(z).shape == (5, 784)
    full, _ = conv_networks((28, 28), 8)
    assert [m.out_channels for m in full.modules() if isinstance(m, torch.nn.Conv2d)] == [
        128, 256, 512, 1024]
    with pytest.raises(ValueError, match="multiples of 4 and >= 16, got 8x8"):
        conv_networks((8, 8), 4)


def test_conv_rae_trains_one_step_on_28x28():
    rng = np.random.default_rng(0)
    x = rng.random((200, 784), dtype=np.float32)
    y = rng.integers(0, 10, 200)
    data = ImageData("noise", x, y, x[:50], y[:50], (28, 28))
    config = TrainConfig(latent_dim=8, arch="conv", width=1 / 16, epochs=1, batch_size=100)
    before = [p.detach().clone() for p in init_model(data, config, 0).parameters()]
    result = train_rae(data, config, discrepancies.sfg, {"n_projections": 10}, seed=0)
    after = list(result.model.parameters())
    assert np.isfinite(result.history[0]["loss"])
    assert len(before) == len(after)
    assert all(not torch.equal(a, b) for a, b in zip(after, before, strict=True))
    with torch.no_grad():
        assert result.model.generate(4).shape == (4, 784)


# --- selection and the final comparison ---------------------------------------------------------

def _poisoned(splits: DataSplits) -> DataSplits:
    test = splits.test
    bad = np.full_like(test.x_test, np.nan)
    return DataSplits(splits.validation,
                      ImageData(test.name, test.x_train, test.y_train, bad, test.y_test,
                                test.shape))


def _task(kind, method, gamma, seed, config=TINY, **kwargs):
    return Task(kind, "tiny", 0, None, config, method, kwargs, {}, gamma, None, seed, "cpu", 1,
                "test")


def test_a_trial_never_reads_the_test_split(tiny_splits, monkeypatch):
    """A selection task on clean and on NaN-poisoned test images returns the same metrics: it
    trains and scores on the training and validation splits only."""
    classifier, _ = train_feature_classifier(tiny_splits.validation, seed=0, steps=100)
    state = engine.classifier_state(classifier)
    task = _task(TRIAL, "sw", 1.0, 0, dataclasses.replace(TINY, epochs=1), n_projections=20)
    results = []
    for splits in (tiny_splits, _poisoned(tiny_splits)):
        monkeypatch.setattr(engine, "_splits", lambda *_, s=splits: s)
        results.append(engine.run_task(task, discrepancies.sw, discrepancies.sw, state, 1))
    assert results[0]["metrics"] == results[1]["metrics"]
    assert all(np.isfinite(v) for v in results[0]["metrics"].values())
    # the poison works: the same task as a final run, which does read the test split, fails
    final = dataclasses.replace(task, kind=FINAL)
    try:
        poisoned = engine.run_task(final, discrepancies.sw, discrepancies.sw, state, 1)
        assert not np.isfinite(poisoned["metrics"]["recon"])
    except (ValueError, np.linalg.LinAlgError):
        pass


def test_hobbled_method_is_called_worse(tiny_splits, monkeypatch):
    """SFG against itself at gamma = 0, over 5 paired seeds run as final tasks: the codes stay
    far from the prior, and the paired verdict on latent SW says worse, after Holm."""
    data = tiny_splits.test
    monkeypatch.setattr(engine, "_splits", lambda *_: tiny_splits)
    fn = discrepancies.sfg
    kwargs = method_kwargs(fn)
    gamma = gamma_scale(data, TINY, fn, kwargs, seed=0)
    classifier, _ = train_feature_classifier(data, seed=0, steps=200)
    config = dataclasses.replace(TINY, epochs=8)
    tasks = [_task(FINAL, m, g, s, config, **kwargs)
             for m, g in (("sfg", gamma), ("hobbled", 0.0)) for s in range(5)]
    with engine.Engine(jobs=1, progress=False) as runner:
        results = runner.run(tasks, lambda m: fn, discrepancies.sw,
                             engine.classifier_state(classifier))
    runs = [Run(t.method, t.seed, r["metrics"], r["history"], r["samples"],
                r["reconstructions"]) for t, r in zip(tasks, results, strict=True)]
    verdict = paired_comparisons(runs)["sfg"]["hobbled"]["latent_sw"]
    assert verdict.verdict == WORSE, verdict
    assert verdict.p_adjusted >= verdict.p_value and verdict.difference.low > 0


def _trial_results(points, seeds, score=lambda point, seed: point + seed):
    """Fake selection tasks and results: SW on ``points``, SSFG's two knob settings on the
    same ``points``; fd = ``score(point, seed)``."""
    tasks, results = [], []
    for method, settings in (("sw", [{}]), ("ssfg", [{"kappa": 5.0}, {"kappa": 50.0}])):
        for knobs in settings:
            for t in points[method] if isinstance(points, dict) else points:
                for seed in seeds:
                    tasks.append(Task(TRIAL, "x", 0, None, TINY, method, dict(knobs),
                                      dict(knobs), 10.0 ** t, float(t), seed, "cpu", 1, "v"))
                    fd = score(t, seed) + (knobs.get("kappa", 0) == 50.0)
                    results.append({"metrics": {"fd": fd, "recon": 1.0},
                                    "diverged": not np.isfinite(fd)})
    return tasks, results


def test_select_takes_the_mean_over_seeds_and_enforces_equal_search():
    tasks, results = _trial_results([-1.0, 0.0, 1.0], [1000, 1001],
                                    lambda t, s: (t - 0.2) ** 2 + (s - 1000))
    chosen = select(tasks, results)
    assert (chosen["sw"].gamma, chosen["sw"].knobs) == (1.0, {})
    assert (chosen["ssfg"].gamma, chosen["ssfg"].knobs) == (1.0, {"kappa": 5.0})
    assert len(chosen["sw"].trials) == 3 and len(chosen["ssfg"].trials) == 6
    assert chosen["sw"].trials[1].score == pytest.approx(0.04 + 0.5)
    # a diverged training scores +inf and is never chosen
    tasks, results = _trial_results([-1.0, 0.0], [0], lambda t, s: np.inf if t == 0 else 3.0)
    assert select(tasks, results)["sw"].gamma == 0.1
    # a coarser grid for one method, or fewer seeds, is refused
    for points, seeds in (({"sw": [-1.0, 0.0, 1.0], "ssfg": [-1.0, 1.0]}, [0]),):
        with pytest.raises(ValueError, match="unequal search"):
            select(*_trial_results(points, seeds))
    tasks, results = _trial_results([0.0, 1.0], [0, 1])
    del tasks[-1], results[-1]
    with pytest.raises(ValueError, match="unequal search"):
        select(tasks, results)


def test_command_writes_table_json_csv_and_figures(tmp_path, capsys):
    args = _args(tmp_path, "--methods", "none", "sw", "sfg", "--seeds", "3", "--epochs", "1",
                 "--trials", "2")
    assert command.run(args) == 0
    out = capsys.readouterr().out
    assert "### Against sfg" in out and "### Against sw" in out and "3 seed(s)" in out
    result = json.loads((tmp_path / "rae_results.json").read_text())
    assert [(r["method"], r["seed"]) for r in result["runs"]] == [
        (m, s) for m in ("none", "sw", "sfg") for s in (0, 1, 2)]
    for method in ("sw", "sfg"):
        trials = result["selection"][method]["trials"]
        assert len(trials) == 2
        assert result["settings"][method]["gamma"] in [t["gamma"] for t in trials]
        assert f"| {method} | {result['settings'][method]['gamma']:.3g} |" in out
    comparison = result["comparisons"]["sfg"]["sw"]["fd"]
    assert comparison["difference"]["n"] == 3 and comparison["p_value"] is not None
    assert result["summary"]["none"]["cost"]["mean"] == 1.0
    with open(tmp_path / "rae_runs.csv") as f:
        runs = list(csv.DictReader(f))
    assert len(runs) == 9 and float(runs[3]["latent_sw"]) == result["runs"][3]["latent_sw"]
    with open(tmp_path / "rae_selection.csv") as f:
        assert sum(row["chosen"] == "True" for row in csv.DictReader(f)) == 2
    for name in ("samples", "reconstructions", "metrics", "training_curves"):
        assert (tmp_path / f"rae_{name}.png").stat().st_size > 1000


def test_command_quick_and_forced_gamma(tmp_path, capsys):
    """--quick: no selection, each method at its scale; --gamma: one value for all."""
    assert command.run(_args(tmp_path / "q", "--quick", "--methods", "sw", "sfg")) == 0
    quick = json.loads((tmp_path / "q" / "rae_results.json").read_text())
    assert quick["selection"] == {}
    assert "no test is made" in capsys.readouterr().out
    assert quick["settings"]["sw"]["gamma"] != quick["settings"]["sfg"]["gamma"]
    assert command.run(_args(tmp_path / "g", "--gamma", "0.7", "--methods", "sw", "ssfg",
                             "--seeds", "1", "--epochs", "1")) == 0
    forced = json.loads((tmp_path / "g" / "rae_results.json").read_text())
    assert {m: s["gamma"] for m, s in forced["settings"].items()} == {"sw": 0.7, "ssfg": 0.7}
    assert forced["settings"]["ssfg"]["kwargs"]["kappa"] == 10.0


def test_slicing_is_passed_only_when_not_the_default(tmp_path):
    seen = []

    def takes_slicing(X, Y, *, seed=None, n_projections=100, slicing="mc"):
        seen.append(slicing)
        return discrepancies.sw(X, Y, seed=seed, n_projections=n_projections)

    registry = {"sliced": takes_slicing, "sw": discrepancies.sw}
    common = ["--methods", "sliced", "sw", "--seeds", "1", "--epochs", "1", "--gamma", "1"]
    assert command.run(_args(tmp_path, *common), registry=registry, sw=discrepancies.sw) == 0
    assert set(seen) == {"mc"}
    seen.clear()
    assert command.run(_args(tmp_path, *common, "--slicing", "rqmc"), registry=registry,
                       sw=discrepancies.sw) == 0
    assert set(seen) == {"rqmc"}


def test_command_on_an_mnist_folder(tmp_path, capsys):
    """The IDX path end to end: digits written as MNIST-named IDX files (uint8, 8x8)."""
    import gzip
    import struct

    from sklearn.datasets import load_digits as sk_load_digits

    digits = sk_load_digits()
    images = np.round(digits.images / 16 * 255).astype(np.uint8)
    labels = digits.target.astype(np.uint8)
    folder = tmp_path / "mnist"
    folder.mkdir()
    for name, array in (("train-images-idx3-ubyte.gz", images.reshape(-1, 8, 8)),
                        ("train-labels-idx1-ubyte.gz", labels)):
        header = struct.pack(">BBBB", 0, 0, 8, array.ndim)
        header += b"".join(struct.pack(">I", n) for n in array.shape)
        with gzip.open(folder / name, "wb") as f:
            f.write(header + array.tobytes())
    out = tmp_path / "out"
    assert command.run(_args(out, "--quick", "--data", str(folder), "--methods", "sw")) == 0
    result = json.loads((out / "rae_results.json").read_text())
    notes = result["notes"]
    assert notes["n_train"] + notes["n_validation"] + notes["n_test"] == 1797
    assert result["config"]["latent_dim"] == 8  # the paper's MNIST setting
    assert "| sw |" in capsys.readouterr().out


@pytest.mark.parametrize(("extra", "message"), [
    (["--data", "/no/such/folder"], "--data '/no/such/folder' is neither 'digits'"),
    (["--methods", "sw", "wasserstein"], "--methods: unknown 'wasserstein'"),
    (["--arch", "conv"], "--arch conv needs image sides that are multiples of 4"),
    (["--gamma-grid", "1", "2", "--trials", "3"], "--trials 3 contradicts --gamma-grid's 2"),
    (["--slicing", "control-variate", "--methods", "sw", "ssfg"],
     "--slicing 'control-variate': slicing='control-variate' changes how a mean"),
])
def test_command_bad_input_is_a_clear_error(tmp_path, capsys, extra, message):
    assert command.run(_args(tmp_path, *extra)) == 2
    assert message in capsys.readouterr().err


def test_command_rejects_bad_numbers(capsys):
    from validation.cli import build_parser

    with pytest.raises(SystemExit):
        build_parser().parse_args(["rae", "--seeds", "0"])
    assert "--seeds" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        build_parser().parse_args(["rae", "--gamma", "1", "--gamma-grid", "1", "2"])
    assert "not allowed with argument" in capsys.readouterr().err


def test_a_diverging_final_run_is_an_error_naming_the_method(tmp_path, capsys):
    def explodes(X, Y, *, seed=None):
        return (X - Y).sum() * float("inf")

    args = _args(tmp_path, "--methods", "boom", "--gamma", "1", "--seeds", "1", "--epochs", "1")
    assert command.run(args, registry={"boom": explodes}, sw=discrepancies.sw) == 1
    assert "boom (gamma 1), seed 0: non-finite loss at epoch 1" in capsys.readouterr().err
