r"""Plots of non-normal amplification (Hennequin, Vogels & Gerstner, Phys. Rev. E 86, 011909, 2012).

* :func:`plot_amplification_vs_radius` -- total, normal and non-normal noise amplification of a
  :class:`~organics.balanced.BalancedAmplification` ensemble against the bulk spectral radius:
  Lyapunov theory (ensemble mean as a line, +- one standard deviation across matrices as a
  band), SDE estimates (markers with standard-error bars) and the large-``n`` circular-law
  reference ``1/sqrt(1 - R^2)``, ``2 (1 - sqrt(1 - R^2))/R^2`` (dashed);
* :func:`plot_schur_and_pseudospectrum` -- ``|Schur form|`` of one matrix (eigenvalues on the
  diagonal, the hidden feed-forward part ``T`` above it) and its eigenvalues with
  ``epsilon``-pseudospectrum contours ``sigma_min(z I - W) = epsilon``.

Matplotlib with the Agg backend; functions draw on given axes or make a figure, never show.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.colors import LogNorm  # noqa: E402
from numpy.typing import ArrayLike  # noqa: E402

from ..balanced import QUANTITIES, BalancedAmplification, circular_law_amplification  # noqa: E402
from ..nonnormal import henrici_departure, pseudospectrum, schur_decomposition  # noqa: E402

__all__ = ["plot_amplification_vs_radius", "plot_schur_and_pseudospectrum"]

_LABELS = {
    "total": r"total $\mathrm{tr}\,P/n$",
    "normal": r"normal part: mean of $1/(1-\mathrm{Re}\,\lambda_i)$",
    "nonnormal": "non-normal factor total/normal",
}


def plot_amplification_vs_radius(
    result: BalancedAmplification,
    axes: Sequence[Axes] | None = None,
    *,
    color: str = "tab:blue",
    label: str | None = None,
    reference: bool = True,
) -> list[Axes]:
    """Three panels (total, normal, non-normal factor) against the bulk radius ``R`` of ``result``.

    Line and band: mean and standard deviation over the stable matrices (Lyapunov); markers:
    mean SDE estimate over the simulated matrices with its standard error, next to the dotted
    Lyapunov mean over those same matrices when only some were simulated. ``label`` names the
    ensemble in the legend; ``reference`` adds the circular-law curves (black dashed).
    """
    if axes is None:
        _, axes = plt.subplots(1, 3, figsize=(14, 4.2), layout="constrained")
    R = result.radii
    name = label if label is not None else ("zero row sums" if result.zero_row_sums else "random row sums")
    simulated_all = result.simulated_total.shape[1] == result.total.shape[1]
    has_simulation = result.simulated_total.shape[1] > 0 and np.any(np.isfinite(result.simulated_total))
    for ax, quantity in zip(axes, QUANTITIES):
        mean, spread = result.theory(quantity)
        ax.plot(R, mean, color=color, lw=1.8, label=f"{name}: Lyapunov (mean of {result.total.shape[1]})")
        ax.fill_between(R, mean - spread, mean + spread, color=color, alpha=0.2, lw=0)
        if has_simulation:
            estimate, error = result.simulation(quantity)
            if not simulated_all:
                subset, _ = result.theory(quantity, simulated_only=True)
                ax.plot(R, subset, color=color, lw=1.0, ls=":", label=f"{name}: Lyapunov, simulated matrices")
            ax.errorbar(R, estimate, yerr=error, fmt="o", color=color, ms=5, capsize=3, mfc="white",
                        label=f"{name}: SDE estimate ± s.e.")  # fmt: skip
        if reference:
            grid = np.linspace(0.0, min(0.995, float(np.max(R))), 200)
            curve = getattr(circular_law_amplification(grid), quantity)
            ax.plot(grid, curve, color="k", ls="--", lw=1.0, label="circular law, large n (no mean structure)")
        ax.set_xlabel("bulk spectral radius R of W")
        ax.set_ylabel(_LABELS[quantity])
        ax.grid(alpha=0.3)
    axes[0].set_title("variance relative to the unconnected network", loc="left", fontsize=10)
    axes[1].set_title("amplification by dynamical slowing", loc="left", fontsize=10)
    axes[2].set_title("purely non-normal amplification", loc="left", fontsize=10)
    return list(axes)


def plot_schur_and_pseudospectrum(
    W: ArrayLike,
    axes: Sequence[Axes] | None = None,
    *,
    epsilons: Sequence[float] = (0.03, 0.1, 0.3),
    grid: int = 60,
) -> list[Axes]:
    r"""Left: ``|Lambda + T|`` of the complex Schur form ``W = U (Lambda + T) U*`` (log colour scale).
    Right: the eigenvalues of ``W``, the unit circle and the ``epsilon``-pseudospectra
    (contours of ``sigma_min(z I - W)`` on a ``grid x grid`` window around the spectrum).

    The title gives the normalized Henrici departure ``||T||_F/||W||_F``.
    """
    W = np.asarray(W, dtype=float)
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(11, 4.8), layout="constrained")
    ax_schur, ax_pseudo = axes
    _, Lambda, T = schur_decomposition(W)
    S = np.abs(Lambda + T)
    positive = S[S > 0]
    floor = max(float(positive.min()) if positive.size else 1e-12, 1e-6 * float(S.max()))
    image = ax_schur.imshow(np.maximum(S, floor), norm=LogNorm(vmin=floor, vmax=float(S.max())), cmap="magma_r")
    plt.colorbar(image, ax=ax_schur, label=r"$|(\Lambda + T)_{ij}|$")
    ax_schur.set_xlabel("Schur column j")
    ax_schur.set_ylabel("Schur row i")
    departure = henrici_departure(W, normalized=True)
    ax_schur.set_title(rf"Schur form: eigenvalues on the diagonal, feed-forward T above ($\|T\|_F/\|W\|_F$ = {departure:.2f})",
                       fontsize=9, loc="left")  # fmt: skip
    values = np.linalg.eigvals(W)
    reach = 1.15 * max(1.0, float(np.max(np.abs(values))) + max(epsilons))
    re = np.linspace(-reach, reach, grid)
    im = np.linspace(-reach, reach, grid)
    sigma = pseudospectrum(W, re, im)
    contours = ax_pseudo.contour(re, im, sigma, levels=sorted(epsilons), cmap="viridis")
    ax_pseudo.clabel(contours, fmt=lambda e: f"ε={e:g}", fontsize=8)
    ax_pseudo.plot(values.real, values.imag, ".", color="k", ms=4, label="eigenvalues")
    circle = np.linspace(0.0, 2.0 * np.pi, 200)
    ax_pseudo.plot(np.cos(circle), np.sin(circle), color="tab:red", lw=0.8, ls="--", label="|z| = 1")
    ax_pseudo.axvline(1.0, color="tab:red", lw=0.8, ls=":", label="Re z = 1 (instability)")
    ax_pseudo.set_aspect("equal")
    ax_pseudo.set_xlabel("Re z")
    ax_pseudo.set_ylabel("Im z")
    ax_pseudo.set_title(r"spectrum and $\varepsilon$-pseudospectra $\sigma_{\min}(zI - W) = \varepsilon$",
                        fontsize=9, loc="left")  # fmt: skip
    ax_pseudo.legend(fontsize=8, loc="upper right")
    return [ax_schur, ax_pseudo]
