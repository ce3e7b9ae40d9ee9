r"""Bifurcation diagrams of one-parameter sweeps (lecture notes on recurrent networks, E-I example).

For a branch followed with :func:`organics.bifurcation.follow_fixed_point` and its crossings
(:func:`organics.bifurcation.locate_crossing`):

* :func:`plot_eigenvalues` -- (a) ``Re lambda`` and (b) ``Im lambda`` (1/s) of every Jacobian
  eigenvalue against the parameter, the crossing marked (``Re lambda* = 0``; at a Hopf point
  ``lambda* = +- i omega``, frequency ``omega/(2 pi)`` Hz);
* :func:`plot_amplitudes` -- (c) the oscillation amplitudes of
  :func:`organics.bifurcation.sweep_oscillations` against the parameter;
* :func:`plot_time_courses` -- (d) the simulated time courses at chosen parameter values;
* :func:`bifurcation_figure` -- the four panels together.

Parameters are stored in SI units (seconds for time constants); ``scale`` and ``unit`` only
change the axis (``scale = 1e3``, ``unit = "ms"`` for a time constant). Matplotlib with the Agg
backend; figures are returned, never shown.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from ..bifurcation import Branch, Crossing, OscillationSweep  # noqa: E402

__all__ = [
    "plot_eigenvalues",
    "plot_amplitudes",
    "plot_time_courses",
    "bifurcation_figure",
]


def _mark_crossings(ax: Axes, crossings: Sequence[Crossing], scale: float, label: bool) -> None:
    for k, crossing in enumerate(crossings):
        kind = "Hopf" if crossing.hopf else "real crossing"
        ax.axvline(
            crossing.parameter * scale,
            color="tab:red",
            ls="--",
            lw=1.0,
            label=kind if label and k == 0 else None,
            gid="crossing",
        )


def plot_eigenvalues(
    branch: Branch,
    crossings: Sequence[Crossing] = (),
    axes: tuple[Axes, Axes] | None = None,
    *,
    parameter_label: str = "parameter",
    scale: float = 1.0,
) -> tuple[Axes, Axes]:
    r"""(a) ``Re lambda_i`` and (b) ``Im lambda_i`` (1/s) of the Jacobian along ``branch``.

    Every eigenvalue is drawn (thin lines, converged points only); the leading one ``lambda*``
    is thick. The zero line and each crossing (dashed red) are marked; at a Hopf point panel
    (b) shows ``+- omega`` and the frequency ``omega/(2 pi)`` in Hz. Returns the two axes.
    """
    if axes is None:
        _, axes = plt.subplots(2, 1, figsize=(6, 6), sharex=True, layout="constrained")
    ax_re, ax_im = axes
    x = branch.values * scale
    ok = branch.converged
    values = np.where(ok[:, None], branch.eigenvalues, np.nan)
    for i in range(values.shape[1]):
        ax_re.plot(x, values[:, i].real, color="0.6", lw=0.8, gid="eigenvalue")
        ax_im.plot(x, values[:, i].imag, color="0.6", lw=0.8, gid="eigenvalue")
    leading = np.where(ok, branch.leading, np.nan)
    ax_re.plot(x, leading.real, color="k", lw=2.0, label=r"leading $\lambda^*$", gid="leading")
    ax_im.plot(x, leading.imag, color="k", lw=2.0, label=r"$\mathrm{Im}\,\lambda^*$", gid="leading")
    ax_im.plot(x, -leading.imag, color="k", lw=2.0, ls=":", label=r"$-\mathrm{Im}\,\lambda^*$")
    ax_re.axhline(0.0, color="0.3", lw=0.8)
    ax_im.axhline(0.0, color="0.3", lw=0.8)
    _mark_crossings(ax_re, crossings, scale, label=True)
    _mark_crossings(ax_im, crossings, scale, label=False)
    for crossing in crossings:
        if crossing.hopf:
            omega = crossing.eigenvalue.imag
            ax_im.plot([crossing.parameter * scale] * 2, [omega, -omega], "o", color="tab:red", ms=6, gid="hopf")
            ax_im.annotate(
                f"ω = {omega:.4g} 1/s\n({crossing.frequency:.4g} Hz)",
                (crossing.parameter * scale, omega),
                xytext=(8, 8),
                textcoords="offset points",
                fontsize=9,
                color="tab:red",
            )
    ax_re.set_ylabel(r"Re $\lambda$ (1/s)")
    ax_im.set_ylabel(r"Im $\lambda$ (1/s)")
    ax_im.set_xlabel(parameter_label)
    ax_re.set_title("(a) growth rate of the modes", loc="left", fontsize=10)
    ax_im.set_title("(b) angular frequency of the modes", loc="left", fontsize=10)
    ax_re.legend(fontsize=9, loc="best")
    ax_im.legend(fontsize=9, loc="best")
    for ax in axes:
        ax.grid(alpha=0.3)
    return ax_re, ax_im


def plot_amplitudes(
    sweep: OscillationSweep,
    branch: Branch,
    crossings: Sequence[Crossing] = (),
    ax: Axes | None = None,
    *,
    parameter_label: str = "parameter",
    scale: float = 1.0,
    component_names: Sequence[str] | None = None,
    unit: str = "",
) -> Axes:
    r"""(c) Peak-to-peak amplitude of each state component over the final window, log scale.

    Filled markers where the fixed point is linearly stable (``Re lambda* < 0``: what is left of
    the damped oscillation), open where it is unstable (the limit cycle). ``unit`` labels the
    state (e.g. ``"Hz"``).
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5), layout="constrained")
    x = sweep.values * scale
    d = sweep.amplitude.shape[1]
    names = list(component_names) if component_names is not None else [f"$x_{{{i}}}$" for i in range(d)]
    floor = sweep.resolution
    stable = branch.stable
    for i in range(d):
        amplitude = np.where(sweep.amplitude[:, i] > floor, sweep.amplitude[:, i], np.nan)
        (line,) = ax.plot(x, amplitude, lw=1.0, label=names[i], gid="amplitude")
        ax.plot(x[stable], amplitude[stable], "o", color=line.get_color(), ms=4)
        ax.plot(x[~stable], amplitude[~stable], "o", mfc="none", color=line.get_color(), ms=5)
    ax.plot([], [], "o", color="0.3", ms=4, label="stable fixed point (damped)")
    ax.plot([], [], "o", mfc="none", color="0.3", ms=5, label="unstable (limit cycle)")
    ax.axhline(floor, color="0.4", ls=":", lw=1.0, label="solver resolution (not drawn below)")
    _mark_crossings(ax, crossings, scale, label=False)
    ax.set_yscale("log")
    ax.set_xlabel(parameter_label)
    suffix = f" ({unit})" if unit else ""
    ax.set_ylabel(f"peak-to-peak{suffix}")
    duration = sweep.ts[-1] - sweep.ts[0]
    ax.set_title(
        f"(c) oscillation amplitude over the last {1e3 * sweep.window:.0f} ms of {duration:.3g} s",
        loc="left",
        fontsize=10,
    )
    if not np.any(sweep.amplitude > floor):
        ax.text(0.5, 0.6, "every oscillation decayed below the solver resolution", transform=ax.transAxes,
                ha="center", fontsize=9)  # fmt: skip
    ax.set_xlim(*_padded(x))
    ax.legend(fontsize=8, loc="best")
    ax.grid(alpha=0.3)
    return ax


