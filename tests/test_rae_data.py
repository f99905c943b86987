"""The RAE harness's data loading: IDX files written here byte by byte, the three splits, and
bad --data (each rejected with a one-line error naming the file, before any training)."""

import gzip
import struct

import numpy as np
import pytest

from validation.rae import data as data_module
from validation.rae.data import load_data, load_digits, load_mnist, read_idx

# IDX type codes of the format description
UBYTE, FLOAT32 = 0x08, 0x0D


def _idx_bytes(array: np.ndarray, code: int = UBYTE) -> bytes:
    # written from the format description, independently of the reader: magic 0x00000803
    # (unsigned byte, 3 dimensions) or 0x00000801, big-endian uint32 sizes, raw bytes
    # (big-endian float32 for type 0x0D)
    header = struct.pack(">BBBB", 0, 0, code, array.ndim)
    header += b"".join(struct.pack(">I", s) for s in array.shape)
    dtype = np.uint8 if code == UBYTE else np.dtype(">f4")
    return header + array.astype(dtype).tobytes()


def _write(path, array, compress, code=UBYTE):
    data = _idx_bytes(array, code)
    if compress:
        with gzip.open(str(path) + ".gz", "wb") as f:
            f.write(data)
    else:
        path.write_bytes(data)


N_IMAGES = 480  # 120 test, 60 validation, 300 training with the fractions below


@pytest.fixture
def tiny_mnist():
    rng = np.random.default_rng(0)
    return (rng.integers(0, 256, size=(N_IMAGES, 5, 4), dtype=np.uint8),
            rng.integers(0, 10, size=N_IMAGES))


def _write_pair(folder, images, labels, prefix="train", image_code=UBYTE, label_code=UBYTE):
    _write(folder / f"{prefix}-images-idx3-ubyte", images, False, image_code)
    _write(folder / f"{prefix}-labels-idx1-ubyte", labels, False, label_code)


@pytest.mark.parametrize("compress", [False, True])
def test_idx_round_trip(tmp_path, tiny_mnist, compress):
    images, labels = tiny_mnist
    _write(tmp_path / "train-images-idx3-ubyte", images, compress)
    _write(tmp_path / "train-labels-idx1-ubyte", labels, compress)
    suffix = ".gz" if compress else ""
    np.testing.assert_array_equal(read_idx(tmp_path / f"train-images-idx3-ubyte{suffix}"), images)

    splits = load_mnist(tmp_path, seed=0, test_fraction=0.25, validation_fraction=1 / 6)
    val, test = splits.validation, splits.test
    assert test.shape == (5, 4) and len(test.x_test) == 120
    assert len(val.x_train) == 300 and len(val.x_test) == 60
    # selection and the final runs train on the same images
    assert val.x_train is test.x_train
    # every image comes back exactly once over the three splits, scaled by 1/255, with its
    # own label
    x = np.concatenate([val.x_train, val.x_test, test.x_test])
    y = np.concatenate([val.y_train, val.y_test, test.y_test])
    back = sorted(((row * 255).round().astype(np.uint8).tobytes(), int(label))
                  for row, label in zip(x, y, strict=True))
    sent = sorted((img.tobytes(), int(label)) for img, label in zip(images, labels, strict=True))
    assert back == sent
    np.testing.assert_allclose(x * 255, np.round(x * 255), atol=1e-4)


def test_t10k_files_are_the_test_split(tmp_path, tiny_mnist):
    images, labels = tiny_mnist
    _write(tmp_path / "train-images-idx3-ubyte", images[:360], False)
    _write(tmp_path / "train-labels-idx1-ubyte", labels[:360], False)
    _write(tmp_path / "t10k-images-idx3-ubyte", images[360:], True)
    _write(tmp_path / "t10k-labels-idx1-ubyte", labels[360:], True)
    splits = load_data(str(tmp_path))
    np.testing.assert_allclose(splits.test.x_test, images[360:].reshape(120, -1) / 255.0,
                               atol=1e-7)
    np.testing.assert_array_equal(splits.test.y_test, labels[360:])
    # training and validation images both come from the training files, disjoint
    train_rows = {r.tobytes() for r in (images[:360].reshape(360, -1) / 255.0).astype(np.float32)}
    fit = {r.tobytes() for r in splits.validation.x_train}
    val = {r.tobytes() for r in splits.validation.x_test}
    assert fit | val <= train_rows and not fit & val and len(fit) + len(val) == 360


def test_the_test_split_says_where_it_came_from(tmp_path, tiny_mnist):
    # mutation caught: a folder without t10k-* files silently holding out a share (the source
    # line names neither the share nor the missing files)
    images, labels = tiny_mnist
    _write_pair(tmp_path, images, labels)
    held_out = load_data(str(tmp_path)).test_source
    assert held_out == (f"80 of the {N_IMAGES} training images (0.167), held out at random with "
                        f"seed 0: {tmp_path} has no t10k-* files")
    _write_pair(tmp_path, images[:120], labels[:120], prefix="t10k")
    assert load_data(str(tmp_path)).test_source == "the t10k-* files (120 images)"
    assert load_digits().test_source == ("359 of the 1797 digits (0.2), held out at random "
                                         "with seed 0")


def test_train_size_caps_the_training_split(tmp_path, tiny_mnist):
    _write_pair(tmp_path, *tiny_mnist)
    splits = load_data(str(tmp_path), train_size=250)
    # validation keeps the 1:5 ratio to the training split
    assert len(splits.validation.x_train) == 250 and len(splits.validation.x_test) == 50


