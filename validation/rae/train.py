"""Training loop of the RAE: loss = reconstruction + gamma * D(codes of the batch, prior samples).

``D`` is any discrepancy with the suite's signature ``D(X, Y, *, seed=..., **kwargs)`` returning
a 0-d tensor differentiable in X and Y (a ``discrepancies.REGISTRY`` entry), or ``None`` for the
plain autoencoder. The gradient reaches the encoder through X and the prior's means and
log-variances through the reparameterised Y, as in the original RAE.

**Warm start** (``TrainConfig.warm_iters``, ``sliced-bench rae --warm-start N``): a discrepancy
that takes a warm ``state`` (every optimised registry entry: max-SW, max-SFG, the spherical
family, DSW, DSFG) is called with ``log=True``, and each training step passes it the state the
previous step returned (its maximising direction, locations, or push-forward and Adam moments),
with ``n_iter = N`` ascent steps instead of the harness's: the codes move little between
steps, so the ascent continues instead of restarting. The first step of a training starts cold,
with the harness's ``n_iter``. :func:`gamma_scale` (one batch each, at initialisation) is
unchanged.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from validation.rae.data import ImageData
from validation.rae.model import RAE

Discrepancy = Callable[..., torch.Tensor]


@dataclass
class TrainConfig:
    """Model and optimiser settings (Adam; batch 100 and lr 1e-3 as in the RAE paper).

    ``arch``: ``"mlp"`` (``hidden`` layer sizes) or ``"conv"`` (the original code's networks,
    channels scaled by ``width``); see :class:`validation.rae.model.RAE`.
    """

    latent_dim: int = 4
    hidden: tuple[int, ...] = (128, 64)
    arch: str = "mlp"
    width: float = 1.0
    n_components: int = 10
    epochs: int = 30
    batch_size: int = 100
    lr: float = 1e-3
    gamma: float = 1.0
    warm_iters: int | None = None  # warm start: ascent steps per call after the first

    def __post_init__(self) -> None:
        for name in ("latent_dim", "n_components", "epochs"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.batch_size < 2:
            raise ValueError(f"batch_size must be >= 2, got {self.batch_size}")
        if not (self.lr > 0 and np.isfinite(self.lr)):
            raise ValueError(f"lr must be a positive number, got {self.lr}")
        if not (self.gamma >= 0 and np.isfinite(self.gamma)):
            raise ValueError(f"gamma must be a non-negative number, got {self.gamma}")
        if self.arch not in ("mlp", "conv"):
            raise ValueError(f"arch must be 'mlp' or 'conv', got {self.arch!r}")
        if not (self.width > 0 and np.isfinite(self.width)):
            raise ValueError(f"width must be a positive number, got {self.width}")
        if self.warm_iters is not None and (isinstance(self.warm_iters, bool)
                                            or not isinstance(self.warm_iters, int)
                                            or self.warm_iters < 0):
            raise ValueError(f"warm_iters must be None or an integer >= 0, "
                             f"got {self.warm_iters!r}")


class WarmDiscrepancy:
    """``discrepancy`` called with the state its previous call returned (see the module
    docstring): the first call cold with ``kwargs``, the next ones with ``state=`` and
    ``n_iter=warm_iters``. ``state`` holds the last state returned."""

    def __init__(self, discrepancy: Discrepancy, kwargs: dict, warm_iters: int):
        self.discrepancy, self.kwargs, self.warm_iters = discrepancy, kwargs, warm_iters
        self.state: dict | None = None

    def __call__(self, X: torch.Tensor, Y: torch.Tensor, *, seed: int) -> torch.Tensor:
        kwargs = self.kwargs if self.state is None else {
            **self.kwargs, "n_iter": self.warm_iters, "state": self.state}
        value, log = self.discrepancy(X, Y, seed=seed, log=True, **kwargs)
        self.state = log["state"]
        return value


def takes_state(discrepancy: Discrepancy | None) -> bool:
    """Whether ``discrepancy`` takes a warm ``state`` (the optimised registry entries)."""
    if discrepancy is None:
        return False
    try:
        return "state" in inspect.signature(discrepancy).parameters
    except (TypeError, ValueError):  # a callable without a signature takes no state
        return False


@dataclass
class TrainResult:
    """The trained model and one dict per epoch: ``loss``, ``recon``, ``reg`` (training-batch
    means), ``test_recon`` (held-out) and ``seconds`` (wall time of the epoch's updates)."""

    model: RAE
    history: list[dict[str, float]] = field(default_factory=list)

    @property
    def seconds_per_epoch(self) -> float:
        return float(np.mean([h["seconds"] for h in self.history]))


def reconstruction_error(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Squared error summed over pixels, averaged over images (the RAE's MSE loss per image)."""
    return ((x_hat - x) ** 2).sum(dim=1).mean()


def init_model(data: ImageData, config: TrainConfig, seed: int, device: str = "cpu") -> RAE:
    """The model :func:`train_rae` starts from with ``seed`` (networks from torch's global
    generator seeded with ``seed``, prior from a generator seeded with ``seed``)."""
    torch.manual_seed(seed)
    init = torch.Generator().manual_seed(seed)
    return RAE(data.shape, config.latent_dim, arch=config.arch, hidden=config.hidden,
               width=config.width, n_components=config.n_components,
               generator=init).to(device)


@torch.no_grad()
def gamma_scale(data: ImageData, config: TrainConfig, discrepancy: Discrepancy,
                discrepancy_kwargs: dict | None = None, *, seed: int = 0, device: str = "cpu",
                n_batches: int = 5) -> float:
    """The weight that makes the regulariser as large as the reconstruction term at
    initialisation: ``scale = mean_b recon_b / mean_b D_b``.

    The means run over the first ``n_batches`` training batches of ``seed``'s batch order,
    with the model :func:`train_rae` starts from and a fresh batch of prior samples each, so
    ``recon + scale * D`` starts with equal terms whatever the discrepancy's convention
    (a p-th root for SW, squared scale for the fused family). Raises ``ValueError`` when the
    regulariser is not positive and finite at initialisation.
    """
    model = init_model(data, config, seed, device)
    x_train = torch.as_tensor(data.x_train, device=device)
    order = torch.randperm(len(x_train), generator=torch.Generator().manual_seed(seed + 1))
    prior_gen = torch.Generator(device=device).manual_seed(seed + 2)
    recon, reg = [], []
    for b in range(n_batches):
        idx = order[b * config.batch_size:(b + 1) * config.batch_size].to(device)
        if len(idx) < 2:
            break
        x_hat, z = model(x_train[idx])
        recon.append(reconstruction_error(x_hat, x_train[idx]).item())
        prior_z = model.prior.rsample(len(idx), prior_gen)
        reg.append(discrepancy(z, prior_z, seed=seed * 1_000_003 + b,
                               **(discrepancy_kwargs or {})).item())
    if not (np.mean(reg) > 0 and np.isfinite(np.mean(reg))):
        raise ValueError(f"the regulariser is {np.mean(reg)} at initialisation: no scale for "
                         "gamma can be derived from it")
    return float(np.mean(recon) / np.mean(reg))


def train_rae(
    data: ImageData,
    config: TrainConfig,
    discrepancy: Discrepancy | None,
    discrepancy_kwargs: dict | None = None,
    *,
    seed: int = 0,
    device: str = "cpu",
    on_epoch: Callable[[int, dict[str, float]], None] | None = None,
) -> TrainResult:
    """Train one RAE on ``data.x_train``; ``discrepancy=None`` trains the plain autoencoder.

    Everything random (initialisation, batch order, prior samples, the discrepancy's
    directions) derives from ``seed``. With ``config.warm_iters`` a discrepancy that takes a
    ``state`` keeps it warm across the steps (see the module docstring). Raises
    ``FloatingPointError`` naming the epoch if the loss stops being finite.
    """
    kwargs = dict(discrepancy_kwargs or {})
    regulariser = discrepancy
    if config.warm_iters is not None and takes_state(discrepancy):
        regulariser = WarmDiscrepancy(discrepancy, kwargs, config.warm_iters)
        kwargs = {}
    model = init_model(data, config, seed, device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    x_train = torch.as_tensor(data.x_train, device=device)
    x_test = torch.as_tensor(data.x_test, device=device)
    order_gen = torch.Generator().manual_seed(seed + 1)
    prior_gen = torch.Generator(device=device).manual_seed(seed + 2)
    n = x_train.shape[0]
    result = TrainResult(model)
    step = 0
    for epoch in range(config.epochs):
        start = time.perf_counter()
        sums = {"loss": 0.0, "recon": 0.0, "reg": 0.0}
        order = torch.randperm(n, generator=order_gen).to(device)
        # a last batch of one image has no distribution to compare; it is folded into no batch
        batches = [order[i:i + config.batch_size] for i in range(0, n, config.batch_size)]
        batches = [b for b in batches if len(b) >= 2]
        model.train()
        for idx in batches:
            x = x_train[idx]
            x_hat, z = model(x)
            recon = reconstruction_error(x_hat, x)
            if discrepancy is None:
                reg = torch.zeros((), device=device)
            else:
                prior_z = model.prior.rsample(len(idx), prior_gen)
                # an int seed per step: fresh directions each step, reproducible per run
                reg = regulariser(z, prior_z, seed=seed * 1_000_003 + step, **kwargs)
            loss = recon + config.gamma * reg
            if not torch.isfinite(loss):
                raise FloatingPointError(
                    f"non-finite loss at epoch {epoch + 1}, step {step} "
                    f"(reconstruction {recon.item()}, regulariser {reg.item()})"
                )
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            step += 1
            for key, value in (("loss", loss), ("recon", recon), ("reg", reg)):
                sums[key] += value.item() * len(idx)
        seconds = time.perf_counter() - start
        total = sum(len(b) for b in batches)
        record = {key: value / total for key, value in sums.items()}
        model.eval()
        with torch.no_grad():
            record["test_recon"] = reconstruction_error(model(x_test)[0], x_test).item()
        record["seconds"] = seconds
        result.history.append(record)
        if on_epoch is not None:
            on_epoch(epoch, record)
    return result
