r"""Phase-diagram figures of a stored scan (``organics scan``): maps over input norm and recurrent strength.

Every ``plot_*`` function takes the scan dataset of ONE sweep combination (see
:func:`organics.scan.analysis.iter_sweep`; sweep dims of size 1 are accepted) and returns a
:class:`~matplotlib.figure.Figure` (Agg backend, nothing shown) with x = input norm :math:`|z|`
and y = recurrent strength :math:`\Delta`, both on log axes when their grid is geometric.
Cells are drawn with ``pcolormesh`` between edges placed halfway between neighbouring grid
values (in :math:`\log_{10}` on log axes, see :func:`cell_edges`). Cells not computed are left
white and hatched, never coloured as an outcome; computed cells where a quantity is undefined
(e.g. the gap of a cell without a stable fixed point) are light grey. Overlays: the analytic
:math:`\Delta_c(|z|)` (dashed red), the measured critical :math:`\Delta` (first critically
slowed cell per input, white circles) and the measured loss of normalization
:math:`z_c(\Delta)` (red crosses).

Rate models (``model`` = ``"linear"``, ``"rate_relu"``, ...; :mod:`organics.scan.spec`) get the
same maps, titled by their model, without the ORGaNICs overlays: no analytic
:math:`\Delta_c(|z|)` (an ORGaNICs formula) and no normalization maps. Nor is the linear
network's exact boundary ``max Re eig(W_r) = 1`` drawn: in the bulk ensembles (``goe``,
``goe_symmetric``, ``ginibre``, ``dale``) it is crossed as soon as ``Delta > 0``
(:mod:`organics.scan.spec`), so the linear network's stable region is the axis ``Delta = 0``, off
the map; per trial it is the stored ``spectral_abscissa``.

:func:`plot_scan` writes every figure for every sweep combination and returns the paths.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.collections import QuadMesh
from matplotlib.colors import (
    BoundaryNorm,
    ListedColormap,
    LogNorm,
    Normalize,
)
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import LogLocator

from ..scan import analysis
from ..scan.store import scalar_records
from .portraits import save_figure

__all__ = [
    "FREQUENCY_BANDS",
    "PHASE_STYLE",
    "X_LABEL",
    "Y_LABEL",
    "cell_edges",
    "is_geometric",
    "plot_frequency_map",
    "plot_gap_map",
    "plot_normalization_maps",
    "plot_outcome_percentages",
    "plot_phase_map",
    "plot_quality_factor_map",
    "plot_scan",
]

X_LABEL = "input norm |z|"
Y_LABEL = "recurrent strength Δ"
#: (phase code, legend label, colour) of the majority-phase map, in legend order.
PHASE_STYLE: tuple[tuple[int, str, str], ...] = (
    (analysis.UNRESOLVED, "unresolved", "#bdbdbd"),
    (analysis.DIVERGING, "diverging", "#3b3b3b"),
    (analysis.STABLE, "stable fixed point", "#4c78c8"),
    (analysis.LIMIT_CYCLE, "limit cycle", "#f28e2b"),
    (analysis.SLOWING, "critically slowed", "#59a14f"),
)
#: Band edges (Hz) of the oscillation-frequency map (the notebooks' colour bands).
FREQUENCY_BANDS = (0.0, 1e-6, 4.0, 12.0, 35.0, 100.0, 150.0)

_STYLE = {
    "font.size": 11,
    "axes.titlesize": 11,
    "axes.labelsize": 11,
    "legend.fontsize": 10,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
}
_SYMBOLS = {"mu": "μ", "sigma": "σ"}
_MISSING_HATCH = {"facecolor": "white", "edgecolor": "0.65", "hatch": "///"}
_UNDEFINED_COLOR = "0.85"
_NO_FIXED_POINT = "no stable fixed point"
_SLOWED_COLOR = "red"
_SLOWED_ALPHA = 0.5
_ANALYTIC_STYLE = {"linestyle": "--", "color": "red", "linewidth": 2.0}
_MEASURED_STYLE = {
    "marker": "o",
    "linestyle": "none",
    "markersize": 6,
    "markerfacecolor": "white",
    "markeredgecolor": "black",
}
_BREAKDOWN_STYLE = {
    "marker": "x",
    "linestyle": "none",
    "markersize": 8,
    "markeredgewidth": 2.0,
    "color": "red",
}


# ------------------------------------------------------------------------- grid geometry
def is_geometric(values: Sequence[float] | np.ndarray, rtol: float = 0.05) -> bool:
    """True if all values are positive and finite and their sorted log-steps are equal within ``rtol``.

    One or two positive values count as geometric (a log axis is then as good as any).
    """
    v = np.sort(np.asarray(values, dtype=float))
    if not (np.all(np.isfinite(v)) and np.all(v > 0)):
        return False
    steps = np.diff(np.log(v))
    return steps.size < 2 or bool(np.allclose(steps, steps.mean(), rtol=rtol))


def cell_edges(values: Sequence[float] | np.ndarray) -> tuple[np.ndarray, bool]:
    """Edges of the cells centred on sorted grid ``values`` and whether the axis is logarithmic.

    On a geometric grid (:func:`is_geometric`) the edges are the geometric midpoints of
    neighbours, otherwise the arithmetic ones; the outer edges mirror the first/last inner edge.
    A single value gets a cell one decade wide (log) or ``value ± |value|/2`` (linear, ``± 0.5``
    at 0). Returns ``(edges, log)`` with ``len(edges) == len(values) + 1``.
    """
    v = np.sort(np.asarray(values, dtype=float))
    log = is_geometric(v)
    t = np.log10(v) if log else v
    if t.size == 1:
        half = 0.5 if log else (0.5 * abs(t[0]) or 0.5)
        edges = np.array([t[0] - half, t[0] + half])
    else:
        mid = 0.5 * (t[:-1] + t[1:])
        edges = np.concatenate([[2 * t[0] - mid[0]], mid, [2 * t[-1] - mid[-1]]])
    return (10.0**edges if log else edges), log


@dataclass(frozen=True)
class _Grid:
    """Cell edges and axis scales of a (delta, input_norm) map."""

    x_edges: np.ndarray
    y_edges: np.ndarray
    x_log: bool
    y_log: bool


def _grid(ds: xr.Dataset) -> _Grid:
    x_edges, x_log = cell_edges(ds["input_norm"].values)
    y_edges, y_log = cell_edges(ds["delta"].values)
    return _Grid(x_edges, y_edges, x_log, y_log)


def _prepare(ds: xr.Dataset) -> xr.Dataset:
    """One sweep combination of the per-trial records, in memory, sorted by delta and input norm.

    Accepts the lazily loaded dataset of ``open_scan``/``run_scan`` (per-neuron and per-mode
    records are dropped before loading)."""
    return scalar_records(analysis.squeeze_sweep(ds)).sortby(["delta", "input_norm"])


# ------------------------------------------------------------------------- drawing helpers
def _styled(func: Callable[..., Figure]) -> Callable[..., Figure]:
    """Create the figure under the module's font sizes (>= 10 pt at page width)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Figure:
        with plt.rc_context(_STYLE):
            return func(*args, **kwargs)

    return wrapper


