"""Time per training step of ORGaNICs-RNN-64 against LSTM-128 and GRU-128, measured in one run.

One step = cross-entropy loss over a batch, its gradient (BPTT through ``lax.scan``) and an optax Adam
update, all in one ``eqx.filter_jit`` function. Every model sees the same batch (``--batch`` sequences of
length ``T``, input size 1, 10 classes, drawn from a fixed seed). Each (model, T) is compiled and run twice
as warm-up, then timed ``--repeats`` times (wall clock, ``block_until_ready``); the table gives the median
in milliseconds and the ratios ORGaNICs/LSTM and ORGaNICs/GRU (goal: ORGaNICs/LSTM <= 1.5).

    python benchmarks/learning_step.py                       # T = 40, 196, 784; batch 256; 5 repeats
    python benchmarks/learning_step.py --lengths 40 196 --repeats 3 --dtype float64
"""

from __future__ import annotations

import argparse
import statistics
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import optax

import organics  # noqa: F401  (float64 available, XLA flags)
from organics.nn.models import build_classifier

#: (label, model name, hidden units) compared in the table.
CONTENDERS = (("organics-rnn-64", "organics-rnn", 64), ("lstm-128", "lstm", 128), ("gru-128", "gru", 128))
N_CLASSES = 10


def cast(model: eqx.Module, dtype) -> eqx.Module:
    """The same model with every floating-point array in ``dtype``."""
    return jax.tree.map(lambda leaf: leaf.astype(dtype) if eqx.is_inexact_array(leaf) else leaf, model)


def make_step(optimizer: optax.GradientTransformation):
    """Jitted ``(model, opt_state, xs, labels) -> (model, opt_state, loss)``: loss, gradient and Adam update."""

    def loss_fn(model, xs, labels):
        logits = jax.vmap(model)(xs)
        return optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()

    @eqx.filter_jit
    def step(model, opt_state, xs, labels):
        loss, grads = eqx.filter_value_and_grad(loss_fn)(model, xs, labels)
        updates, opt_state = optimizer.update(grads, opt_state, eqx.filter(model, eqx.is_inexact_array))
        return eqx.apply_updates(model, updates), opt_state, loss

    return step


def time_step(name: str, hidden: int, xs: jax.Array, labels: jax.Array, repeats: int, dtype) -> float:
    """Median wall seconds of one training step after two warm-up steps."""
    model = cast(build_classifier(name, input_size=1, n_classes=N_CLASSES, hidden=hidden, key=jax.random.key(0)), dtype)
    optimizer = optax.adam(1e-3)
    opt_state = optimizer.init(eqx.filter(model, eqx.is_inexact_array))
    step = make_step(optimizer)
    for _ in range(2):
        model, opt_state, loss = step(model, opt_state, xs, labels)
    jax.block_until_ready(loss)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        model, opt_state, loss = step(model, opt_state, xs, labels)
        jax.block_until_ready(loss)
        times.append(time.perf_counter() - start)
    if not bool(jnp.isfinite(loss)):
        raise RuntimeError(f"{name}: non-finite loss {float(loss)}")
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[40, 196, 784], help="sequence lengths T")
    parser.add_argument("--batch", type=int, default=256, help="sequences per batch")
    parser.add_argument("--repeats", type=int, default=5, help="timed steps per (model, T); the median is reported")
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32", help="parameter/input dtype")
    args = parser.parse_args()
    for name, value in (
        ("--batch", args.batch),
        ("--repeats", args.repeats),
        *(("--lengths", t) for t in args.lengths),
    ):
        if value < 1:
            parser.error(f"{name} must be >= 1; got {value}")
    dtype = jnp.dtype(args.dtype)

    print(f"device: {jax.devices()[0].device_kind}, batch {args.batch}, {args.dtype}, median of {args.repeats}")
    header = f"{'T':>5} | " + " | ".join(f"{label:>16}" for label, _, _ in CONTENDERS) + " | ORG/LSTM | ORG/GRU"
    print(header)
    print("-" * len(header))
    for length in args.lengths:
        k_x, k_y = jax.random.split(jax.random.key(length))
        xs = jax.random.uniform(k_x, (args.batch, length, 1), dtype=dtype)
        labels = jax.random.randint(k_y, (args.batch,), 0, N_CLASSES)
        ms = {
            label: 1e3 * time_step(name, hidden, xs, labels, args.repeats, dtype) for label, name, hidden in CONTENDERS
        }
        organics_ms = ms["organics-rnn-64"]
        cells = " | ".join(f"{ms[label]:13.1f} ms" for label, _, _ in CONTENDERS)
        print(
            f"{length:>5} | {cells} | {organics_ms / ms['lstm-128']:8.2f} | {organics_ms / ms['gru-128']:7.2f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
