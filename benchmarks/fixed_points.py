"""Benchmark the fixed-point solvers against simulation and a dense eigendecomposition.

    python benchmarks/fixed_points.py [--n 100 --batch 256 --repeats 5 --seed 0]

A batch of random main-model circuits (``n`` principal neurons, state size ``2n``, ``W_r`` with
maximum singular value exactly 1; the generator of ``tests/test_fixed_points.py``) is solved by
each method with one ``eqx.filter_jit(eqx.filter_vmap(...))`` call. Compilation is done once
and reported separately; the run time is the median over ``--repeats`` calls
(``block_until_ready``), divided by the batch size. The reference cost is one dense
eigendecomposition (``jnp.linalg.eig``) of a ``2n x 2n`` Jacobian, batched over the Jacobians of
the same circuits at their Newton fixed points. Algorithm 2 is timed twice: computing
``lambda_m`` (an eigendecomposition of the ``n x n`` ``W_r``) per circuit, and with ``lambda_m``
precomputed, as when many inputs share one ``W_r``.
"""

from __future__ import annotations

import argparse
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

import organics  # noqa: F401  (float64)
from organics.fixed_points import (
    algorithm1,
    algorithm2,
    leading_eigenvalue,
    newton_fixed_point,
    normalization_fixed_point,
    simulate_to_steady_state,
)
from organics.connectivity import random_circuit
from organics.stability import jacobian


def timed(fn, *args, repeats: int):
    """(result, compile-and-first-run seconds, median run seconds, fastest run seconds)."""
    start = time.perf_counter()
    out = jax.block_until_ready(fn(*args))
    first = time.perf_counter() - start
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        out = jax.block_until_ready(fn(*args))
        runs.append(time.perf_counter() - start)
    return out, first, float(np.median(runs)), float(np.min(runs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100, help="principal neurons per circuit")
    parser.add_argument("--batch", type=int, default=256, help="circuits per batch")
    parser.add_argument("--repeats", type=int, default=5, help="timed calls per method (median)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    models = [random_circuit(rng, args.n) for _ in range(args.batch)]
    batch = jax.tree.map(lambda *xs: jnp.stack(xs), *models)
    print(
        f"{args.batch} circuits, n = {args.n} (state size {2 * args.n}), sigma_max(W_r) = 1; "
        f"{jax.devices()[0].platform} x{jax.device_count()}, median of {args.repeats} calls"
    )

    # lambda_m of Algorithm 2 precomputed (the case of many inputs sharing one W_r)
    lambda_m = jax.block_until_ready(jax.jit(jax.vmap(leading_eigenvalue))(batch.W_r))
    methods = {
        "analytic (normalization)": (normalization_fixed_point, ()),
        "algorithm 1 (<=10 it)": (algorithm1, ()),
        "algorithm 2 (<=10 it)": (algorithm2, ()),
        "algorithm 2, lambda_m given": (lambda m, lam: algorithm2(m, lambda_m=lam), (lambda_m,)),
        "newton": (newton_fixed_point, ()),
        "simulate (tol 1e-9)": (simulate_to_steady_state, ()),
    }
    results, rows = {}, []
    for name, (method, extra) in methods.items():
        solve = eqx.filter_jit(eqx.filter_vmap(method))
        out, first, run, best = timed(solve, batch, *extra, repeats=args.repeats)
        results[name] = out
        rows.append((name, first - run, run, best))

    newton = results["newton"]
    jacobians = eqx.filter_jit(eqx.filter_vmap(jacobian))(batch, newton.state)
    eig = jax.jit(jax.vmap(jnp.linalg.eig))
    _, first, eig_run, eig_best = timed(eig, jacobians, repeats=max(1, args.repeats // 2))
    eig_per = eig_run / args.batch

    header = (
        f"{'method':<28}{'ms/circuit':>12}{'(min)':>9}{'x eig':>8}{'converged':>11}"
        f"{'max|x-x_newton|':>17}{'compile s':>11}"
    )
    print(header)
    print("-" * len(header))
    for name, compile_s, run, best in rows:
        out = results[name]
        both = np.asarray(out.converged & newton.converged)
        deviation = np.abs(np.asarray(out.state - newton.state)).max(axis=1)
        dev = f"{deviation[both].max():.1e}" if both.any() else "n/a"
        per = run / args.batch
        print(
            f"{name:<28}{1e3 * per:>12.4f}{1e3 * best / args.batch:>9.4f}{per / eig_per:>8.4f}"
            f"{float(jnp.mean(out.converged)):>11.3f}{dev:>17}{compile_s:>11.2f}"
        )
    print(
        f"{'eig of 2n x 2n Jacobian':<28}{1e3 * eig_per:>12.4f}{1e3 * eig_best / args.batch:>9.4f}"
        f"{1.0:>8.4f}{'':>11}{'':>17}{first - eig_run:>11.2f}"
    )
    print("(max deviation over circuits where both the method and Newton converged)")

    run_of = {name: run for name, _, run, _ in rows}
    sim = run_of["simulate (tol 1e-9)"]
    print(
        f"speed-up over simulation: Newton {sim / run_of['newton']:.0f}x, "
        f"Algorithm 2 {sim / run_of['algorithm 2 (<=10 it)']:.0f}x "
        f"({sim / run_of['algorithm 2, lambda_m given']:.0f}x with lambda_m given), "
        f"Algorithm 1 {sim / run_of['algorithm 1 (<=10 it)']:.0f}x (goal >= 100x)"
    )
    print(f"simulation: median {np.median(np.asarray(results['simulate (tol 1e-9)'].iterations)):.0f} accepted steps; "
          f"Newton: median {np.median(np.asarray(newton.iterations)):.0f} steps; "
          f"Algorithm 2: median {np.median(np.asarray(results['algorithm 2 (<=10 it)'].iterations)):.0f} iterations")


if __name__ == "__main__":
    main()
