r"""Seeded random recurrent matrices ``W_r = I + M`` and input drives ``z`` for phase-diagram scans.

The ensembles and inputs are those of the research code (``utils.generate_matrix`` and
``utils.make_input_drive``; ``shared/reference/research_code_spec.md`` §2-§3) with its sparsity
bug fixed, plus a properly named Ginibre ensemble and a Dale's-law ensemble. Everything is pure
JAX: ``n``, ``ensemble``, ``kind``, ``sparsity`` and ``excitatory_fraction`` are static (Python
values), while ``key``, ``delta``, ``mu`` and ``norm`` may be traced, so the functions can be
``jax.jit``-ed and ``jax.vmap``-ed over keys, ``delta`` and ``mu``::

    keys = jax.random.split(jax.random.key(0), 100)
    W_r = jax.vmap(lambda k, d: recurrent_matrix(k, 100, delta=d))(keys, deltas)

Conventions. ``n`` neurons; ``s = sparsity`` is the *expected number of nonzero entries per row*
(``None`` means ``s = n``, dense); ``p = s / n`` is the probability that an entry is nonzero. A key
is a ``jax.random`` key (typed ``jax.random.key`` or raw ``jax.random.PRNGKey``) or an ``int``
seed, which means ``jax.random.PRNGKey(seed)``. The same key always gives the same matrix.

Ensembles of the perturbation ``M`` (``W_r = I + M``):

``"goe"`` (the research code's name; it is *not* the Gaussian Orthogonal Ensemble but a sparse real
    Ginibre matrix): ``M_ij = B_ij G_ij`` with ``B_ij ~ Bernoulli(s/n)`` and
    ``G_ij ~ N(mu/s, delta**2/s)`` all independent. Every entry has mean ``mu/n`` and variance
    ``~ delta**2/n``, so the bulk of the spectrum fills the disc of radius ``delta`` (circular law)
    and the mean adds a rank-one outlier at ``~ mu``: ``rho(W_r) ~ max(1 + delta, |1 + mu|)``.
``"goe_symmetric"``: ``M = S * (G + G^T)/2`` with ``G`` as above and ``S`` a *symmetric*
    Bernoulli(s/n) mask (upper triangle with diagonal drawn, then mirrored). Off-diagonal variance
    ``delta**2/(2n)``, diagonal ``delta**2/n``: a GOE-like matrix whose semicircle has radius
    ``sqrt(2) delta``, so ``rho(W_r) ~ 1 + sqrt(2) delta``; a mean ``mu`` adds an outlier near
    ``mu + delta**2/(2 mu)`` (BBP) when ``|mu| > delta/sqrt(2)``. Dense (``s = n``) it equals
    ``(M_goe + M_goe^T)/2`` draw for draw, which is the research code; sparse, the symmetric mask
    keeps ``s`` nonzeros per row (symmetrising two independent masks, as a literal
    ``(M + M^T)/2`` would, gives ``~2s``).
``"ginibre"``: the dense real Ginibre ensemble ``M_ij ~ N(mu/n, delta**2/n)`` (circular law of
    radius ``delta``; about ``sqrt(2n/pi)`` of the eigenvalues are real). Draw for draw it *is*
    the dense ``"goe"`` matrix (same key, same numbers): the name just says what it is. It is dense
    by definition, so ``sparsity`` other than ``None``/``n`` is rejected.
``"power_law"``: ``M_ij = B_ij (delta X_ij + mu/s)`` with Pareto entries
    ``X = xmin (1 - u)**(-1/(alpha - 1))``, ``u ~ U[0, 1)``, ``alpha = 3``, ``xmin = 0.001``
    (:data:`POWER_LAW_ALPHA`, :data:`POWER_LAW_XMIN`). Choice made here: ``delta`` *scales* the
    entries (``delta = 1, mu = 0`` is the research code's distribution, which ignored both) and
    ``mu`` shifts them like in ``"goe"``. All entries are positive when ``mu >= 0``; ``E X = 2 xmin``
    and ``Var X`` is infinite (tail ``~ x**-3``), so there is a Perron outlier at
    ``~ 2 xmin delta s + mu`` and no circular-law bulk: ``delta`` is *not* a spectral radius here.
``"dale"``: Dale's law. The first ``n_E = round(f_E n)`` columns (presynaptic excitatory neurons,
    ``f_E = excitatory_fraction``, clipped to ``1 <= n_E <= n - 1``) are ``>= 0``, the others
    ``<= 0``: ``M_ij = B_ij |g_ij| c_j`` with ``g ~ N(0, 1)``, ``c_j = +c_E`` or ``-c_I``,
    ``c_E = delta sqrt(f_I / (f_E n v))``, ``c_I = delta sqrt(f_E / (f_I n v))``,
    ``v = p - p**2 (2/pi)`` (variance of ``B |g|``), so the mean is balanced
    (``f_E c_E = f_I c_I``) and the summed entry variance per row is ``delta**2`` (bulk radius
    ``~ delta``, Rajan & Abbott 2006). Each row is then balanced *exactly* (Rajan-Abbott's
    condition, which removes the outliers the nonnormal mean structure otherwise creates): its
    excitatory entries are multiplied by ``sqrt(I_i/E_i)`` and inhibitory ones by
    ``sqrt(E_i/I_i)`` (``E_i``, ``I_i``: the row's excitatory and |inhibitory| sums), which keeps
    every sign and makes every row sum 0 (rows lacking either part are left as drawn). Measured at
    ``n = 400``, ``delta = 1``: without the row balance the spectral radius is 1.3-1.8 (outliers),
    with it 1.0-1.04; very sparse matrices (``s`` of order 20) can still show an outlier. ``mu``
    must be 0 (a shift would break the sign constraint). Needs ``n >= 2``.

Input drives (:func:`input_drive`, spec §2, each with 2-norm exactly ``norm``): ``"localized"``
``norm e_0``; ``"delocalized"`` ``norm 1/sqrt(n)``; ``"random"`` a standard Gaussian vector
rescaled to norm ``norm`` (needs a key); ``"gaussian"`` ``exp(-i**2 / (2 (n/10)**2))``,
``i = 0..n-1`` (one-sided, peak at index 0), rescaled.
"""

