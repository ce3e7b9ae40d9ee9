"""Spectral gap versus recurrent strength, and the critical Delta versus input norm (measured vs analytic).

Reproduces the gap figures of the Stabilization paper (Morone, Rawat, Heeger & Martiniani;
research-code spec §6-§7, ``phase_eigval_norm_delocalized``: "gap vs Delta at fixed |z|" and
"critical Delta vs input"). One scan (:func:`organics.scan.run_scan`) of the production preset
``stabilization-delocalized`` (N = 100, goe_symmetric ``W_r = I + M``, ``mu = 0``, ``W = ones``,
sigma = 0.1, b0 = b = 1, tau = 2 ms, first-order start) on 16 Delta in logspace(0.02, 5) x 6 |z| in
logspace(0.01, 0.5) x 4 trials (``--quick``: N = 20, 3 x 2 cells, 2 trials, 2 chunks).

(a) The gap ``|max over trials of Re lambda* tau|`` (:func:`organics.scan.analysis.gap`) against
Delta, one line per |z|, with the critical-slowing threshold 0.01 and the first-order prediction
at the normalization fixed point ``lambda* tau ~ -s + (1 - s) sqrt(2) Delta`` (research-code spec
§1, ``s = sqrt(sigma^2 + |z|^2)``), which closes at ``Delta_c / 2``
(:func:`organics.theory.gap_closing_delta`). Cells without a stable fixed point have no gap.
(b) The measured critical Delta (first Delta with ``|gap| < 0.01``,
:func:`organics.scan.analysis.critical_delta_measured`) against |z|, with the analytic breakdown of
normalization ``Delta_c(|z|) = sqrt(2) s / (1 - s)`` (:func:`organics.theory.critical_delta`) and
the first-order gap closing ``Delta_c / 2``.

The production data are ``organics scan --preset stabilization-delocalized`` (200 x 200 x 100) or,
for the closing of the gap at small input, ``organics scan --preset critical-slowing``.

    python examples/stabilization_gap.py --out DIR [--quick]

writes ``DIR/stabilization_gap.png`` and ``.pdf`` (the scan is kept in ``DIR/scans/``) and prints
the measured and analytic critical Delta per input norm.
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
from organics.scan.store import scalar_records  # noqa: E402

GRID = dict(delta_min=0.02, delta_max=5.0, delta_num=16, input_min=0.01, input_max=0.5, input_num=6, trials=4)
QUICK_GRID = dict(
    n=20, delta_min=0.05, delta_max=0.5, delta_num=3, input_min=0.01, input_max=0.5, input_num=2, trials=2, max_chunks=2
)
SIGMA = 0.1


def scan(out: Path, *, quick: bool):
    """The reduced delocalized scan (recomputed from scratch), loaded into memory, and its spec."""
    spec = presets.preset("stabilization-delocalized").replace(records="summary", **(QUICK_GRID if quick else GRID))
    return spec, scalar_records(run_scan(spec, out / "scans" / f"gap{'_quick' if quick else ''}.zarr", overwrite=True))


def make_figure(ds, n: int):
    gap = analysis.gap(ds)
    delta = ds["delta"].values
    norms = ds["input_norm"].values
    threshold = analysis.CRITICAL_SLOWING_THRESHOLD
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5.5), layout="constrained")
    colors = plt.get_cmap("viridis")(np.linspace(0.0, 0.9, norms.size))
    fine = np.geomspace(delta.min(), delta.max(), 300)
    for color, z in zip(colors, norms):
        left.plot(delta, -gap.sel(input_norm=z).values, "o-", color=color, label=f"|z| = {z:.3g}")
        s = float(org.normalization_scale(z, sigma=SIGMA))
        linear = s - (1.0 - s) * np.sqrt(2.0) * fine  # -(first-order lambda* tau)
        left.plot(fine[linear > 0], linear[linear > 0], ":", color=color, lw=1.2)
    left.axhline(threshold, color="red", lw=1, ls="--", label=f"critical slowing |gap| = {threshold:g}")
    left.plot([], [], "k:", label=r"first order $s - (1-s)\sqrt{2}\,\Delta$")
    left.set(
        xscale="log",
        yscale="log",
        xlabel="recurrent strength Δ",
        ylabel=r"gap $|\max_{\rm trials} \mathrm{Re}\,\lambda^*\tau|$ (dimensionless)",
    )
    left.set_title("(a) gap vs Δ (no marker: no stable fixed point)")
    left.legend(fontsize=8, ncol=2, loc="lower left")
    left.grid(alpha=0.3, which="both")

    comparison = analysis.critical_delta_comparison(ds)
    z_fine = np.geomspace(norms.min(), norms.max(), 300)
    right.plot(z_fine, org.critical_delta(z_fine, sigma=SIGMA), "r--", lw=2, label=r"analytic $\Delta_c(|z|)$")
    right.plot(
        z_fine, org.gap_closing_delta(z_fine, sigma=SIGMA), "b:", lw=2, label=r"first-order gap closing $\Delta_c/2$"
    )
    right.plot(
        norms,
        comparison["measured"].values,
        "ko",
        markerfacecolor="white",
        markersize=8,
        label=r"measured: first Δ with |gap| < 0.01",
    )
    right.set(xscale="log", yscale="log", xlabel="input norm |z|", ylabel="critical recurrent strength Δ")
    right.set_title("(b) critical Δ vs input norm")
    right.legend(fontsize=9)
    right.grid(alpha=0.3, which="both")
    fig.suptitle(
        f"Closing of the spectral gap (critical slowing down), delocalized input, goe_symmetric $W_r$, "
        f"N = {n}, σ = {SIGMA:g}, {ds.sizes['trial']} circuits per cell"
    )
    return fig


def main(argv=None) -> list[Path]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--quick", action="store_true", help="N = 20, 3 x 2 cells, 2 trials; same code path")
    args = parser.parse_args(argv)
    out = Path(args.out)
    spec, ds = scan(out, quick=args.quick)
    comparison = analysis.critical_delta_comparison(ds)
    print("|z|, measured critical Delta, analytic Delta_c, ratio")
    for z, m, a, r in zip(ds["input_norm"].values, *(comparison[k].values for k in ("measured", "analytic", "ratio"))):
        print(f"  {z:7.4f}  {m:8.4g}  {a:8.4g}  {r:6.3g}")
    written = save_figure(
        make_figure(ds, spec.n), out / "stabilization_gap", ("png", "pdf"), dpi=72 if args.quick else 150
    )
    for path in written:
        print(path)
    return written


if __name__ == "__main__":
    main()
