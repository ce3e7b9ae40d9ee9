"""Linear recurrent network: selective amplification, slowing down, and the three regimes of lambda_1.

    python examples/linear_amplification.py --out DIR [--quick]

``tau dv/dt = -v + h + M v`` with a symmetric ``M = sum_i lambda_i e_i e_i^T`` (lecture notes on
linear recurrent networks): orthonormal modes ``e_i`` from a seeded random rotation, eigenvalues
``lambda_1`` and the rest spread evenly over ``[-0.5, 0.5]``, ``tau = 10 ms``. The top row plots
the gain ``1/(1 - lambda)`` of every mode and its time constant ``tau/(1 - lambda)`` for
``lambda_1 = 0.9``. The bottom row switches a random input ``h`` on for 100 ms and then off, for
``lambda_1 = 0.9`` (decay to the amplified steady state, then back to 0), ``lambda_1 = 1``
(integration, and the integral is remembered after the input is gone) and ``lambda_1 = 1.1``
(explosion). All curves are the exact solution (:func:`organics.linear.linear_solution`).

Writes ``DIR/linear_amplification.png`` and ``.pdf``; prints the gain of the leading mode.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from organics.linear import mode_amplification, steady_state  # noqa: E402
from organics.plot.linear import plot_mode_gains, plot_regimes  # noqa: E402
from organics.plot.portraits import save_figure  # noqa: E402

TAU = 0.010  # s
T_OFF = 0.100  # s, input switched off


def network(n: int, lambda_1: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``M`` with eigenvalues ``(lambda_1, linspace(0.5, -0.5, n - 1))`` on seeded orthonormal modes; ``h``."""
    rng = np.random.default_rng(seed)
    modes, _ = np.linalg.qr(rng.standard_normal((n, n)))
    eigenvalues = np.concatenate([[lambda_1], np.linspace(0.5, -0.5, n - 1)])
    h = rng.standard_normal(n)
    return modes @ np.diag(eigenvalues) @ modes.T, h, modes[:, 0]


def main(argv=None) -> list[Path]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--quick", action="store_true", help="fewer neurons and time points")
    args = parser.parse_args(argv)
    n, points = (8, 200) if args.quick else (20, 800)
    cases = {label: network(n, lam)[0] for label, lam in
             (("decay", 0.9), ("integration (memory)", 1.0), ("explosion", 1.1))}  # fmt: skip
    M, h, e_1 = network(n, 0.9)
    gain = float(np.real(mode_amplification(M)[0]))
    measured = float(steady_state(M, h) @ e_1 / (h @ e_1))

    fig = plt.figure(figsize=(13, 8), layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=(1.0, 1.1))
    plot_mode_gains(M, TAU, tuple(top.subplots(1, 2)))
    top.suptitle(r"$\lambda_1$ = 0.9: gain and time constant of every mode", fontsize=11)
    plot_regimes(cases, h, TAU, np.linspace(0.0, 0.3, points), t_off=T_OFF, axes=list(bottom.subplots(1, 3)))
    bottom.suptitle(f"input on for the first {1e3 * T_OFF:g} ms, then off (τ = {1e3 * TAU:g} ms, n = {n})", fontsize=11)
    written = save_figure(fig, Path(args.out) / "linear_amplification", ("png", "pdf"), dpi=72 if args.quick else 150)
    print(f"gain of the leading mode 1/(1 - lambda_1): {gain:.6f}")
    print(f"steady-state projection over input projection: {measured:.6f}")
    for path in written:
        print(path)
    return written


if __name__ == "__main__":
    main()
