r"""Training classifiers on the tasks of :mod:`organics.nn.data`, with checkpoints that make a run resumable.

The loop follows Appendix I of Rawat, Heeger & Martiniani (NeurIPS 2024): minibatch training of
the mean cross-entropy

.. math:: L = -\frac{1}{B}\sum_{n=1}^{B} \log \operatorname{softmax}(f_\theta(x_n))_{c_n}

(backpropagation through time for sequence models), Adam with default moment parameters (or SGD /
RMSprop) at a constant learning rate (as in the paper) or on a cosine schedule, :math:`\eta_k =
\tfrac{\eta_0}{2}(1 + \cos(\pi k / K))` over the :math:`K` steps of the run (Loshchilov & Hutter, ICLR
2017, without restarts), optional weight decay added to the gradient (:math:`g \leftarrow g +
\lambda\theta`, as PyTorch's ``weight_decay``; the paper uses :math:`\lambda = 10^{-5}`, Table 6), no
gradient clipping unless ``clip_norm`` is given (the paper trains ORGaNICs without clipping, Section
6.2), optional Gaussian noise on the training inputs (``input_noise``, a regularizer the paper does not
use), validation after every epoch and **model selection on validation accuracy**: the test set is
evaluated once, with the parameters of the best validation epoch (epoch 0 is the initial model).

Every epoch the stability diagnostics of the model
(:func:`organics.nn.models.stability_diagnostics`) are recorded on a fixed batch (the first
:data:`DIAGNOSTIC_BATCH` test inputs), and a checkpoint is written atomically (temporary file,
then rename) holding the parameters, the optimizer state, the best parameters so far, the RNG key,
the epoch and the history. Rerunning the same call after a crash or a kill resumes from the last
completed epoch and ends with the same numbers as an uninterrupted run (the shuffles come from the
checkpointed key, and XLA on one device is deterministic). A step whose loss or gradient is not
finite is not applied: training stops, and the status ``"non-finite"`` with the epoch and step is
written to the metrics and the result (the parameters stay the last finite ones).

Files in ``out_dir``: ``config.json``, ``checkpoint.bin``, ``metrics.json`` and ``metrics.csv``
(per epoch: train loss/accuracy, validation loss/accuracy, diagnostics ``diag_*``, seconds),
``model.eqx`` (best parameters; :func:`load_trained_model`) and ``result.json``.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import io
import json
import math
import os
import statistics
import struct
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from .data import TASKS, Task, load_task
from .models import MODELS, OPTIONS, SEQUENCE_MODELS, build_classifier, parameter_count, stability_diagnostics

OPTIMIZERS = ("adam", "sgd", "rmsprop")
LR_SCHEDULES = ("constant", "cosine")
DIAGNOSTIC_BATCH = 32
COMPLETED, NON_FINITE, RUNNING = "completed", "non-finite", "running"

_CHECKPOINT = "checkpoint.bin"
_CHECKPOINT_MAGIC = b"ORGANICS-TRAIN-CHECKPOINT-1\n"
_OUTPUTS = ("config.json", _CHECKPOINT, "metrics.json", "metrics.csv", "model.eqx", "result.json")
# Fields that say where the data lives, not what is trained: a resumed run may change them.
_LOCATION_FIELDS = ("data_dir",)

Progress = Callable[[int, int, int, "dict | None"], None]


class TrainError(ValueError):
    """A training run that cannot start or resume (for example an output directory of another configuration)."""


# ------------------------------------------------------------------------------------------ configuration
def _check_int(name: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value!r}")


def _check_number(name: str, value: Any, *, positive: bool) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number; got {value!r}")
    if positive and value <= 0 or not positive and value < 0:
        raise ValueError(f"{name} must be {'> 0' if positive else '>= 0'}; got {value!r}")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run (validated on construction; JSON round trip).

    ``model`` one of :data:`organics.nn.models.MODELS`; ``task`` one of :data:`organics.nn.data.TASKS`;
    ``hidden`` (>= 1) hidden units; ``epochs`` (>= 1); ``batch_size`` (>= 1); ``learning_rate`` (> 0);
    ``optimizer`` adam, sgd or rmsprop; ``lr_schedule`` ``"constant"`` (default, as in the paper) or
    ``"cosine"`` (from ``learning_rate`` down to 0 over the ``epochs`` of the run); ``clip_norm`` (> 0) clips
    the global gradient norm, ``None`` (default) does not clip; ``weight_decay`` (>= 0) adds ``weight_decay *
    theta`` to the gradient; ``input_noise`` (>= 0) is the standard deviation of Gaussian noise added to every
    training input (a fresh draw per step; validation and test inputs are clean); ``seed`` (>= 0) seeds the
    initialization, the shuffles and the validation split; ``data_dir`` holds the MNIST files; ``limit`` (>= 1)
    keeps that many examples per split; ``embedding`` (``static-mnist`` only) feeds the 40-d autoencoder code of
    Appendix I.1 instead of the pixels (:func:`organics.nn.data.autoencoder_task`); ``options`` are passed to
    :func:`organics.nn.models.build_classifier` (names in :data:`organics.nn.models.OPTIONS`, values JSON
    scalars or lists of numbers), e.g. ``{"depth": 2}`` for the two-layer static ORGaNICs of Table 1 or
    ``{"learn_time_constants": False}`` for Table 2's fixed time constants.
    """

    model: str
    task: str
    hidden: int = 64
    epochs: int = 10
    batch_size: int = 256
    learning_rate: float = 1e-3
    optimizer: str = "adam"
    lr_schedule: str = "constant"
    clip_norm: float | None = None
    weight_decay: float = 0.0
    input_noise: float = 0.0
    seed: int = 0
    data_dir: str | None = None
    limit: int | None = None
    embedding: bool = False
    options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise ValueError(f"model must be one of {', '.join(MODELS)}; got {self.model!r}")
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {', '.join(TASKS)}; got {self.task!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}; got {self.optimizer!r}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"lr_schedule must be one of {', '.join(LR_SCHEDULES)}; got {self.lr_schedule!r}")
        for name, minimum in (("hidden", 1), ("epochs", 1), ("batch_size", 1), ("seed", 0)):
            _check_int(name, getattr(self, name), minimum)
        _check_number("learning_rate", self.learning_rate, positive=True)
        _check_number("weight_decay", self.weight_decay, positive=False)
        _check_number("input_noise", self.input_noise, positive=False)
        if self.clip_norm is not None:
            _check_number("clip_norm", self.clip_norm, positive=True)
        if self.limit is not None:
            _check_int("limit", self.limit, 1)
        if not isinstance(self.embedding, bool):
            raise ValueError(f"embedding must be True or False; got {self.embedding!r}")
        if self.embedding and self.task != "static-mnist":
            raise ValueError(f"embedding=True needs task 'static-mnist'; got {self.task!r}")
        if self.data_dir is not None and not isinstance(self.data_dir, str):
            raise ValueError(f"data_dir must be a path string or None; got {self.data_dir!r}")
        if not isinstance(self.options, Mapping):
            raise ValueError(f"options must be a mapping of option names to values; got {self.options!r}")
        unknown = sorted(set(self.options) - OPTIONS[self.model])
        if unknown:
            accepted = ", ".join(sorted(OPTIONS[self.model])) or "none"
            raise ValueError(f"options {unknown} are not accepted by model {self.model!r}; accepted: {accepted}")
        scalar = (bool, int, float, str, type(None))
        options = {}
        for name, value in self.options.items():
            if isinstance(value, (list, tuple)) and all(isinstance(v, (int, float)) for v in value):
                value = list(value)  # JSON has lists only: keep the round trip exact
            elif not isinstance(value, scalar):
                raise ValueError(
                    f"options[{name!r}] must be a number, string, boolean, None or a list of numbers; got {value!r}"
                )
            options[name] = value
        object.__setattr__(self, "options", options)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> TrainConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown TrainConfig fields {', '.join(unknown)}; accepted: {', '.join(sorted(known))}")
        return cls(**values)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_json(cls, text: str) -> TrainConfig:
        return cls.from_dict(json.loads(text))

    def differences(self, other: TrainConfig) -> list[str]:
        """Names of the fields in which ``other`` differs (data locations such as ``data_dir`` excepted)."""
        return [
            f.name
            for f in dataclasses.fields(self)
            if f.name not in _LOCATION_FIELDS and getattr(self, f.name) != getattr(other, f.name)
        ]


