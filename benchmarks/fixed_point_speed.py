"""Speed of one training epoch of the static ORGaNICs classifier (Table 1 setting), against the matched MLP.

    python benchmarks/fixed_point_speed.py [--run DIR] [--warmup-steps 100] [--batches 4] [--repeats 3]

The model is the ``fp80`` classifier of ``benchmarks/static_mnist.py`` (one fixed-point layer of 80
neurons, Eq. 133, on the 40-d MNIST embedding; float64, batch 256, Adam 1e-3, weight decay 1e-5). Its
cost depends on how many Algorithm-1 updates the inputs need, which grows during training, so the
parameters come from a finished run (``--run``: an ``organics-fp`` output directory of
:func:`organics.nn.train.train`, e.g. ``<out>/fp80/seed0`` of ``static_mnist.py``) or from
``--warmup-steps`` training steps from the seed-0 initialization.

On the same parameters and the same ``--batches`` training batches the script times (fastest of
``--repeats``, each a pass over the batches; wall clock after compilation): the jitted training step
(forward, implicit backward, Adam) and the forward pass (the evaluation batch) of the layer with
``batching="compact"`` (the default) and ``batching="vmap"`` (JAX's batching of the per-example loops:
the whole batch is updated until its slowest example stops), the stability diagnostics of one epoch
(:func:`organics.nn.models.stability_diagnostics` on 32 test inputs) and the matched MLP's training step as
the baseline. It prints the Algorithm-1 updates per example (mean; mean over batches of the batch's
largest), the times, their ratios to the MLP step, and the time of one epoch estimated from them:
``ceil(57000/256)`` training steps, ``ceil(3000/256)`` validation batches and one diagnostics call.
"""

from __future__ import annotations

import argparse
import math
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

import organics  # noqa: F401  (float64)
from organics.nn.data import MNIST_VALIDATION, load_task
from organics.nn.models import build_classifier, matched_mlp_width, stability_diagnostics
from organics.nn.train import (
    DIAGNOSTIC_BATCH,
    TrainConfig,
    _eval_step,
    _strongly_typed,
    _train_step,
    load_trained_model,
    make_optimizer,
)

HIDDEN, INPUT_SIZE, N_CLASSES, BATCH = 80, 40, 10, 256
CONFIG = TrainConfig(model="organics-fp", task="static-mnist", hidden=HIDDEN, batch_size=BATCH, learning_rate=1e-3,
                     weight_decay=1e-5, embedding=True)  # fmt: skip
OPTIMIZER = make_optimizer(CONFIG)


def fixed_point_model(batching: str):
    """``(parameters, static part)`` of the ``fp80`` classifier as initialized by ``train`` with seed 0."""
    key = jax.random.split(jax.random.key(0))[0]
    return eqx.partition(
        build_classifier("organics-fp", input_size=INPUT_SIZE, n_classes=N_CLASSES, hidden=HIDDEN, key=key,
                         batching=batching),
        eqx.is_inexact_array,
    )  # fmt: skip


def with_batching(params, batching: str):
    """``(parameters, static part)`` of the classifier with the values of ``params`` and ``batching``."""
    like = eqx.combine(*fixed_point_model(batching))
    return eqx.partition(jax.tree.unflatten(jax.tree.structure(like), jax.tree.leaves(params)), eqx.is_inexact_array)


def trained_parameters(run: str | None, warmup_steps: int, x: np.ndarray, y: np.ndarray):
    """The ``fp80`` parameters of ``run``, or after ``warmup_steps`` training steps on ``(x, y)`` from seed 0."""
    params, static = fixed_point_model("compact")
    if run is not None:
        params = eqx.filter(load_trained_model(run), eqx.is_inexact_array)
    params = _strongly_typed(params)
    opt_state = OPTIMIZER.init(params)
    order = np.random.default_rng(0).permutation(y.size)
    weight = np.ones(BATCH, dtype=np.float32)
    for step in range(warmup_steps if run is None else 0):
        idx = np.resize(order, (step + 1) * BATCH)[step * BATCH :]
        params, opt_state, *_ = _train_step(params, static, OPTIMIZER, opt_state, x[idx], y[idx], weight)
    return params


