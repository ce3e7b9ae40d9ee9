"""Cost of a scan trial on the benchmark grid, against the research code and the eigendecomposition floor.

Benchmark grid (issue "organics scan"; research-code spec, last section): N = 100, goe_symmetric,
mu = 0, delocalized input, b0 = b1 = 1, sigma = 0.1, tau = 2 ms, first-order start,
Delta = logspace(0.01, 10, 10) x |z| = logspace(0.01, 1, 5) x 4 trials = 200 trials.

The grid is run twice in this process: first with seed 1 (cold: includes JAX compilation of every
bucket shape), then with seed 0 (warm: the steady-state cost a long scan pays per trial). Reported:
CPU-seconds per trial (process time, both cores), trials per second (wall), peak memory, the split
of the warm time between the stages of a trial, and the ratio to one dense eigendecomposition of
the 200 x 200 Jacobian (the floor: every stable fixed point needs its spectrum) timed in the same
run, plus the resulting estimate for the 4-million-trial production grid.

    python benchmarks/scan.py             # N = 100
    python benchmarks/scan.py --n 400     # finite-size cost
"""

from __future__ import annotations

import argparse
import collections
import resource
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

import organics  # noqa: F401  (float64, XLA flags)
import organics.simulate as simulate_module
from organics.fixed_points import first_order_fixed_point
from organics.scan import ScanSpec, run_scan
from organics.scan.engine import _build, trial_keys
from organics.stability import jacobian

#: Research code on this grid (spec, "Measured speed of the research code"), CPU-s per trial.
RESEARCH_CPU_PER_TRIAL = 0.43
#: Trials of the production phase diagram (200 x 200 cells x 100 trials).
PRODUCTION_TRIALS = 4_000_000


def benchmark_spec(n: int) -> ScanSpec:
    return ScanSpec(
        n=n, ensemble="goe_symmetric", mu=0.0, input_type="delocalized", b0=1.0, b1=1.0, sigma=0.1,
        tau_y=2e-3, tau_a=2e-3, initial="first_order", delta_min=0.01, delta_max=10.0, delta_num=10,
        input_min=0.01, input_max=1.0, input_num=5, trials=4, max_chunks=20,
    )  # fmt: skip


def eig_floor(n: int, repeats: int = 20) -> float:
    """Median CPU seconds of ``numpy.linalg.eig`` (single-threaded BLAS) of a 2n x 2n Jacobian of the benchmark circuit."""
    import jax
    import jax.numpy as jnp

    key = trial_keys(0, np.array([3]), np.array([2]), np.array([0]))[0]
    args = [jnp.asarray(v) for v in (0.1, 0.1, 0.0, 0.1, 1.0, 1.0, 2e-3, 2e-3)]
    model, *_ = _build(key, *args, n=n, ensemble="goe_symmetric", sparsity=None, excitatory_fraction=0.8,
                       input_type="delocalized", model="main", initial="first_order")  # fmt: skip
    J = np.asarray(jax.jit(jacobian)(model, first_order_fixed_point(model).state))
    times = []
    with threadpool_limits(limits=1, user_api="blas"):  # as inside a scan block
        for _ in range(repeats):
            start = time.process_time()
            np.linalg.eig(J)
            times.append(time.process_time() - start)
    return float(np.median(times))


class StageTimer:
    """CPU time of the classifier's batched stages (integration, Newton test, polish, spectrum).

    Process CPU time rather than wall time: the stages run single-threaded, and on a shared
    machine wall time mostly measures the other processes."""

    def __init__(self):
        self.seconds = collections.Counter()
        self.trials = collections.Counter()
        self._original = simulate_module._run_bucketed

    def __enter__(self):
        def timed(fn, models, index, arrays, min_bucket, group_size):
            start = time.process_time()
            out = self._original(fn, models, index, arrays, min_bucket, group_size)
            stage = (
                "spectrum" if "leading_real" in out
                else "polish" if "converged" in out
                else "newton" if "newton_distance" in out
                else "integration"
            )  # fmt: skip
            self.seconds[stage] += time.process_time() - start
            self.trials[stage] += len(index)
            return out

        simulate_module._run_bucketed = timed
        return self

    def __exit__(self, *exc):
        simulate_module._run_bucketed = self._original


