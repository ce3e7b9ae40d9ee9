"""Phase portraits (y_i, a_i) of one neuron in a stable, critically slowed, oscillating and unstable circuit.

Reproduces the ``phase_portraits`` figure of the Stabilization paper (Morone, Rawat, Heeger &
Martiniani; research-code spec §7): ORGaNICs (Eq. 14) with N = 100 principal neurons, ``W = ones``,
``W_r = I + M`` (``goe_symmetric``, seed 0, :func:`organics.connectivity.recurrent_matrix`),
sigma = 0.1, b0 = b = 1, tau_y = tau_a = 2 ms, delocalized input, started at zero and simulated
for 1000 tau = 2 s (``--quick``: 100 tau). Top row: ``(y_i(t), a_i(t))`` of the slowest-converging
neuron (:func:`organics.plot.portraits.neuron_portrait`) with the fixed point found by Newton's
method from the end of the run; bottom row: the population norm ``||y(t)||`` against ``t / tau``.
Every circuit is classified by :func:`organics.simulate.classify_batch` (default tolerances, at
most 2000 tau, with the scans' Newton polish ``polish_distance = 1e-4`` so that critically slowed
trials resolve) and the outcome is printed and shown in the panel title:

* ``|z| = 0.05, Delta = 0.05``: stable fixed point, ``Re lambda* tau ~ -0.05``;
* ``|z| = 0.05, Delta = 0.12``: stable but critically slowed, ``|Re lambda* tau| < 0.01``
  (``Delta_c(0.05) = 0.18``; without the polish it is still unresolved after 2000 tau);
* ``|z| = 0.01, Delta = 2.5``: the nearest thing to a limit cycle we found, and **not** a limit
  cycle. The circuit oscillates at about 146 Hz for thousands of tau, but the equilibrium it
  circles is a stable focus with ``Re lambda* tau ~ -0.009`` and ``|Im lambda* tau| ~ 1.8``
  (quality factor ~ 100): a critically slowed, weakly damped oscillation, labelled so. (The research
  code's ``Delta = 1`` "limit cycle" of ``limit_cycle_testing`` is likewise a slowly decaying
  oscillation that our classifier resolves as a stable fixed point.) No true limit cycle was found
  for N = 100 with ``W = ones``: seeds 0-3, Delta in 1-3.1, |z| in 0.01-0.05 all oscillate about a
  stable focus or diverge;
* ``|z| = 0.05, Delta = 4``: diverging (the run leaves ``max|x_i| <= 1e6`` within 7 ms; the
  portrait shows the path until then, on log axes).

    python examples/neuron_phase_portraits.py --out DIR [--quick]

writes ``DIR/neuron_phase_portraits.png`` and ``.pdf`` and prints each circuit's outcome and leading
eigenvalue.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import organics as org  # noqa: E402  (float64)
from organics.plot.portraits import neuron_portrait, save_figure  # noqa: E402
from organics.scan.engine import POLISH_DISTANCE  # noqa: E402

N = 100
TAU = 2e-3
SEED = 0
#: (label, input norm |z|, Delta) of each column.
CASES = (
    ("stable", 0.05, 0.05),
    ("critically slowed", 0.05, 0.12),
    ("weakly damped oscillation", 0.01, 2.5),
    ("unstable", 0.05, 4.0),
)
#: |Re lambda* tau| below which a stable fixed point counts as critically slowed (spec §6).
SLOWING_THRESHOLD = 1e-2
BOUND = 1e6


def build(input_norm: float, delta: float) -> org.ORGaNICs:
    W_r = org.recurrent_matrix(SEED, N, ensemble="goe_symmetric", delta=delta)
    z = org.input_drive(N, "delocalized", input_norm)
    return org.ORGaNICs(z=z, W_r=W_r, sigma=0.1, tau_y=TAU, tau_a=TAU)


def describe(verdict) -> str:
    """The classifier's outcome, with critical slowing split off stable fixed points."""
    outcome = org.Outcome(int(verdict.outcome))
    if outcome == org.STABLE_FIXED_POINT and abs(float(verdict.leading_real_tau)) < SLOWING_THRESHOLD:
        return "STABLE_FIXED_POINT (critically slowed)"
    return outcome.name


