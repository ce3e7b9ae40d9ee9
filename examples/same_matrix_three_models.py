"""One recurrent matrix with spectral radius above 1, three circuits: the central claim in one figure.

    python examples/same_matrix_three_models.py --out DIR [--quick]

The same ``W_r = I + M`` (``goe_symmetric``, ``Delta = 0.3``, ``rho(W_r) ~ 1.4``) and the same
input drive (delocalized, ``|z| = 0.5``) drive

1. a linear network ``tau dv/dt = -v + z + W_r v``: ``W_r`` has an eigenvalue above 1, so the
   activity explodes;
2. a rate network ``tau dv/dt = -v + tanh(z + W_r v)``: the saturating nonlinearity bounds it,
   and it settles far from its input (the recurrence, not the input, sets the pattern);
3. ORGaNICs (Eq. 14) with the same ``W_r``: a stable fixed point close to the normalization
   solution ``z / sqrt(sigma^2 + |z|^2)``.

Each row shows a few neurons and the population norm against time; the outcome of the trajectory
classifier is in the row title. Writes ``DIR/same_matrix_three_models.png`` and ``.pdf`` and
prints the three outcomes.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import jax.numpy as jnp  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import organics as org  # noqa: E402
from organics.plot.portraits import save_figure  # noqa: E402

TAU = 2e-3


def build(n: int, delta: float, input_norm: float, seed: int):
    """The shared matrix and drive, and the three models that use them."""
    W_r = org.recurrent_matrix(seed, n, ensemble="goe_symmetric", delta=delta)
    z = org.input_drive(n, "delocalized", input_norm)
    models = {
        "linear network": org.LinearNetwork(M=W_r, h=z, tau=TAU),
        "rate network (tanh)": org.RateNetwork(M=W_r, h=z, tau=TAU, nonlinearity="tanh"),
        "ORGaNICs": org.ORGaNICs(z=z, W_r=W_r, sigma=0.1, tau_y=TAU, tau_a=TAU),
    }
    return W_r, z, models


def run(n: int = 50, delta: float = 0.3, input_norm: float = 0.5, seed: int = 0, duration: float = 0.1):
    """Simulate and classify the three models; return what the figure and the test need."""
    W_r, z, models = build(n, delta, input_norm, seed)
    results = {}
    for name, model in models.items():
        x0 = jnp.zeros(model.state_size)
        trajectory = org.simulate_trajectory(model, x0, duration, n_save=400, bound=1e4)
        verdict = org.classify_trajectory(model, x0, bound=1e4, max_chunks=10)
        results[name] = (model, trajectory, org.Outcome(int(verdict.outcome)))
    radius = float(np.max(np.abs(np.linalg.eigvals(np.asarray(W_r)))))
    return radius, np.asarray(z), results


def make_figure(radius: float, z: np.ndarray, results: dict, neurons: int = 5):
    fig, axes = plt.subplots(3, 1, figsize=(8, 9), sharex=True, layout="constrained")
    normalized = z / np.sqrt(0.1**2 + np.sum(z**2))
    for ax, (name, (model, trajectory, outcome)) in zip(axes, results.items()):
        ts = 1e3 * np.asarray(trajectory.ts)
        v = np.asarray(model.split_state(trajectory.states)[0])
        for i in range(neurons):
            ax.plot(ts, v[:, i], lw=1.2, label=f"neuron {i}" if ax is axes[0] else None)
        ax.plot(ts, np.linalg.norm(v, axis=1), "k--", lw=1.5, label="population norm |v|" if ax is axes[0] else None)
        if name == "ORGaNICs":
            ax.axhline(np.linalg.norm(normalized), color="tab:red", lw=1, ls=":", label="normalization |y_s|")
            ax.legend(loc="lower right", fontsize=9)
        ax.set_title(f"{name}: {outcome.name.lower().replace('_', ' ')}")
        ax.set_ylabel("response (a.u.)")
        if name == "linear network":
            ax.set_yscale("symlog", linthresh=1.0)
    axes[0].legend(loc="upper left", fontsize=9, ncol=2)
    axes[-1].set_xlabel("time (ms)")
    fig.suptitle(f"same recurrent matrix W_r, spectral radius {radius:.2f} > 1, same input |z| = {np.linalg.norm(z):g}")
    return fig


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--quick", action="store_true", help="smaller network, same code path")
    args = parser.parse_args(argv)
    radius, z, results = run(n=20 if args.quick else 50)
    fig = make_figure(radius, z, results)
    written = save_figure(
        fig, Path(args.out) / "same_matrix_three_models", ("png", "pdf"), dpi=72 if args.quick else 150
    )
    for name, (_, _, outcome) in results.items():
        print(f"{name}: {outcome.name}")
    for path in written:
        print(path)
    return results


if __name__ == "__main__":
    main()