@dataclass(frozen=True)
class TrainResult:
    """Outcome of :func:`train`: the best-validation model and its test metrics.

    ``status`` is ``"completed"`` or ``"non-finite"`` (then ``stopped_at`` gives the epoch and step);
    ``best_epoch`` is the epoch of the highest validation accuracy (0 = the initial model);
    ``history`` holds one row per epoch (0 .. ``epochs_completed``).
    """

    config: TrainConfig
    status: str
    epochs_completed: int
    best_epoch: int
    val_accuracy: float
    val_loss: float | None
    test_accuracy: float
    test_loss: float | None
    n_params: int
    input_size: int
    n_classes: int
    task_description: str
    stopped_at: dict | None
    history: tuple[dict, ...]
    out_dir: Path
    model: Any = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        """The JSON-able summary written to ``result.json`` (without the model and the history)."""
        skip = {"model", "history", "config", "out_dir"}
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in skip}
        return {"config": self.config.to_dict(), **values, "out_dir": str(self.out_dir)}


# ------------------------------------------------------------------------------------------ files
def _write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, flush it to disk, then rename it over ``path``."""
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _json_bytes(value: Any) -> bytes:
    return (json.dumps(value, indent=2, allow_nan=False) + "\n").encode()


def _save_checkpoint(path: Path, meta: dict, tree: Any) -> None:
    """One file: magic line, 8-byte length, JSON metadata, then the leaves (``eqx.tree_serialise_leaves``)."""
    buffer = io.BytesIO()
    header = json.dumps(meta, allow_nan=False).encode()
    buffer.write(_CHECKPOINT_MAGIC + struct.pack(">Q", len(header)) + header)
    eqx.tree_serialise_leaves(buffer, tree)
    _write_atomic(path, buffer.getvalue())


def _load_checkpoint(path: Path, like: Any) -> tuple[dict, Any]:
    raw = path.read_bytes()
    start = len(_CHECKPOINT_MAGIC)
    if not raw.startswith(_CHECKPOINT_MAGIC) or len(raw) < start + 8:
        raise TrainError(f"{path}: not a training checkpoint; pass overwrite=True (--overwrite) to start afresh")
    (size,) = struct.unpack(">Q", raw[start : start + 8])
    meta = json.loads(raw[start + 8 : start + 8 + size])
    tree = eqx.tree_deserialise_leaves(io.BytesIO(raw[start + 8 + size :]), like)
    return meta, tree


def _write_metrics(out_dir: Path, meta: dict) -> None:
    metrics = {key: meta[key] for key in ("status", "stopped_at", "best_epoch", "task", "history")}
    _write_atomic(out_dir / "metrics.json", _json_bytes(metrics))
    columns = list(dict.fromkeys(key for row in meta["history"] for key in row))
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: ("" if v is None else v) for k, v in row.items()} for row in meta["history"])
    _write_atomic(out_dir / "metrics.csv", text.getvalue().encode())


def _prepare_directory(config: TrainConfig, out_dir: Path, overwrite: bool) -> None:
    """Clear ``out_dir`` (``overwrite``) or refuse it if it holds another configuration's run."""
    config_path = out_dir / "config.json"
    if overwrite:
        for name in _OUTPUTS:
            (out_dir / name).unlink(missing_ok=True)
    elif config_path.exists():
        try:
            previous = TrainConfig.from_json(config_path.read_text())
        except (ValueError, TypeError) as error:
            raise TrainError(f"{config_path} is unreadable ({error}); pass overwrite=True to replace it") from error
        differing = config.differences(previous)
        if differing:
            changes = ", ".join(
                f"{n} (stored {getattr(previous, n)!r}, requested {getattr(config, n)!r})" for n in differing
            )
            raise TrainError(
                f"{out_dir} holds a run of another configuration (differing fields: {changes}); "
                "use another directory or pass overwrite=True (--overwrite) to replace it"
            )
    elif (out_dir / _CHECKPOINT).exists():
        raise TrainError(f"{out_dir} holds a checkpoint without config.json; pass overwrite=True to replace it")


