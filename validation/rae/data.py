"""Image data for the RAE harness: scikit-learn's bundled 8x8 digits, Fashion-MNIST from
Debian's ``dataset-fashion-mnist``, or any folder of MNIST-format IDX files.

Nothing is downloaded. Images are returned flattened, as float32 in [0, 1], with integer labels,
as training, validation and test splits (:class:`DataSplits`). Bad data (labels outside
``[0, n_classes)`` or not integers, non-finite images, splits too small to train on) raises a
one-line ``ValueError`` naming the file, before any training.
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

# Debian's dataset-fashion-mnist installs the four IDX .gz files here.
FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
# Smallest splits the harness accepts: a training split of one batch of 100 (the autoencoder's
# and the classifier's batch), held-out splits large enough for a Frechet distance in the
# classifier's 32 features to be more than noise.
MIN_TRAIN = 100
MIN_HELD_OUT = 50

MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


@dataclass
class ImageData:
    """A (training, held-out) pair of flattened images in [0, 1].

    ``x_train`` (n, h*w) float32, ``y_train`` (n,) int64, likewise ``x_test`` / ``y_test``
    (the held-out split: the validation split during selection, the test split afterwards);
    ``shape`` is (h, w); ``n_classes`` the number of label values; ``name`` says where the
    data came from.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    shape: tuple[int, int]
    n_classes: int = 10

    @property
    def n_pixels(self) -> int:
        return int(self.x_train.shape[1])


@dataclass
class DataSplits:
    """Training, validation and test images, as two :class:`ImageData` sharing the training
    arrays: ``validation`` (held-out = the validation split) is all that hyper-parameter
    selection receives; ``test`` (held-out = the test split) serves the final report only.
    ``test_source`` says what the test split is (files, or a held-out share and its seed)."""

    validation: ImageData
    test: ImageData
    test_source: str = ""

    @property
    def name(self) -> str:
        return self.test.name


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


def _read_pair(folder: Path, images_stem: str, labels_stem: str,
               n_classes: int) -> tuple[np.ndarray, np.ndarray, Path]:
    """Images, labels and the images' path; every check of one file names that file."""
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
    if labels.dtype.kind == "f":
        raise ValueError(f"IDX file {str(labels_path)!r}: labels must be integers, got "
                         f"{labels.dtype.name} values")
    outside = np.flatnonzero((labels < 0) | (labels >= n_classes))
    if outside.size:
        i = int(outside[0])
        raise ValueError(f"IDX file {str(labels_path)!r}: label {int(labels[i])} (image {i}) is "
                         f"outside [0, {n_classes})")
    if images.dtype.kind == "f":
        bad = np.flatnonzero(~np.isfinite(images.reshape(len(images), -1)).all(axis=1))
        if bad.size:
            raise ValueError(f"IDX file {str(images_path)!r}: image {int(bad[0])} holds NaN or "
                             "inf values")
    return images, labels, images_path