def _title(ds: xr.Dataset, what: str) -> str:
    """``what`` followed by the input type, N and the sweep combination of ``ds``."""
    parts = [f"{ds.attrs['input_type']} input"] if "input_type" in ds.attrs else []
    if "n" in ds.attrs:
        parts.append(f"N = {ds.attrs['n']}")
    labels = {_SYMBOLS.get(str(k), k): v for k, v in analysis.display_labels(ds).items()}
    parts.append(analysis.format_combination(labels, sep=", ").replace("=", " = "))
    context = ", ".join(p for p in parts if p)
    return f"{what}\n{context}" if context else what


def _draw_map(ax: Axes, ds: xr.Dataset, grid: _Grid, values: xr.DataArray, **kwargs: Any) -> QuadMesh:
    """pcolormesh of ``values`` (dims delta, input_norm), labelled axes, log scales as the grid.

    Layers: cells not computed show a white hatched background, computed cells where
    ``values`` is NaN are light grey, the map (``gid="map"``) is drawn on top.
    """
    ax.add_patch(Rectangle((0, 0), 1, 1, transform=ax.transAxes, zorder=0, linewidth=0, **_MISSING_HATCH))
    computed = (analysis.computed_trials(ds) > 0).transpose("delta", "input_norm").values
    ax.pcolormesh(
        grid.x_edges,
        grid.y_edges,
        np.ma.masked_where(~computed, np.zeros(computed.shape)),
        cmap=ListedColormap([_UNDEFINED_COLOR]),
    )
    data = np.ma.masked_invalid(values.transpose("delta", "input_norm").values.astype(float))
    mesh = ax.pcolormesh(grid.x_edges, grid.y_edges, data, gid="map", **kwargs)
    ax.set_xscale("log" if grid.x_log else "linear")
    ax.set_yscale("log" if grid.y_log else "linear")
    for axis in (ax.xaxis, ax.yaxis):
        if axis.get_scale() == "log":  # minor ticks at 2 and 5 only: lighter to read and to lay out
            axis.set_minor_locator(LogLocator(subs=(2.0, 5.0)))
    ax.set_xlim(grid.x_edges[0], grid.x_edges[-1])
    ax.set_ylim(grid.y_edges[0], grid.y_edges[-1])
    ax.set_autoscale_on(False)
    ax.set_xlabel(X_LABEL)
    ax.set_ylabel(Y_LABEL)
    return mesh


