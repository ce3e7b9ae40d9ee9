r"""Phase portraits of two-dimensional circuits and portraits/time courses of N-dimensional ones.

Every function takes a model (any object with ``vector_field(t, x, args)``) and/or a
:class:`organics.simulate.Trajectory`, draws on a Matplotlib axis (Agg backend, never shown)
and returns the :class:`~matplotlib.figure.Figure`.

* :func:`phase_portrait` — 2-D models (ORGaNICs with ``n = 1``, the E–I
  :class:`~organics.models.rate.RateNetwork` of :func:`~organics.models.rate.dayan_abbott_ei`,
  any model with a 2-D state): vector field (streamlines, or normalized arrows), both nullclines
  (zero contours of each component of the vector field), fixed points coloured by stability
  (red star stable, black star unstable, as in Figs. 1–3 of Rawat, Heeger & Martiniani,
  NeurIPS 2024) and sample trajectories computed with :func:`organics.simulate.simulate`.
  The ORGaNICs fixed points come from :func:`organics.two_dimensional.two_d_fixed_points`
  (every root of the quartic Eq. 79, exact); for other models they are found by root-finding
  from a grid of starts (:func:`find_fixed_points_2d`).
* :func:`neuron_portrait` — ``(y_i(t), a_i(t))`` of chosen neurons of an N-dimensional circuit
  (by default the slowest to settle).
* :func:`time_courses` — ``y_i(t)`` and ``||y(t)||`` against time in ms.

Artists carry ``gid`` labels so that callers and tests can find them: ``"fixed_point"`` (one
``Line2D`` per fixed point, ``"stable"``/``"unstable"`` in its label), ``"nullcline_0"`` and
``"nullcline_1"`` (contour sets), ``"trajectory"`` (lines).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")

import equinox as eqx  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

STABLE_STYLE = dict(marker="*", color="red", markersize=16, markeredgecolor="darkred", linestyle="none")
UNSTABLE_STYLE = dict(marker="*", color="black", markersize=16, markeredgecolor="white", linestyle="none")
NULLCLINE_COLORS = ("tab:blue", "tab:orange")


@dataclass(frozen=True)
class PortraitFixedPoint:
    """A fixed point drawn on a phase portrait: flat ``state`` (length 2), ``stable``, ``eigenvalues`` (1/s)."""

    state: np.ndarray
    stable: bool
    eigenvalues: np.ndarray


# --------------------------------------------------------------------------------- helpers
def _state_size(model) -> int:
    size = getattr(model, "state_size", None)
    if size is None:
        raise ValueError(f"{type(model).__name__} has no state_size; phase portraits need a model with a 2-D state")
    return int(size)


def _require_2d(model) -> None:
    size = _state_size(model)
    if size != 2:
        raise ValueError(
            f"phase_portrait needs a two-dimensional model (state_size 2); got {type(model).__name__} "
            f"with state_size {size} (use neuron_portrait for N-dimensional circuits)"
        )


def _is_organics(model) -> bool:
    from ..models.organics import ORGaNICs

    return isinstance(model, ORGaNICs)


def _is_rate(model) -> bool:
    from ..models.rate import _RateModel

    return isinstance(model, _RateModel)


def axis_labels(model) -> tuple[str, str]:
    """Axis labels (with units) of the two state components of a 2-D model."""
    if _is_organics(model):
        return ("principal neuron $y$ (dimensionless potential)", "normalization neuron $a$ (dimensionless potential)")
    if _is_rate(model):
        return ("$v_E$ (Hz)", "$v_I$ (Hz)")
    return ("$x_1$", "$x_2$")


def _organics_2d_parameters(model) -> dict | None:
    """Parameters for :func:`two_d_fixed_points` when ``model`` is a 2-D ORGaNICs it covers, else None."""
    if not _is_organics(model) or model.n != 1 or model.time_varying or model.a_plus is not None or model.p != 2.0:
        return None
    w_r = float(model.W_r[0, 0])
    variant = model.variant
    if variant == "rectified_recurrence":
        if w_r < 0:
            return None
        variant = "rectified"  # [w_r y]+ = w_r [y]+ for w_r >= 0
    return dict(
        w_r=w_r,
        w=float(model.W[0, 0]),
        b=float(model.b[0]),
        z=float(model.drive()[0]),
        b0=float(model.b0[0]),
        sigma=float(model.sigma[0]),
        tau_y=float(model.tau_y[0]),
        tau_a=float(model.tau_a[0]),
        variant=variant,
    )


@eqx.filter_jit
def _field_on_points(model, points):
    return jax.vmap(lambda x: model.vector_field(0.0, x))(points)


def vector_field_grid(model, xlim, ylim, grid: int = 40) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(X, Y, U, V)``: the vector field (1/s) of a 2-D model at ``t = 0`` on a ``grid x grid`` mesh."""
    xs = np.linspace(*xlim, grid)
    ys = np.linspace(*ylim, grid)
    X, Y = np.meshgrid(xs, ys)
    points = jnp.asarray(np.stack([X.ravel(), Y.ravel()], axis=1))
    F = np.asarray(_field_on_points(model, points))
    return X, Y, F[:, 0].reshape(X.shape), F[:, 1].reshape(X.shape)


