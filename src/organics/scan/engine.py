r"""Evaluate one block of a scan: draw the circuits, start them, classify them, measure them.

A :class:`Block` is a rectangle of cells (one combination of the sweep dimensions, a run of
``delta`` indices and a run of ``input_norm`` indices) with all its trials. :func:`run_block`
returns NumPy arrays of shape ``(n_delta, n_input, trials[, neuron | mode])`` and knows
nothing about storage or executors, so any executor can call it anywhere.

**Random draws.** Trial ``k`` of cell ``(i, j)`` (``delta`` index ``i``, ``input_norm`` index
``j``) uses the key ``fold_in(fold_in(fold_in(PRNGKey(seed), i), j), k)``, split into the keys of
the matrix ``M``, of the input direction (``"random"`` inputs) and of the initial state
(``"random"`` starts). It depends on nothing else: not on the block, the batch, the executor,
nor on the sweep dimensions, so the same draws are reused for every model, ``mu``, ``sigma``,
``b0`` and ``b1`` of a sweep (common random numbers: differences along a sweep dimension are
not sampling noise).

**Per trial** (research-code spec §4, with the classifier of :func:`organics.simulate.classify_batch`):

1. ``W_r = I + M`` (:func:`organics.connectivity.recurrent_matrix`), its spectral radius and
   spectral abscissa ``max Re eig(W_r)``; ``z`` (:func:`organics.connectivity.input_drive`,
   2-norm ``input_norm``); the circuit (:func:`scan_model`): ORGaNICs with ``W = ones``
   (:class:`organics.models.ORGaNICs`) or a rate model with the same ``W_r`` and drive
   (:mod:`organics.scan.spec` documents the mapping).
2. The normalization fixed point ``x_s0`` (Eq. 4 / Eq. 88) and its first-order correction
   ``x_s0 + x_s1`` (:func:`organics.fixed_points.first_order_fixed_point`); NaN for rate models.
3. The start: ``"norm"`` ``x_s0``; ``"first_order"`` ``x_s0 + x_s1``; ``"zero"`` 0;
   ``"zero_epsilon"`` ``1e-3``; ``"random"`` ``U(0, 1)`` in every component. A rate model starts
   from the ``y`` part of the main circuit's start.
4. The outcome from the dynamics (chunks of ``100 max(tau)``, at most ``max_chunks``): a stable
   fixed point (the trajectory within ``POLISH_DISTANCE`` of an equilibrium that Newton's method
   finds to ``1e-8`` and whose spectrum has ``Re lambda* < 0``), a limit cycle, diverging, or
   unresolved.
5. At a stable fixed point ``x* = (y*, a*)``: the Jacobian spectrum, ``lambda* tau`` (largest
   real part times ``max(tau)``), relaxation time ``-1/Re lambda*`` (s), the frequencies
   ``|Im lambda*| / 2 pi`` and ``max_k |Im lambda_k| / 2 pi`` (Hz), the quality factor
   ``|lambda| / (2 |Re lambda|)`` of the most oscillatory mode (the research code's
   ``|Im|/|Re|`` is about twice it for weakly damped modes), the normalization error
   ``||y* - y_s0|| / ||y_s0||``, ``y*_0`` and ``sum_i y*_i``. For every trial the first-order
   prediction of that error, ``||y_s1|| / ||y_s0||``. For limit cycles the period (s) and the
   amplitude of the oscillation; for diverging trials the time the state left the bound.

A rate model has ``n`` state variables ``v`` (stored as ``fixed_point_y``, with ``y*_0`` and
``sum_i y*_i`` read as ``v*_0`` and ``sum_i v*_i``) and ``n`` Jacobian eigenvalues; the records
that only ORGaNICs has are NaN (:mod:`organics.scan.spec`), so every model fills the same
variables with the same shapes.
"""

from __future__ import annotations

import dataclasses
import math
from functools import partial

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax import Array
from threadpoolctl import threadpool_limits