def _key_handles(ds: xr.Dataset, undefined: Mapping[str, xr.DataArray] | None = None) -> list[Artist]:
    """Legend entries for hatched cells (not computed) and grey cells (computed, no value).

    ``undefined`` maps a label to a cell mask; its grey entry is shown if the mask holds for a
    computed cell.
    """
    computed = analysis.computed_trials(ds) > 0
    handles: list[Artist] = []
    if not bool(computed.all()):
        handles.append(Patch(label="not computed", **_MISSING_HATCH))
    for label, mask in (undefined or {}).items():
        if bool((computed & mask).any()):
            handles.append(Patch(facecolor=_UNDEFINED_COLOR, label=label))
    return handles


def _plot_analytic(ax: Axes, ds: xr.Dataset) -> list[Artist]:
    """Dashed red analytic Delta_c(|z|) where finite and positive (never on a rate model's map)."""
    if "critical_delta" not in ds or bool(analysis.is_rate_model(ds)):
        return []
    z = ds["input_norm"].values
    dc = ds["critical_delta"].values
    ok = np.isfinite(dc) & (dc > 0)
    if not ok.any():
        return []
    return ax.plot(z[ok], dc[ok], label=r"analytic $\Delta_c(|z|)$", **_ANALYTIC_STYLE)


def _plot_measured(ax: Axes, ds: xr.Dataset, threshold: float) -> list[Artist]:
    """Circles at the measured critical delta (first critically slowed cell) of each input."""
    measured = analysis.critical_delta_measured(ds, threshold).values
    ok = np.isfinite(measured)
    if not ok.any():
        return []
    z = ds["input_norm"].values
    return ax.plot(z[ok], measured[ok], label=r"measured critical $\Delta$", **_MEASURED_STYLE)


def _plot_breakdown(ax: Axes, ds: xr.Dataset) -> list[Artist]:
    """Red crosses at the measured loss of normalization (z_c(Delta), Delta)."""
    z_c = analysis.normalization_breakdown(ds)
    ok = np.isfinite(z_c.values)
    if not ok.any():
        return []
    delta = z_c["delta"].values
    label = r"loss of normalization $z_c(\Delta)$"
    return ax.plot(z_c.values[ok], delta[ok], label=label, **_BREAKDOWN_STYLE)


def _legend_below(fig: Figure, handles: list[Artist], max_columns: int = 3) -> None:
    """One figure legend under the axes (outside the data), if there is anything to show."""
    if handles:
        fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), max_columns))


