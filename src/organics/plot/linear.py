r"""Plots of the linear recurrent network ``tau dv/dt = -v + h + M v`` (lecture notes on linear recurrent networks).

Every mode ``e_i`` of ``M`` (eigenvalue ``lambda_i``) evolves on its own,
``tau dc_i/dt = -(1 - lambda_i) c_i + h.e_i`` (:mod:`organics.linear`), so

* its steady-state gain is ``1/(1 - lambda_i)`` (selective amplification for ``lambda_i -> 1``),
* it relaxes with the effective time constant ``tau/(1 - lambda_i)`` (slowing down),
* and the network decays to ``(I - M)^{-1} h`` when every ``lambda_i < 1``, integrates its input
  (memory: ``c_1(t) = c_1(0) + (1/tau) int h.e_1 dt``) when ``lambda_1 = 1``, and explodes when
  ``lambda_1 > 1``.

* :func:`plot_mode_gains` -- gain and effective time constant against the eigenvalue (curves)
  with the modes of one ``M`` as markers (:func:`organics.linear.mode_amplification`,
  :func:`organics.linear.effective_time_constants`);
* :func:`regime_time_courses` -- exact ``v(t)`` with the input switched off at ``t_off``
  (:func:`organics.linear.linear_solution` on each piece);
* :func:`plot_regimes` -- those time courses for several ``M`` (decay, integration, explosion).

Times are in seconds in the functions and in ms on the axes; rates in Hz.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from numpy.typing import ArrayLike  # noqa: E402

from ..linear import effective_time_constants, linear_modes, linear_solution, mode_amplification  # noqa: E402

__all__ = ["plot_mode_gains", "regime_time_courses", "plot_regimes"]


def plot_mode_gains(
    M: ArrayLike,
    tau: float,
    axes: tuple[Axes, Axes] | None = None,
    *,
    eigenvalue_range: tuple[float, float] = (-1.0, 1.5),
) -> tuple[Axes, Axes]:
    r"""Gain ``1/(1 - lambda)`` (left) and ``|tau/(1 - lambda)|`` in ms (right) against ``Re lambda``.

    Curves over ``eigenvalue_range`` (log scale; ``lambda = 1`` is the vertical asymptote);
    markers at the modes of ``M``. For ``lambda < 1`` the curves are the steady-state gain and
    the relaxation time; beyond 1 (shaded: no steady state) the dashed right-hand curve is the
    e-folding time of the explosion, ``tau/(lambda - 1)``. Complex eigenvalues are placed at
    their real part with ``|1/(1 - lambda)|``.
    """
    lo, hi = float(eigenvalue_range[0]), float(eigenvalue_range[1])
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < 1.0 < hi):
        raise ValueError(f"eigenvalue_range must be (low, high) with low < 1 < high; got {eigenvalue_range}")
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
    ax_gain, ax_time = axes
    modes = linear_modes(M).values
    gains = np.abs(mode_amplification(M))
    times = np.abs(effective_time_constants(M, tau))
    below = np.linspace(lo, 1.0 - 1e-3, 400)
    above = np.linspace(1.0 + 1e-3, hi, 200)
    ax_gain.plot(below, 1.0 / (1.0 - below), color="k", lw=1.5, label=r"$1/(1-\lambda)$")
    ax_time.plot(below, 1e3 * tau / (1.0 - below), color="k", lw=1.5, label=r"relaxation $\tau/(1-\lambda)$")
    ax_time.plot(above, 1e3 * tau / (above - 1.0), color="k", lw=1.5, ls="--", label=r"growth $\tau/(\lambda-1)$")
    stable = modes.real < 1.0
    finite = np.isfinite(gains)
    ax_gain.plot(modes.real[stable & finite], gains[stable & finite], "o", color="tab:blue", label="modes of M")
    ax_time.plot(modes.real[np.isfinite(times)], 1e3 * times[np.isfinite(times)], "o", color="tab:blue",
                 label="modes of M")  # fmt: skip
    for ax in axes:
        ax.axvspan(1.0, hi, color="tab:red", alpha=0.08, lw=0)
        ax.axvline(1.0, color="tab:red", lw=1.0, ls=":")
        ax.set_yscale("log")
        ax.set_xlim(lo, hi)
        ax.set_xlabel(r"eigenvalue $\lambda$ of M (real part)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=9, loc="upper left")
    ax_gain.text(1.02, 0.05, "no steady state", transform=ax_gain.get_xaxis_transform(), color="tab:red", fontsize=9)
    ax_gain.set_ylabel(r"steady-state gain $1/(1-\lambda)$")
    ax_time.set_ylabel(r"effective time constant (ms)")
    ax_gain.set_title("amplification of a mode's input", loc="left", fontsize=10)
    ax_time.set_title(rf"time constant of a mode ($\tau$ = {1e3 * tau:g} ms)", loc="left", fontsize=10)
    return ax_gain, ax_time


def regime_time_courses(
    M: ArrayLike, h: ArrayLike, tau: float, times: ArrayLike, *, t_off: float | None = None, v0: ArrayLike = 0.0
) -> np.ndarray:
    r"""Exact rates ``v(t)`` (``(len(times), n)``) with input ``h`` for ``t < t_off`` and 0 afterwards.

    ``t_off=None``: the input stays on. After ``t_off`` the solution restarts from
    ``v(t_off)`` with ``h = 0`` (:func:`organics.linear.linear_solution` on each piece), so a
    mode with ``lambda = 1`` keeps the integral of its input (memory) while the others decay.
    """
    t = np.asarray(times, dtype=float)
    if t.ndim != 1:
        raise ValueError(f"times must be a 1-D array of seconds; got shape {t.shape}")
    if t_off is None:
        return linear_solution(M, h, tau, v0, t)
    if not np.isfinite(t_off) or t_off < 0:
        raise ValueError(f"t_off must be a time >= 0 in seconds (or None); got {t_off}")
    on = t < t_off
    v = np.empty((t.size, np.shape(M)[0]))
    v[on] = linear_solution(M, h, tau, v0, t[on])
    v_off = linear_solution(M, h, tau, v0, t_off)
    v[~on] = linear_solution(M, 0.0, tau, v_off, t[~on] - t_off)
    return v


def plot_regimes(
    cases: Mapping[str, ArrayLike],
    h: ArrayLike,
    tau: float,
    times: ArrayLike,
    *,
    t_off: float | None = None,
    axes: Sequence[Axes] | None = None,
    neurons: int = 4,
) -> list[Axes]:
    r"""One panel per ``M`` in ``cases`` (title -> matrix): a few rates (thin) and the leading-mode coefficient.

    The thick line is ``c_1(t) = e_1 . v(t)`` for the mode of largest ``Re lambda``
    (the left-eigenvector projection for a nonsymmetric ``M``; its sign chosen so that
    ``h.e_1 >= 0``, real part for a complex mode), which decays to
    ``(h.e_1)/(1 - lambda_1)``, grows linearly (``lambda_1 = 1``) or exponentially
    (``lambda_1 > 1``). The input period ``t < t_off`` is shaded. Rates are symlog-scaled when a
    panel explodes.
    """
    t = np.asarray(times, dtype=float)
    if axes is None:
        _, axes = plt.subplots(1, len(cases), figsize=(4.2 * len(cases), 3.8), layout="constrained", squeeze=False)
        axes = list(axes[0])
    if len(axes) != len(cases):
        raise ValueError(f"need one axes per case; got {len(axes)} axes for {len(cases)} cases")
    for ax, (title, M) in zip(axes, cases.items()):
        v = regime_time_courses(M, h, tau, t, t_off=t_off)
        modes = linear_modes(M)
        projection = modes.inverse[0].real
        sign = 1.0 if float(np.sum(np.broadcast_to(h, (v.shape[1],)) * projection)) >= 0 else -1.0
        leading = sign * (v @ projection)
        for i in range(min(neurons, v.shape[1])):
            ax.plot(1e3 * t, v[:, i], lw=0.9, alpha=0.8, label=f"$v_{{{i}}}$")
        ax.plot(1e3 * t, leading, color="k", lw=2.0, label=r"mode 1: $c_1(t)$")
        if t_off is not None:
            ax.axvspan(1e3 * t[0], 1e3 * t_off, color="tab:green", alpha=0.08, lw=0, label="input on")
        if np.max(np.abs(v)) > 50 * max(1.0, np.max(np.abs(v[t <= (t_off if t_off is not None else t[-1])]))):
            ax.set_yscale("symlog", linthresh=1.0)
        ax.set_title(f"{title}\n$\\lambda_1$ = {modes.values[0].real:.3g}", fontsize=10)
        ax.set_xlabel("time (ms)")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("rate (Hz)")
    axes[0].legend(fontsize=8, loc="upper left")
    return list(axes)