def test_digits_default():
    splits = load_data("digits", seed=1)
    data = splits.test
    assert data.shape == (8, 8)
    assert len(data.x_train) + len(splits.validation.x_test) + len(data.x_test) == 1797
    assert data.x_train.min() >= 0 and data.x_train.max() <= 1 and data.x_train.max() > 0.99
    np.testing.assert_array_equal(load_digits(seed=1).test.x_test, data.x_test)


def test_fashion_mnist_folder(tmp_path, tiny_mnist, monkeypatch):
    """--data fashion-mnist reads the Debian package's folder (here a stand-in)."""
    _write_pair(tmp_path, *tiny_mnist)
    monkeypatch.setattr(data_module, "FASHION_MNIST", tmp_path)
    splits = load_data("fashion-mnist")
    assert splits.name == "fashion-mnist" and splits.validation.shape == (5, 4)


def test_fashion_mnist_absent_names_the_package(tmp_path, monkeypatch):
    monkeypatch.setattr(data_module, "FASHION_MNIST", tmp_path / "absent")
    with pytest.raises(ValueError, match=r"apt-get install dataset-fashion-mnist"):
        load_data("fashion-mnist")


@pytest.mark.parametrize(("bad_label", "shown"), [(-1, "-1"), (10, "10")])
def test_label_outside_the_classes(tmp_path, tiny_mnist, bad_label, shown):
    images, labels = tiny_mnist
    labels = labels.astype(np.int64)
    labels[7] = bad_label
    # int8 labels (type 0x09) so that -1 is representable
    _write(tmp_path / "train-images-idx3-ubyte", images, False)
    raw = struct.pack(">BBBB", 0, 0, 0x09, 1) + struct.pack(">I", len(labels))
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(raw + labels.astype(np.int8).tobytes())
    with pytest.raises(ValueError, match=rf"train-labels-idx1-ubyte'?: label {shown} \(image 7\) "
                                         r"is outside \[0, 10\)"):
        load_data(str(tmp_path))


def test_float_labels(tmp_path, tiny_mnist):
    images, labels = tiny_mnist
    _write_pair(tmp_path, images, labels + 0.5, label_code=FLOAT32)
    with pytest.raises(ValueError, match=r"train-labels-idx1-ubyte'?: labels must be integers"):
        load_data(str(tmp_path))


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_images(tmp_path, tiny_mnist, bad):
    images, labels = tiny_mnist
    images = images.astype(np.float32)
    images[11, 2, 3] = bad
    _write_pair(tmp_path, images, labels, image_code=FLOAT32)
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte'?: image 11 holds NaN or inf"):
        load_data(str(tmp_path))


@pytest.mark.parametrize("n", [2, 150])
def test_too_few_images_is_refused_before_training(tmp_path, tiny_mnist, n):
    # 2 images: nothing to split; 150: 25 test, 104 training but 21 validation images
    _write_pair(tmp_path, tiny_mnist[0][:n], tiny_mnist[1][:n])
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte'?: the (test|validation) "
                                         r"split would hold \d+ images, fewer than"):
        load_data(str(tmp_path))


def test_single_class(tmp_path, tiny_mnist):
    _write_pair(tmp_path, tiny_mnist[0], np.full(N_IMAGES, 3))
    with pytest.raises(ValueError, match="single class"):
        load_data(str(tmp_path))


def test_missing_folder(tmp_path):
    with pytest.raises(ValueError, match=r"--data .*nowhere.*neither 'digits'"):
        load_data(str(tmp_path / "nowhere"))


def test_missing_labels(tmp_path, tiny_mnist):
    _write(tmp_path / "train-images-idx3-ubyte", tiny_mnist[0], False)
    with pytest.raises(ValueError, match=r"missing train-labels-idx1-ubyte\[\.gz\]"):
        load_data(str(tmp_path))


def test_malformed_header(tmp_path, tiny_mnist):
    (tmp_path / "train-images-idx3-ubyte").write_bytes(b"PK\x03\x04" + bytes(40))
    _write(tmp_path / "train-labels-idx1-ubyte", tiny_mnist[1], False)
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte.*malformed header"):
        load_data(str(tmp_path))


def test_truncated_payload(tmp_path, tiny_mnist):
    (tmp_path / "train-images-idx3-ubyte").write_bytes(_idx_bytes(tiny_mnist[0])[:-7])
    _write(tmp_path / "train-labels-idx1-ubyte", tiny_mnist[1], False)
    with pytest.raises(ValueError, match=r"shape \(480, 5, 4\).*holds 9593 bytes"):
        load_data(str(tmp_path))


def test_not_gzip(tmp_path, tiny_mnist):
    _write(tmp_path / "train-images-idx3-ubyte", tiny_mnist[0], False)
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(b"not gzip at all")
    with pytest.raises(ValueError, match=r"train-labels-idx1-ubyte.gz.*cannot be read"):
        load_data(str(tmp_path))


def test_label_count_mismatch(tmp_path, tiny_mnist):
    _write(tmp_path / "train-images-idx3-ubyte", tiny_mnist[0], False)
    _write(tmp_path / "train-labels-idx1-ubyte", tiny_mnist[1][:5], False)
    with pytest.raises(ValueError, match="480 images but labels of shape"):
        load_data(str(tmp_path))