def _single_map(
    ds: xr.Dataset,
    values: xr.DataArray,
    *,
    what: str,
    colorbar_label: str,
    overlays: Callable[[Axes], list[Artist]],
    colorbar_kwargs: Mapping[str, Any] | None = None,
    **mesh_kwargs: Any,
) -> Figure:
    """Figure with one map of ``values`` (grey where no stable fixed point), colour bar,
    ``overlays`` and a legend below."""
    fig, ax = plt.subplots(figsize=(6.8, 5.6), layout="constrained")
    mesh = _draw_map(ax, ds, _grid(ds), values, **mesh_kwargs)
    fig.colorbar(mesh, ax=ax, label=colorbar_label, **(colorbar_kwargs or {}))
    ax.set_title(_title(ds, what))
    _legend_below(fig, overlays(ax) + _key_handles(ds, {_NO_FIXED_POINT: values.isnull()}))
    return fig


# ------------------------------------------------------------------------- figures
@_styled
def plot_phase_map(
    ds: xr.Dataset,
    *,
    threshold: float = analysis.CRITICAL_SLOWING_THRESHOLD,
    merge_unresolved: bool = False,
) -> Figure:
    """Majority-vote phase of each cell (:func:`~organics.scan.analysis.majority_phase`).

    Categorical colours (:data:`PHASE_STYLE`) for unresolved, diverging, stable fixed point,
    limit cycle and critically slowed; overlays: analytic Delta_c(|z|) and the measured
    critical Delta. The legend sits to the right of the map.
    """
    ds = _prepare(ds)
    phase = analysis.majority_phase(ds, threshold=threshold, merge_unresolved=merge_unresolved)
    index = xr.full_like(phase, np.nan)
    for i, (code, _, _) in enumerate(PHASE_STYLE):
        index = index.where(phase != code, i)
    cmap = ListedColormap([color for _, _, color in PHASE_STYLE])
    norm = BoundaryNorm(np.arange(len(PHASE_STYLE) + 1) - 0.5, len(PHASE_STYLE))

    fig, ax = plt.subplots(figsize=(7.0, 4.8), layout="constrained")
    _draw_map(ax, ds, _grid(ds), index, cmap=cmap, norm=norm)
    ax.set_title(_title(ds, "Majority phase"))
    handles: list[Artist] = [Patch(facecolor=color, edgecolor="none", label=label) for _, label, color in PHASE_STYLE]
    handles += _key_handles(ds)
    handles += _plot_analytic(ax, ds) + _plot_measured(ax, ds, threshold)
    fig.legend(handles=handles, loc="outside right upper")
    return fig


@_styled
def plot_gap_map(ds: xr.Dataset, *, threshold: float = analysis.CRITICAL_SLOWING_THRESHOLD) -> Figure:
    r"""Gap :math:`\max_\text{trials}\mathrm{Re}\,\lambda^*\tau` (viridis, <= 0) with critical slowing.

    Cells with ``|gap| < threshold`` are covered in translucent red; overlays: analytic
    Delta_c(|z|) and the measured critical Delta.
    """
    ds = _prepare(ds)
    values = analysis.gap(ds)
    finite = values.values[np.isfinite(values.values)]
    vmin = float(finite.min()) if finite.size and finite.min() < 0 else -1.0
    slowed = analysis.critically_slowed(ds, threshold).transpose("delta", "input_norm")
    grid = _grid(ds)

    def overlays(ax: Axes) -> list[Artist]:
        if not bool(slowed.any()):
            return _plot_analytic(ax, ds) + _plot_measured(ax, ds, threshold)
        ax.pcolormesh(
            grid.x_edges,
            grid.y_edges,
            np.ma.masked_where(~slowed.values, np.ones(slowed.shape)),
            cmap=ListedColormap([_SLOWED_COLOR]),
            alpha=_SLOWED_ALPHA,
        )
        label = rf"$|\mathrm{{gap}}| < {threshold:g}$ (critical slowing)"
        patch = Patch(facecolor=_SLOWED_COLOR, alpha=_SLOWED_ALPHA, label=label)
        return [patch] + _plot_analytic(ax, ds) + _plot_measured(ax, ds, threshold)

    return _single_map(
        ds,
        values,
        what=r"Gap: max over trials of Re$\,\lambda^*\tau$",
        colorbar_label=r"$\max\ \mathrm{Re}\,\lambda^*\tau$",
        overlays=overlays,
        cmap="viridis",
        norm=Normalize(vmin=vmin, vmax=0.0),
    )