def run(spec: ScanSpec, path: Path) -> dict:
    """One scan into ``path``; CPU times of the whole run and of its once-per-scan store work.

    The store work done once per scan whatever its size (creating the store before the first
    block, opening the finished dataset after the last) is timed separately, so that the
    production estimate scales only the per-trial cost."""
    shutil.rmtree(path, ignore_errors=True)
    marks = {}
    with StageTimer() as stages:
        wall, cpu = time.perf_counter(), time.process_time()
        ds = run_scan(
            spec,
            path,
            on_start=lambda *_: marks.setdefault("opened", time.process_time()),
            on_block=lambda _: marks.__setitem__("written", time.process_time()),
        ).load()
        wall, end = time.perf_counter() - wall, time.process_time()
    once = (marks["opened"] - cpu) + (end - marks["written"])
    return {"ds": ds, "wall": wall, "cpu": end - cpu, "once": once, "stages": stages}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100, help="number of neurons (default 100)")
    args = parser.parse_args()
    spec = benchmark_spec(args.n)
    floor = eig_floor(args.n)
    workdir = Path(tempfile.mkdtemp(prefix="organics-bench-"))
    try:
        cold = run(spec.replace(seed=1), workdir / "cold.zarr")
        warm = run(spec.replace(seed=0), workdir / "warm.zarr")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    trials = spec.n_trials
    ds = warm["ds"]
    outcome = ds["outcome"].values.ravel()
    chunks = ds["n_chunks"].values.ravel()

    print(f"Benchmark grid: N = {spec.n}, {spec.delta_num} Delta x {spec.input_num} |z| x {spec.trials} trials "
          f"= {trials} trials, goe_symmetric, delocalized, first-order start")  # fmt: skip
    names = ["unresolved", "diverging", "stable fixed point", "limit cycle"]
    print("outcomes (warm run): " + ", ".join(f"{names[k]} {np.sum(outcome == k)}" for k in range(4)))
    print("chunks of 100 tau per trial: " + ", ".join(
        f"{names[k]} {chunks[outcome == k].mean():.1f}" for k in range(4) if np.any(outcome == k)))  # fmt: skip
    print()
    print(f"{'run':<6}{'wall s':>9}{'CPU s':>9}{'CPU ms/trial':>14}{'trials/s':>10}")
    for label, r in (("cold", cold), ("warm", warm)):
        print(f"{label:<6}{r['wall']:>9.1f}{r['cpu']:>9.1f}{1e3 * r['cpu'] / trials:>14.1f}{trials / r['wall']:>10.1f}")
    print(f"peak memory (max RSS of this process): {peak_mb:.0f} MB")
    print()
    print("warm CPU time by stage:")
    stages = warm["stages"]
    other = warm["cpu"] - sum(stages.seconds.values())
    for stage in ("integration", "newton", "polish", "spectrum"):
        print(f"  {stage:<12}{stages.seconds[stage]:>7.2f} s  ({stages.trials[stage]} trial-evaluations, "
              f"{1e3 * stages.seconds[stage] / max(stages.trials[stage], 1):.1f} ms each)")  # fmt: skip
    print(f"  {'other':<12}{other - warm['once']:>7.2f} s  (draws, W_r spectral radius, first-order start, "
          "block writes)")  # fmt: skip
    print(f"  {'once':<12}{warm['once']:>7.2f} s  (creating the store, opening the finished dataset: once per scan)")
    per_trial = warm["cpu"] / trials
    marginal = (warm["cpu"] - warm["once"]) / trials
    print()
    print(f"dense eig of the {2 * spec.n} x {2 * spec.n} Jacobian (numpy, median): {1e3 * floor:.1f} ms CPU")
    print(f"CPU per trial / eig floor: {per_trial / floor:.1f}x   (goal <= 2x)")
    print(f"research code / organics CPU per trial: {RESEARCH_CPU_PER_TRIAL / per_trial:.1f}x   (goal >= 30x, "
          f"i.e. <= {1e3 * RESEARCH_CPU_PER_TRIAL / 30:.0f} ms)")  # fmt: skip
    print(f"CPU per trial without the once-per-scan store work: {1e3 * marginal:.1f} ms "
          f"({marginal / floor:.1f}x the eig floor, {RESEARCH_CPU_PER_TRIAL / marginal:.1f}x fewer than the research code)")  # fmt: skip
    if spec.n == 100:
        hours = (marginal * PRODUCTION_TRIALS + warm["once"]) / 3600
        print(f"production grid ({PRODUCTION_TRIALS:,} trials) estimate: {hours:.0f} CPU-hours   (goal < 16; "
              f"research code 450-500)")  # fmt: skip


if __name__ == "__main__":
    main()
