"""Fig. 7 of Rawat, Heeger & Martiniani (NeurIPS 2024): the trajectories of a trained ORGaNICs RNN, and how bounded they stay.

Reproduces Supplementary Fig. 7 (Section 6.2, Appendix I.2) at this machine's scale. An ORGaNICs RNN
(the explicit-Euler discretization of the rectified circuit with dynamic gains, Eq. 134,
:class:`organics.nn.layers.ORGaNICsRNN` with the defaults of :func:`organics.nn.models.build_classifier`)
reads a sequence one sample per time step and a linear readout of the final rates ``[y_T]+**2``
predicts the class; it is trained by backpropagation through time with :func:`organics.nn.train.train`
(Adam, learning rate 3e-3, batch 128, weight decay 1e-5, no gradient clipping; model selection on
validation accuracy). The best-validation model is then run on the test inputs and the states
``y_i(t)`` (principal neurons) and ``a_i(t)`` (normalization neurons) are recorded at every step
(dimensionless, in the units of the input; ``t`` in steps of ``dt``).

Top three rows, one column per test input drawn at random (seed 0): the input ``x_t``; ``y_i(t)`` and
``a_i(t)`` of 8 neurons drawn at random (the same in every column), as in the paper's Fig. 7 for
sMNIST and psMNIST. Right column, over all the test inputs: the median, 99th percentile and maximum
over inputs of ``max_i |y_i(t)|`` and of ``max_i a_i(t)`` at every step (log scale), and the smallest
``a_i(t)``: whether, and how far from the typical input, the trajectories stay bounded.

Settings (seed 0). Full: MNIST-1D (40 steps, ``mnist1d`` generated locally), 64 principal neurons,
15 epochs. ``--quick``: the scikit-learn digits read pixel by pixel (64 steps), 16 neurons, 300
training images, 2 epochs. ``--run DIR`` draws the figure for the run in ``DIR`` instead (it must be
an ``organics-rnn`` run of ``train`` / ``organics train``; an unfinished one is resumed first), e.g.
the paper's sequential MNIST of Fig. 7(a) (784 steps; about 20 hours on the paper's GPU):

    organics train --model organics-rnn --task smnist --hidden 64 --epochs 100 --learning-rate 0.01 \\
        --weight-decay 1e-5 --out runs/smnist-organics
    python examples/fig7_trained_rnn_trajectories.py --out DIR --run runs/smnist-organics

and ``--task psmnist`` for Fig. 7(b).

    python examples/fig7_trained_rnn_trajectories.py --out DIR [--quick] [--run RUN_DIR]

writes ``DIR/fig7_trained_rnn_trajectories.png`` and ``.pdf`` (the training run is kept in
``DIR/runs/``) and prints the test accuracy, whether every state stayed finite, and the largest
``|y|`` and ``a`` and the smallest ``a`` over all test inputs and steps.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import equinox as eqx  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import organics  # noqa: E402,F401  (float64)
from organics.nn.data import load_task  # noqa: E402
from organics.nn.train import TrainConfig, TrainResult, train  # noqa: E402
from organics.plot.portraits import save_figure  # noqa: E402

FULL = dict(task="mnist1d", hidden=64, epochs=15, limit=None)
QUICK = dict(task="digits", hidden=16, epochs=2, limit=300)
N_INPUTS, N_NEURONS = 3, 8  # test inputs and neurons drawn
CHUNK = 100  # test inputs per batch of trajectories


def configure(quick: bool) -> TrainConfig:
    settings = QUICK if quick else FULL
    return TrainConfig(model="organics-rnn", batch_size=128, learning_rate=3e-3, weight_decay=1e-5, seed=0,
                       **settings)  # fmt: skip


def trained_run(args) -> TrainResult:
    """Train (or resume, or re-read) the built-in setting, or the run in ``--run``."""
    if args.run is None:
        config = configure(args.quick)
        return train(config, Path(args.out) / "runs" / f"organics-rnn-{config.task}{'-quick' if args.quick else ''}")
    path = Path(args.run) / "config.json"
    if not path.is_file():
        raise SystemExit(f"--run: {path} not found; --run must be the output directory of a training run")
    config = TrainConfig.from_json(path.read_text())
    if config.model != "organics-rnn":
        raise SystemExit(f"--run: {args.run} holds a {config.model!r} run; Fig. 7 needs an 'organics-rnn' run")
    return train(config, args.run)


@eqx.filter_jit
def _trajectories(model, xs):
    """``(y, a)`` after every step for a batch of sequences, each ``(batch, T, n)``."""
    states = jax.vmap(lambda x: model.rnn(x, trajectory=True)[1])(xs)
    y, a, _, _ = model.rnn.cell.split_state(states)
    return y, a


@eqx.filter_jit
def _extremes(model, xs):
    """Per input and step, over the neurons: ``max |y|``, ``max a``, ``min a`` (each ``(batch, T)``); predictions."""
    y, a = _trajectories(model, xs)
    predictions = jnp.argmax(jax.vmap(model)(xs), axis=-1)
    return jnp.max(jnp.abs(y), axis=2), jnp.max(a, axis=2), jnp.min(a, axis=2), predictions


def extremes(model, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_extremes` for all of ``x`` in chunks of :data:`CHUNK` (the last padded by repeating inputs)."""
    n = x.shape[0]
    size = min(CHUNK, n)
    padded = np.concatenate([x, x[: -n % size]])
    parts = [_extremes(model, jnp.asarray(padded[i : i + size])) for i in range(0, padded.shape[0], size)]
    y_max, a_max, a_min, predictions = (np.concatenate([np.asarray(p[k]) for p in parts])[:n] for k in range(4))
    return y_max, a_max, a_min, predictions