# ------------------------------------------------------------------------------------------ optimization
def make_optimizer(config: TrainConfig, steps_per_epoch: int | None = None) -> optax.GradientTransformation:
    """Optional global-norm clipping, optional coupled weight decay, then Adam/SGD/RMSprop at ``learning_rate``.

    ``lr_schedule="cosine"`` decays the learning rate to 0 over ``config.epochs * steps_per_epoch``
    steps (the step count lives in the optimizer state, so a resumed run continues the schedule).
    The same settings return the same object, so the jitted steps compiled for it are reused.
    """
    decay_steps = None
    if config.lr_schedule == "cosine":
        if steps_per_epoch is None:
            raise ValueError("steps_per_epoch is needed for lr_schedule 'cosine'")
        _check_int("steps_per_epoch", steps_per_epoch, 1)
        decay_steps = config.epochs * steps_per_epoch
    return _optimizer(config.optimizer, config.learning_rate, decay_steps, config.clip_norm, config.weight_decay)


@functools.lru_cache(maxsize=32)
def _optimizer(name: str, learning_rate: float, decay_steps: int | None, clip_norm: float | None,
               weight_decay: float):  # fmt: skip
    parts = []
    if clip_norm is not None:
        parts.append(optax.clip_by_global_norm(clip_norm))
    if weight_decay > 0:
        parts.append(optax.add_decayed_weights(weight_decay))
    rate = learning_rate if decay_steps is None else optax.cosine_decay_schedule(learning_rate, decay_steps)
    parts.append({"adam": optax.adam, "sgd": optax.sgd, "rmsprop": optax.rmsprop}[name](rate))
    return optax.chain(*parts)