def _positive_log_norm(values: xr.DataArray, decades: float = 4.0) -> Normalize:
    """LogNorm over the positive finite values (at most ``decades`` wide); linear [0, 1] if none."""
    v = values.values
    positive = v[np.isfinite(v) & (v > 0)]
    if positive.size == 0:
        return Normalize(vmin=0.0, vmax=1.0)
    vmax = float(positive.max())
    return LogNorm(vmin=max(float(positive.min()), vmax * 10.0**-decades), vmax=vmax)


@_styled
def plot_normalization_maps(ds: xr.Dataset) -> Figure:
    """Mean normalization error (top, log colours) and CV of the normalization observable (bottom).

    Top: mean over stable fixed points of ``||y* - y_s0|| / ||y_s0||``. Bottom: ``|SD/mean|`` of
    ``y_first`` (delocalized) or ``y_sum`` (other inputs) over circuits, clipped to [0, 1], in
    cells where more than 99% of the trials are stable fixed points (grey elsewhere). Both
    panels show the measured loss of normalization z_c(Delta) (red crosses) and the analytic
    Delta_c(|z|). ORGaNICs only: a rate model's dataset is refused with a ``ValueError``.
    """
    ds = _prepare(ds)
    if bool(analysis.is_rate_model(ds)):
        model = analysis.model_name(ds).item()
        raise ValueError(f"normalization maps are defined for ORGaNICs models only; got model {model!r}")
    grid = _grid(ds)
    error = analysis.mean_normalization_error(ds)
    stats = analysis.normalization_statistics(ds)
    cv = stats["cv"].clip(max=1.0)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(6.8, 8.4), layout="constrained")

    mesh = _draw_map(top, ds, grid, error, cmap="viridis", norm=_positive_log_norm(error))
    fig.colorbar(mesh, ax=top, label=r"$\Vert y^* - y_{s0}\Vert\,/\,\Vert y_{s0}\Vert$")
    top.set_title(_title(ds, "Mean normalization error"))
    mesh = _draw_map(bottom, ds, grid, cv, cmap="magma", norm=Normalize(vmin=0.0, vmax=1.0))
    label = f"|SD / mean| of {stats.attrs['observable']}"
    fig.colorbar(mesh, ax=bottom, label=label, extend="max")
    bottom.set_title("Coefficient of variation across circuits")

    overlays = [_plot_breakdown(ax, ds) + _plot_analytic(ax, ds) for ax in (top, bottom)]
    undefined = {f"{_NO_FIXED_POINT} (bottom: ≤ 99 % stable)": cv.isnull()}
    _legend_below(fig, overlays[0] + _key_handles(ds, undefined), max_columns=2)  # same overlays on both
    return fig


@_styled
def plot_outcome_percentages(ds: xr.Dataset) -> Figure:
    """Percentage of computed trials per outcome, 2 x 2 panels (stable, limit cycle, unresolved, diverging).

    One colour bar (0-100 %) for all panels; the analytic Delta_c(|z|) on each panel.
    """
    ds = _prepare(ds)
    grid = _grid(ds)
    percent = 100.0 * analysis.outcome_fractions(ds)
    panels = (
        ("stable", "stable fixed point"),
        ("limit_cycle", "limit cycle"),
        ("unresolved", "unresolved"),
        ("diverging", "diverging"),
    )
    fig, axes = plt.subplots(2, 2, figsize=(7.0, 6.6), layout="constrained")
    norm = Normalize(0.0, 100.0)
    for ax, (name, title) in zip(axes.flat, panels):
        mesh = _draw_map(ax, ds, grid, percent.sel(outcome=name), cmap="viridis", norm=norm)
        ax.set_title(title)
    overlays = [_plot_analytic(ax, ds) for ax in axes.flat]
    fig.colorbar(mesh, ax=axes, label="trials (%)", shrink=0.8)
    fig.suptitle(_title(ds, "Outcome of each trial"))
    _legend_below(fig, overlays[0] + _key_handles(ds))  # same overlays on every panel
    return fig


