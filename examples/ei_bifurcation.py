"""Hopf bifurcation of the Dayan–Abbott E–I pair: eigenvalues against tau_I, damped oscillation and limit cycle.

    python examples/ei_bifurcation.py --out DIR [--quick]

The excitatory-inhibitory pair of the lecture notes (Dayan & Abbott, Sec. 7.5)::

    tau_E dv_E/dt = -v_E + [1.25 v_E - v_I + 10]+,     tau_I dv_I/dt = -v_I + [v_E - 10]+

has the fixed point ``v* = (80/3, 50/3) Hz`` for every ``tau_I``, with Jacobian
``[[0.25/tau_E, -1/tau_E], [1/tau_I, -1/tau_I]]``. Its eigenvalues are a complex pair whose real
part ``(0.25/tau_E - 1/tau_I)/2`` crosses zero at ``tau_I = 4 tau_E = 40 ms`` (trace = 0) with
angular frequency ``sqrt(det J) = sqrt(0.75/(tau_E tau_I))``: a Hopf point. The script follows
the fixed point over ``tau_I``, locates the crossing by bisection, and simulates every value
from the kicked fixed point: a damped oscillation before 40 ms (``tau_I = 30 ms``), a limit cycle
bounded by the rectification after it (``tau_I = 50 ms``).

Writes ``DIR/ei_bifurcation.png`` and ``.pdf``; prints the Hopf point and its frequency.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402

from organics.bifurcation import follow_fixed_point, locate_crossing, sweep_oscillations  # noqa: E402
from organics.models.rate import dayan_abbott_ei  # noqa: E402
from organics.plot.bifurcation import bifurcation_figure  # noqa: E402
from organics.plot.portraits import save_figure  # noqa: E402

V_STAR = np.array([80.0 / 3.0, 50.0 / 3.0])  # Hz, the fixed point with both units active


def run(num: int = 41, duration: float = 6.0):
    """Branch over tau_I in [20, 60] ms, the Hopf crossing, and the simulations of every value."""
    values = np.linspace(0.020, 0.060, num)
    branch = follow_fixed_point(dayan_abbott_ei, values, V_STAR + 1.0)
    crossing = locate_crossing(dayan_abbott_ei, 0.030, 0.050, V_STAR, tol=1e-12)
    sweep = sweep_oscillations(dayan_abbott_ei, branch, duration=duration)
    return branch, crossing, sweep


def main(argv=None) -> list[Path]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--quick", action="store_true", help="fewer parameter values and a shorter simulation")
    args = parser.parse_args(argv)
    num, duration = (9, 3.0) if args.quick else (41, 6.0)
    branch, crossing, sweep = run(num, duration)
    examples = [int(np.argmin(np.abs(branch.values - t))) for t in (0.030, 0.050)]
    fig = bifurcation_figure(
        branch,
        [crossing],
        sweep,
        parameter_name=r"$\tau_I$",
        parameter_unit="ms",
        scale=1e3,
        component_names=(r"$v_E$", r"$v_I$"),
        state_unit="Hz",
        title=r"Dayan–Abbott E–I pair ($\tau_E$ = 10 ms): Hopf bifurcation in $\tau_I$",
        examples=examples,
    )
    written = save_figure(fig, Path(args.out) / "ei_bifurcation", ("png", "pdf"), dpi=72 if args.quick else 150)
    print(f"Hopf point: tau_I = {1e3 * crossing.parameter:.10f} ms")
    print(f"Hopf frequency: {crossing.frequency:.10f} Hz")
    for path in written:
        print(path)
    return written


if __name__ == "__main__":
    main()