from ..connectivity import input_drive, recurrent_matrix
from ..fixed_points import first_order_fixed_point, normalization_fixed_point
from ..models.organics import VARIANTS, ORGaNICs
from ..models.rate import LinearNetwork, RateNetwork
from ..simulate import DIVERGING, LIMIT_CYCLE, STABLE_FIXED_POINT, auto_group_size, classify_batch
from .spec import RATE_POWER, ZERO_EPSILON, ScanSpec

#: Ensembles whose matrices are symmetric (spectral radius from ``eigvalsh``).
_SYMMETRIC = ("goe_symmetric",)

#: Largest vmap width inside a block: every stage of a block evaluates its trials in groups of exactly
#: :func:`group_width` trials (the last group padded), so ``jit`` compiles one shape per stage.
#: Padding a nearly empty last group to a power of two instead (``min_bucket=2``) saved 5 % of the warm
#: time on the benchmark grid but doubled the compilation (the demo scan took 59 s instead of 24 s).
#: Records are bit-identical whatever the blocking (tests/test_scan.py; at N = 100 the benchmark grid as
#: one block and as 20 blocks of 4-12 trials, measured with group widths 2 to 16).
MAX_GROUP = 16


def group_width(models, size: int, n: int) -> int:
    """Trials per vmapped group in a block of ``size`` trials of ``n`` neurons: the largest power of two
    ``<= 40 / sqrt(n)``, at least 2, at most :data:`MAX_GROUP` and :func:`~organics.simulate.auto_group_size`.

    A vmapped group integrates until its slowest trial is done, so wide groups pay for the spread of
    step counts between trials; narrow ones pay the per-operation overhead of every solver step, which
    matters less the larger the circuit. Measured on the benchmark grid (``benchmarks/scan.py``; warm
    CPU seconds of the whole 200-trial scan on one core of the 2-core machine, median of 2-3 runs):
    N = 100: width 2 / 4 / 8 / 16 took 2.9 / 2.4 / 2.9 / 3.3 s; N = 50: 4 / 8 / 16 took
    1.2 / 1.2 / 1.3 s; N = 20: 4 / 8 / 16 took 1.1 / 0.62 / 0.79 s.
    """
    width = 1 << max(1, int(math.floor(math.log2(40.0 / math.sqrt(n)))))
    return max(2, min(width, MAX_GROUP, auto_group_size(models, size)))


#: Tolerances of the adaptive integration of a scan trial. The classifier's decisions do not rest
#: on the path's accuracy (a fixed point is certified by its velocity, Newton distance and
#: spectrum; a limit cycle by 1 % spreads), and on the benchmark grid (benchmarks/scan.py) these
#: gave the same 200 outcomes as the classifier's defaults (1e-8, 1e-10) for 15 % less CPU time.
SOLVER_RTOL = 1e-6
SOLVER_ATOL = 1e-8
#: Samples per 100-tau chunk for the limit-cycle test (0.2 tau apart, 25 or more per period of
#: the oscillations seen in scans); the same 200 outcomes as 2000 samples on the benchmark grid,
#: with ~15 % less integration time.
SAMPLES_PER_CHUNK = 500
#: Relative distance below which a trajectory is polished to its equilibrium by Newton's method and
#: accepted if that equilibrium is hyperbolic and stable (``classify_batch(polish_distance=...)``).
#: At 1e-4 the quadratic remainder of the vector field (~1e-8) is 40x below the linear restoring
#: term even at |lambda* tau| = 4e-3. Measured on the benchmark grid against the strict rule
#: (trajectory itself within 1e-8): no resolved outcome changed; 12 of 15 trials unresolved after
#: 2000 tau became stable fixed points, all critically slowed (lambda* tau from -0.0098 to -0.0040);
#: fixed points agreed to 2e-9 and lambda* tau to 2e-7 relative where both rules accepted.
POLISH_DISTANCE = 1e-4