@_styled
def plot_frequency_map(ds: xr.Dataset) -> Figure:
    """Mean oscillation frequency ``max_k |Im λ_k| / 2π`` (Hz) at stable fixed points.

    Banded colours with the edges :data:`FREQUENCY_BANDS` (the notebooks' bands; the first band
    [0, 1e-6) means no oscillation); the analytic Delta_c(|z|) on top.
    """
    ds = _prepare(ds)
    bands = np.asarray(FREQUENCY_BANDS)
    cmap = plt.get_cmap("viridis")
    return _single_map(
        ds,
        analysis.mean_frequency(ds),
        what="Oscillation frequency at the fixed point",
        colorbar_label="mean frequency (Hz)",
        overlays=lambda ax: _plot_analytic(ax, ds),
        colorbar_kwargs={"ticks": bands, "format": "{x:g}"},
        cmap=cmap,
        norm=BoundaryNorm(bands, cmap.N, extend="max"),
    )


@_styled
def plot_quality_factor_map(ds: xr.Dataset, *, vmin: float = 0.01) -> Figure:
    """Mean quality factor ``|λ| / (2|Re λ|)`` of the most oscillatory mode at stable fixed points.

    Logarithmic colours from ``vmin`` (0.01, as the notebooks) to the largest value; the
    analytic Delta_c(|z|) on top.
    """
    ds = _prepare(ds)
    values = analysis.mean_quality_factor(ds)
    finite = values.values[np.isfinite(values.values)]
    vmax = max(float(finite.max()) if finite.size else 1.0, 10.0 * vmin)
    return _single_map(
        ds,
        values,
        what="Quality factor of the most oscillatory mode",
        colorbar_label="mean quality factor",
        overlays=lambda ax: _plot_analytic(ax, ds),
        cmap="plasma",
        norm=LogNorm(vmin=vmin, vmax=vmax),
    )


def _file_suffix(labels: Mapping[Hashable, Any]) -> str:
    """``{"mu": -0.5}`` -> ``"_mu=-0.5"``; characters unsafe in file names become ``_``."""
    if not labels:
        return ""
    text = analysis.format_combination(labels, sep="_")
    return "_" + re.sub(r"[^A-Za-z0-9=.+_-]", "_", text)


def plot_scan(
    ds: xr.Dataset,
    out_dir: str | Path,
    formats: Sequence[str] = ("png", "pdf"),
    *,
    threshold: float = analysis.CRITICAL_SLOWING_THRESHOLD,
) -> list[Path]:
    """Write every phase-diagram figure of every sweep combination to ``out_dir``; return the paths.

    Files are ``<figure><combination>.<format>`` with figure in ``phase_map``, ``gap_map``,
    ``normalization_maps``, ``outcome_percentages``, ``frequency_map``, ``quality_factor_map``
    and combination e.g. ``_mu=-0.5_model=main`` (empty without sweep dims). Rate models get
    every figure but ``normalization_maps``.
    """
    figures: dict[str, Callable[[xr.Dataset], Figure]] = {
        "phase_map": functools.partial(plot_phase_map, threshold=threshold),
        "gap_map": functools.partial(plot_gap_map, threshold=threshold),
        "normalization_maps": plot_normalization_maps,
        "outcome_percentages": plot_outcome_percentages,
        "frequency_map": plot_frequency_map,
        "quality_factor_map": plot_quality_factor_map,
    }
    out = Path(out_dir)
    paths: list[Path] = []
    ds = scalar_records(ds)  # load a lazily opened store once, not once per figure
    for labels, sub in analysis.iter_sweep(ds):
        suffix = _file_suffix(labels)
        for name, plot in figures.items():
            if name == "normalization_maps" and bool(analysis.is_rate_model(sub)):
                continue
            paths += save_figure(plot(sub), out / f"{name}{suffix}", formats)
    return paths
