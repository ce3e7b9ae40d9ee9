"""Steady-state responses of the two-type ORGaNICs ring (orientation tuning and contrast response).

    python examples/ring_responses.py --out DIR [--quick]

Writes ``DIR/ring_responses.png`` and ``.pdf``: (left) the steady-state membrane potential ``y`` of
every principal neuron against its preferred orientation for a 90-degree grating at several
contrasts; (right) the response of the neuron preferring 90 degrees against contrast (log axis),
computed from the circuit (Newton + stability check) and the normalization equation
``y = z / sqrt(sigma**2 + W z**2)`` overlaid. ``--quick`` uses fewer contrasts.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import organics  # noqa: E402,F401  (float64)
from organics.fixed_points import newton_fixed_point  # noqa: E402
from organics.models.ring import (  # noqa: E402
    grating_stimulus,
    preferred_orientations,
    ring_input_weights,
    two_type_ring,
)
from organics.stability import jacobian  # noqa: E402


def steady_states(base, Z):
    """Newton fixed points of ``base`` with each drive in ``Z`` and whether each is stable."""

    def one(z):
        model = eqx.tree_at(lambda m: m.z, base, z)
        fp = newton_fixed_point(model)
        stable = jnp.max(jnp.linalg.eigvals(jacobian(model, fp.state)).real) < 0
        return fp.state, fp.converged & stable

    return jax.jit(jax.vmap(one))(jnp.asarray(Z))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--quick", action="store_true", help="fewer contrasts (a few seconds)")
    parser.add_argument("--n", type=int, default=36, help="number of principal neurons (default 36)")
    parser.add_argument("--theta", type=float, default=90.0, help="grating orientation, degrees")
    parser.add_argument("--sigma", type=float, default=0.1, help="semi-saturation constant")
    parser.add_argument("--norm-band", type=float, default=0.5, help="pool width / n")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    n, theta = args.n, args.theta
    base = two_type_ring(n, n, contrast=1.0, theta_deg=theta, sigma=args.sigma, norm_band=args.norm_band)
    W_zx = ring_input_weights(n, n)
    W = np.asarray(base.W)
    pref = int(np.floor(n * theta / 180.0))
    orientations = preferred_orientations(n)

    tuning_contrasts = np.array([0.02, 0.05, 0.1, 0.2, 0.5, 1.0])
    sweep = np.geomspace(1e-3, 1.0, 12 if args.quick else 40)
    contrasts = np.concatenate([tuning_contrasts, sweep])
    Z = np.stack([W_zx @ grating_stimulus(n, theta, c) for c in contrasts])
    states, ok = steady_states(base, Z)
    states, ok = np.asarray(states), np.asarray(ok)
    if not ok.all():
        print(f"warning: {int((~ok).sum())} of {ok.size} fixed points not converged or not stable")
    Y = states[:, :n]

    def normalization(z):
        return z / np.sqrt(args.sigma**2 + W @ z**2)

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    colors = plt.cm.viridis(np.linspace(0.1, 0.9, len(tuning_contrasts)))
    # wrap the ring so the curve is drawn over [0, 180] degrees
    ori = np.append(orientations, 180.0)
    for color, c, y in zip(colors, tuning_contrasts, Y[: len(tuning_contrasts)]):
        ax1.plot(ori, np.append(y, y[0]), "o-", ms=3, color=color, label=f"c = {c:g}")
    ax1.axvline(theta, color="0.6", ls=":", lw=1)
    ax1.set_xlabel("preferred orientation (deg)")
    ax1.set_ylabel("steady-state response y (a.u.)")
    ax1.set_xlim(0, 180)
    ax1.set_xticks(np.arange(0, 181, 30))
    ax1.set_title(f"population response, grating at {theta:g} deg")
    ax1.legend(title="contrast", fontsize=8)

    n_tuning = len(tuning_contrasts)
    fine = np.geomspace(sweep[0], 1.0, 400)
    curve = np.array([normalization(W_zx @ grating_stimulus(n, theta, c))[pref] for c in fine])
    ax2.plot(fine, curve, "-", color="C1", lw=2, label=r"normalization $z/\sqrt{\sigma^2 + Wz^2}$")
    ax2.plot(sweep, Y[n_tuning:, pref], "o", color="C0", ms=4, label="circuit steady state")
    ax2.set_xscale("log")
    ax2.set_xlabel("contrast c")
    ax2.set_ylabel(f"response of the {orientations[pref]:g}-deg neuron, y (a.u.)")
    ax2.set_ylim(bottom=0)
    ax2.set_title("contrast response")
    ax2.legend(fontsize=8, loc="upper left")

    for ext in ("png", "pdf"):
        fig.savefig(args.out / f"ring_responses.{ext}", dpi=150)
    error = np.max(np.abs(Y[n_tuning:, pref] - np.array([normalization(z)[pref] for z in Z[n_tuning:]])))
    print(f"wrote {args.out / 'ring_responses.png'} (.pdf); max |y - normalization| = {error:.2e}")


if __name__ == "__main__":
    main()