def plot_time_courses(
    sweep: OscillationSweep,
    indices: Sequence[int],
    axes: Sequence[Axes] | None = None,
    *,
    component_names: Sequence[str] | None = None,
    parameter_name: str = "p",
    scale: float = 1.0,
    unit: str = "",
    parameter_unit: str = "",
) -> list[Axes]:
    """(d) Time courses of every state component (time in ms), one axes per sweep index in ``indices``."""
    if axes is None:
        _, axes = plt.subplots(len(indices), 1, figsize=(6, 2.2 * len(indices)), sharex=True, layout="constrained")
        axes = np.atleast_1d(axes)
    if len(axes) != len(indices):
        raise ValueError(f"need one axes per index; got {len(axes)} axes for {len(indices)} indices")
    ts_ms = 1e3 * sweep.ts
    d = sweep.states.shape[2]
    names = list(component_names) if component_names is not None else [f"$x_{{{i}}}$" for i in range(d)]
    suffix = f" ({unit})" if unit else ""
    for ax, index in zip(axes, indices):
        for i in range(d):
            ax.plot(ts_ms, sweep.states[index, :, i], lw=1.0, label=names[i], gid="time_course")
        value = sweep.values[index] * scale
        ax.set_title(f"{parameter_name} = {value:.4g} {parameter_unit}".rstrip(), loc="right", fontsize=9)
        ax.set_ylabel(f"state{suffix}")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8, loc="upper left", ncol=d)
    axes[-1].set_xlabel("time (ms)")
    return list(axes)


