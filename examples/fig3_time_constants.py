"""Fig. 3 of Rawat, Heeger & Martiniani (NeurIPS 2024): the rectified 2-D ORGaNICs for three
pairs of time constants.

w_r = 1, b0 = 0.5, b = 0.5, sigma = 0.1, w = 1, z = 1. (a) tau_a = tau_y = 2 ms;
(b) tau_a = 10 ms, tau_y = 2 ms; (c) tau_a = 2 ms, tau_y = 10 ms. The fixed point is the same
(time constants do not move it) and stable in all three; the time constants change the spiral
(eigenvalues printed in each title).

    python examples/fig3_time_constants.py --out figures/ [--quick]

writes fig3_time_constants.png/.pdf.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import organics  # noqa: E402,F401  (float64)
from organics import ORGaNICs  # noqa: E402
from organics.plot.portraits import fixed_points_2d, phase_portrait, save_figure  # noqa: E402

PARAMETERS = dict(W_r=[[1.0]], W=[[1.0]], b0=0.5, b=0.5, sigma=0.1, variant="rectified")
TIME_CONSTANTS_MS = [(2.0, 2.0), (10.0, 2.0), (2.0, 10.0)]  # (tau_a, tau_y)


def make_figure(*, quick: bool):
    settings = (
        dict(grid=16, nullcline_grid=100, n_trajectories=2, density=0.5)
        if quick
        else dict(grid=40, nullcline_grid=300, n_trajectories=5, density=1.1)
    )
    fig, axes = plt.subplots(1, 3, figsize=(16, 5.6), layout="constrained")
    handles = {}
    for k, (tau_a, tau_y) in enumerate(TIME_CONSTANTS_MS):
        model = ORGaNICs(z=[1.0], tau_a=tau_a * 1e-3, tau_y=tau_y * 1e-3, **PARAMETERS)
        fps = fixed_points_2d(model)
        lam = fps[0].eigenvalues[0] if fps else complex("nan")
        ax = axes[k]
        phase_portrait(
            model,
            ax,
            legend=False,
            fixed_points=fps,
            xlim=(-1.25, 1.25),
            ylim=(-0.02, 0.5),
            seed=0,
            # the same starts in every panel, integrated long enough for the slowest pair
            trajectories=[(-1.0, 0.45), (0.3, 0.02), (1.2, 0.4), (-0.5, 0.1), (0.6, 0.45)][
                : settings["n_trajectories"]
            ],
            t1=0.15,
            title=f"({'abc'[k]}) $\\tau_a$ = {tau_a:g} ms, $\\tau_y$ = {tau_y:g} ms\n"
            f"$\\lambda$ = {lam.real:.0f} ± {abs(lam.imag):.0f}i 1/s",
            grid=settings["grid"],
            nullcline_grid=settings["nullcline_grid"],
            density=settings["density"],
        )
        for h in ax.portrait_legend_handles:
            handles.setdefault(h.get_label(), h)
        if k > 0:
            ax.set_ylabel("$a$")
    fig.suptitle(
        "Fig. 3: rectified two-dimensional ORGaNICs for different time constants "
        "($w_r$ = 1, $b_0$ = 0.5, b = 0.5, σ = 0.1, w = 1, z = 1)",
        fontsize="x-large",
    )
    fig.legend(handles=list(handles.values()), loc="outside lower center", ncol=len(handles), fontsize="medium")
    return fig


def main(argv=None) -> list[Path]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--quick", action="store_true", help="coarser grids, fewer trajectories")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    fig = make_figure(quick=args.quick)
    written = save_figure(fig, out / "fig3_time_constants", ("png", "pdf"), dpi=72 if args.quick else 150)
    for path in written:
        print(path)
    return written


if __name__ == "__main__":
    main()
