"""Fig. 4 of Rawat, Heeger & Martiniani (NeurIPS 2024): fast convergence of Algorithm 1.

Reproduces Supplementary Fig. 4 (Section 6.1, Appendix G): 20-dimensional ORGaNICs (10 principal
and 10 normalization neurons, main model Eq. 108) with random heterogeneous parameters
(:func:`organics.connectivity.random_circuit` with ``recurrence="svd1"``: maximum singular value of
``W_r`` exactly 1, ``|z| < 1``, ``tau_y, tau_a ~ U(1, 10) ms``, nonnegative row-normalized ``W``).
For each circuit the iterates ``x_k = (y_k, a_k)`` of Algorithm 1
(:func:`organics.fixed_points.algorithm1`, lines 3-4 for ``k = 0`` and the update Eq. 117 for
``k >= 1``) are compared with the true fixed point ``x*``, found by simulating Eq. 108 from a random
start ``x(0) ~ U(0, 1)^{2n}`` (:func:`organics.fixed_points.simulate_to_steady_state`, relative
residual ``||tau f(x*)|| < 1e-11``) and checked to be stable (every Jacobian eigenvalue has
``Re lambda < 0``).

Panels: (a) mean (error bars: 1 SD) and maximum over circuits of the error
``eps_k = ||x_k - x*||_2`` (dimensionless potentials) against the iteration number ``k``;
(b) the recurrent matrix ``W_r`` of one circuit; (c) its iterates ``y_{k,i}`` against ``k``, one line
per neuron, with the true ``y*_i`` as stars; (d) overlap of the iterate after 10 iterations with the
true solution, every neuron of every circuit. Parameters: 200 circuits (``--quick``: 8), 10
iterations, seed 0.

    python examples/fig4_algorithm1_convergence.py --out DIR [--quick]

writes ``DIR/fig4_algorithm1_convergence.png`` and ``.pdf`` and prints the mean and maximum error
after 0, 1, 2, 3, 5 and 10 iterations.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import equinox as eqx  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import organics as org  # noqa: E402  (float64)
from organics.plot.portraits import save_figure  # noqa: E402

N_NEURONS = 10  # principal neurons; the circuit has 2 * N_NEURONS = 20 dimensions
ITERATIONS = 10
REFERENCE_TOLERANCE = 1e-11


def stack(models):
    """One model whose array leaves carry a leading batch axis (for ``eqx.filter_vmap``)."""
    return jax.tree.map(lambda *leaves: jnp.stack(leaves), *models)


@eqx.filter_jit
def _reference(batch, starts):
    """Simulated fixed points of a batch of circuits and the largest real part of their Jacobian spectra (1/s)."""
    fixed = eqx.filter_vmap(lambda m, x0: org.simulate_to_steady_state(m, x0, tol=REFERENCE_TOLERANCE))(batch, starts)
    spectra = eqx.filter_vmap(lambda m, x: org.eigenvalues(org.jacobian(m, x)))(batch, fixed.state)
    return fixed, jnp.max(spectra.real, axis=1)


@eqx.filter_jit
def _iterate(batch, k: int):
    """Iterate ``k`` of Algorithm 1 for a batch of circuits (``tol = 0`` never stops it before ``k`` updates)."""
    return eqx.filter_vmap(lambda m: org.algorithm1(m, max_iter=k, tol=0.0).state)(batch)


def run(n_circuits: int, *, n: int = N_NEURONS, iterations: int = ITERATIONS, seed: int = 0) -> dict:
    """Iterates of Algorithm 1 and the simulated fixed point of ``n_circuits`` random circuits.

    Returns ``iterates`` (circuits, iterations + 1, 2n), ``reference`` (circuits, 2n),
    ``leading_real`` (circuits,; 1/s, largest real part of the Jacobian spectrum at the reference),
    ``converged`` (circuits,; the simulation met its residual test), ``errors`` (circuits,
    iterations + 1) and the example circuit ``model``.
    """
    if n_circuits < 1:
        raise ValueError(f"n_circuits must be >= 1; got {n_circuits}")
    rng = np.random.default_rng(seed)
    models = [org.random_circuit(rng, n, "svd1") for _ in range(n_circuits)]
    starts = jnp.asarray(rng.uniform(0.0, 1.0, (n_circuits, 2 * n)))
    batch = stack(models)
    reference, leading_real = _reference(batch, starts)
    iterates = jnp.stack([_iterate(batch, k) for k in range(iterations + 1)], axis=1)
    errors = jnp.linalg.norm(iterates - reference.state[:, None, :], axis=-1)
    return {
        "iterates": np.asarray(iterates),
        "reference": np.asarray(reference.state),
        "leading_real": np.asarray(leading_real),
        "converged": np.asarray(reference.converged),
        "errors": np.asarray(errors),
        "model": models[0],
    }


def make_figure(result: dict):
    errors, iterates, reference, model = result["errors"], result["iterates"], result["reference"], result["model"]
    n = model.n
    k = np.arange(errors.shape[1])
    fig, axes = plt.subplots(2, 2, figsize=(11, 9), layout="constrained")

    ax = axes[0, 0]
    mean, sd = errors.mean(axis=0), errors.std(axis=0)
    lower = np.minimum(sd, 0.999 * mean)  # a log axis cannot show mean - SD <= 0
    ax.errorbar(k, mean, yerr=(lower, sd), marker="o", capsize=3, label="mean ± 1 SD (lower bar clipped at 0)")
    ax.plot(k, errors.max(axis=0), "s--", color="tab:red", label="maximum")
    ax.set_yscale("log")
    ax.set_xlabel("iteration k")
    ax.set_ylabel(r"error $\epsilon_k = \Vert x_k - x^*\Vert_2$ (dimensionless)")
    ax.set_title(f"(a) error over {errors.shape[0]} random circuits")
    ax.legend()
    ax.grid(alpha=0.3, which="both")

    ax = axes[0, 1]
    W_r = np.asarray(model.W_r)
    limit = np.abs(W_r).max()
    image = ax.imshow(W_r, cmap="RdBu_r", vmin=-limit, vmax=limit)
    fig.colorbar(image, ax=ax, label=r"$(W_r)_{ij}$")
    ax.set_xlabel("presynaptic neuron j")
    ax.set_ylabel("postsynaptic neuron i")
    ax.set_title(rf"(b) example $W_r$, $\sigma_{{max}}$ = {np.linalg.norm(W_r, 2):.3f}")

    ax = axes[1, 0]
    colors = plt.get_cmap("tab10")
    for i in range(n):
        ax.plot(k, iterates[0, :, i], "o-", color=colors(i % 10), markersize=3, lw=1.2)
        ax.plot(k[-1] + 0.6, reference[0, i], "*", color=colors(i % 10), markersize=10, markeredgecolor="k")
    ax.set_xlabel("iteration k")
    ax.set_ylabel(r"iterate $y_{k,i}$ (dimensionless)")
    ax.set_title("(c) example circuit: one line per neuron (* true $y^*_i$)")
    ax.grid(alpha=0.3)

    ax = axes[1, 1]
    y_final, y_true = iterates[:, -1, :n].ravel(), reference[:, :n].ravel()
    a_final, a_true = iterates[:, -1, n:].ravel(), reference[:, n:].ravel()
    ax.plot(y_true, y_final, "o", markersize=4, alpha=0.6, label="principal $y_i$")
    ax.plot(a_true, a_final, "^", markersize=4, alpha=0.6, label="normalization $a_i$")
    lo, hi = min(y_true.min(), a_true.min()), max(y_true.max(), a_true.max())
    ax.plot([lo, hi], [lo, hi], "k--", lw=1, label="identity")
    ax.set_xlabel("true fixed point (simulation, dimensionless)")
    ax.set_ylabel(f"Algorithm 1 after {k[-1]} iterations (dimensionless)")
    ax.set_title("(d) overlap with the true solution")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.suptitle(
        f"Fig. 4: convergence of Algorithm 1, {2 * n}-dimensional ORGaNICs, "
        r"$\sigma_{max}(W_r) = 1$, $\Vert z\Vert < 1$"
    )
    return fig


def main(argv=None) -> list[Path]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--quick", action="store_true", help="8 circuits instead of 200, same code path")
    args = parser.parse_args(argv)
    result = run(8 if args.quick else 200)
    errors = result["errors"]
    print(
        f"reference fixed points: {int(result['converged'].sum())}/{errors.shape[0]} converged, "
        f"largest Re lambda over all circuits {result['leading_real'].max():.3g} 1/s"
    )
    for k in (0, 1, 2, 3, 5, ITERATIONS):
        print(f"iteration {k:2d}: mean error {errors[:, k].mean():.3e}, max error {errors[:, k].max():.3e}")
    fig = make_figure(result)
    written = save_figure(
        fig, Path(args.out) / "fig4_algorithm1_convergence", ("png", "pdf"), dpi=72 if args.quick else 150
    )
    for path in written:
        print(path)
    return written


if __name__ == "__main__":
    main()