def find_fixed_points_2d(model, xlim, ylim, *, grid: int = 8, tol: float = 1e-9) -> list[PortraitFixedPoint]:
    """Fixed points of a 2-D model in (a 10 % margin around) ``xlim x ylim`` by root-finding.

    ``scipy.optimize.root`` (hybrid Powell, Jacobian by forward-mode autodiff) on the
    steady-state residual ``tau * f(x)`` from every node of a ``grid x grid`` mesh; converged
    roots with ``|tau f| <= tol max(1, |x|)`` are kept once (deduplicated at
    ``1e-6 max(1, |x|)``). Stability: every eigenvalue of the Jacobian ``df/dx`` has a negative
    real part. Sorted by the first component.
    """
    from scipy.optimize import root

    from ..stability import jacobian

    _require_2d(model)
    tau = np.asarray(model.time_constants(), dtype=float) if hasattr(model, "time_constants") else np.ones(2)
    f = eqx.filter_jit(lambda m, x: m.vector_field(0.0, x))
    jac = eqx.filter_jit(lambda m, x: jacobian(m, x))

    def fun(x):
        return tau * np.asarray(f(model, jnp.asarray(x)))

    def fun_jac(x):
        return tau[:, None] * np.asarray(jac(model, jnp.asarray(x)))

    dx, dy = xlim[1] - xlim[0], ylim[1] - ylim[0]
    lo = np.array([xlim[0] - 0.1 * dx, ylim[0] - 0.1 * dy])
    hi = np.array([xlim[1] + 0.1 * dx, ylim[1] + 0.1 * dy])
    found: list[PortraitFixedPoint] = []
    for x0 in np.stack(np.meshgrid(np.linspace(*xlim, grid), np.linspace(*ylim, grid)), -1).reshape(-1, 2):
        sol = root(fun, x0, jac=fun_jac, method="hybr")
        x = np.asarray(sol.x, dtype=float)
        if not np.all(np.isfinite(x)) or np.any(x < lo) or np.any(x > hi):
            continue
        scale = max(1.0, float(np.max(np.abs(x))))
        if np.max(np.abs(fun(x))) > tol * scale:
            continue
        if any(np.max(np.abs(fp.state - x)) <= 1e-6 * scale for fp in found):
            continue
        eigs = np.linalg.eigvals(np.asarray(jac(model, jnp.asarray(x))))
        found.append(PortraitFixedPoint(state=x, stable=bool(np.all(eigs.real < 0)), eigenvalues=eigs))
    return sorted(found, key=lambda fp: tuple(fp.state))


