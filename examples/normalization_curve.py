"""Normalization curve: the fixed point versus input norm for several Delta, against normalization and first order.

Reproduces ``norm_curve_wr`` and the mean/SD line figures (``plot_lines_delocalized``) of the
Stabilization paper (Morone, Rawat, Heeger & Martiniani; research-code spec §5, §7). One scan
(:func:`organics.scan.run_scan`, ``records = "full"``) of the production preset
``stabilization-delocalized`` (N = 100, goe_symmetric ``W_r = I + M``, ``mu = 0``, ``W = ones``,
sigma = 0.1, b0 = b = 1, tau = 2 ms, first-order start) with Delta = 0.05, 0.158, 0.5 and 10 |z| in
logspace(0.01, 1), 8 circuits per cell (``--quick``: N = 20, 2 x 2 cells, 2 circuits, 2 chunks).

(a) ``sum_i y*_i^2`` at the stable fixed point (mean and SD over circuits) against |z|, with the
normalization prediction ``|z|^2 / (sigma^2 + |z|^2)`` (Eq. 4 with ``W_r = I``,
:func:`organics.theory.normalization_scale`) and the first-order prediction
``|y_s0 + y_s1|^2`` of the same circuits (:func:`organics.fixed_points.first_order_fixed_point`,
dotted). (b) One neuron, ``sqrt(N) y*_0`` (mean, error bars: SD over circuits), with the
normalization value ``|z| / s`` and the first-order mean +- SD band. Normalization holds while the
SD across circuits is below the mean, i.e. for ``Delta < Delta_c(|z|) = sqrt(2) s/(1 - s)``
(:func:`organics.theory.critical_delta`; ``Delta_c = 0.158`` at ``|z| = 0.01``).

    python examples/normalization_curve.py --out DIR [--quick]

writes ``DIR/normalization_curve.png`` and ``.pdf`` (the scan is kept in ``DIR/scans/``) and prints
the measured and first-order ``sum y*^2`` and the relative SD of ``y*_0`` against ``Delta / Delta_c``.
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import organics as org  # noqa: E402  (float64)
from organics.plot.portraits import save_figure  # noqa: E402
from organics.scan import analysis, presets, run_scan  # noqa: E402

SIGMA = 0.1
GRID = dict(delta_min=0.05, delta_max=0.5, delta_num=3, input_min=0.01, input_max=1.0, input_num=10, trials=8)
QUICK_GRID = dict(
    n=20, delta_min=0.05, delta_max=0.5, delta_num=2, input_min=0.01, input_max=1.0, input_num=2, trials=2, max_chunks=2
)


def scan(out: Path, *, quick: bool):
    """The scan (recomputed from scratch), loaded into memory, and its spec."""
    spec = presets.preset("stabilization-delocalized").replace(records="full", **(QUICK_GRID if quick else GRID))
    path = out / "scans" / f"normalization{'_quick' if quick else ''}.zarr"
    return spec, run_scan(spec, path, overwrite=True).load()


def statistics(ds) -> dict[str, np.ndarray]:
    """Per cell (delta, input_norm): mean and SD over stable circuits of the plotted quantities."""
    stable = ds["outcome"] == analysis.STABLE
    n = ds.sizes["neuron"]
    quantities = {
        "power": (ds["fixed_point_y"] ** 2).sum("neuron").where(stable),
        "power_first_order": (ds["first_order_y"] ** 2).sum("neuron"),
        "y0": np.sqrt(n) * ds["fixed_point_y"].isel(neuron=0).where(stable),
        "y0_first_order": np.sqrt(n) * ds["first_order_y"].isel(neuron=0),
    }
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a cell without a stable circuit is NaN on purpose
        for name, values in quantities.items():
            out[name] = values.mean("trial").values
            out[f"{name}_sd"] = values.std("trial", ddof=1).values
    return out


def make_figure(ds, stats: dict, n: int):
    deltas, norms = ds["delta"].values, ds["input_norm"].values
    fine = np.geomspace(norms.min(), norms.max(), 300)
    s = np.asarray(org.normalization_scale(fine, sigma=SIGMA))
    colors = plt.get_cmap("viridis")(np.linspace(0.0, 0.85, deltas.size))
    fig, (left, right) = plt.subplots(1, 2, figsize=(14, 5.8), layout="constrained")
    left.plot(fine, fine**2 / s**2, "k-", lw=2, label=r"normalization $|z|^2/(\sigma^2+|z|^2)$")
    right.plot(fine, fine / s, "k-", lw=2, label=r"normalization $|z|/s$")
    for i, (color, delta) in enumerate(zip(colors, deltas)):
        label = f"Δ = {delta:.3g} (Δ/Δc(0.01) = {delta / float(org.critical_delta(0.01, sigma=SIGMA)):.2g})"
        left.errorbar(
            norms,
            stats["power"][i],
            yerr=stats["power_sd"][i],
            fmt="o",
            color=color,
            capsize=3,
            label=f"{label}: fixed point",
        )
        left.plot(norms, stats["power_first_order"][i], ":", color=color, lw=1.5)
        right.errorbar(norms, stats["y0"][i], yerr=stats["y0_sd"][i], fmt="o", color=color, capsize=3, label=label)
        mean, sd = stats["y0_first_order"][i], stats["y0_first_order_sd"][i]
        right.fill_between(norms, mean - sd, mean + sd, color=color, alpha=0.2, lw=0)
    left.plot([], [], "k:", label="first order $|y_{s0}+y_{s1}|^2$ (same circuits)")
    right.fill_between([], [], [], color="0.6", alpha=0.4, label="first order, mean ± SD")
    left.set(xscale="log", yscale="log", xlabel="input norm |z|", ylabel=r"$\sum_i y_i^{*2}$ (dimensionless)")
    left.set_title("(a) population response (mean ± SD over circuits)")
    right.set(xscale="log", xlabel="input norm |z|", ylabel=r"$\sqrt{N}\,y^*_0$ (dimensionless)")
    right.set_title("(b) one neuron (mean ± SD over circuits)")
    for ax in (left, right):
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8, loc="upper left")
    fig.suptitle(
        f"Normalization curve, delocalized input, N = {n}, goe_symmetric $W_r$, σ = {SIGMA:g}, "
        f"{ds.sizes['trial']} circuits per point"
    )
    return fig


def main(argv=None) -> list[Path]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--quick", action="store_true", help="N = 20, 2 x 2 cells, 2 circuits; same code path")
    args = parser.parse_args(argv)
    out = Path(args.out)
    spec, ds = scan(out, quick=args.quick)
    stats = statistics(ds)
    print("Delta, |z|, sum y*^2 (measured, first order, normalization), SD/mean of y*_0, Delta/Delta_c")
    for i, delta in enumerate(ds["delta"].values):
        for j, z in enumerate(ds["input_norm"].values):
            ratio = stats["y0_sd"][i, j] / abs(stats["y0"][i, j])
            print(
                f"  {delta:6.3f} {z:7.4f}  {stats['power'][i, j]:.4f} {stats['power_first_order'][i, j]:.4f} "
                f"{z**2 / (SIGMA**2 + z**2):.4f}  {ratio:.3f}  {delta / float(org.critical_delta(z, sigma=SIGMA)):.3f}"
            )
    written = save_figure(
        make_figure(ds, stats, spec.n), out / "normalization_curve", ("png", "pdf"), dpi=72 if args.quick else 150
    )
    for path in written:
        print(path)
    return written


if __name__ == "__main__":
    main()
