"""Image data for the RAE harness: scikit-learn's bundled 8x8 digits, or MNIST from IDX files.

Nothing is downloaded. Images are returned flattened, as float32 in [0, 1], with integer labels.
The IDX format (LeCun et al., http://yann.lecun.com/exdb/mnist/) is a big-endian header
``0x00 0x00 <type code> <ndim>`` followed by ``ndim`` uint32 sizes and the raw values; MNIST
stores images with type code 0x08 (unsigned byte) and ndim 3, labels with ndim 1.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# IDX type code -> NumPy dtype (big-endian where it matters).
_IDX_DTYPES = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


@dataclass
class ImageData:
    """A train / held-out split of flattened images in [0, 1].

    ``x_train`` (n, h*w) float32, ``y_train`` (n,) int64, likewise ``x_test`` / ``y_test``;
    ``shape`` is (h, w) for drawing; ``name`` says where the data came from.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    shape: tuple[int, int]

    @property
    def n_pixels(self) -> int:
        return int(self.x_train.shape[1])


def read_idx(path: str | Path) -> np.ndarray:
    """Read one IDX file (plain, or gzip-compressed when the name ends in ``.gz``).

    Raises ``ValueError`` naming the file when the header or the payload size is malformed.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as err:  # gzip raises BadGzipFile (an OSError) on bad data
        raise ValueError(f"IDX file {str(path)!r} cannot be read: {err}") from err
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ValueError(
            f"IDX file {str(path)!r} has a malformed header {raw[:4].hex()!r}: expected "
            "0x0000 followed by a type code (0x08 for MNIST) and the number of dimensions"
        )
    dtype, ndim = _IDX_DTYPES[raw[2]], raw[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise ValueError(f"IDX file {str(path)!r}: truncated header ({len(raw)} bytes, "
                         f"{ndim} dimensions)")
    shape = tuple(int(s) for s in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(
            f"IDX file {str(path)!r}: header announces shape {shape} ({expected} bytes of "
            f"data) but the file holds {len(raw) - header} bytes after the header"
        )
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)


def _find(folder: Path, stem: str) -> Path | None:
    for candidate in (folder / stem, folder / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _read_pair(folder: Path, images_stem: str, labels_stem: str) -> tuple[np.ndarray, np.ndarray]:
    images_path, labels_path = _find(folder, images_stem), _find(folder, labels_stem)
    missing = [s for s, p in ((images_stem, images_path), (labels_stem, labels_path)) if p is None]
    if missing:
        raise ValueError(
            f"--data {str(folder)!r}: missing {', '.join(f'{m}[.gz]' for m in missing)} "
            "(MNIST IDX files are expected in that folder)"
        )
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3:
        raise ValueError(f"IDX file {str(images_path)!r}: expected 3 dimensions "
                         f"(count, rows, cols), got shape {images.shape}")
    if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
        raise ValueError(f"IDX files {str(images_path)!r} and {str(labels_path)!r} disagree: "
                         f"{images.shape[0]} images but labels of shape {labels.shape}")
    return images, labels


def load_mnist(folder: str | Path, *, seed: int = 0, test_fraction: float = 1 / 6) -> ImageData:
    """MNIST (or any IDX image/label pair in MNIST's file names) from ``folder``.

    Needs ``train-images-idx3-ubyte[.gz]`` and ``train-labels-idx1-ubyte[.gz]``. When the
    ``t10k-*`` pair is there too it is the held-out split; otherwise ``test_fraction`` of the
    training files is held out (a seeded random split).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"--data {str(folder)!r} is neither 'digits' nor an existing folder")
    images, labels = _read_pair(folder, *MNIST_FILES["train"])
    if _find(folder, MNIST_FILES["test"][0]) or _find(folder, MNIST_FILES["test"][1]):
        x_test, y_test = _read_pair(folder, *MNIST_FILES["test"])
        if x_test.shape[1:] != images.shape[1:]:
            raise ValueError(f"--data {str(folder)!r}: test images are {x_test.shape[1:]} but "
                             f"training images are {images.shape[1:]}")
        x_train, y_train = images, labels
    else:
        x_train, y_train, x_test, y_test = _split(images, labels, seed, test_fraction)
    scale = 255.0 if images.dtype == np.uint8 else max(float(images.max()), 1.0)
    return ImageData(f"mnist:{folder}", _flatten(x_train, scale), y_train.astype(np.int64),
                     _flatten(x_test, scale), y_test.astype(np.int64), tuple(images.shape[1:]))


def load_digits(*, seed: int = 0, test_fraction: float = 0.2) -> ImageData:
    """scikit-learn's bundled 8x8 digits (1797 images, values 0..16 scaled to [0, 1])."""
    from sklearn.datasets import load_digits as sk_load_digits

    bunch = sk_load_digits()
    x_train, y_train, x_test, y_test = _split(bunch.images, bunch.target, seed, test_fraction)
    return ImageData("digits", _flatten(x_train, 16.0), y_train.astype(np.int64),
                     _flatten(x_test, 16.0), y_test.astype(np.int64), (8, 8))


def load_data(spec: str, *, seed: int = 0) -> ImageData:
    """``'digits'`` for the bundled digits, otherwise a folder holding MNIST IDX files."""
    if spec == "digits":
        return load_digits(seed=seed)
    return load_mnist(spec, seed=seed)


def _flatten(images: np.ndarray, scale: float) -> np.ndarray:
    return (images.reshape(images.shape[0], -1) / scale).astype(np.float32)


def _split(images: np.ndarray, labels: np.ndarray, seed: int, test_fraction: float):
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    order = np.random.default_rng(seed).permutation(len(images))
    n_test = max(1, round(test_fraction * len(images)))
    test, train = order[:n_test], order[n_test:]
    if len(train) == 0:
        raise ValueError(f"cannot hold out {n_test} of {len(images)} images: nothing left to train")
    return images[train], labels[train], images[test], labels[test]