#: Per-trial scalar records (name -> NumPy dtype).
SCALAR_RECORDS: dict[str, str] = {
    "outcome": "int8",
    "spectral_radius": "float64",
    "spectral_abscissa": "float64",
    "leading_real_tau": "float64",
    "relaxation_time": "float64",
    "leading_frequency": "float64",
    "frequency": "float64",
    "quality_factor": "float64",
    "normalization_error": "float64",
    "first_order_error": "float64",
    "y_first": "float64",
    "y_sum": "float64",
    "period": "float64",
    "amplitude": "float64",
    "divergence_time": "float64",
    "time_simulated": "float64",
    "n_chunks": "int16",
}
#: Per-neuron records (``records = "full"``), stored as float32.
NEURON_RECORDS: tuple[str, ...] = (
    "fixed_point_y",
    "fixed_point_a",
    "normalization_y",
    "normalization_a",
    "first_order_y",
    "first_order_a",
)
#: Per-mode record (``records = "full"``): the Jacobian spectrum (1/s) at stable fixed points
#: (``2 n`` eigenvalues; a rate model's ``n`` and then NaN).
MODE_RECORDS: tuple[str, ...] = ("eigenvalues",)


@dataclasses.dataclass(frozen=True)
class Block:
    """A work unit: sweep indices, ``delta`` indices ``[d0, d1)``, ``input_norm`` indices ``[j0, j1)``."""

    index: int
    sweep_index: tuple[int, ...]
    delta_start: int
    delta_stop: int
    input_start: int
    input_stop: int

    @property
    def shape(self) -> tuple[int, int]:
        return (self.delta_stop - self.delta_start, self.input_stop - self.input_start)


def trial_keys(seed: int, delta_index: np.ndarray, input_index: np.ndarray, trial: np.ndarray) -> jax.Array:
    """Keys ``fold_in(fold_in(fold_in(PRNGKey(seed), i), j), k)`` for flat index arrays."""
    base = jax.random.PRNGKey(seed)

    def one(i, j, k):
        return jax.random.fold_in(jax.random.fold_in(jax.random.fold_in(base, i), j), k)

    return jax.vmap(one)(jnp.asarray(delta_index), jnp.asarray(input_index), jnp.asarray(trial))


def scan_model(name: str, W_r: Array, z: Array, *, sigma, b0, b1, tau_y, tau_a):
    """The circuit of scan model ``name`` (:data:`~organics.scan.spec.MODELS`) for one trial.

    ORGaNICs variants: ``ORGaNICs(z, W_r, W = ones, sigma, b = b1, b0, tau_y, tau_a)``. Rate
    models: ``LinearNetwork(M = W_r, h = b1 z, tau = tau_y)`` for ``"linear"``, and
    ``RateNetwork(M = W_r, h = b1 z, tau = tau_y, nonlinearity = F, power = RATE_POWER)`` for
    ``"rate_<F>"`` (the mapping and its reason: :mod:`organics.scan.spec`). Jittable and vmappable
    (``name`` static).
    """
    if name in VARIANTS:
        return ORGaNICs(z=z, W_r=W_r, sigma=sigma, b=b1, b0=b0, tau_y=tau_y, tau_a=tau_a, variant=name)
    if name == "linear":
        return LinearNetwork(M=W_r, h=b1 * z, tau=tau_y)
    return RateNetwork(M=W_r, h=b1 * z, tau=tau_y, nonlinearity=name.removeprefix("rate_"), power=RATE_POWER)


