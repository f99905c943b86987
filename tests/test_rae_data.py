"""The RAE harness's data loading: IDX files written here byte by byte, and bad --data."""

import gzip
import struct

import numpy as np
import pytest

from validation.rae.data import load_data, load_digits, load_mnist, read_idx


def _idx_bytes(array: np.ndarray) -> bytes:
    # written from the format description, independently of the reader: magic 0x00000803
    # (unsigned byte, 3 dimensions) or 0x00000801, big-endian uint32 sizes, raw bytes
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim)
    header += b"".join(struct.pack(">I", s) for s in array.shape)
    return header + array.astype(np.uint8).tobytes()


def _write(path, array, compress):
    data = _idx_bytes(array)
    if compress:
        with gzip.open(str(path) + ".gz", "wb") as f:
            f.write(data)
    else:
        path.write_bytes(data)


@pytest.fixture
def tiny_mnist():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(12, 5, 4), dtype=np.uint8), rng.integers(0, 10, size=12)


@pytest.mark.parametrize("compress", [False, True])
def test_idx_round_trip(tmp_path, tiny_mnist, compress):
    images, labels = tiny_mnist
    _write(tmp_path / "train-images-idx3-ubyte", images, compress)
    _write(tmp_path / "train-labels-idx1-ubyte", labels, compress)
    suffix = ".gz" if compress else ""
    np.testing.assert_array_equal(read_idx(tmp_path / f"train-images-idx3-ubyte{suffix}"), images)

    data = load_mnist(tmp_path, seed=0, test_fraction=0.25)
    assert data.shape == (5, 4) and len(data.x_train) == 9 and len(data.x_test) == 3
    # every image comes back exactly once, scaled by 1/255, with its own label
    x = np.concatenate([data.x_train, data.x_test])
    y = np.concatenate([data.y_train, data.y_test])
    back = sorted(((row * 255).round().astype(np.uint8).tobytes(), int(label))
                  for row, label in zip(x, y, strict=True))
    sent = sorted((img.tobytes(), int(label)) for img, label in zip(images, labels, strict=True))
    assert back == sent
    np.testing.assert_allclose(x * 255, np.round(x * 255), atol=1e-4)


def test_t10k_files_are_the_held_out_split(tmp_path, tiny_mnist):
    images, labels = tiny_mnist
    _write(tmp_path / "train-images-idx3-ubyte", images[:8], False)
    _write(tmp_path / "train-labels-idx1-ubyte", labels[:8], False)
    _write(tmp_path / "t10k-images-idx3-ubyte", images[8:], True)
    _write(tmp_path / "t10k-labels-idx1-ubyte", labels[8:], True)
    data = load_data(str(tmp_path))
    np.testing.assert_allclose(data.x_test, images[8:].reshape(4, -1) / 255.0, atol=1e-7)
    np.testing.assert_array_equal(data.y_train, labels[:8])


def test_digits_default():
    data = load_data("digits", seed=1)
    assert data.shape == (8, 8) and len(data.x_train) + len(data.x_test) == 1797
    assert data.x_train.min() >= 0 and data.x_train.max() <= 1 and data.x_train.max() > 0.99
    np.testing.assert_array_equal(load_digits(seed=1).x_test, data.x_test)


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
    with pytest.raises(ValueError, match=r"shape \(12, 5, 4\).*holds 233 bytes"):
        load_data(str(tmp_path))


def test_not_gzip(tmp_path, tiny_mnist):
    _write(tmp_path / "train-images-idx3-ubyte", tiny_mnist[0], False)
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(b"not gzip at all")
    with pytest.raises(ValueError, match=r"train-labels-idx1-ubyte.gz.*cannot be read"):
        load_data(str(tmp_path))


def test_label_count_mismatch(tmp_path, tiny_mnist):
    _write(tmp_path / "train-images-idx3-ubyte", tiny_mnist[0], False)
    _write(tmp_path / "train-labels-idx1-ubyte", tiny_mnist[1][:5], False)
    with pytest.raises(ValueError, match="12 images but labels of shape"):
        load_data(str(tmp_path))
