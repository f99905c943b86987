"""The relational-regularised autoencoder: a deterministic encoder and decoder (MLP, or the
original code's convolutional networks), and a learnable Gaussian-mixture prior on the latent
space.

Follows the deterministic RAE of Xu et al., "Learning Autoencoders with Relational
Regularization" (ICML 2020), as reused by Nguyen et al. (ICLR 2021): the prior is
``(1/K) sum_k N(mu_k, diag(exp(logvar_k)))`` with ``mu_k`` and ``logvar_k`` trained with the
autoencoder through reparameterised samples, and a batch of prior samples is spread evenly over
the components (sample i comes from component i mod K). The original used convolutional
networks on 28x28 MNIST (:func:`conv_networks`); small MLPs (:func:`mlp_networks`) keep the
harness within minutes on a CPU.
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


def mlp_networks(n_pixels: int, latent_dim: int,
                 hidden: tuple[int, ...] = (128, 64)) -> tuple[nn.Module, nn.Module]:
    """Encoder ``n_pixels -> hidden... -> latent_dim`` and the mirror decoder, ReLU between
    layers, a sigmoid on the decoder's output (images in [0, 1])."""
    encoder = _mlp([n_pixels, *hidden, latent_dim])
    decoder = nn.Sequential(_mlp([latent_dim, *reversed(hidden), n_pixels]), nn.Sigmoid())
    return encoder, decoder


CONV_CHANNELS = (128, 256, 512, 1024)


def conv_networks(shape: tuple[int, int], latent_dim: int,
                  width: float = 1.0) -> tuple[nn.Module, nn.Module]:
    """The convolutional networks of the original RAE code for MNIST, channels scaled by
    ``width``.

    Encoder: four 4x4 convolutions of stride 2 and padding 1 (no bias), each followed by batch
    norm and ReLU, with ``width * (128, 256, 512, 1024)`` channels (28x28 -> 14 -> 7 -> 3 -> 1),
    then a linear map to ``latent_dim``. Decoder: a linear map to ``width * 1024`` channels at
    a quarter of the image size (7x7 for 28x28), two 4x4 transposed convolutions of stride 2
    (``width * 512``, ``width * 256`` channels) with batch norm and ReLU, and a 1x1 transposed
    convolution to one channel, with no output sigmoid. Both take and return flattened images
    (n, h*w). ``width = 1`` is the published size; a small ``width`` makes a CPU run affordable.

    Raises ``ValueError`` when the image sides are not multiples of 4 or under 16 (the
    encoder's four halvings would leave no pixel), or when ``width`` leaves no channel.
    """
    h, w = shape
    if h < 16 or w < 16 or h % 4 or w % 4:
        raise ValueError(f"--arch conv needs image sides that are multiples of 4 and >= 16, "
                         f"got {h}x{w}")
    channels = [round(c * width) for c in CONV_CHANNELS]
    if not (width > 0 and min(channels) >= 1):
        raise ValueError(f"--width must leave at least one channel per layer, got {width}")
    layers: list[nn.Module] = [nn.Unflatten(1, (1, h, w))]
    size_h, size_w = h, w
    for c_in, c_out in itertools.pairwise([1, *channels]):
        layers += [nn.Conv2d(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out),
                   nn.ReLU()]
        size_h, size_w = (size_h - 2) // 2 + 1, (size_w - 2) // 2 + 1
    encoder = nn.Sequential(*layers, nn.Flatten(),
                            nn.Linear(channels[3] * size_h * size_w, latent_dim))
    decoder = nn.Sequential(
        nn.Linear(latent_dim, channels[3] * (h // 4) * (w // 4)),
        nn.Unflatten(1, (channels[3], h // 4, w // 4)),
        nn.ConvTranspose2d(channels[3], channels[2], 4, 2, 1, bias=False),
        nn.BatchNorm2d(channels[2]), nn.ReLU(),
        nn.ConvTranspose2d(channels[2], channels[1], 4, 2, 1, bias=False),
        nn.BatchNorm2d(channels[1]), nn.ReLU(),
        nn.ConvTranspose2d(channels[1], 1, 1),
        nn.Flatten(),
    )
    return encoder, decoder


class RAE(nn.Module):
    """An encoder to ``R^latent_dim``, a decoder back to flattened images, and the
    :class:`GMMPrior` used for the regulariser and for generation.

    ``arch="mlp"`` builds :func:`mlp_networks` (``hidden``), ``arch="conv"`` builds
    :func:`conv_networks` (``width``) for images of ``shape``.
    """

    def __init__(self, shape: tuple[int, int], latent_dim: int, *, arch: str = "mlp",
                 hidden: tuple[int, ...] = (128, 64), width: float = 1.0,
                 n_components: int = 10, generator: torch.Generator | None = None) -> None:
        super().__init__()
        if latent_dim < 1:
            raise ValueError(f"latent_dim must be >= 1, got {latent_dim}")
        if arch == "mlp":
            self.encoder, self.decoder = mlp_networks(shape[0] * shape[1], latent_dim, hidden)
        elif arch == "conv":
            self.encoder, self.decoder = conv_networks(shape, latent_dim, width)
        else:
            raise ValueError(f"arch must be 'mlp' or 'conv', got {arch!r}")
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