def _envelope(ax, steps, per_input: np.ndarray, color: str, name: str) -> None:
    """Median, 99th percentile and maximum over inputs of a per-input, per-step quantity (log scale)."""
    for q, style, label in ((50, ":", "median"), (99, "--", "99th percentile"), (100, "-", "maximum")):
        ax.plot(steps, np.percentile(per_input, q, axis=0), style, color=color, lw=1.5, label=f"{label} over inputs")
    ax.set_yscale("log")
    ax.set_ylabel(name)


def make_figure(result: TrainResult, task, chosen, neurons, bounds, predictions):
    x = task.x_test[chosen].astype(np.float64)
    y, a = (np.asarray(v) for v in _trajectories(result.model, jnp.asarray(x)))
    steps = np.arange(1, x.shape[1] + 1)
    y_max, a_max, a_min = bounds
    fig, axes = plt.subplots(
        3, N_INPUTS + 1, figsize=(4.2 * (N_INPUTS + 1), 9), layout="constrained", sharex=True,
        gridspec_kw={"height_ratios": [1, 2, 2]},
    )  # fmt: skip
    colors = plt.get_cmap("tab10")
    for column, index in enumerate(chosen):
        label, predicted = task.y_test[index], predictions[index]
        axes[0, column].plot(steps, x[column, :, 0], color="0.3", lw=1.2)
        axes[0, column].set_title(f"test input {index}: class {label}, predicted {predicted}", fontsize=10)
        for k, neuron in enumerate(neurons):
            axes[1, column].plot(steps, y[column, :, neuron], color=colors(k), lw=1.2, label=f"neuron {neuron}")
            axes[2, column].plot(steps, a[column, :, neuron], color=colors(k), lw=1.2)
        axes[2, column].set_xlabel("time step t")
    axes[0, 0].set_ylabel("input $x_t$")
    axes[1, 0].set_ylabel("principal neurons $y_i(t)$")
    axes[2, 0].set_ylabel("normalization neurons $a_i(t)$")
    axes[1, 0].legend(fontsize=7, ncol=2)

    right = axes[:, -1]
    right[0].set_axis_off()
    config = result.config
    status = (
        f"training {result.status}"
        if result.stopped_at is None
        else f"training stopped ({result.status}) in epoch {result.stopped_at['epoch']}"
    )
    right[0].text(
        0.0, 0.5,
        f"{config.task}, {config.hidden} principal neurons\n{status};\nbest epoch {result.best_epoch}, "
        f"test accuracy {100 * result.test_accuracy:.1f} %\nright: over all {y_max.shape[0]} test inputs",
        transform=right[0].transAxes, va="center", fontsize=10,
    )  # fmt: skip
    _envelope(right[1], steps, y_max, "tab:red", r"$\max_i |y_i(t)|$")
    right[1].legend(fontsize=8)
    _envelope(right[2], steps, a_max, "tab:blue", r"$\max_i a_i(t)$ and $\min_i a_i(t)$")
    right[2].plot(steps, np.min(a_min, axis=0), color="0.4", lw=1.2, label=r"minimum over inputs of $\min_i a_i(t)$")
    right[2].set_xlabel("time step t")
    right[2].legend(fontsize=8)
    for ax in axes.ravel():
        ax.grid(alpha=0.3)
    fig.suptitle(
        "Fig. 7: trajectories of a trained ORGaNICs RNN (Eq. 134) for test inputs (dimensionless potentials)",
        fontsize=12,
    )
    return fig


def main(argv=None) -> list[Path]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--quick", action="store_true", help="digits, 16 neurons, 2 epochs; same code path")
    parser.add_argument("--run", default=None, help="draw the figure for this organics-rnn training run instead")
    args = parser.parse_args(argv)
    result = trained_run(args)
    config = result.config
    task = load_task(config.task, seed=config.seed, data_dir=config.data_dir).as_sequence()
    y_max, a_max, a_min, predictions = extremes(result.model, task.x_test.astype(np.float64))
    finite = bool(np.all(np.isfinite(y_max)) and np.all(np.isfinite(a_max)) and np.all(np.isfinite(a_min)))
    rng = np.random.default_rng(0)
    chosen = np.sort(rng.choice(task.y_test.size, N_INPUTS, replace=False))
    neurons = np.sort(rng.choice(config.hidden, min(N_NEURONS, config.hidden), replace=False))
    print(f"data: {task.description}")
    print(f"training: {result.status}, best epoch {result.best_epoch}, test accuracy {result.test_accuracy:.4f}")
    print(
        f"over {task.y_test.size} test inputs x {task.steps} steps: all finite = {finite}, "
        f"max |y| = {np.max(y_max):.4g}, max a = {np.max(a_max):.4g}, min a = {np.min(a_min):.4g}; 99th percentile "
        f"over inputs of max |y| = {np.percentile(y_max.max(axis=1), 99):.4g}, of max a = "
        f"{np.percentile(a_max.max(axis=1), 99):.4g}"
    )
    fig = make_figure(result, task, chosen, neurons, (y_max, a_max, a_min), predictions)
    written = save_figure(fig, Path(args.out) / "fig7_trained_rnn_trajectories", ("png", "pdf"),
                          dpi=72 if args.quick else 150)  # fmt: skip
    for path in written:
        print(path)
    return written


if __name__ == "__main__":
    main()
