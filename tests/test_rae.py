"""The RAE harness: prior, Frechet distance, training on tiny data, and the command."""

import csv
import inspect
import json

import numpy as np
import pytest
import scipy.linalg
import torch

import discrepancies
from validation.rae import command
from validation.rae.data import ImageData, load_digits
from validation.rae.experiment import METHOD_SETTINGS, method_kwargs, resolve_methods
from validation.rae.metrics import frechet_distance
from validation.rae.model import GMMPrior
from validation.rae.train import TrainConfig, train_rae


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """As the command does: tiny networks run faster on one intra-op thread."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def tiny() -> ImageData:
    full = load_digits(seed=0)
    return ImageData("tiny", full.x_train[:400], full.y_train[:400], full.x_test[:200],
                     full.y_test[:200], full.shape)


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
    result = train_rae(tiny, TINY, fn, method_kwargs(method, fn), seed=0)
    assert all(np.isfinite(list(h.values())).all() for h in result.history)
    assert result.history[-1]["loss"] < 0.7 * result.history[0]["loss"]
    assert _latent_sw(result, tiny) < 0.5 * plain[1]


def test_pull_check_fails_without_the_regulariser(tiny, plain):
    """The mutation of the check above: gamma = 0 leaves the codes where the plain
    autoencoder puts them, and the same criterion then fails."""
    fn = discrepancies.REGISTRY["sw"]
    config = TrainConfig(**{**TINY.__dict__, "gamma": 0.0})
    result = train_rae(tiny, config, fn, method_kwargs("sw", fn), seed=0)
    assert not _latent_sw(result, tiny) < 0.5 * plain[1]
    np.testing.assert_allclose(_latent_sw(result, tiny), plain[1], rtol=1e-6)


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

    return build_parser().parse_args(["rae", "--out", str(tmp_path), *extra])


def test_settings_name_registry_entries_and_their_keywords():
    # the seven discrepancies; a misspelt key would silently fall back to generic settings
    assert set(METHOD_SETTINGS) == {"sw", "max_sw", "sfg", "max_sfg", "ssfg", "mssfg", "pssfg"}
    for name, fn in discrepancies.REGISTRY.items():
        accepted = inspect.signature(fn).parameters
        assert set(method_kwargs(name, fn)) <= set(accepted), name
    assert resolve_methods(None, discrepancies.REGISTRY)[0] == "none"


def test_command_writes_table_json_csv_and_figures(tmp_path, capsys):
    args = _args(tmp_path, "--methods", "none", "sw", "--seeds", "2", "--epochs", "2")
    assert command.run(args) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith(("| none", "| sw"))]
    assert len(rows) == 2 and "±" in rows[1] and "n_projections=50" in rows[1]
    result = json.loads((tmp_path / "rae_results.json").read_text())
    assert [(r["method"], r["seed"]) for r in result["runs"]] == [
        ("none", 0), ("none", 1), ("sw", 0), ("sw", 1)]
    assert len(result["runs"][0]["history"]) == 2
    with open(tmp_path / "rae_runs.csv") as f:
        runs = list(csv.DictReader(f))
    assert len(runs) == 4 and float(runs[3]["latent_sw"]) == result["runs"][3]["latent_sw"]
    for name in ("samples", "reconstructions", "metrics", "training_curves"):
        assert (tmp_path / f"rae_{name}.png").stat().st_size > 1000


def test_command_on_an_mnist_folder(tmp_path, capsys):
    """The IDX path end to end: digits written as MNIST-named IDX files (uint8, 8x8)."""
    import gzip
    import struct

    digits = load_digits(seed=0)
    images = np.round(np.concatenate([digits.x_train, digits.x_test]) * 255).astype(np.uint8)
    labels = np.concatenate([digits.y_train, digits.y_test]).astype(np.uint8)
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
    assert result["notes"]["n_train"] + result["notes"]["n_test"] == 1797
    assert result["config"]["latent_dim"] == 8  # the paper's MNIST setting
    assert "| sw |" in capsys.readouterr().out


@pytest.mark.parametrize(("extra", "message"), [
    (["--data", "/no/such/folder"], "--data '/no/such/folder' is neither 'digits'"),
    (["--methods", "sw", "wasserstein"], "--methods: unknown 'wasserstein'"),
])
def test_command_bad_input_is_a_clear_error(tmp_path, capsys, extra, message):
    assert command.run(_args(tmp_path, *extra)) == 2
    assert message in capsys.readouterr().err


def test_command_rejects_bad_numbers(capsys):
    from validation.cli import build_parser

    with pytest.raises(SystemExit):
        build_parser().parse_args(["rae", "--seeds", "0"])
    assert "--seeds" in capsys.readouterr().err
