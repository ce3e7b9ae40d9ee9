"""Jacobian eigenvalue histograms below, at and above Delta_c, and their finite-size scaling.

Reproduces the eigenvalue figures of the Stabilization paper (Morone, Rawat, Heeger & Martiniani;
research-code spec §6-§7, ``eigval_histogram`` and ``eigval_histogram_multiple``) on a reduced
budget. Scans (:func:`organics.scan.run_scan`, ``records = "full"`` so the whole Jacobian spectrum
at each stable fixed point is kept) of the production preset ``stabilization-delocalized``
(goe_symmetric ``W_r = I + M``, ``mu = 0``, ``W = ones``, sigma = 0.1, b0 = b = 1, tau = 2 ms,
first-order start) at ``|z| = 0.01`` and Delta = 0.05, 0.158 and 0.5: below, at and above the
analytic ``Delta_c(0.01) = 0.158`` (:func:`organics.theory.critical_delta`), for N = 25, 50, 100
and 200 with 16 circuits each (``--quick``: N = 10 and 20, 2 circuits, 2 chunks).

(a) Histogram of the real parts ``Re lambda_k tau`` of all 2N Jacobian eigenvalues (N = 100, pooled
over circuits); (b) histogram of the leading eigenvalue ``Re lambda* tau`` over circuits (N = 100),
the quantity whose closing signals critical slowing down; (c) finite-size scaling: mean (error bars:
SD over circuits) of ``Re lambda* tau`` against ``N^(-2/3)`` (the notebooks' scaling variable), one
line per Delta. Only circuits that reached a stable fixed point have a spectrum.

The production data (N in 100...1000, 50000 circuits at N = 2000 for the histograms) come from
``organics scan --preset stabilization-delocalized --set input_min=0.01 --set input_max=0.01
--set input_num=1 ...``-style single-input scans, one per N (see ``organics scan --help``).

    python examples/eigenvalue_histograms.py --out DIR [--quick]

writes ``DIR/eigenvalue_histograms.png`` and ``.pdf`` (the scans are kept in ``DIR/scans/``) and
prints the mean leading eigenvalue per N and Delta.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import organics as org  # noqa: E402  (float64)
from organics.plot.portraits import save_figure  # noqa: E402
from organics.scan import analysis, presets, run_scan  # noqa: E402

INPUT_NORM = 0.01
SIZES = (25, 50, 100, 200)
QUICK_SIZES = (10, 20)
GRID = dict(delta_min=0.05, delta_max=0.5, delta_num=3, input_min=INPUT_NORM, input_max=INPUT_NORM, input_num=1)


def scan(n: int, out: Path, *, quick: bool):
    """The three-Delta scan at ``|z| = 0.01`` for ``n`` neurons (recomputed from scratch), loaded into memory."""
    budget = dict(trials=2, max_chunks=2) if quick else dict(trials=16)
    spec = presets.preset("stabilization-delocalized").replace(n=n, records="full", **GRID, **budget)
    path = out / "scans" / f"eigenvalues_n{n}{'_quick' if quick else ''}.zarr"
    return run_scan(spec, path, overwrite=True).squeeze("input_norm", drop=True).load()


def stable_spectra(ds, delta: float) -> np.ndarray:
    """``Re lambda_k tau`` of every eigenvalue of every stable-fixed-point circuit at ``delta`` (flat)."""
    cell = ds.sel(delta=delta)
    stable = (cell["outcome"] == analysis.STABLE).values
    return (cell["eigenvalues"].values[stable].real * presets.preset("stabilization-delocalized").tau_y).ravel()


def finite_stats(values: np.ndarray) -> tuple[float, float]:
    """Mean and SD of the finite entries (NaN, NaN if none: no circuit reached a stable fixed point)."""
    finite = values[np.isfinite(values)]
    return (float(finite.mean()), float(finite.std())) if finite.size else (np.nan, np.nan)


def make_figure(scans: dict, histogram_n: int):
    ds = scans[histogram_n]
    deltas = ds["delta"].values
    analytic = float(org.critical_delta(INPUT_NORM))
    colors = plt.get_cmap("plasma")(np.linspace(0.0, 0.8, deltas.size))
    labels = [
        f"Δ = {d:.3g} ({'below' if d < 0.95 * analytic else 'above' if d > 1.05 * analytic else 'at'} Δc)"
        for d in deltas
    ]
    fig, axes = plt.subplots(1, 3, figsize=(17, 5.2), layout="constrained")

    ax = axes[0]
    for color, label, delta in zip(colors, labels, deltas):
        values = stable_spectra(ds, delta)
        if values.size:
            ax.hist(values, bins=60, density=True, histtype="step", lw=1.6, color=color, label=label)
    ax.set_yscale("log")
    ax.set(xlabel=r"$\mathrm{Re}\,\lambda_k\tau$ (all 2N eigenvalues)", ylabel="density")
    ax.set_title(f"(a) Jacobian spectra, N = {histogram_n}, |z| = {INPUT_NORM:g}")
    ax.legend(fontsize=9)

    ax = axes[1]
    leading = ds["leading_real_tau"]
    for color, label, delta in zip(colors, labels, deltas):
        values = leading.sel(delta=delta).values
        values = values[np.isfinite(values)]
        if values.size:
            ax.hist(values, bins=12, histtype="step", lw=1.8, color=color, label=f"{label}: {values.size} stable")
    ax.axvline(-analysis.CRITICAL_SLOWING_THRESHOLD, color="red", ls="--", lw=1, label="critical slowing threshold")
    ax.set(xlabel=r"leading eigenvalue $\mathrm{Re}\,\lambda^*\tau$", ylabel="circuits")
    ax.set_title(f"(b) leading eigenvalue over circuits, N = {histogram_n}")
    ax.legend(fontsize=8)

    ax = axes[2]
    sizes = np.array(sorted(scans))
    for color, label, delta in zip(colors, labels, deltas):
        mean, sd = np.array([finite_stats(scans[n]["leading_real_tau"].sel(delta=delta).values) for n in sizes]).T
        ax.errorbar(sizes ** (-2.0 / 3.0), mean, yerr=sd, marker="o", capsize=3, color=color, label=label)
    for n in sizes:
        ax.annotate(
            f"N={n}", (n ** (-2.0 / 3.0), 0), textcoords="offset points", xytext=(0, 4), ha="center", fontsize=8
        )
    ax.axhline(0.0, color="k", lw=0.8)
    ax.set(xlabel=r"$N^{-2/3}$", ylabel=r"mean $\mathrm{Re}\,\lambda^*\tau$ (± SD over circuits)")
    ax.set_title("(c) finite-size scaling of the leading eigenvalue")
    ax.legend(fontsize=9)
    fig.suptitle(
        f"Jacobian eigenvalues at the fixed point, delocalized |z| = {INPUT_NORM:g}, goe_symmetric $W_r$, "
        f"analytic Δc = {analytic:.3f}"
    )
    return fig


def main(argv=None) -> list[Path]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--quick", action="store_true", help="N = 10, 20 with 2 circuits; same code path")
    args = parser.parse_args(argv)
    out = Path(args.out)
    sizes = QUICK_SIZES if args.quick else SIZES
    scans = {n: scan(n, out, quick=args.quick) for n in sizes}
    print("N, Delta, stable circuits, mean and SD of Re lambda* tau")
    for n, ds in scans.items():
        for delta in ds["delta"].values:
            values = ds["leading_real_tau"].sel(delta=delta).values
            mean, sd = finite_stats(values)
            print(f"  {n:4d}  {delta:6.3f}  {int(np.isfinite(values).sum()):3d}  {mean:+.4f}  {sd:.4f}")
    fig = make_figure(scans, sizes[-2] if len(sizes) > 2 else sizes[-1])
    written = save_figure(fig, out / "eigenvalue_histograms", ("png", "pdf"), dpi=72 if args.quick else 150)
    for path in written:
        print(path)
    return written


if __name__ == "__main__":
    main()