def fixed_points_2d(model, xlim=None, ylim=None, *, grid: int = 8) -> list[PortraitFixedPoint]:
    """Fixed points of a 2-D model: exact (:func:`two_d_fixed_points`) for ORGaNICs with ``n = 1``,
    root-finding (:func:`find_fixed_points_2d`, needs ``xlim`` and ``ylim``) otherwise."""
    params = _organics_2d_parameters(model)
    if params is not None:
        from ..two_dimensional import two_d_fixed_points

        return [
            PortraitFixedPoint(state=fp.state, stable=bool(fp.stable), eigenvalues=np.asarray(fp.eigenvalues))
            for fp in two_d_fixed_points(**params)
        ]
    if xlim is None or ylim is None:
        raise ValueError(
            f"xlim and ylim are required to search the fixed points of {type(model).__name__} "
            "(root-finding from a grid over that window)"
        )
    return find_fixed_points_2d(model, xlim, ylim, grid=grid)


def _default_limits(model, fixed_points: list[PortraitFixedPoint]) -> tuple[tuple[float, float], tuple[float, float]]:
    if _is_organics(model):
        z = float(model.drive()[0]) * float(model.b[0])
        y_abs = max([abs(fp.state[0]) for fp in fixed_points] + [abs(z), 0.5])
        a_max = max([fp.state[1] for fp in fixed_points] + [0.1])
        a_top = max(1.5 * a_max, 0.3)
        return (-1.25 * y_abs, 1.25 * y_abs), (-0.03 * a_top, a_top)
    if not fixed_points:
        raise ValueError(f"xlim and ylim are required for {type(model).__name__}")
    pts = np.stack([fp.state for fp in fixed_points])
    center = pts.mean(0)
    half = np.maximum(np.ptp(pts, 0), np.maximum(1.25 * np.abs(center), 1.0))
    return (center[0] - half[0], center[0] + half[0]), (center[1] - half[1], center[1] + half[1])


def _check_limits(name: str, lim) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in lim)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be a pair (low, high) of numbers; got {lim!r}") from error
    if not (np.isfinite(lo) and np.isfinite(hi) and hi > lo):
        raise ValueError(f"{name} must be finite with high > low; got {lim!r}")
    return lo, hi


