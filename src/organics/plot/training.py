r"""Training curves of :func:`organics.nn.train.train`: loss, accuracy and stability diagnostics per epoch.

One figure, ``training.<fmt>``: cross-entropy loss (train and validation), accuracy (train,
validation, and the best validation epoch marked), then one panel per stability diagnostic
recorded on the fixed test batch (the ``diag_*`` columns: e.g. the largest real part of the
Jacobian eigenvalues, negative for a stable fixed point (Section 5 and Fig. 5 of Rawat, Heeger &
Martiniani, NeurIPS 2024; line at 0), the spectral radius of the Euler map of Eq. 134 (line at 1),
and the largest ``|y|`` along the trajectories, bounded for a stable circuit, Fig. 7). Epoch 0 is
the initial model (validation and diagnostics only). Lines carry ``gid`` labels (``"train_loss"``,
``"val_accuracy"``, ``"diag_<name>"``, ...) so tests can find them.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from matplotlib.ticker import MaxNLocator  # noqa: E402

from .portraits import save_figure  # noqa: E402

#: Reference lines of the diagnostics that have a stability boundary: name -> (value, label).
BOUNDARIES = {
    "diag_leading_eigenvalue": (0.0, "stability boundary (Re lambda = 0)"),
    "diag_euler_spectral_radius": (1.0, "stability boundary (|lambda| = 1)"),
}


def _metrics(metrics: Mapping | str | os.PathLike) -> Mapping:
    if isinstance(metrics, Mapping):
        return metrics
    path = Path(metrics)
    path = path / "metrics.json" if path.is_dir() else path
    return json.loads(path.read_text())


def _column(history: Sequence[Mapping], key: str) -> np.ndarray:
    return np.array([np.nan if row.get(key) is None else float(row[key]) for row in history])


def _label(name: str) -> str:
    return name.removeprefix("diag_").replace("_", " ")


def training_figure(metrics: Mapping | str | os.PathLike):
    """The figure of :func:`plot_training` (not saved); ``metrics`` as in ``metrics.json`` or its path."""
    metrics = _metrics(metrics)
    history = metrics["history"]
    if not history:
        raise ValueError("metrics must hold at least one epoch in 'history'")
    epochs = _column(history, "epoch")
    diagnostics = list(dict.fromkeys(k for row in history for k in row if k.startswith("diag_")))
    panels = 2 + len(diagnostics)
    columns = min(panels, 2)
    rows = math.ceil(panels / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(5.5 * columns, 3.6 * rows), squeeze=False, layout="constrained")
    flat = axes.ravel()
    for ax, quantity, ylabel in ((flat[0], "loss", "cross-entropy loss"), (flat[1], "accuracy", "accuracy")):
        for split, style in (("train", "-o"), ("val", "-s")):
            key = f"{split}_{quantity}"
            name = "train" if split == "train" else "validation"
            ax.plot(epochs, _column(history, key), style, markersize=3, label=name, gid=key)
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
    best = metrics.get("best_epoch")
    if best is not None:
        flat[1].axvline(best, color="0.5", linestyle=":", label=f"best validation (epoch {best})", gid="best_epoch")
    for ax, name in zip(flat[2:], diagnostics):
        ax.plot(epochs, _column(history, name), "-o", markersize=3, color="tab:red", label=_label(name), gid=name)
        if name in BOUNDARIES:
            value, label = BOUNDARIES[name]
            ax.axhline(value, color="k", linewidth=0.8, label=label, gid=f"{name}_boundary")
        ax.set_xlabel("epoch")
        ax.set_ylabel(_label(name))
    for ax in flat[:panels]:
        ax.legend(fontsize=8)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.ticklabel_format(axis="y", useOffset=False)
    for ax in flat[panels:]:
        ax.set_visible(False)
    status = metrics.get("status", "")
    stopped = metrics.get("stopped_at")
    title = (
        f"training ({status})"
        if not stopped
        else f"training ({status} at epoch {stopped['epoch']}, step {stopped['step']})"
    )
    fig.suptitle(title)
    return fig


def plot_training(
    metrics: Mapping | str | os.PathLike, out_dir: str | os.PathLike, formats: Sequence[str] = ("png", "pdf")
) -> list[Path]:
    """Draw loss, accuracy and the stability diagnostics against epoch; save ``out_dir/training.<fmt>``.

    ``metrics``: the content of ``metrics.json`` written by :func:`organics.nn.train.train`, the
    file's path, or the run directory. Returns the written paths.
    """
    return save_figure(training_figure(metrics), Path(out_dir) / "training", formats)
