r"""Training curves of :func:`organics.nn.train.train`: loss, accuracy and stability diagnostics per epoch.

One figure, ``training.<fmt>``: cross-entropy loss (train and validation), accuracy (train,
validation, and the best validation epoch marked), then one panel per stability diagnostic
recorded on the fixed test batch (the ``diag_*`` columns: e.g. the largest real part of the
Jacobian eigenvalues, negative for a stable fixed point (Section 5 and Fig. 5 of Rawat, Heeger &
Martiniani, NeurIPS 2024; line at 0), the spectral radius of the discrete step of Eq. 134 (line at 1),
and the largest ``|y|`` along the trajectories, bounded for a stable circuit, Fig. 7). Epoch 0 is
the initial model (validation and diagnostics only). A diagnostic recorded per layer
(``diag_<name>_layer<i>``, e.g. the leading eigenvalue of each layer of a multi-layer fixed-point
classifier) is drawn as one line per layer in the panel of ``diag_<name>`` (:func:`plot_diagnostic`,
also used for Fig. 6 by ``examples/fig5_fig6_trained_fixed_point_eigenvalues.py``). Lines carry
``gid`` labels (``"train_loss"``, ``"val_accuracy"``, ``"diag_<name>"``, ``"diag_<name>_layer<i>"``,
...) so tests can find them.
"""

from __future__ import annotations

import json
import math
import os
import re
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
    "diag_step_spectral_radius": (1.0, "stability boundary (|lambda| = 1)"),
    "diag_euler_spectral_radius": (1.0, "stability boundary (|lambda| = 1)"),  # name in older metrics files
}
_PER_LAYER = re.compile(r"^(?P<name>diag_.+)_layer(?P<layer>[0-9]+)$")


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


def diagnostic_panels(history: Sequence[Mapping]) -> dict[str, list[str]]:
    """The ``diag_*`` columns of ``history`` grouped by panel: ``diag_<name>`` -> the columns drawn in it.

    A panel holds ``diag_<name>_layer1, diag_<name>_layer2, ...`` (in layer order) when the diagnostic
    was recorded per layer, else ``diag_<name>`` alone.
    """
    columns = list(dict.fromkeys(k for row in history for k in row if k.startswith("diag_")))
    layers: dict[str, list[tuple[int, str]]] = {}
    for column in columns:
        match = _PER_LAYER.match(column)
        if match:
            layers.setdefault(match["name"], []).append((int(match["layer"]), column))
    panels: dict[str, list[str]] = {}
    for column in columns:
        match = _PER_LAYER.match(column)
        name = match["name"] if match else column
        if name not in panels:
            panels[name] = [c for _, c in sorted(layers[name])] if name in layers else [column]
    return panels


def plot_diagnostic(
    ax,
    metrics: Mapping | str | os.PathLike,
    name: str,
    *,
    scale: float = 1.0,
    ylabel: str | None = None,
    boundary: bool = True,
) -> list:
    """Draw the diagnostic ``name`` (e.g. ``"diag_leading_eigenvalue"``) of a training run against epoch.

    One line per layer if the run recorded ``<name>_layer<i>`` columns, else one line; values are
    multiplied by ``scale`` (e.g. ``1 / tau`` to turn eigenvalues in units of ``1/tau`` into ``1/ms``).
    With ``boundary`` the stability boundary of :data:`BOUNDARIES` is drawn (times ``scale``).
    ``metrics`` as in :func:`plot_training`. Returns the drawn lines (``gid`` = column name).
    """
    history = _metrics(metrics)["history"]
    panels = diagnostic_panels(history)
    if name not in panels:
        raise ValueError(f"name must be one of the recorded diagnostics {sorted(panels)}; got {name!r}")
    epochs = _column(history, "epoch")
    columns = panels[name]
    colors = plt.get_cmap("tab10")
    lines = []
    for i, column in enumerate(columns):
        match = _PER_LAYER.match(column)
        label = f"layer {match['layer']}" if match else _label(name)
        color = colors(i % 10) if match else "tab:red"
        lines += ax.plot(epochs, scale * _column(history, column), "-o", markersize=3, color=color, label=label,
                         gid=column)  # fmt: skip
    if boundary and name in BOUNDARIES:
        value, label = BOUNDARIES[name]
        ax.axhline(scale * value, color="k", linewidth=0.8, label=label, gid=f"{name}_boundary")
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel if ylabel is not None else _label(name))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return lines


def training_figure(metrics: Mapping | str | os.PathLike):
    """The figure of :func:`plot_training` (not saved); ``metrics`` as in ``metrics.json`` or its path."""
    metrics = _metrics(metrics)
    history = metrics["history"]
    if not history:
        raise ValueError("metrics must hold at least one epoch in 'history'")
    epochs = _column(history, "epoch")
    diagnostics = list(diagnostic_panels(history))
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
        plot_diagnostic(ax, metrics, name)
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
