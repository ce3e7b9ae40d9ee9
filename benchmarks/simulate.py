"""Batched versus one-at-a-time integration of ORGaNICs circuits (``organics.simulate``).

Workload (the Stabilization scans' circuit): ``N = 100`` principal neurons, ``W_r = I + Delta*M``
with ``M = (A + A^T)/2``, ``A_ij ~ N(0, 1/N)`` (``Delta = 0.1``), ``W = ones``, ``sigma = 0.1``,
``b = b0 = 1``, ``tau_y = tau_a = 2 ms``, delocalized input ``z = 0.1 * 1/sqrt(N)``, initial
state ``U(0, 1)`` (seeded), integrated for 100 time constants (``t1 = 0.2 s``) with adaptive
Tsit5 (``rtol = 1e-8``, ``atol = 1e-10``, ``dtmax = tau``), saving 101 states. Rows:

* loop: ``simulate`` on one circuit per call, in a Python loop over ``--loop`` circuits
  (compiled once; the first call is excluded and reported as compile time);
* vmap: ``eqx.filter_jit(eqx.filter_vmap(simulate))`` over the whole batch in one call;
* groups: ``simulate_batch`` (vmap within cache-sized groups, ``lax.map`` across groups);
* groups x devices: the same, split over the host CPU devices with ``jax.shard_map``
  (``--devices 2`` sets ``--xla_force_host_platform_device_count`` before JAX starts).

Every row is compiled once; the first call (compile + one run) is reported apart and the
timed runs are the minimum over ``--repeats`` (the loop is timed before and after the batched
rows, since the machine is shared). All rows
run in the same process on the same circuits, and the loop's final states are checked against
every batched row. Usage::

    python benchmarks/simulate.py [--batch 1024] [--loop 32] [--devices 2] [--skip-vmap]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

parser = argparse.ArgumentParser(description="Batched vs looped ORGaNICs integration")
parser.add_argument("--batch", type=int, default=1024)
parser.add_argument("--loop", type=int, default=32)
parser.add_argument("--devices", type=int, default=2, help="host CPU devices for the sharded row (1: skip it)")
parser.add_argument("--skip-vmap", action="store_true", help="skip the plain-vmap row (slow: memory bound)")
parser.add_argument("--repeats", type=int, default=3, help="timed repeats (minimum kept), except plain vmap: 1")
ARGS = parser.parse_args() if __name__ == "__main__" else parser.parse_args([])
if ARGS.devices > 1 and "jax" not in sys.modules:
    os.environ["XLA_FLAGS"] = (
        os.environ.get("XLA_FLAGS", "") + f" --xla_force_host_platform_device_count={ARGS.devices}"
    )

import equinox as eqx  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from jax.sharding import NamedSharding  # noqa: E402
from jax.sharding import PartitionSpec as P  # noqa: E402

import organics  # noqa: E402,F401  (float64)
from organics import ORGaNICs  # noqa: E402
from organics.simulate import _map_groups, auto_group_size, simulate, simulate_batch  # noqa: E402

N = 100
TAU = 2e-3
T1 = 100 * TAU
N_SAVE = 101
SETTINGS = dict(n_save=N_SAVE, dtmax=TAU)


def make_batch(batch: int, delta: float = 0.1, seed: int = 0):
    """``batch`` circuits (array leaves stacked on axis 0) and their initial states."""
    key_w, key_x = jax.random.split(jax.random.PRNGKey(seed))

    def one(key):
        A = jax.random.normal(key, (N, N)) / jnp.sqrt(N)
        W_r = jnp.eye(N) + delta * (A + A.T) / 2
        return ORGaNICs(z=0.1 * jnp.ones(N) / jnp.sqrt(N), W_r=W_r, sigma=0.1, b=1.0, b0=1.0, tau_y=TAU, tau_a=TAU)

    one(key_w)  # one concrete, validated circuit; the batch is built by vmapping the constructor
    models = eqx.filter_vmap(one)(jax.random.split(key_w, batch))
    x0 = jax.random.uniform(key_x, (batch, 2 * N))
    return models, x0


def run_one(model, x0):
    return simulate(model, x0, T1, **SETTINGS)


@eqx.filter_jit
def run_vmap(models, x0):
    return eqx.filter_vmap(run_one)(models, x0)


def run_groups(models, x0):
    return simulate_batch(models, x0, T1, **SETTINGS)


def make_sharded(models, n_devices: int):
    """``simulate_batch``'s grouped map on each device's share of the batch (``shard_map``)."""
    mesh = jax.make_mesh((n_devices,), ("batch",), axis_types=(jax.sharding.AxisType.Auto,))
    sharding = NamedSharding(mesh, P("batch"))
    dynamic, static = eqx.partition(models, eqx.is_array)
    group = auto_group_size(models, jax.tree.leaves(dynamic)[0].shape[0])

    def local(d, x):
        return _map_groups(run_one, eqx.combine(d, static), (x,), group)

    specs = dict(in_specs=(P("batch"), P("batch")), out_specs=P("batch"), check_vma=False)
    fn = jax.jit(jax.shard_map(local, mesh=mesh, **specs))

    def run(_models, x0):
        d = jax.tree.map(lambda leaf: jax.device_put(leaf, sharding), dynamic)
        return fn(d, jax.device_put(x0, sharding))

    return run


def take(models, i: int):
    return jax.tree.map(lambda leaf: leaf[i] if eqx.is_array(leaf) else leaf, models)


def time_batched(fn, models, x0, repeats: int):
    """First call (compile + run) and the minimum over ``repeats`` timed calls."""
    start = time.perf_counter()
    jax.block_until_ready(fn(models, x0))
    first = time.perf_counter() - start
    walls = []
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn(models, x0)
        jax.block_until_ready(out)
        walls.append(time.perf_counter() - start)
    return out, first, min(walls)


def time_loop(models, x0, loop_n: int, repeats: int):
    """Minimum over ``repeats`` of the time to integrate ``loop_n`` circuits one per call."""
    walls = []
    for _ in range(repeats):
        start = time.perf_counter()
        finals = []
        for i in range(loop_n):
            traj = run_one(take(models, i), x0[i])
            jax.block_until_ready(traj.final_state)
            finals.append(traj.final_state)
        walls.append(time.perf_counter() - start)
    return np.stack([np.asarray(x) for x in finals]), min(walls)


def main() -> None:
    batch, loop_n = ARGS.batch, min(ARGS.loop, ARGS.batch)
    models, x0 = make_batch(batch)
    jax.block_until_ready(x0)
    rows = []

    # Loop: one circuit per call (timed before and after the batched rows: the machine is shared).
    start = time.perf_counter()
    jax.block_until_ready(run_one(take(models, 0), x0[0]))
    first_one = time.perf_counter() - start
    reference, looped = time_loop(models, x0, loop_n, ARGS.repeats)

    checks = []
    batched_rows = []
    if not ARGS.skip_vmap:
        batched_rows.append(("vmap, whole batch", run_vmap))
    group = auto_group_size(models, batch)
    batched_rows.append((f"groups of {group} (simulate_batch)", run_groups))
    n_dev = jax.device_count()
    if ARGS.devices > 1 and n_dev >= 2 and batch % n_dev == 0:
        batched_rows.append((f"groups of {group} x {n_dev} devices", make_sharded(models, n_dev)))
    for name, fn in batched_rows:
        repeats = 1 if fn is run_vmap else ARGS.repeats
        out, first, wall = time_batched(fn, models, x0, repeats)
        rows.append((name, batch, first, wall))
        diff = float(np.max(np.abs(np.asarray(out.final_state)[:loop_n] - reference)))
        statuses = np.bincount(np.asarray(out.status), minlength=4).tolist()
        steps = np.asarray(out.num_steps)
        checks.append(
            f"{name}: max |x(t1) - loop| = {diff:.1e}; status counts {statuses}; "
            f"steps median {np.median(steps):.0f} [{steps.min()}, {steps.max()}]"
        )

    _, looped_after = time_loop(models, x0, loop_n, ARGS.repeats)
    looped = min(looped, looped_after)
    rows.insert(0, ("loop, one circuit per call", loop_n, first_one, looped))

    print(f"ORGaNICs N={N}, t1={T1} s (100 tau), adaptive Tsit5 rtol=1e-8 atol=1e-10 dtmax=tau, n_save={N_SAVE}")
    print(f"CPU cores: {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}; JAX devices: {n_dev}")
    for line in checks:
        print("  " + line)
    print()
    per_loop = 1e3 * rows[0][3] / rows[0][1]
    print(f"timings: minimum of {ARGS.repeats} runs (plain vmap: 1); first call = compile + one run")
    header = (
        f"| {'method':<32} | {'circuits':>8} | {'first call (s)':>14} | {'run (s)':>8} | "
        f"{'ms/circuit':>10} | {'vs loop':>7} |"
    )
    print(header)
    print("|" + "|".join("-" * (len(cell) + 0) for cell in header.split("|")[1:-1]) + "|")
    for name, count, first, wall in rows:
        per = 1e3 * wall / count
        print(f"| {name:<32} | {count:>8} | {first:>14.2f} | {wall:>8.2f} | {per:>10.2f} | {per_loop / per:>6.2f}x |")


if __name__ == "__main__":
    main()