from __future__ import annotations

from functools import partial
from typing import Literal, Union

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.typing import ArrayLike

from . import _validation as check

Ensemble = Literal["goe", "goe_symmetric", "ginibre", "power_law", "dale"]
ENSEMBLES: tuple[str, ...] = ("goe", "goe_symmetric", "ginibre", "power_law", "dale")
InputKind = Literal["localized", "delocalized", "random", "gaussian"]
INPUT_KINDS: tuple[str, ...] = ("localized", "delocalized", "random", "gaussian")
KeyLike = Union[Array, int]

#: Pareto exponent of the ``"power_law"`` ensemble (research code value).
POWER_LAW_ALPHA = 3.0
#: Pareto scale ``xmin`` of the ``"power_law"`` ensemble (research code value).
POWER_LAW_XMIN = 1e-3
#: Default fraction of excitatory columns of the ``"dale"`` ensemble.
DEFAULT_EXCITATORY_FRACTION = 0.8


# ---------------------------------------------------------------------------------- helpers
def as_key(key: KeyLike) -> Array:
    """A ``jax.random`` key: keys pass through, an ``int`` seed becomes ``jax.random.PRNGKey(seed)``."""
    if isinstance(key, (bool, np.bool_)):
        raise ValueError(f"key must be a jax.random key or an int seed; got {key!r}")
    if isinstance(key, (int, np.integer)):
        return jax.random.PRNGKey(int(key))
    return key


def _check_size(n) -> int:
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be an integer >= 1 (number of neurons); got {n!r}")
    return int(n)


def _check_scalar(name: str, value) -> None:
    if jnp.ndim(value) != 0:
        raise ValueError(f"{name} must be a scalar (vmap to batch it); got shape {jnp.shape(value)}")
    check.check_finite(name, value)