# --------------------------------------------------------------------------------- 2-D portrait
def phase_portrait(
    model,
    ax=None,
    *,
    xlim: Sequence[float] | None = None,
    ylim: Sequence[float] | None = None,
    grid: int = 40,
    field: str = "stream",
    density: float = 1.1,
    nullcline_grid: int = 300,
    trajectories: Sequence[Sequence[float]] | None = None,
    n_trajectories: int = 6,
    t1: float | None = None,
    seed: int = 0,
    fixed_points: list[PortraitFixedPoint] | None = None,
    title: str | None = None,
    legend: bool | str = True,
):
    r"""Phase portrait of a two-dimensional model; returns the Figure.

    Parameters
    ----------
    model:
        Model with a 2-D state and ``vector_field(t, x, args)`` (evaluated at ``t = 0``).
    ax:
        Axis to draw on (default: a new 5.5 x 4.5 in figure).
    xlim, ylim:
        Window ``(low, high)`` in state units. Default for ORGaNICs: around the fixed points and
        ``b z``; required for other models.
    grid:
        Mesh size of the vector field. ``field="stream"`` draws streamlines, ``"quiver"`` arrows
        normalized to unit length (the direction only). ``density`` is the streamline density.
    nullcline_grid:
        Mesh size of the nullcline contours ``f_1 = 0`` and ``f_2 = 0``.
    trajectories:
        Initial states of sample trajectories; default ``n_trajectories`` starts drawn uniformly
        (seeded by ``seed``) in the window. Each is integrated with :func:`simulate` to ``t1``
        seconds (default ``40 * max(tau)``).
    fixed_points:
        Precomputed fixed points (default :func:`fixed_points_2d`).
    legend:
        ``True`` (inside, best place), ``"outside"`` (right of the axis) or ``False`` (the
        handles are left in ``ax.portrait_legend_handles`` for a figure-level legend).
    """
    from ..simulate import simulate

    _require_2d(model)
    if field not in ("stream", "quiver"):
        raise ValueError(f"field must be 'stream' or 'quiver'; got {field!r}")
    if not isinstance(grid, int) or grid < 4:
        raise ValueError(f"grid must be an integer >= 4; got {grid!r}")
    if fixed_points is None:
        fixed_points = fixed_points_2d(
            model,
            None if xlim is None else _check_limits("xlim", xlim),
            None if ylim is None else _check_limits("ylim", ylim),
        )
    if xlim is None or ylim is None:
        dx, dy = _default_limits(model, fixed_points)
        xlim = dx if xlim is None else xlim
        ylim = dy if ylim is None else ylim
    xlim, ylim = _check_limits("xlim", xlim), _check_limits("ylim", ylim)

    if ax is None:
        fig, ax = plt.subplots(figsize=(5.5, 4.5), layout="constrained")
    else:
        fig = ax.figure

    # vector field
    X, Y, U, V = vector_field_grid(model, xlim, ylim, grid)
    sx, sy = xlim[1] - xlim[0], ylim[1] - ylim[0]
    if field == "stream":
        ax.streamplot(X, Y, U, V, color="0.72", density=density, linewidth=0.7, arrowsize=0.9, zorder=1)
    else:
        speed = np.hypot(U / sx, V / sy)
        speed = np.where(speed > 0, speed, 1.0)
        ax.quiver(X, Y, U / sx / speed * sx, V / sy / speed * sy, color="0.6", angles="xy", pivot="mid", zorder=1)

    # nullclines
    Xn, Yn, Un, Vn = vector_field_grid(model, xlim, ylim, nullcline_grid)
    names = _component_names(model)
    handles = []
    for k, (comp, color) in enumerate(zip((Un, Vn), NULLCLINE_COLORS)):
        if np.nanmin(comp) < 0 < np.nanmax(comp):
            cs = ax.contour(Xn, Yn, comp, levels=[0.0], colors=[color], linewidths=2.0, zorder=2)
            cs.set_gid(f"nullcline_{k}")
        handles.append(Line2D([], [], color=color, linewidth=2.0, label=f"{names[k]}-nullcline (d{names[k]}/dt = 0)"))

    # trajectories
    tau = np.asarray(model.time_constants(), dtype=float) if hasattr(model, "time_constants") else np.ones(2)
    t_end = 40.0 * float(np.max(tau)) if t1 is None else float(t1)
    if trajectories is None:
        rng = np.random.default_rng(seed)
        low = max(ylim[0], 0.02 * ylim[1]) if _is_organics(model) and ylim[1] > 0 else ylim[0]  # a > 0 is invariant
        starts = np.column_stack([rng.uniform(*xlim, n_trajectories), rng.uniform(low, ylim[1], n_trajectories)])
    else:
        starts = np.asarray(trajectories, dtype=float).reshape(-1, 2)
    cmap = plt.get_cmap("viridis")
    for i, x0 in enumerate(starts):
        traj = simulate(model, x0, t_end, n_save=800)
        states = np.asarray(traj.states)
        color = cmap(0.15 + 0.7 * i / max(1, len(starts) - 1))
        ax.plot(states[:, 0], states[:, 1], color=color, linewidth=1.3, gid="trajectory", zorder=3)
        ax.plot(x0[0], x0[1], "o", color=color, markersize=4, zorder=3)
    if len(starts):
        handles.append(Line2D([], [], color=cmap(0.5), linewidth=1.3, marker="o", markersize=4,
                              label="trajectories (o = start)"))

    # fixed points
    for fp in fixed_points:
        style = STABLE_STYLE if fp.stable else UNSTABLE_STYLE
        ax.plot(fp.state[0], fp.state[1], zorder=5, gid="fixed_point",
                label=f"{'stable' if fp.stable else 'unstable'} fixed point", **style)
    if any(fp.stable for fp in fixed_points):
        handles.append(Line2D([], [], label="stable fixed point", **STABLE_STYLE))
    if any(not fp.stable for fp in fixed_points):
        handles.append(Line2D([], [], label="unstable fixed point", **UNSTABLE_STYLE))

    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.portrait_legend_handles = handles  # for a figure-level legend (see examples)
    xlabel, ylabel = axis_labels(model)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title is not None:
        ax.set_title(title)
    if legend == "outside":
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize="small", borderaxespad=0)
    elif legend:
        ax.legend(handles=handles, loc="best", fontsize="small", framealpha=0.85)
    return fig


