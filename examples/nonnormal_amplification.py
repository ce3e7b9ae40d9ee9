"""Non-normal amplification versus spectral radius in random balanced E/I networks: theory against simulation.

    python examples/nonnormal_amplification.py --out DIR [--quick]

Hennequin, Vogels & Gerstner (Phys. Rev. E 86, 011909, 2012) split the noise amplification of
``tau dx/dt = -x + W x + noise`` into dynamical slowing (eigenvalues near 1, the *normal* part)
and non-normal amplification (the feed-forward part ``T`` of the Schur form). Here ``W`` is a
random Dale's-law matrix (half excitatory, half inhibitory columns, connection probability 0.2,
mean input balanced, :func:`organics.balanced.balanced_ei_matrix`) scaled to bulk spectral
radius ``R``, with random row sums and with exactly zero row sums. For each ``R`` the top row
shows the total variance ``tr P/n`` (relative to the unconnected network), its normal part and
the non-normal factor: lines are the Lyapunov values averaged over the ensemble (band: +- one
standard deviation across matrices), markers the Euler–Maruyama estimates with standard errors,
dashed the large-``n`` circular-law values ``1/sqrt(1 - R^2)`` and ``2 (1 - sqrt(1 - R^2))/R^2``
of a matrix without the balanced mean structure. The bottom row shows the Schur form of one
matrix (its feed-forward part) and its pseudospectra.

Writes ``DIR/nonnormal_amplification.png`` and ``.pdf``; prints the non-normal factor at the
largest radius (theory and simulation).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from organics.balanced import balanced_amplification, balanced_ei_matrix  # noqa: E402
from organics.plot.nonnormal import plot_amplification_vs_radius, plot_schur_and_pseudospectrum  # noqa: E402
from organics.plot.portraits import save_figure  # noqa: E402

FULL = dict(n=100, radii=np.linspace(0.2, 0.8, 7), n_matrices=6, n_simulated=2, runs=3, duration=100.0, grid=40)
QUICK = dict(n=40, radii=np.array([0.3, 0.7]), n_matrices=3, n_simulated=1, runs=2, duration=40.0, grid=16)


def run(n, radii, n_matrices, n_simulated, runs, duration, seed: int = 0):
    """Both ensembles (random and zero row sums) at every radius."""
    return {
        zero: balanced_amplification(radii, n=n, n_matrices=n_matrices, seed=seed, zero_row_sums=zero,
                                     n_simulated=n_simulated, runs=runs, duration=duration)
        for zero in (False, True)
    }  # fmt: skip


def main(argv=None) -> list[Path]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--quick", action="store_true", help="small networks, few radii, short runs")
    args = parser.parse_args(argv)
    setup = QUICK if args.quick else FULL
    results = run(setup["n"], setup["radii"], setup["n_matrices"], setup["n_simulated"], setup["runs"],
                  setup["duration"])  # fmt: skip

    fig = plt.figure(figsize=(15, 9.5), layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=(1.0, 1.15))
    axes = top.subplots(1, 3)
    plot_amplification_vs_radius(results[False], axes, color="tab:blue")
    plot_amplification_vs_radius(results[True], axes, color="tab:orange", reference=False)
    axes[0].legend(fontsize=7.5, loc="upper left")
    top.suptitle(
        f"random balanced E/I networks (Dale's law, n = {setup['n']}, p = 0.2): noise amplification, "
        "theory (lines) against simulation (markers)",
        fontsize=11,
    )
    radius = float(setup["radii"][-1])
    W = balanced_ei_matrix(0, setup["n"], radius)
    plot_schur_and_pseudospectrum(W, bottom.subplots(1, 2), grid=setup["grid"])
    bottom.suptitle(f"one matrix, random row sums, R = {radius:g}: where the non-normal amplification hides",
                    fontsize=11)  # fmt: skip
    written = save_figure(
        fig, Path(args.out) / "nonnormal_amplification", ("png", "pdf"), dpi=72 if args.quick else 150
    )
    for zero, result in results.items():
        theory, _ = result.theory("nonnormal", simulated_only=True)
        estimate, error = result.simulation("nonnormal")
        name = "zero row sums" if zero else "random row sums"
        print(f"non-normal factor at R = {radius:g} ({name}): Lyapunov {theory[-1]:.4f}, "
              f"SDE {estimate[-1]:.4f} +- {error[-1]:.4f}")  # fmt: skip
    for path in written:
        print(path)
    return written


if __name__ == "__main__":
    main()