def _strongly_typed(params):
    """The parameters without JAX's weak types (``jnp.full(shape, 1.0)`` is weakly typed, its Adam update is
    not): otherwise the jitted step is compiled again after the first update and once more after the second."""
    return jax.tree.map(lambda p: jnp.asarray(p, dtype=p.dtype), params)


def _float_dtype(params) -> np.dtype:
    """The floating dtype of the parameters; inputs (stored as float32) are cast to it."""
    return jnp.result_type(*jax.tree.leaves(params))


def _batch_loss(params, static, x, y, w):
    """Weighted cross entropy over a batch (``w`` = 0 marks padding): mean loss, summed loss, correct count."""
    model = eqx.combine(params, static)
    logits = jax.vmap(model)(x.astype(_float_dtype(params)))
    losses = jnp.where(w > 0, optax.softmax_cross_entropy_with_integer_labels(logits, y), 0.0)
    correct = jnp.sum(w * ((jnp.argmax(logits, axis=-1) == y) & jnp.all(jnp.isfinite(logits), axis=-1)))
    total = jnp.sum(w * losses)
    return total / jnp.sum(w), (total, correct)


@eqx.filter_jit
def _train_step(params, static, optimizer, opt_state, x, y, w, noise_key=None, noise_std: float = 0.0):
    """One optimizer step; a step whose loss or gradient is not finite leaves parameters and state unchanged.

    ``noise_std`` > 0 adds Gaussian noise of that standard deviation (drawn from ``noise_key``) to the inputs.
    """
    if noise_std > 0:
        x = x.astype(_float_dtype(params))
        x = x + noise_std * jax.random.normal(noise_key, x.shape, x.dtype)
    (loss, (total, correct)), grads = jax.value_and_grad(_batch_loss, has_aux=True)(params, static, x, y, w)
    finite = jnp.isfinite(loss) & jnp.all(jnp.array([jnp.all(jnp.isfinite(g)) for g in jax.tree.leaves(grads)]))
    updates, new_state = optimizer.update(grads, opt_state, params)
    keep = lambda new, old: jnp.where(finite, new, old)
    params = jax.tree.map(keep, optax.apply_updates(params, updates), params)
    return params, jax.tree.map(keep, new_state, opt_state), total, correct, finite