@partial(
    jax.jit,
    static_argnames=("n", "ensemble", "sparsity", "excitatory_fraction", "input_type", "model", "initial"),
)
def _build(key, delta, input_norm, mu, sigma, b0, b1, tau_y, tau_a, *, n, ensemble, sparsity,
           excitatory_fraction, input_type, model, initial):  # fmt: skip
    """One trial's circuit, reference points, start, spectral radius and abscissa (vmapped by the caller)."""
    k_matrix, k_input, k_start = jax.random.split(key, 3)
    W_r = recurrent_matrix(
        k_matrix,
        n,
        ensemble=ensemble,
        delta=delta,
        mu=mu,
        sparsity=sparsity,
        excitatory_fraction=excitatory_fraction,
    )
    z = input_drive(n, input_type, input_norm, key=k_input)
    gains = dict(sigma=sigma, b0=b0, b1=b1, tau_y=tau_y, tau_a=tau_a)
    circuit = scan_model(model if model in VARIANTS else "main", W_r, z, **gains)
    normalization = normalization_fixed_point(circuit).state
    first_order = first_order_fixed_point(circuit).state
    if initial == "norm":
        start = normalization
    elif initial == "first_order":
        start = first_order
    elif initial == "zero":
        start = jnp.zeros(2 * n)
    elif initial == "zero_epsilon":
        start = jnp.full(2 * n, ZERO_EPSILON)
    else:  # random
        start = jax.random.uniform(k_start, (2 * n,), dtype=normalization.dtype)
    eigs = jnp.linalg.eigvalsh(W_r) if ensemble in _SYMMETRIC else jnp.linalg.eigvals(W_r)
    radius, abscissa = jnp.max(jnp.abs(eigs)), jnp.max(jnp.real(eigs))
    if model in VARIANTS:
        return circuit, normalization, first_order, start, radius, abscissa
    undefined = jnp.full(2 * n, jnp.nan)  # ORGaNICs reference points: not defined for a rate model
    return scan_model(model, W_r, z, **gains), undefined, undefined, start[:n], radius, abscissa


def _padded(values: np.ndarray, size: int) -> np.ndarray:
    """``values`` extended to ``size`` rows by repeating the first row."""
    pad = size - values.shape[0]
    return values if pad == 0 else np.concatenate([values, np.repeat(values[:1], pad, axis=0)])


def _safe_ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    ok = den > 0
    return np.where(ok, num / np.where(ok, den, 1.0), np.nan)


def run_block(spec: ScanSpec, block: Block) -> dict[str, np.ndarray]:
    """Evaluate every trial of ``block`` (see the module docstring); arrays ``(n_delta, n_input, trials, ...)``.

    BLAS/LAPACK run single-threaded inside a block (``threadpoolctl``): on the 2-core development
    machine a 200 x 200 eigendecomposition took 17 ms wall and 34 ms CPU with OpenBLAS's two
    threads against 11.5 ms wall and CPU with one, and the benchmark grid's CPU time per trial
    halved for the same wall time. Use several worker processes (``--cluster local``) to use
    more cores.
    """
    with threadpool_limits(limits=1, user_api="blas"):
        return _run_block(spec, block)


