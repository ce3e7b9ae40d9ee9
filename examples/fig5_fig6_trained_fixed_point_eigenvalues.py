"""Figs. 5 and 6 of Rawat, Heeger & Martiniani (NeurIPS 2024): Jacobian eigenvalues of a trained two-layer ORGaNICs classifier.

Reproduces Supplementary Figs. 5 and 6 (Section 6.1, Appendix I.1) at this machine's scale. A classifier
of two stacked static ORGaNICs layers (Eq. 133, :class:`organics.nn.layers.ORGaNICsFixedPoint`: input
gain ``b = sigmoid(W_bx x)``, learnable ``W_r`` parametrized with maximum singular value exactly 1, fixed
point by Algorithm 1, gradients by implicit differentiation) and a linear readout of the second layer's
rates ``[y*]+**2`` is trained with :func:`organics.nn.train.train` (Adam, learning rate 1e-3, weight
decay 1e-5, batch 256 as in Table 6; model selection on validation accuracy). For every test input and
each layer, the Jacobian of the layer's dynamics (Eq. 133) at its fixed point for that input is
evaluated and its eigenvalue with the largest real part found
(:func:`organics.nn.models.fixed_point_leading_eigenvalues`); the layers feed forward without feedback,
so the two-layer circuit is stable if and only if both layers are. The layer is dimensionless
(``tau_y = tau_a = 1``); as in the paper's figures, eigenvalues are shown for ``tau_y = tau_a = 2 ms``,
i.e. divided by 2 ms.

(a), (b) Fig. 5: histograms over test inputs of the largest real part, layer 1 and layer 2, for the
best-validation model; (c) Fig. 6: the maximum over test inputs of the largest real part, per layer,
against the training epoch (epoch 0 = initialization; recorded by ``train`` on its 32 diagnostic test
inputs every epoch; stars: the maximum over all the test inputs of (a, b) at the best epoch); (d) the
training and validation accuracy.

Settings (seed 0). Full: static MNIST as in Table 1, the 40-dimensional autoencoder embedding of
Appendix I.1 (``load_task("static-mnist", embedding=True)``, MNIST IDX files in the cache
``~/.cache/organics/mnist`` or ``$ORGANICS_DATA``; nothing is downloaded), two layers of 50 neurons
(the paper: 120 and 60), all 57,000 training images, 4 epochs; the eigenvalues on the first 2,000
test images. If the MNIST files are absent, the built-in scikit-learn digits (64 pixels, static) are used
instead, and the script says so. ``--quick``: digits, two layers of 8 neurons, 300 training images,
2 epochs, batch 64. A run closer to the paper's (its layers of 120 and 60 neurons; the paper does not
state the number of epochs) is

    organics train --model organics-fp --task static-mnist --embedding --hidden 120 --option "widths=[120,60]" \\
        --epochs 20 --weight-decay 1e-5 --out runs/fp-two-layers

    python examples/fig5_fig6_trained_fixed_point_eigenvalues.py --out DIR [--quick]

writes ``DIR/fig5_fig6_trained_fixed_point_eigenvalues.png`` and ``.pdf`` (the training run is kept
in ``DIR/runs/``; rerunning resumes or re-reads it) and prints, per layer, the fraction of test inputs
whose Jacobian has all eigenvalues with ``Re lambda < 0``, the largest real part over test inputs and
over epochs, and the test accuracy.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

import organics  # noqa: E402,F401  (float64)
from organics.nn.data import default_data_dir, load_task, mnist_available  # noqa: E402
from organics.nn.models import fixed_point_leading_eigenvalues  # noqa: E402
from organics.nn.train import DIAGNOSTIC_BATCH, TrainConfig, TrainResult, train  # noqa: E402
from organics.plot.portraits import save_figure  # noqa: E402
from organics.plot.training import plot_diagnostic  # noqa: E402

TAU_MS = 2.0  # tau_y = tau_a of the paper's Fig. 5; the layer itself is dimensionless (tau = 1)
DEPTH = 2
FULL = dict(hidden=50, epochs=4, batch_size=256, limit=None, eigen_inputs=2000)
QUICK = dict(hidden=8, epochs=2, batch_size=64, limit=300, eigen_inputs=300)
CHUNK = DIAGNOSTIC_BATCH  # test inputs per batch of Jacobians: the jitted solve that train compiled is reused


def configure(quick: bool) -> tuple[TrainConfig, int, str]:
    """Training configuration, number of test inputs for the eigenvalues, and a note on the data."""
    settings = QUICK if quick else FULL
    use_mnist = not quick and mnist_available()
    note = (
        "static MNIST, 40-d autoencoder embedding (Table 1)"
        if use_mnist
        else "scikit-learn digits (static)"
        + ("" if quick else f": MNIST IDX files not found in {default_data_dir()}, using the built-in task")
    )
    config = TrainConfig(
        model="organics-fp", task="static-mnist" if use_mnist else "digits", embedding=use_mnist,
        hidden=settings["hidden"], epochs=settings["epochs"], batch_size=settings["batch_size"],
        learning_rate=1e-3, weight_decay=1e-5, seed=0, limit=settings["limit"], options={"depth": DEPTH},
    )  # fmt: skip
    return config, settings["eigen_inputs"], note


def test_inputs(config: TrainConfig, count: int) -> np.ndarray:
    """The first ``count`` test inputs (fewer if the task has fewer) as static vectors, float64."""
    task = load_task(config.task, seed=config.seed, embedding=config.embedding).as_static()
    return task.x_test[:count].astype(np.float64)


def leading_eigenvalues(model, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Largest real part (units ``1/tau``) and convergence flag per layer and input, both ``(depth, inputs)``.

    Inputs go in chunks of :data:`CHUNK` (the last one padded by repeating inputs, so one compilation serves all).
    """
    n = x.shape[0]
    size = min(CHUNK, n)
    padded = np.concatenate([x, x[: -n % size]])
    parts = [fixed_point_leading_eigenvalues(model, padded[i : i + size]) for i in range(0, padded.shape[0], size)]
    leading, converged = (np.concatenate([p[k] for p in parts], axis=1)[:, :n] for k in (0, 1))
    return leading, converged