def load_mnist(folder: str | Path, *, seed: int = 0, validation_fraction: float = 1 / 6,
               train_size: int | None = None, test_fraction: float = 1 / 6,
               n_classes: int = 10) -> DataSplits:
    """MNIST (or any IDX image/label pair in MNIST's file names) from ``folder``.

    Needs ``train-images-idx3-ubyte[.gz]`` and ``train-labels-idx1-ubyte[.gz]``. When the
    ``t10k-*`` pair is there too it is the test split; otherwise ``test_fraction`` of the
    training files is held out (a seeded random split). The validation split is carved from
    the training images (see :func:`carve_validation`). Labels must be integers in
    ``[0, n_classes)`` and images finite; a split too small to train on raises ``ValueError``
    naming the file, before any training.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"--data {str(folder)!r} is neither 'digits', 'fashion-mnist' nor an "
                         "existing folder")
    images, labels, source = _read_pair(folder, *MNIST_FILES["train"], n_classes)
    if _find(folder, MNIST_FILES["test"][0]) or _find(folder, MNIST_FILES["test"][1]):
        x_test, y_test, test_source = _read_pair(folder, *MNIST_FILES["test"], n_classes)
        if x_test.shape[1:] != images.shape[1:]:
            raise ValueError(f"--data {str(folder)!r}: test images are {x_test.shape[1:]} but "
                             f"training images are {images.shape[1:]}")
        _check_size(test_source, "test", len(x_test), MIN_HELD_OUT)
        x_train, y_train = images, labels
        held_out = f"the t10k-* files ({len(x_test)} images)"
    else:
        x_train, y_train, x_test, y_test = _split(images, labels, seed, test_fraction, source)
        held_out = (f"{len(x_test)} of the {len(images)} training images ({test_fraction:.3g}), "
                    f"held out at random with seed {seed}: {folder} has no t10k-* files")
    scale = 255.0 if images.dtype == np.uint8 else max(float(images.max()), 1.0)
    data = ImageData(f"mnist:{folder}", _flatten(x_train, scale), y_train.astype(np.int64),
                     _flatten(x_test, scale), y_test.astype(np.int64), tuple(images.shape[1:]),
                     n_classes)
    splits = carve_validation(data, seed=seed, fraction=validation_fraction,
                              train_size=train_size, source=str(source))
    splits.test_source = held_out
    return splits


def load_digits(*, seed: int = 0, validation_fraction: float = 1 / 6,
                train_size: int | None = None, test_fraction: float = 0.2) -> DataSplits:
    """scikit-learn's bundled 8x8 digits (1797 images, values 0..16 scaled to [0, 1]):
    ``test_fraction`` held out as the test split, then a validation split carved from the rest."""
    from sklearn.datasets import load_digits as sk_load_digits

    bunch = sk_load_digits()
    x_train, y_train, x_test, y_test = _split(bunch.images, bunch.target, seed, test_fraction,
                                              "digits")
    data = ImageData("digits", _flatten(x_train, 16.0), y_train.astype(np.int64),
                     _flatten(x_test, 16.0), y_test.astype(np.int64), (8, 8))
    splits = carve_validation(data, seed=seed, fraction=validation_fraction,
                              train_size=train_size, source="digits")
    splits.test_source = (f"{len(x_test)} of the {len(bunch.images)} digits ({test_fraction:.3g}), "
                          f"held out at random with seed {seed}")
    return splits


def load_data(spec: str, *, seed: int = 0, validation_fraction: float = 1 / 6,
              train_size: int | None = None) -> DataSplits:
    """``'digits'`` for the bundled digits, ``'fashion-mnist'`` for Debian's
    ``dataset-fashion-mnist`` (:data:`FASHION_MNIST`), otherwise a folder holding MNIST IDX
    files. Raises ``ValueError`` (one line) for missing or bad data."""
    kwargs = {"seed": seed, "validation_fraction": validation_fraction, "train_size": train_size}
    if spec == "digits":
        return load_digits(**kwargs)
    if spec == "fashion-mnist":
        if not FASHION_MNIST.is_dir():
            raise ValueError(f"--data fashion-mnist: {FASHION_MNIST} is absent; install it with "
                             "`apt-get install dataset-fashion-mnist`")
        splits = load_mnist(FASHION_MNIST, **kwargs)
        for part in (splits.validation, splits.test):
            part.name = "fashion-mnist"
        return splits
    return load_mnist(spec, **kwargs)


def carve_validation(data: ImageData, *, seed: int, fraction: float,
                     train_size: int | None = None, source: str = "") -> DataSplits:
    """Split ``data``'s training images into a training and a validation split (seeded).

    ``fraction`` of the training images form the validation split and the rest the training
    split. When that training split would exceed ``train_size``, a random ``train_size`` of
    the images are the training split and ``round(train_size * fraction / (1 - fraction))``
    others the validation split (the same ratio), the rest unused. Raises ``ValueError``
    naming ``source`` when a split would hold fewer than :data:`MIN_TRAIN` (training) or
    :data:`MIN_HELD_OUT` (validation) images or the training labels fewer than two classes.
    """
    if not 0 < fraction < 1:
        raise ValueError(f"validation_fraction must be in (0, 1), got {fraction}")
    if train_size is not None and train_size < 1:
        raise ValueError(f"--train-size must be >= 1, got {train_size}")
    n = len(data.x_train)
    n_val = round(fraction * n)
    n_fit = n - n_val
    if train_size is not None and train_size < n_fit:
        n_fit = train_size
        n_val = round(train_size * fraction / (1 - fraction))
    _check_size(source, "training", n_fit, MIN_TRAIN)
    _check_size(source, "validation", n_val, MIN_HELD_OUT)
    order = np.random.default_rng([seed, 1]).permutation(n)
    fit, val = order[n_val:n_val + n_fit], order[:n_val]
    if len(np.unique(data.y_train[fit])) < 2:
        raise ValueError(f"{source}: the training split holds a single class; the feature "
                         "classifier needs at least two")
    x_fit, y_fit = data.x_train[fit], data.y_train[fit]
    validation = ImageData(data.name, x_fit, y_fit, data.x_train[val], data.y_train[val],
                           data.shape, data.n_classes)
    test = ImageData(data.name, x_fit, y_fit, data.x_test, data.y_test, data.shape,
                     data.n_classes)
    return DataSplits(validation, test)


def _check_size(source: object, split: str, n: int, minimum: int) -> None:
    if n < minimum:
        raise ValueError(f"{str(source)!r}: the {split} split would hold {n} images, fewer than "
                         f"the {minimum} the harness needs")


def _flatten(images: np.ndarray, scale: float) -> np.ndarray:
    return (images.reshape(images.shape[0], -1) / scale).astype(np.float32)


def _split(images: np.ndarray, labels: np.ndarray, seed: int, test_fraction: float,
           source: object):
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    order = np.random.default_rng(seed).permutation(len(images))
    n_test = round(test_fraction * len(images))
    _check_size(source, "test", n_test, MIN_HELD_OUT)
    return images[order[n_test:]], labels[order[n_test:]], images[order[:n_test]], labels[
        order[:n_test]]
