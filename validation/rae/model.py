"""The relational-regularised autoencoder: a deterministic MLP encoder and decoder, and a
learnable Gaussian-mixture prior on the latent space.

Follows the deterministic RAE of Xu et al., "Learning Autoencoders with Relational
Regularization" (ICML 2020), as reused by Nguyen et al. (ICLR 2021): the prior is
``(1/K) sum_k N(mu_k, diag(exp(logvar_k)))`` with ``mu_k`` and ``logvar_k`` trained with the
autoencoder through reparameterised samples, and a batch of prior samples is spread evenly over
the components (sample i comes from component i mod K). The original used convolutional
networks on 28x28 MNIST; small MLPs keep the harness within minutes on a CPU.
"""

from __future__ import annotations

import itertools

import torch
from torch import nn


def _mlp(sizes: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class GMMPrior(nn.Module):
    """Learnable mixture of ``n_components`` diagonal Gaussians in R^latent_dim, equal weights.

    Parameters are initialised as in the original RAE code: ``mu`` and ``logvar`` standard
    normal, drawn from ``generator``.
    """

    def __init__(self, latent_dim: int, n_components: int = 10, *,
                 generator: torch.Generator | None = None) -> None:
        super().__init__()
        if n_components < 1:
            raise ValueError(f"n_components must be >= 1, got {n_components}")
        self.mu = nn.Parameter(torch.randn(n_components, latent_dim, generator=generator))
        self.logvar = nn.Parameter(torch.randn(n_components, latent_dim, generator=generator))

    @property
    def n_components(self) -> int:
        return self.mu.shape[0]

    def rsample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` reparameterised samples (n, latent_dim), sample i from component i mod K,
        so every component gets n // K or n // K + 1 of them; differentiable in mu and logvar."""
        components = torch.arange(n, device=self.mu.device) % self.n_components
        eps = torch.randn(n, self.mu.shape[1], generator=generator, device=self.mu.device,
                          dtype=self.mu.dtype)
        return self.mu[components] + torch.exp(0.5 * self.logvar[components]) * eps


class RAE(nn.Module):
    """Encoder ``R^n_pixels -> R^latent_dim``, decoder back to ``[0, 1]^n_pixels`` (sigmoid),
    and the :class:`GMMPrior` used for the regulariser and for generation."""

    def __init__(self, n_pixels: int, latent_dim: int, hidden: tuple[int, ...] = (128, 64),
                 n_components: int = 10, *, generator: torch.Generator | None = None) -> None:
        super().__init__()
        if latent_dim < 1:
            raise ValueError(f"latent_dim must be >= 1, got {latent_dim}")
        self.encoder = _mlp([n_pixels, *hidden, latent_dim])
        self.decoder = nn.Sequential(_mlp([latent_dim, *reversed(hidden), n_pixels]), nn.Sigmoid())
        self.prior = GMMPrior(latent_dim, n_components, generator=generator)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(reconstruction, latent code)``."""
        z = self.encode(x)
        return self.decode(z), z

    @torch.no_grad()
    def generate(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Decode ``n`` prior samples."""
        return self.decode(self.prior.rsample(n, generator))
