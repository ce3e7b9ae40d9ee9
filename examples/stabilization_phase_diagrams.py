"""Phase diagrams of the Stabilization paper: majority outcome, gap and normalization error over (|z|, Delta).

Reproduces the phase-diagram figures of Morone, Rawat, Heeger & Martiniani, "Stabilization of
recurrent neural networks through divisive normalization" (research-code spec §7,
``phase_eigval_norm_delocalized`` / ``phase_eigval_norm_localized`` / ``plot_phase_*``) on a reduced
grid, for delocalized AND localized input. Two scans (:func:`organics.scan.run_scan`) of the
production presets ``stabilization-delocalized`` and ``stabilization-localized`` (N = 100,
goe_symmetric ``W_r = I + M``, ``mu = 0``, ``W = ones``, sigma = 0.1, b0 = b = 1, tau = 2 ms,
first-order start, at most 2000 tau per trial) with the grid reduced to 16 Delta in
logspace(0.01, 10) x 12 |z| in logspace(0.01, 1) x 5 trials (``--quick``: N = 20, 3 x 3 cells,
2 trials, 2 chunks). For each input three figures of :mod:`organics.plot.phase`:

* ``*_phase_map``: majority-vote phase (stable / critically slowed / limit cycle / diverging /
  unresolved) with the analytic ``Delta_c(|z|) = sqrt(2) s / (1 - s)``, ``s = sqrt(sigma^2 + |z|^2)``
  (:func:`organics.theory.critical_delta`, dashed red) and the measured critical Delta (circles);
* ``*_gap_map``: the gap ``max over trials of Re lambda* tau`` with the critically slowed cells
  (``|gap| < 0.01``) in red;
* ``*_normalization_maps``: the mean normalization error ``||y* - y_s0|| / ||y_s0||`` and the
  coefficient of variation of ``y*_0`` (delocalized) or ``sum_i y*_i`` (localized) across circuits,
  with the measured loss of normalization ``z_c(Delta)`` (red crosses).

The production grid (200 x 200 cells x 100 trials per input) is ``organics scan --preset
stabilization-delocalized --out DIR`` (and ``stabilization-localized``) followed by ``organics scan
plot DIR``; it is a cluster job (``--cluster``), far beyond two cores.

    python examples/stabilization_phase_diagrams.py --out DIR [--quick]

writes ``DIR/stabilization_phase_diagrams_{delocalized,localized}_{phase_map,gap_map,
normalization_maps}.png/.pdf`` (the scans are kept in ``DIR/scans/``) and prints the measured vs
analytic critical Delta per input norm.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import organics  # noqa: E402,F401  (float64)
from organics.plot.phase import plot_gap_map, plot_normalization_maps, plot_phase_map  # noqa: E402
from organics.plot.portraits import save_figure  # noqa: E402
from organics.scan import analysis, presets, run_scan  # noqa: E402
from organics.scan.store import scalar_records  # noqa: E402

INPUTS = ("delocalized", "localized")
FULL_GRID = dict(delta_num=16, input_num=12, trials=5)
QUICK_GRID = dict(n=20, delta_num=3, input_num=3, trials=2, max_chunks=2)
FIGURES = {"phase_map": plot_phase_map, "gap_map": plot_gap_map, "normalization_maps": plot_normalization_maps}


def scan(input_type: str, scans: Path, *, quick: bool):
    """The reduced production scan of one input type (recomputed from scratch), loaded into memory."""
    spec = presets.preset(f"stabilization-{input_type}").replace(
        records="summary", **(QUICK_GRID if quick else FULL_GRID)
    )
    return scalar_records(run_scan(spec, scans / f"{input_type}{'_quick' if quick else ''}.zarr", overwrite=True))


def main(argv=None) -> list[Path]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--quick", action="store_true", help="N = 20, 3 x 3 cells, 2 trials; same code path")
    args = parser.parse_args(argv)
    out = Path(args.out)
    written: list[Path] = []
    for input_type in INPUTS:
        ds = scan(input_type, out / "scans", quick=args.quick)
        comparison = analysis.critical_delta_comparison(ds)
        print(f"{input_type}: |z|, measured critical Delta (first |gap| < 0.01), analytic Delta_c(|z|)")
        for z, measured, analytic in zip(
            ds["input_norm"].values, comparison["measured"].values, comparison["analytic"].values
        ):
            print(f"  {z:7.4f}  {measured:8.4g}  {analytic:8.4g}")
        fractions = analysis.outcome_fractions(ds).mean(["delta", "input_norm"])
        print(
            "  outcome fractions:",
            ", ".join(f"{name} {float(v):.2f}" for name, v in zip(fractions["outcome"].values, fractions.values)),
        )
        for name, plot in FIGURES.items():
            fig = plot(ds)
            stem = out / f"stabilization_phase_diagrams_{input_type}_{name}"
            written += save_figure(fig, stem, ("png", "pdf"), dpi=72 if args.quick else 150)
    for path in written:
        print(path)
    return written


if __name__ == "__main__":
    main()