def bifurcation_figure(
    branch: Branch,
    crossings: Sequence[Crossing] = (),
    sweep: OscillationSweep | None = None,
    *,
    parameter_name: str = "p",
    parameter_unit: str = "",
    scale: float = 1.0,
    component_names: Sequence[str] | None = None,
    state_unit: str = "",
    title: str | None = None,
    examples: Sequence[int] | None = None,
) -> Figure:
    r"""Panels (a) ``Re lambda``, (b) ``Im lambda``, and with ``sweep`` (c) amplitudes and (d) time courses.

    ``examples``: sweep indices drawn in (d); default the values halfway between the ends of
    the sweep and the first crossing (or the two ends when there is none).
    """
    label = f"{parameter_name} ({parameter_unit})" if parameter_unit else parameter_name
    if sweep is None:
        fig, axes = plt.subplots(2, 1, figsize=(7, 6.5), sharex=True, layout="constrained")
        plot_eigenvalues(branch, crossings, tuple(axes), parameter_label=label, scale=scale)
    else:
        fig = plt.figure(figsize=(13, 8), layout="constrained")
        grid = fig.add_gridspec(2, 2)
        ax_re = fig.add_subplot(grid[0, 0])
        ax_im = fig.add_subplot(grid[1, 0], sharex=ax_re)
        plot_eigenvalues(branch, crossings, (ax_re, ax_im), parameter_label=label, scale=scale)
        plot_amplitudes(
            sweep,
            branch,
            crossings,
            fig.add_subplot(grid[0, 1]),
            parameter_label=label,
            scale=scale,
            component_names=component_names,
            unit=state_unit,
        )
        if examples is None:
            examples = _default_examples(branch.values, crossings)
        inner = grid[1, 1].subgridspec(len(examples), 1)
        first = fig.add_subplot(inner[0])
        course_axes = [first] + [fig.add_subplot(inner[k], sharex=first) for k in range(1, len(examples))]
        plot_time_courses(
            sweep,
            examples,
            course_axes,
            component_names=component_names,
            parameter_name=parameter_name,
            scale=scale,
            unit=state_unit,
            parameter_unit=parameter_unit,
        )
        course_axes[0].set_title("(d) time courses from the kicked fixed point", loc="left", fontsize=10)
    if title is not None:
        fig.suptitle(title)
    return fig


def _padded(x: np.ndarray) -> tuple[float, float]:
    span = float(x[-1] - x[0])
    return float(x[0]) - 0.05 * span, float(x[-1]) + 0.05 * span


def _default_examples(values: np.ndarray, crossings: Sequence[Crossing]) -> list[int]:
    if not crossings:
        return [0, len(values) - 1]
    critical = crossings[0].parameter
    targets = (0.5 * (values[0] + critical), 0.5 * (critical + values[-1]))
    return sorted({int(np.argmin(np.abs(values - t))) for t in targets})