def _check_delta(delta) -> None:
    _check_scalar("delta", delta)
    if not check.is_traced(delta) and float(delta) < 0:
        raise ValueError(f"delta must be >= 0 (scale of the random perturbation); got {float(delta):.6g}")


def _check_sparsity(sparsity, n: int) -> None:
    if sparsity is None:
        return
    if check.is_traced(sparsity):
        raise ValueError("sparsity must be a static Python number in (0, n] or None (dense); got a traced value")
    if np.ndim(sparsity) != 0 or not np.isfinite(float(sparsity)) or not 0 < float(sparsity) <= n:
        raise ValueError(
            f"sparsity must be None (dense) or in (0, n] = (0, {n}] (expected nonzeros per row); got {sparsity!r}"
        )


# ---------------------------------------------------------------------------------- matrices
def perturbation_matrix(
    key: KeyLike,
    n: int,
    *,
    ensemble: Ensemble = "goe_symmetric",
    delta: ArrayLike = 1.0,
    mu: ArrayLike = 0.0,
    sparsity: float | None = None,
    excitatory_fraction: float = DEFAULT_EXCITATORY_FRACTION,
) -> Array:
    r"""Random perturbation ``M`` (``n x n``) of the recurrent weights ``W_r = I + M`` (spec §3).

    See the module docstring for the exact distribution of each ensemble (``"goe"``,
    ``"goe_symmetric"``, ``"ginibre"``, ``"power_law"``, ``"dale"``). In short: ``delta >= 0`` is the
    bulk spectral radius of ``M`` (``sqrt(2) delta`` for ``"goe_symmetric"``; an entry scale for
    ``"power_law"``), ``mu`` the position of the rank-one mean outlier, ``sparsity = s`` the
    expected number of nonzeros per row (``None``: dense), ``excitatory_fraction`` the fraction of
    excitatory columns (``"dale"`` only).

    Raises ValueError for ``n < 1``, an unknown ensemble, ``delta < 0``, non-finite ``delta``/``mu``,
    ``sparsity`` outside ``(0, n]``, ``excitatory_fraction`` outside ``(0, 1)``, sparse
    ``"ginibre"``, ``mu != 0`` or ``n < 2`` for ``"dale"``.
    """
    n = _check_size(n)
    check.check_choice("ensemble", ensemble, ENSEMBLES)
    _check_delta(delta)
    _check_scalar("mu", mu)
    _check_sparsity(sparsity, n)
    if ensemble == "ginibre" and sparsity is not None and float(sparsity) != n:
        raise ValueError(
            f"sparsity must be None or n = {n} for ensemble 'ginibre' (dense by definition); "
            f"got {sparsity!r}; use ensemble='goe' for a sparse Gaussian matrix"
        )
    if ensemble == "dale":
        if n < 2:
            raise ValueError(f"n must be >= 2 for ensemble 'dale' (needs excitatory and inhibitory neurons); got {n}")
        if np.ndim(excitatory_fraction) != 0 or not 0.0 < float(excitatory_fraction) < 1.0:
            raise ValueError(f"excitatory_fraction must be in (0, 1); got {excitatory_fraction!r}")
        if not check.is_traced(mu) and float(mu) != 0.0:
            raise ValueError(
                f"mu must be 0 for ensemble 'dale' (its mean is balanced by construction); got {float(mu):.6g}"
            )
    if ensemble == "ginibre" or sparsity is None:
        sparsity = None
    else:
        sparsity = float(sparsity)
    return _perturbation(
        as_key(key),
        jnp.asarray(delta, dtype=jnp.result_type(float)),
        jnp.asarray(mu, dtype=jnp.result_type(float)),
        n=n,
        ensemble=ensemble,
        sparsity=sparsity,
        excitatory_fraction=float(excitatory_fraction),
    )