def run(duration_tau: float, max_chunks: int = 20) -> list[dict]:
    """Simulate and classify every case; return per case the model, trajectory, verdict and Newton fixed point."""
    models = [build(z, delta) for _, z, delta in CASES]
    x0 = np.zeros((len(models), 2 * N))
    batch = jax.tree.map(lambda *leaves: jnp.stack(leaves), *models)
    verdicts = org.classify_batch(batch, x0, max_chunks=max_chunks, bound=BOUND, polish_distance=POLISH_DISTANCE)
    results = []
    for k, model in enumerate(models):
        verdict = jax.tree.map(lambda leaf, k=k: leaf[k], verdicts)
        diverging = org.Outcome(int(verdict.outcome)) == org.DIVERGING
        # a diverging run is sampled up to just past the time it left the bound
        t1 = min(duration_tau * TAU, 1.2 * float(verdict.divergence_time)) if diverging else duration_tau * TAU
        trajectory = org.simulate_trajectory(model, x0[k], t1, n_save=4000, bound=BOUND)
        fixed = None
        if not diverging:
            candidate = org.newton_fixed_point(model, verdict.final_state)
            if bool(candidate.converged):
                fixed = candidate.state
        spectrum = None if fixed is None else np.asarray(org.eigenvalues(org.jacobian(model, fixed)))
        results.append(dict(model=model, trajectory=trajectory, verdict=verdict, fixed=fixed, spectrum=spectrum))
    return results


def leading(spectrum) -> complex:
    """Eigenvalue with the largest real part, times tau (dimensionless)."""
    return complex(spectrum[np.argmax(spectrum.real)]) * TAU


def make_figure(results: list[dict]):
    fig, axes = plt.subplots(2, len(CASES), figsize=(19, 8.5), layout="constrained", height_ratios=(3, 2))
    for column, ((label, z, delta), result) in enumerate(zip(CASES, results)):
        model, trajectory = result["model"], result["trajectory"]
        ax = axes[0, column]
        neuron_portrait(model, trajectory, None, k=1, ax=ax, fixed_point=result["fixed"])
        title = (
            f"{label}: |z| = {z:g}, Δ = {delta:g}\nclassifier: {describe(result['verdict']).lower().replace('_', ' ')}"
        )
        if result["spectrum"] is not None:
            lam = leading(result["spectrum"])
            title += f"\nλ*τ = {lam.real:.3g} ± {abs(lam.imag):.3g}i at the fixed point"
        ax.set_title(title, fontsize=10)
        if label == "unstable":
            ax.set_yscale("symlog", linthresh=1e-2)
            ax.set_xscale("symlog", linthresh=1e-2)
        if column:
            ax.set_ylabel("")
        ax.legend(fontsize=8, loc="best")

        ax = axes[1, column]
        states = np.asarray(trajectory.states)
        ok = np.all(np.isfinite(states), axis=1)
        y, _ = model.split_state(states[ok])
        ax.plot(np.asarray(trajectory.ts)[ok] / TAU, np.linalg.norm(np.asarray(y), axis=1), color="k", lw=1)
        ax.set_xlabel("time t / τ")
        if label == "unstable":
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
    axes[1, 0].set_ylabel(r"population norm $\Vert y(t)\Vert_2$")
    fig.suptitle(
        f"One neuron's phase portrait (slowest to converge), N = {N}, W = ones, goe_symmetric $W_r$ (seed {SEED}), "
        "σ = 0.1, τ = 2 ms, zero start"
    )
    return fig


def main(argv=None) -> list[Path]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--quick", action="store_true", help="100 tau runs and 2 classifier chunks, same code path")
    args = parser.parse_args(argv)
    results = run(100.0 if args.quick else 1000.0, max_chunks=2 if args.quick else 20)
    for (label, z, delta), result in zip(CASES, results):
        lam = "none" if result["spectrum"] is None else f"{leading(result['spectrum']):.4g}"
        print(f"{label} (|z| = {z:g}, Delta = {delta:g}): {describe(result['verdict'])}, lambda* tau = {lam}")
    fig = make_figure(results)
    written = save_figure(fig, Path(args.out) / "neuron_phase_portraits", ("png", "pdf"), dpi=72 if args.quick else 150)
    for path in written:
        print(path)
    return written


if __name__ == "__main__":
    main()
