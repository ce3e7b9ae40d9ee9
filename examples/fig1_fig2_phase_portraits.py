"""Figs. 1 and 2 of Rawat, Heeger & Martiniani (NeurIPS 2024): phase portraits of the 2-D ORGaNICs.

Fig. 1: positive input drive z = +1; Fig. 2: negative input drive z = -1. Top row (a-c): the main
model (Eq. 15); bottom row (d-f): the rectified model (Eq. 101). Red stars: stable fixed points,
black stars: unstable ones (exact, from the quartic Eq. 79). Common parameters: b = 0.5,
tau_a = tau_y = 2 ms, w = 1. Columns: (w_r, b0, sigma) = (0.5, 0.5, 0.1), (2, 0.5, 0.1), (2, 1, 1).

    python examples/fig1_fig2_phase_portraits.py --out figures/ [--quick]

writes fig1_phase_portraits_positive_input.png/.pdf and fig2_phase_portraits_negative_input.png/.pdf.
``--quick`` uses coarser grids and fewer trajectories (same code path).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import organics  # noqa: E402,F401  (float64)
from organics import ORGaNICs  # noqa: E402
from organics.plot.portraits import phase_portrait, save_figure  # noqa: E402

COMMON = dict(b=0.5, tau_y=2e-3, tau_a=2e-3)
W = 1.0
COLUMNS = [  # (w_r, b0, sigma)
    (0.5, 0.5, 0.1),
    (2.0, 0.5, 0.1),
    (2.0, 1.0, 1.0),
]
FIGURES = [
    (1.0, "fig1_phase_portraits_positive_input", "Fig. 1: two-dimensional ORGaNICs, positive input drive z = +1"),
    (-1.0, "fig2_phase_portraits_negative_input", "Fig. 2: two-dimensional ORGaNICs, negative input drive z = −1"),
]


def make_figure(z: float, title: str, *, quick: bool):
    settings = (
        dict(grid=16, nullcline_grid=100, n_trajectories=2, density=0.5)
        if quick
        else dict(grid=40, nullcline_grid=300, n_trajectories=6, density=1.1)
    )
    fig, axes = plt.subplots(2, 3, figsize=(16, 10), layout="constrained")
    handles = {}
    for row, variant in enumerate(("main", "rectified")):
        for col, (w_r, b0, sigma) in enumerate(COLUMNS):
            ax = axes[row, col]
            model = ORGaNICs(z=[z], W_r=[[w_r]], W=[[W]], b0=b0, sigma=sigma, variant=variant, **COMMON)
            letter = "abcdef"[3 * row + col]
            phase_portrait(
                model,
                ax,
                legend=False,
                seed=col,
                title=f"({letter}) {variant}: $w_r$ = {w_r:g}, $b_0$ = {b0:g}, $\\sigma$ = {sigma:g}",
                **settings,
            )
            for h in ax.portrait_legend_handles:
                handles.setdefault(h.get_label(), h)
            if col > 0:
                ax.set_ylabel("$a$")
            if row == 0:
                ax.set_xlabel("$y$")
    fig.suptitle(f"{title}  (b = 0.5, w = 1, τ_y = τ_a = 2 ms)", fontsize="x-large")
    fig.legend(handles=list(handles.values()), loc="outside lower center", ncol=len(handles), fontsize="medium")
    return fig


def main(argv=None) -> list[Path]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--quick", action="store_true", help="coarser grids, fewer trajectories")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for z, stem, title in FIGURES:
        fig = make_figure(z, title, quick=args.quick)
        written += save_figure(fig, out / stem, ("png", "pdf"), dpi=72 if args.quick else 150)
    for path in written:
        print(path)
    return written


if __name__ == "__main__":
    main()