@partial(jax.jit, static_argnames=("n", "ensemble", "sparsity", "excitatory_fraction"))
def _perturbation(
    key: Array, delta: Array, mu: Array, *, n: int, ensemble: str, sparsity: float | None, excitatory_fraction: float
) -> Array:
    """The draw behind :func:`perturbation_matrix` (validated arguments; one compiled program)."""
    k_values, k_mask = jax.random.split(key, 2)
    dtype = jnp.result_type(float)
    s = n if sparsity is None else sparsity
    p = s / n

    if ensemble == "ginibre":
        return mu / n + delta / np.sqrt(n) * jax.random.normal(k_values, (n, n), dtype)

    if ensemble in ("goe", "goe_symmetric"):
        G = mu / s + delta / np.sqrt(s) * jax.random.normal(k_values, (n, n), dtype)
        if ensemble == "goe":
            return G if sparsity is None else jnp.where(jax.random.bernoulli(k_mask, p, (n, n)), G, 0.0)
        M = 0.5 * (G + G.T)
        if sparsity is None:
            return M
        upper = jnp.triu(jax.random.bernoulli(k_mask, p, (n, n)))
        return jnp.where(upper | upper.T, M, 0.0)

    mask = None if sparsity is None else jax.random.bernoulli(k_mask, p, (n, n))

    if ensemble == "power_law":
        u = jax.random.uniform(k_values, (n, n), dtype)
        X = POWER_LAW_XMIN * (1.0 - u) ** (-1.0 / (POWER_LAW_ALPHA - 1.0))
        M = delta * X + mu / s
        return M if mask is None else jnp.where(mask, M, 0.0)

    # ensemble == "dale"
    n_e = min(max(int(round(excitatory_fraction * n)), 1), n - 1)
    f_e = n_e / n
    f_i = 1.0 - f_e
    v = p - p * p * (2.0 / np.pi)  # variance of B |g|, B ~ Bernoulli(p), g ~ N(0, 1)
    c_e = delta * np.sqrt(f_i / (f_e * n * v))
    c_i = delta * np.sqrt(f_e / (f_i * n * v))
    excitatory = jnp.arange(n) < n_e
    column_scale = jnp.where(excitatory, c_e, -c_i)
    magnitude = jnp.abs(jax.random.normal(k_values, (n, n), dtype))
    if mask is not None:
        magnitude = jnp.where(mask, magnitude, 0.0)
    M = magnitude * column_scale[None, :]
    # Exact row balance, sign-preserving: scale E by sqrt(I/E) and I by sqrt(E/I).
    e_sum = jnp.sum(jnp.where(excitatory[None, :], M, 0.0), axis=1)
    i_sum = -jnp.sum(jnp.where(excitatory[None, :], 0.0, M), axis=1)
    balanceable = (e_sum > 0) & (i_sum > 0)
    safe_e = jnp.where(balanceable, e_sum, 1.0)
    safe_i = jnp.where(balanceable, i_sum, 1.0)
    ratio = jnp.sqrt(safe_i / safe_e)
    row_scale = jnp.where(excitatory[None, :], ratio[:, None], 1.0 / ratio[:, None])
    return M * row_scale


def recurrent_matrix(
    key: KeyLike,
    n: int,
    *,
    ensemble: Ensemble = "goe_symmetric",
    delta: ArrayLike = 1.0,
    mu: ArrayLike = 0.0,
    sparsity: float | None = None,
    excitatory_fraction: float = DEFAULT_EXCITATORY_FRACTION,
) -> Array:
    r"""Recurrent weights ``W_r = I + M`` with ``M = perturbation_matrix(...)`` (spec §3).

    Spectral radius (large ``n``, ``mu = 0``): ``~ 1 + sqrt(2) delta`` for ``"goe_symmetric"``,
    ``~ 1 + delta`` for ``"goe"``, ``"ginibre"`` and ``"dale"``; a mean ``mu`` adds an eigenvalue
    near ``1 + mu``. Same arguments and errors as :func:`perturbation_matrix`.
    """
    M = perturbation_matrix(
        key,
        n,
        ensemble=ensemble,
        delta=delta,
        mu=mu,
        sparsity=sparsity,
        excitatory_fraction=excitatory_fraction,
    )
    return jnp.eye(n, dtype=M.dtype) + M


