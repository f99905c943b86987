"""Held-out metrics of a trained RAE.

- ``recon``: squared reconstruction error summed over pixels, averaged over held-out images.
- ``fd``: Frechet distance between generated and held-out images in the feature space of a small
  MLP classifier trained on the training split (its last hidden layer). This is the recipe of
  FID (Heusel et al., NeurIPS 2017) with a different feature extractor: the numbers are NOT
  Inception FID and are comparable only within one run of the harness (same data, same
  classifier).
- ``sw_images``: SW_2 between as many generated images as held-out images and the held-out
  images, computed with the suite's own ``sw``.
- ``latent_sw``: SW_2 between the aggregated posterior (codes of the held-out images) and as
  many prior samples: how far the regulariser brought the codes to the prior. One yardstick for
  every method, whatever discrepancy it trained with.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from validation.rae.data import ImageData
from validation.rae.model import RAE
from validation.rae.train import reconstruction_error

SW_IMAGE_PROJECTIONS = 200
SW_LATENT_PROJECTIONS = 500


class FeatureClassifier(nn.Module):
    """MLP ``n_pixels -> 128 -> n_features -> n_classes``; ``features`` is the last hidden
    layer (after ReLU), the space where the Frechet distance is measured."""

    def __init__(self, n_pixels: int, n_classes: int = 10, n_features: int = 32) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(n_pixels, 128), nn.ReLU(),
                                  nn.Linear(128, n_features), nn.ReLU())
        self.head = nn.Linear(n_features, n_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


def train_feature_classifier(data: ImageData, *, seed: int = 0, device: str = "cpu",
                             steps: int = 1500, batch_size: int = 100
                             ) -> tuple[FeatureClassifier, float]:
    """Train :class:`FeatureClassifier` on the training split for about ``steps`` Adam steps;
    return it (in eval mode) with its accuracy on ``data``'s held-out split."""
    torch.manual_seed(seed)
    net = FeatureClassifier(data.n_pixels, data.n_classes).to(device)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    x = torch.as_tensor(data.x_train, device=device)
    y = torch.as_tensor(data.y_train, device=device)
    gen = torch.Generator().manual_seed(seed)
    epochs = max(1, math.ceil(steps * batch_size / len(x)))
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=gen).to(device)
        for i in range(0, len(x), batch_size):
            idx = order[i:i + batch_size]
            loss = nn.functional.cross_entropy(net(x[idx]), y[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    net.eval()
    return net, accuracy(net, data, device)


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Frechet distance between Gaussians fitted to the rows of ``a`` (n, k) and ``b`` (m, k):

    ``||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^{1/2})``.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"a and b must be (n, k) and (m, k), got {a.shape} and {b.shape}")
    if len(a) < 2 or len(b) < 2:
        raise ValueError(f"need at least 2 rows in a and b, got {len(a)} and {len(b)}")
    cov_a = np.atleast_2d(np.cov(a, rowvar=False))
    cov_b = np.atleast_2d(np.cov(b, rowvar=False))
    # Tr (S_a S_b)^{1/2} = Tr (S_a^{1/2} S_b S_a^{1/2})^{1/2}: symmetric eigenproblems stay
    # accurate when dead ReLU features make the covariances singular (sqrtm does not)
    eigval, eigvec = np.linalg.eigh(cov_a)
    root_a = (eigvec * np.sqrt(np.clip(eigval, 0, None))) @ eigvec.T
    cross = np.sqrt(np.clip(np.linalg.eigvalsh(root_a @ cov_b @ root_a), 0, None)).sum()
    mean_term = float(np.sum((a.mean(axis=0) - b.mean(axis=0)) ** 2))
    return mean_term + float(np.trace(cov_a) + np.trace(cov_b) - 2 * cross)


@torch.no_grad()
def accuracy(classifier: FeatureClassifier, data: ImageData, device: str = "cpu") -> float:
    """Fraction of ``data``'s held-out images that ``classifier`` labels correctly."""
    predicted = classifier(torch.as_tensor(data.x_test, device=device)).argmax(dim=1)
    return float(np.mean(predicted.cpu().numpy() == data.y_test))


@torch.no_grad()
def evaluate(model: RAE, data: ImageData, classifier: FeatureClassifier,
             sw: Callable[..., torch.Tensor], *, seed: int = 0,
             device: str = "cpu") -> dict[str, float]:
    """``recon``, ``fd``, ``sw_images`` and ``latent_sw`` (see the module docstring) of ``model``
    on ``data``'s held-out split (the validation split during selection, the test split in
    the final report); ``sw`` is the suite's ``discrepancies.sw``."""
    model.eval()
    x_test = torch.as_tensor(data.x_test, device=device)
    gen = torch.Generator(device=device).manual_seed(seed)
    generated = model.generate(len(x_test), gen)
    codes = model.encode(x_test)
    prior = model.prior.rsample(len(x_test), gen)
    return {
        "recon": reconstruction_error(model(x_test)[0], x_test).item(),
        "fd": frechet_distance(classifier.features(generated).cpu().numpy(),
                               classifier.features(x_test).cpu().numpy()),
        "sw_images": sw(generated, x_test, n_projections=SW_IMAGE_PROJECTIONS, seed=seed).item(),
        "latent_sw": sw(codes, prior, n_projections=SW_LATENT_PROJECTIONS, seed=seed).item(),
    }