@eqx.filter_jit
def _eval_step(params, static, x, y, w):
    return _batch_loss(params, static, x, y, w)[1]


def _batches(order: np.ndarray, batch_size: int):
    """Index batches of exactly ``batch_size`` (the last is padded by repeating indices, weight 0)."""
    for start in range(0, order.size, batch_size):
        idx = order[start : start + batch_size]
        weight = np.ones(batch_size, dtype=np.float32)
        if idx.size < batch_size:
            weight[idx.size :] = 0.0
            idx = np.resize(idx, batch_size)
        yield idx, weight


def _evaluate(params, static, x: np.ndarray, y: np.ndarray, batch_size: int) -> tuple[float, float]:
    """Mean cross entropy and accuracy of the model on ``(x, y)``."""
    total = correct = 0.0
    for idx, weight in _batches(np.arange(y.size), batch_size):
        batch_total, batch_correct = _eval_step(params, static, x[idx], y[idx], weight)
        total, correct = total + float(batch_total), correct + float(batch_correct)
    return total / y.size, correct / y.size


def _diagnostics(model, batch: np.ndarray) -> dict[str, float]:
    return {f"diag_{name}": float(value) for name, value in stability_diagnostics(model, jnp.asarray(batch)).items()}


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _prepared_task(config: TrainConfig) -> Task:
    task = load_task(config.task, data_dir=config.data_dir, seed=config.seed, limit=config.limit,
                     embedding=config.embedding)  # fmt: skip
    return task.as_sequence() if config.model in SEQUENCE_MODELS else task.as_static()