def _run_block(spec: ScanSpec, block: Block) -> dict[str, np.ndarray]:
    nd, ni = block.shape
    trials, n = spec.trials, spec.n
    i, j, k = np.meshgrid(
        np.arange(block.delta_start, block.delta_stop),
        np.arange(block.input_start, block.input_stop),
        np.arange(trials),
        indexing="ij",
    )
    i, j, k = i.ravel(), j.ravel(), k.ravel()
    size = i.size
    padded = -(-size // MAX_GROUP) * MAX_GROUP  # the build is vmapped over whole groups: little padding
    params = spec.cell_parameters(block.sweep_index)
    keys = trial_keys(spec.seed, _padded(i, padded), _padded(j, padded), _padded(k, padded))
    scalar = lambda v: jnp.full(padded, float(v))  # noqa: E731
    build = jax.vmap(
        partial(
            _build,
            n=n,
            ensemble=spec.ensemble,
            sparsity=None if spec.sparsity is None else float(spec.sparsity),
            excitatory_fraction=float(spec.excitatory_fraction),
            input_type=spec.input_type,
            model=params["model"],
            initial=spec.initial,
        )
    )
    models, normalization, first_order, start, radius, abscissa = build(
        keys,
        jnp.asarray(_padded(spec.deltas[i], padded)),
        jnp.asarray(_padded(spec.input_norms[j], padded)),
        scalar(params["mu"]),
        scalar(params["sigma"]),
        scalar(params["b0"]),
        scalar(params["b1"]),
        scalar(spec.tau_y),
        scalar(spec.tau_a),
    )
    models = jax.tree.map(lambda leaf: leaf[:size] if eqx.is_array(leaf) else leaf, models)
    normalization, first_order = np.asarray(normalization)[:size], np.asarray(first_order)[:size]
    start, radius, abscissa = np.asarray(start)[:size], np.asarray(radius)[:size], np.asarray(abscissa)[:size]

    group = group_width(models, size, n)
    result = classify_batch(
        models,
        start,
        max_chunks=spec.max_chunks,
        keep_eigenvalues=True,
        spectrum_at_end=False,
        group_size=group,
        min_bucket=group,
        rtol=SOLVER_RTOL,
        atol=SOLVER_ATOL,
        n_samples=SAMPLES_PER_CHUNK,
        polish_distance=POLISH_DISTANCE,
    )
    records = _records(result, normalization, first_order, radius, abscissa, n)
    return {name: value.reshape(nd, ni, trials, *value.shape[1:]) for name, value in records.items()}


def _nan_padded(values: np.ndarray, width: int) -> np.ndarray:
    """``values`` (trials, k) with NaN columns appended up to ``width`` (a rate model's n of 2n)."""
    pad = np.full((values.shape[0], width - values.shape[1]), np.nan, dtype=values.dtype)
    return np.concatenate([values, pad], axis=1)


def _records(result, normalization: np.ndarray, first_order: np.ndarray, radius: np.ndarray,
             abscissa: np.ndarray, n: int) -> dict:  # fmt: skip
    """Per-trial records (flat over trials) from a :class:`~organics.simulate.Classification`.

    ``normalization`` and ``first_order`` are ``(trials, 2 n)`` (NaN for rate models, whose final
    states and spectra have ``n`` columns and are padded to ``2 n`` with NaN)."""
    outcome = np.asarray(result.outcome)
    fixed = outcome == STABLE_FIXED_POINT
    cycle = outcome == LIMIT_CYCLE
    only = lambda mask, v: np.where(mask, v, np.nan)  # noqa: E731

    final = _nan_padded(np.asarray(result.final_state), 2 * n)
    y_star, a_star = final[:, :n], final[:, n:]
    y_norm, y_first = normalization[:, :n], first_order[:, :n]
    norm_size = np.linalg.norm(y_norm, axis=1)
    leading_real = np.asarray(result.leading_real)
    eigs = _nan_padded(np.asarray(result.eigenvalues), 2 * n)
    oscillatory = np.take_along_axis(eigs, np.argmax(np.abs(np.nan_to_num(eigs.imag)), axis=1)[:, None], 1)[:, 0]

    records = {
        "outcome": outcome.astype(np.int8),
        "spectral_radius": radius,
        "spectral_abscissa": abscissa,
        "leading_real_tau": only(fixed, np.asarray(result.leading_real_tau)),
        "relaxation_time": only(fixed, _safe_ratio(np.ones_like(leading_real), -leading_real)),
        "leading_frequency": only(fixed, np.asarray(result.leading_imag) / (2 * np.pi)),
        "frequency": only(fixed, np.abs(oscillatory.imag) / (2 * np.pi)),
        "quality_factor": only(fixed, _safe_ratio(np.abs(oscillatory), 2 * np.abs(oscillatory.real))),
        "normalization_error": only(fixed, _safe_ratio(np.linalg.norm(y_star - y_norm, axis=1), norm_size)),
        "first_order_error": _safe_ratio(np.linalg.norm(y_first - y_norm, axis=1), norm_size),
        "y_first": only(fixed, y_star[:, 0]),
        "y_sum": only(fixed, y_star.sum(axis=1)),
        "period": only(cycle, np.asarray(result.period)),
        "amplitude": only(cycle, np.asarray(result.amplitude)),
        "divergence_time": only(outcome == DIVERGING, np.asarray(result.divergence_time)),
        "time_simulated": np.asarray(result.time_simulated),
        "n_chunks": np.asarray(result.n_chunks).astype(np.int16),
        "fixed_point_y": only(fixed[:, None], y_star).astype(np.float32),
        "fixed_point_a": only(fixed[:, None], a_star).astype(np.float32),
        "normalization_y": y_norm.astype(np.float32),
        "normalization_a": normalization[:, n:].astype(np.float32),
        "first_order_y": y_first.astype(np.float32),
        "first_order_a": first_order[:, n:].astype(np.float32),
        "eigenvalues": only(fixed[:, None], eigs).astype(np.complex64),
    }
    return records
