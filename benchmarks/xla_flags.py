"""Effect of ``--xla_cpu_multi_thread_eigen=false`` (set by ``import organics``) on CPU kernels.

    python benchmarks/xla_flags.py [--repeats 5]

Runs the same kernels (batched matrix-vector products as in a batched ODE step, batched matrix
products, a batch of dense eigendecompositions) in fresh subprocesses with and without the flag,
alternating A/B/A/B, and prints the fastest time of each and the ratio default / flag.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

KERNELS = r"""
import json, sys, time
import jax, jax.numpy as jnp
jax.config.update("jax_enable_x64", True)
key = jax.random.PRNGKey(0)
A = jax.random.normal(key, (256, 100, 100))
x = jax.random.normal(key, (256, 100))
B = jax.random.normal(key, (256, 200, 200))
kernels = {
    "batched matvec 256 x (100x100)": (jax.jit(lambda A, x: jnp.einsum("bij,bj->bi", A, x)), (A, x)),
    "batched matmul 256 x (200x200)": (jax.jit(lambda B: B @ B), (B,)),
    "eig, batch of 32 (100x100)": (jax.jit(lambda A: jnp.linalg.eigvals(A[:32])), (A,)),
}
out = {}
for name, (fn, args) in kernels.items():
    fn(*args).block_until_ready()
    times = []
    for _ in range(int(sys.argv[1])):
        start = time.perf_counter()
        fn(*args).block_until_ready()
        times.append(time.perf_counter() - start)
    out[name] = min(times)
print(json.dumps(out))
"""


def run(flag: bool, repeats: int) -> dict[str, float]:
    env = dict(os.environ)
    env.pop("XLA_FLAGS", None)
    if flag:
        env["XLA_FLAGS"] = "--xla_cpu_multi_thread_eigen=false"
    result = subprocess.run([sys.executable, "-c", KERNELS, str(repeats)], env=env, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    default, flagged = {}, {}
    for _ in range(2):  # A/B/A/B against drifting machine load
        for store, flag in ((default, False), (flagged, True)):
            for name, seconds in run(flag, args.repeats).items():
                store[name] = min(store.get(name, float("inf")), seconds)
    print(f"{'kernel':34s} {'default ms':>11s} {'flag ms':>9s} {'default/flag':>13s}")
    for name in default:
        print(f"{name:34s} {1e3 * default[name]:11.2f} {1e3 * flagged[name]:9.2f} {default[name] / flagged[name]:13.2f}")


if __name__ == "__main__":
    main()