def make_figure(result: TrainResult, leading: np.ndarray, note: str):
    leading_ms = leading / TAU_MS
    fig, axes = plt.subplots(2, 2, figsize=(12, 9), layout="constrained")
    for i, ax in enumerate(axes[0]):
        values = leading_ms[i]
        ax.hist(values, bins=40, color=f"C{i}", alpha=0.85)
        ax.axvline(0.0, color="k", lw=1, ls="--", label=r"stability boundary Re $\lambda$ = 0")
        stable = np.mean(values < 0)
        ax.set_title(
            f"({'ab'[i]}) layer {i + 1}: {100 * stable:.1f} % of {values.size} test inputs stable, "
            f"max {np.max(values):.3g} 1/ms",
            fontsize=10,
        )
        ax.set_xlabel(r"largest real part of the Jacobian eigenvalues, Re $\lambda_{max}$ (1/ms)")
        ax.set_ylabel("test inputs")
        ax.legend(loc="upper left", fontsize=9)

    ax = axes[1, 0]
    plot_diagnostic(
        ax,
        {"history": list(result.history)},
        "diag_leading_eigenvalue",
        scale=1.0 / TAU_MS,
        ylabel=r"max over test inputs of Re $\lambda_{max}$ (1/ms)",
    )
    for i in range(leading.shape[0]):
        ax.plot(result.best_epoch, np.max(leading_ms[i]), "*", ms=13, color=f"C{i}", mec="k",
                label=f"layer {i + 1}, all {leading.shape[1]} test inputs (best epoch)")  # fmt: skip
    ax.set_title("(c) during training (32 diagnostic test inputs per epoch)", fontsize=10)
    ax.legend(fontsize=8, loc="upper right")
    ax.grid(alpha=0.3)

    ax = axes[1, 1]
    epochs = [row["epoch"] for row in result.history]
    for key, label, style in (("train_accuracy", "train", "-o"), ("val_accuracy", "validation", "-s")):
        values = [np.nan if row[key] is None else 100 * row[key] for row in result.history]
        ax.plot(epochs, values, style, ms=4, label=label)
    ax.axvline(result.best_epoch, color="0.5", ls=":", label=f"best validation (epoch {result.best_epoch})")
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("accuracy (%)")
    ax.set_title(f"(d) accuracy; test accuracy at the best epoch {100 * result.test_accuracy:.1f} %", fontsize=10)
    ax.legend(fontsize=9)
    ax.grid(alpha=0.3)
    hidden = result.config.hidden
    fig.suptitle(
        f"Figs. 5-6: two-layer ORGaNICs classifier ({hidden} + {hidden} neurons, $\\sigma_{{max}}(W_r) = 1$, "
        f"$\\tau_y = \\tau_a$ = {TAU_MS:g} ms) trained on {note}",
        fontsize=11,
    )
    return fig


def main(argv=None) -> list[Path]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--quick", action="store_true", help="digits, 8 neurons per layer, 2 epochs; same code path")
    args = parser.parse_args(argv)
    out = Path(args.out)
    config, eigen_inputs, note = configure(args.quick)
    print(f"data: {note}")
    run_dir = out / "runs" / f"organics-fp-{config.task}{'-quick' if args.quick else ''}"
    result = train(config, run_dir)
    print(f"training: {result.status}, best epoch {result.best_epoch}, test accuracy {result.test_accuracy:.4f}")
    x = test_inputs(config, eigen_inputs)
    leading, converged = leading_eigenvalues(result.model, x)
    history = result.history
    for i, layer in enumerate(result.model.layers):
        sigma_max = np.linalg.norm(np.asarray(layer.W_r), 2)
        over_epochs = max(row[f"diag_leading_eigenvalue_layer{i + 1}"] for row in history) / TAU_MS
        print(
            f"layer {i + 1}: sigma_max(W_r) = {sigma_max:.6f}, converged {np.mean(converged[i]):.4f}, "
            f"fraction of test inputs stable (all Re lambda < 0) = {np.mean(leading[i] < 0):.4f} "
            f"of {leading.shape[1]}, max Re lambda over test inputs = {np.max(leading[i]) / TAU_MS:.4g} 1/ms, "
            f"max over epochs (diagnostic inputs) = {over_epochs:.4g} 1/ms"
        )
    fig = make_figure(result, leading, note)
    written = save_figure(
        fig, out / "fig5_fig6_trained_fixed_point_eigenvalues", ("png", "pdf"), dpi=72 if args.quick else 150
    )
    for path in written:
        print(path)
    return written


if __name__ == "__main__":
    main()