# ---------------------------------------------------------------------------------- inputs
def input_drive(n: int, kind: InputKind, norm: ArrayLike, key: KeyLike | None = None) -> Array:
    r"""Input drive ``z`` of shape ``(n,)`` with ``||z||_2 = norm`` (spec §2, ``make_input_drive``).

    * ``"localized"``: ``norm * e_0``;
    * ``"delocalized"``: ``norm * (1, ..., 1) / sqrt(n)``;
    * ``"random"``: ``norm * g / ||g||`` with ``g ~ N(0, I)`` drawn from ``key`` (required);
    * ``"gaussian"``: ``norm * v / ||v||`` with ``v_i = exp(-i**2 / (2 (n/10)**2))``, ``i = 0..n-1``.

    ``norm >= 0`` may be traced (vmap over norms); ``key`` is ignored except for ``"random"``.
    """
    n = _check_size(n)
    check.check_choice("kind", kind, INPUT_KINDS)
    _check_scalar("norm", norm)
    if not check.is_traced(norm) and float(norm) < 0:
        raise ValueError(f"norm must be >= 0 (the 2-norm of the drive); got {float(norm):.6g}")
    dtype = jnp.result_type(float)
    if kind == "localized":
        unit = jnp.zeros(n, dtype).at[0].set(1.0)
    elif kind == "delocalized":
        unit = jnp.full(n, 1.0 / np.sqrt(n), dtype)
    elif kind == "random":
        if key is None:
            raise ValueError("key is required for kind='random' (a jax.random key or an int seed); got None")
        g = jax.random.normal(as_key(key), (n,), dtype)
        unit = g / jnp.linalg.norm(g)
    else:  # gaussian
        i = jnp.arange(n, dtype=dtype)
        v = jnp.exp(-(i**2) / (2.0 * (n / 10.0) ** 2))
        unit = v / jnp.linalg.norm(v)
    return norm * unit


# ---------------------------------------------------------------------------------- whole circuits
RANDOM_RECURRENCES: tuple[str, ...] = ("svd1", "perturbed")


def random_circuit(rng: np.random.Generator, n: int, recurrence: str = "svd1"):
    r"""A random main-model ORGaNICs circuit with heterogeneous parameters (NumPy ``rng``).

    The distribution used to check Algorithm 1 (Fig. 4 of the NeurIPS paper, which does not
    state its ranges) and the agreement of the fixed-point solvers:

    * ``tau_y, tau_a ~ U(1, 10) ms``, ``b, b0 ~ U(0.1, 1)``, ``sigma ~ U(0.05, 1)`` per neuron;
    * ``W``: nonnegative, entries ``U(0, 1)``, each row normalized to sum 1 (the pool is a
      weighted average of the population);
    * ``z``: random direction, ``||z|| ~ U(0, 1)``;
    * ``W_r``: ``"svd1"``: Gaussian ``G / sigma_max(G)`` (maximum singular value exactly 1, the
      constraint of Section 5 and Algorithm 1); ``"perturbed"``: ``I + 0.3 G / sqrt(n)``
      (spectral radius about 1.3 > 1).
    """
    from .models.organics import ORGaNICs

    n = _check_size(n)
    check.check_choice("recurrence", recurrence, RANDOM_RECURRENCES)
    G = rng.standard_normal((n, n))
    W_r = G / np.linalg.norm(G, 2) if recurrence == "svd1" else np.eye(n) + 0.3 * G / np.sqrt(n)
    z = rng.standard_normal(n)
    z *= rng.uniform(0.0, 1.0) / np.linalg.norm(z)
    W = rng.uniform(0.0, 1.0, (n, n))
    W /= W.sum(axis=1, keepdims=True)
    return ORGaNICs(
        z=z,
        W_r=W_r,
        W=W,
        b=rng.uniform(0.1, 1.0, n),
        b0=rng.uniform(0.1, 1.0, n),
        sigma=rng.uniform(0.05, 1.0, n),
        tau_y=rng.uniform(1e-3, 1e-2, n),
        tau_a=rng.uniform(1e-3, 1e-2, n),
    )