def train(
    config: TrainConfig, out_dir: str | os.PathLike, *, overwrite: bool = False, progress: Progress | None = None
) -> TrainResult:
    """Train ``config.model`` on ``config.task``, writing checkpoints and metrics into ``out_dir``.

    Resumes from ``out_dir``'s checkpoint when one of the same configuration exists (a finished run
    is not retrained: its result is recomputed from the stored best parameters); refuses a
    directory of another configuration; ``overwrite`` deletes the run in ``out_dir`` and starts
    afresh. ``progress(epoch, step, steps, row)`` is called after every training step (``row``
    None) and after every epoch (``row`` the epoch's metrics; epoch 0 is the initial model).
    """
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a TrainConfig; got {type(config).__name__}")
    out_dir = Path(out_dir)
    _prepare_directory(config, out_dir, overwrite)
    task = _prepared_task(config)
    model_key, data_key = jax.random.split(jax.random.key(config.seed))
    model = build_classifier(config.model, input_size=task.input_size, n_classes=task.n_classes,
                             hidden=config.hidden, key=model_key, **config.options)  # fmt: skip
    params, static = eqx.partition(model, eqx.is_inexact_array)
    params = _strongly_typed(params)
    out_dir.mkdir(parents=True, exist_ok=True)  # only now that the data and the model are known to work
    _write_atomic(out_dir / "config.json", (config.to_json() + "\n").encode())
    n_train, bs = task.y_train.size, config.batch_size
    steps = -(-n_train // bs)
    optimizer = make_optimizer(config, steps)
    opt_state = optimizer.init(params)
    diag_batch = task.x_test[:DIAGNOSTIC_BATCH].astype(_float_dtype(params))

    def epoch_row(epoch, train_loss, train_acc, params, started):
        val_loss, val_acc = _evaluate(params, static, task.x_val, task.y_val, bs)
        row = {"epoch": epoch, "train_loss": train_loss, "train_accuracy": train_acc,
               "val_loss": _finite_or_none(val_loss), "val_accuracy": val_acc}  # fmt: skip
        diagnostics = _diagnostics(eqx.combine(params, static), diag_batch)
        row.update({k: _finite_or_none(v) for k, v in diagnostics.items()})
        return {**row, "time_s": time.perf_counter() - started}

    checkpoint = out_dir / _CHECKPOINT
    if checkpoint.exists():
        like = (params, opt_state, params, jax.random.key_data(data_key))
        meta, (params, opt_state, best_params, key_data) = _load_checkpoint(checkpoint, like)
        data_key = jax.random.wrap_key_data(key_data)
    else:
        best_params = params
        meta = {"status": RUNNING, "stopped_at": None, "epoch": 0, "best_epoch": 0, "task": task.description,
                "history": [epoch_row(0, None, None, params, time.perf_counter())]}  # fmt: skip
        _save_checkpoint(checkpoint, meta, (params, opt_state, best_params, jax.random.key_data(data_key)))
        _write_metrics(out_dir, meta)
        if progress is not None:
            progress(0, 0, steps, meta["history"][0])

    while meta["status"] == RUNNING and meta["epoch"] < config.epochs:
        epoch = meta["epoch"] + 1
        start = time.perf_counter()
        data_key, shuffle_key = jax.random.split(data_key)
        order = np.asarray(jax.random.permutation(shuffle_key, n_train))
        total = correct = 0.0
        for step, (idx, weight) in enumerate(_batches(order, bs), start=1):
            params, opt_state, batch_total, batch_correct, finite = _train_step(
                params, static, optimizer, opt_state, task.x_train[idx], task.y_train[idx], weight,
                noise_key=jax.random.fold_in(shuffle_key, step) if config.input_noise > 0 else None,
                noise_std=config.input_noise,
            )
            if not bool(finite):
                meta["status"] = NON_FINITE
                meta["stopped_at"] = {"epoch": epoch, "step": step, "loss": str(float(batch_total) / weight.sum())}
                break
            total, correct = total + float(batch_total), correct + float(batch_correct)
            if progress is not None:
                progress(epoch, step, steps, None)
        if meta["status"] != RUNNING:
            _save_checkpoint(checkpoint, meta, (params, opt_state, best_params, jax.random.key_data(data_key)))
            break
        row = epoch_row(epoch, total / n_train, correct / n_train, params, start)
        meta["history"].append(row)
        meta["epoch"] = epoch
        if row["val_accuracy"] > meta["history"][meta["best_epoch"]]["val_accuracy"]:
            meta["best_epoch"], best_params = epoch, params
        if epoch == config.epochs:
            meta["status"] = COMPLETED
        _save_checkpoint(checkpoint, meta, (params, opt_state, best_params, jax.random.key_data(data_key)))
        _write_metrics(out_dir, meta)
        if progress is not None:
            progress(epoch, steps, steps, row)
    _write_metrics(out_dir, meta)

    best_model = eqx.combine(best_params, static)
    test_loss, test_acc = _evaluate(best_params, static, task.x_test, task.y_test, bs)
    best_row = meta["history"][meta["best_epoch"]]
    result = TrainResult(
        config=config, status=meta["status"], epochs_completed=meta["epoch"], best_epoch=meta["best_epoch"],
        val_accuracy=best_row["val_accuracy"], val_loss=best_row["val_loss"], test_accuracy=test_acc,
        test_loss=_finite_or_none(test_loss), n_params=parameter_count(best_model),
        input_size=task.input_size, n_classes=task.n_classes,
        task_description=task.description, stopped_at=meta["stopped_at"], history=tuple(meta["history"]),
        out_dir=out_dir, model=best_model,
    )  # fmt: skip
    buffer = io.BytesIO()
    eqx.tree_serialise_leaves(buffer, best_model)
    _write_atomic(out_dir / "model.eqx", buffer.getvalue())
    _write_atomic(out_dir / "result.json", _json_bytes(result.to_dict()))
    return result


def load_trained_model(out_dir: str | os.PathLike):
    """The best-validation model saved by :func:`train` in ``out_dir`` (structure rebuilt from ``result.json``)."""
    out_dir = Path(out_dir)
    for name in ("result.json", "model.eqx"):
        if not (out_dir / name).is_file():
            raise TrainError(f"{out_dir / name} not found; is {out_dir} the output directory of a finished run?")
    result = json.loads((out_dir / "result.json").read_text())
    config = TrainConfig.from_dict(result["config"])
    like = build_classifier(config.model, input_size=result["input_size"], n_classes=result["n_classes"],
                            hidden=config.hidden, key=jax.random.key(0), **config.options)  # fmt: skip
    return eqx.tree_deserialise_leaves(out_dir / "model.eqx", like)


def mean_and_sd(values: list[float]) -> dict[str, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    return {"mean": statistics.fmean(values), "sd": statistics.stdev(values) if len(values) > 1 else 0.0}


def train_seeds(
    config: TrainConfig,
    seeds: Sequence[int],
    out_dir: str | os.PathLike,
    *,
    label: str | None = None,
    log: Callable[[str], None] | None = print,
) -> dict[str, Any]:
    """Train ``config`` once per seed into ``out_dir/seed<s>`` (resuming or re-reading finished runs).

    The protocol of the accuracy tables: each seed's test accuracy is the one at its best validation
    epoch. Returns ``{"runs": [...], "test_accuracy", "best_epoch", "seconds_per_epoch": {"mean", "sd"},
    "n_params", "non_finite"}`` with one dict per seed (``seed``, ``status``, ``stopped_at``,
    ``epochs_completed``, ``best_epoch``, ``val_accuracy``, ``test_accuracy``, ``seconds_per_epoch`` -- the
    median wall time of epochs 2 onwards, i.e. without compilation -- and ``n_params``); ``non_finite`` counts
    the runs stopped on a non-finite loss or gradient. ``log`` (None: silent) receives one line per seed.
    """
    if not seeds:
        raise ValueError("seeds must name at least one seed")
    runs = []
    for seed in seeds:
        result = train(TrainConfig.from_dict({**config.to_dict(), "seed": int(seed)}), Path(out_dir) / f"seed{seed}")
        times = [row["time_s"] for row in result.history[2:]] or [row["time_s"] for row in result.history[1:]]
        runs.append({
            "seed": int(seed), "status": result.status, "stopped_at": result.stopped_at,
            "epochs_completed": result.epochs_completed, "best_epoch": result.best_epoch,
            "val_accuracy": result.val_accuracy, "test_accuracy": result.test_accuracy,
            "seconds_per_epoch": statistics.median(times) if times else float("nan"), "n_params": result.n_params,
        })  # fmt: skip
        if log is not None:
            log(f"  {label or config.model} seed {seed}: test {result.test_accuracy:.4f} (best epoch "
                f"{result.best_epoch}, {result.status}), {runs[-1]['seconds_per_epoch']:.1f} s/epoch")  # fmt: skip
    return {
        "runs": runs,
        "test_accuracy": mean_and_sd([r["test_accuracy"] for r in runs]),
        "best_epoch": mean_and_sd([r["best_epoch"] for r in runs]),
        "seconds_per_epoch": mean_and_sd([r["seconds_per_epoch"] for r in runs]),
        "n_params": runs[0]["n_params"],
        "non_finite": sum(r["status"] == NON_FINITE for r in runs),
    }