def _component_names(model) -> tuple[str, str]:
    if _is_organics(model):
        return ("y", "a")
    if _is_rate(model):
        return ("$v_E$", "$v_I$")
    return ("$x_1$", "$x_2$")


# --------------------------------------------------------------------------------- N-D circuits
def _split_y_a(model, states: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """``(y, a)`` of an ORGaNICs-like model (``a`` None for rate models: ``y`` is then ``v``)."""
    parts = model.split_state(states) if model is not None else (states[..., : states.shape[-1] // 2],
                                                                  states[..., states.shape[-1] // 2:])
    parts = [np.asarray(p) for p in parts]
    return parts[0], (parts[1] if len(parts) > 1 else None)


def settling_times(trajectory, rtol: float = 1e-3) -> np.ndarray:
    """Per state component: the last save time at which it is farther than
    ``rtol * max(1e-12, range)`` from its final value (s); the component's slowness."""
    ts = np.asarray(trajectory.ts)
    X = np.asarray(trajectory.states)
    ok = np.all(np.isfinite(X), axis=1)
    ts, X = ts[ok], X[ok]
    dist = np.abs(X - X[-1])
    scale = np.maximum(np.ptp(X, axis=0), 1e-12)
    far = dist > rtol * scale
    last = np.where(far.any(0), len(ts) - 1 - np.argmax(far[::-1], axis=0), 0)
    return ts[last]


def select_neurons(model, trajectory, neurons=None, k: int = 4) -> np.ndarray:
    """Indices of neurons: ``None``/``"slowest"`` = the ``k`` slowest to settle (by the later of
    the settling times of ``y_i`` and ``a_i``), or an explicit list."""
    n = model.n
    if neurons is None or (isinstance(neurons, str) and neurons == "slowest"):
        times = settling_times(trajectory)
        y_t, a_t = times[:n], times[n : 2 * n]
        slow = np.maximum(y_t, a_t) if a_t.size == n else y_t
        return np.argsort(-slow, kind="stable")[: min(k, n)]
    if isinstance(neurons, str):
        raise ValueError(f"neurons must be None, 'slowest' or a list of indices; got {neurons!r}")
    idx = np.asarray(list(neurons), dtype=int)
    if idx.size == 0 or np.any(idx < 0) or np.any(idx >= n):
        raise ValueError(f"neuron indices must lie in [0, {n - 1}]; got {list(idx)}")
    return idx


def neuron_portrait(model, trajectory, neurons=None, *, k: int = 4, ax=None, fixed_point=None):
    """``y_i(t)`` against ``a_i(t)`` of chosen neurons of an N-dimensional ORGaNICs circuit.

    ``neurons``: ``None`` or ``"slowest"`` (the ``k`` slowest-converging neurons) or a list of
    indices. Start (circle) and end (red star, or black if the run did not settle) are marked;
    ``fixed_point`` (flat state) is drawn as red stars when given.
    """
    idx = select_neurons(model, trajectory, neurons, k)
    y, a = _split_y_a(model, np.asarray(trajectory.states))
    if a is None:
        raise ValueError("neuron_portrait needs a model with (y, a) state; use time_courses for rate models")
    if ax is None:
        fig, ax = plt.subplots(figsize=(5.5, 4.5), layout="constrained")
    else:
        fig = ax.figure
    cmap = plt.get_cmap("tab10")
    for j, i in enumerate(idx):
        color = cmap(j % 10)
        ok = np.isfinite(y[:, i]) & np.isfinite(a[:, i])
        ax.plot(y[ok, i], a[ok, i], color=color, linewidth=1.3, label=f"neuron {i}", gid="trajectory")
        if ok.any():
            first, last = np.flatnonzero(ok)[[0, -1]]
            ax.plot(y[first, i], a[first, i], "o", color=color, markersize=5)
            ax.plot(y[last, i], a[last, i], marker="*", color=color, markersize=11, markeredgecolor="k",
                    linestyle="none")
    if fixed_point is not None:
        yf, af = _split_y_a(model, np.asarray(fixed_point)[None])
        ax.plot(yf[0, idx], af[0, idx], gid="fixed_point", label="fixed point", **STABLE_STYLE)
    ax.set_xlabel("principal potential $y_i$ (dimensionless)")
    ax.set_ylabel("normalization potential $a_i$ (dimensionless)")
    ax.set_title("slowest-converging neurons (o start, * end)" if neurons in (None, "slowest") else "neurons")
    ax.legend(fontsize="small", loc="best")
    return fig


def time_courses(trajectory, model=None, *, neurons=None, k: int = 8, axes=None, title: str | None = None):
    """``y_i(t)`` of chosen neurons (default: the ``k`` slowest to settle) and ``||y(t)||_2`` vs time (ms).

    ``model`` supplies ``split_state`` (default: the first half of the state is ``y``). For
    rate models the first component group is the rates ``v`` (Hz).
    """
    states = np.asarray(trajectory.states)
    ts_ms = 1e3 * np.asarray(trajectory.ts)
    y, _ = _split_y_a(model, states)
    n = y.shape[1]
    if neurons is None or (isinstance(neurons, str) and neurons == "slowest"):
        times = settling_times(trajectory)[:n]
        idx = np.argsort(-times, kind="stable")[: min(k, n)]
    else:
        idx = np.asarray(list(neurons), dtype=int)
        if idx.size == 0 or np.any(idx < 0) or np.any(idx >= n):
            raise ValueError(f"neuron indices must lie in [0, {n - 1}]; got {list(idx)}")
    rate = model is not None and _is_rate(model)
    name, unit = ("v", " (Hz)") if rate else ("y", " (dimensionless)")
    if axes is None:
        fig, axes = plt.subplots(2, 1, figsize=(7, 5.5), sharex=True, layout="constrained")
    else:
        fig = axes[0].figure
    for i in np.sort(idx):
        axes[0].plot(ts_ms, y[:, i], linewidth=1.1, label=f"${name}_{{{i}}}$", gid="trajectory")
    axes[0].set_ylabel(f"${name}_i(t)${unit}")
    axes[0].legend(fontsize="small", ncol=2 if len(idx) > 4 else 1, loc="best")
    axes[1].plot(ts_ms, np.linalg.norm(y, axis=1), color="k", linewidth=1.5, gid="norm")
    axes[1].set_ylabel(rf"$\|{name}(t)\|_2${unit}")
    axes[1].set_xlabel("time (ms)")
    for a in axes:
        a.grid(alpha=0.3)
    if title is not None:
        axes[0].set_title(title)
    return fig


def save_figure(fig, path_stem, formats: Sequence[str] = ("png", "pdf"), dpi: int = 150) -> list:
    """Save ``fig`` as ``path_stem.<fmt>`` for each format, close it, return the paths."""
    from pathlib import Path

    stem = Path(path_stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in formats:
        path = stem.with_name(f"{stem.name}.{fmt}")
        fig.savefig(path, dpi=dpi)
        paths.append(path)
    plt.close(fig)
    return paths