def fastest(passes: dict, repeats: int) -> dict[str, float]:
    """Fastest wall seconds of each pass (a zero-argument callable), the passes interleaved ``repeats`` times."""
    for run in passes.values():
        run()  # compile
    best = dict.fromkeys(passes, math.inf)
    for _ in range(repeats):
        for name, run in passes.items():
            start = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", default=None, help="output directory of a trained organics-fp run (hidden 80)")
    parser.add_argument("--warmup-steps", type=int, default=100, help="training steps before timing (without --run)")
    parser.add_argument("--batches", type=int, default=4, help="training batches timed per pass")
    parser.add_argument("--repeats", type=int, default=3, help="passes; the fastest is reported")
    args = parser.parse_args()
    for name, value, minimum in (("--warmup-steps", args.warmup_steps, 0), ("--batches", args.batches, 1),
                                 ("--repeats", args.repeats, 1)):  # fmt: skip
        if value < minimum:
            parser.error(f"{name} must be >= {minimum}; got {value}")

    task = load_task("static-mnist", seed=0, embedding=True)
    x, y = task.x_train, task.y_train
    trained = trained_parameters(args.run, args.warmup_steps, x, y)
    (params, compact), (vmap_params, vmapped) = with_batching(trained, "compact"), with_batching(trained, "vmap")
    width = matched_mlp_width("organics-fp", input_size=INPUT_SIZE, n_classes=N_CLASSES, hidden=HIDDEN)
    mlp_params, mlp_static = eqx.partition(
        build_classifier("mlp", input_size=INPUT_SIZE, n_classes=N_CLASSES, hidden=width, key=jax.random.key(0)),
        eqx.is_inexact_array,
    )
    mlp_params = _strongly_typed(mlp_params)

    batches = [np.arange(i * BATCH, (i + 1) * BATCH) for i in range(args.batches)]
    weight = np.ones(BATCH, dtype=np.float32)
    layer = eqx.combine(params, compact).layers[0]
    iterations = eqx.filter_jit(lambda lay, xb: jax.vmap(lay.solve)(xb).iterations)
    counts = np.stack([np.asarray(iterations(layer, jnp.asarray(x[idx], dtype=float))) for idx in batches])
    diag_batch = task.x_test[:DIAGNOSTIC_BATCH].astype(float)

    def steps(p, static):
        state = OPTIMIZER.init(p)
        return lambda: jax.block_until_ready(
            [_train_step(p, static, OPTIMIZER, state, x[i], y[i], weight) for i in batches]
        )

    def evaluations(p, static):
        return lambda: jax.block_until_ready([_eval_step(p, static, x[i], y[i], weight) for i in batches])

    times = fastest(
        {
            "mlp step": steps(mlp_params, mlp_static),
            "fp step, compact": steps(params, compact),
            "fp step, vmap": steps(vmap_params, vmapped),
            "fp forward, compact": evaluations(params, compact),
            "fp forward, vmap": evaluations(vmap_params, vmapped),
            "diagnostics": lambda: stability_diagnostics(eqx.combine(params, compact), diag_batch),
        },
        args.repeats,
    )
    per_batch = {name: t / (1 if name == "diagnostics" else args.batches) for name, t in times.items()}

    source = f"run {args.run}" if args.run else f"{args.warmup_steps} warm-up steps"
    print(f"fp80 (parameters: {source}); device {jax.devices()[0].device_kind}; batch {BATCH}; float64; "
          f"fastest of {args.repeats} passes over {args.batches} batches")  # fmt: skip
    print(f"Algorithm-1 updates per example: mean {counts.mean():.1f}, largest per batch (mean) "
          f"{counts.max(axis=1).mean():.1f}, cap {layer.max_iter}")  # fmt: skip
    baseline = per_batch["mlp step"]
    print(f"{'':22} | {'ms':>9} | {'/ mlp step':>10}")
    for name, seconds in per_batch.items():
        print(f"{name:22} | {1e3 * seconds:9.1f} | {seconds / baseline:10.1f}")
    train_steps, val_batches = math.ceil(y.size / BATCH), math.ceil(MNIST_VALIDATION / BATCH)
    for batching in ("compact", "vmap"):
        epoch = (train_steps * per_batch[f"fp step, {batching}"] + val_batches * per_batch[f"fp forward, {batching}"]
                 + per_batch["diagnostics"])  # fmt: skip
        print(f"estimated epoch, {batching}: {epoch:.0f} s ({train_steps} steps, {val_batches} validation batches)")
    print(f"estimated epoch, mlp: {train_steps * baseline:.1f} s (training steps only)")


if __name__ == "__main__":
    main()
