"""Rectified powers whose derivatives are finite everywhere.

The literal forms ``jnp.sqrt(jnp.maximum(a, 0))`` or ``jnp.abs(y) ** p`` produce infinite or
NaN derivatives at the kink (``a = 0``, ``y = 0``) because the derivative of the inner branch is
evaluated there even when the outer ``where`` discards it. Every function below uses the
"double where" construction: the argument of the singular branch is replaced by a harmless
value before the singular function is applied, so forward values are exact and every
derivative is finite (the one-sided derivative from the rectified side, which is 0 at the kink
for exponents below 1 and the usual value otherwise).
"""

from __future__ import annotations

import jax.numpy as jnp
from jax import Array
from jax.typing import ArrayLike


def relu(x: ArrayLike) -> Array:
    """``[x]+ = max(x, 0)`` with derivative 0 at ``x <= 0`` and 1 at ``x > 0``."""
    x = jnp.asarray(x)
    return jnp.where(x > 0, x, jnp.zeros_like(x))


def relu_pow(x: ArrayLike, p: ArrayLike) -> Array:
    """``[x]+ ** p`` for ``p > 0``; finite derivative everywhere (0 for ``x <= 0``)."""
    x = jnp.asarray(x)
    positive = x > 0
    safe = jnp.where(positive, x, jnp.ones_like(x))
    return jnp.where(positive, safe**p, jnp.zeros_like(x))


def sqrt_relu(x: ArrayLike) -> Array:
    """``sqrt([x]+)``; derivative ``1/(2 sqrt(x))`` for ``x > 0`` and 0 for ``x <= 0``."""
    x = jnp.asarray(x)
    positive = x > 0
    safe = jnp.where(positive, x, jnp.ones_like(x))
    return jnp.where(positive, jnp.sqrt(safe), jnp.zeros_like(x))


def abs_pow(x: ArrayLike, p: ArrayLike) -> Array:
    """``|x| ** p`` for ``p > 0``; finite derivative everywhere (0 at ``x = 0``)."""
    x = jnp.asarray(x)
    nonzero = x != 0
    safe = jnp.where(nonzero, jnp.abs(x), jnp.ones_like(x))
    return jnp.where(nonzero, safe**p, jnp.zeros_like(x))


def safe_divide(numerator: ArrayLike, denominator: ArrayLike, fill: float = 0.0) -> Array:
    """``numerator / denominator`` where the denominator is non-zero, ``fill`` elsewhere."""
    numerator = jnp.asarray(numerator)
    denominator = jnp.asarray(denominator)
    nonzero = denominator != 0
    safe = jnp.where(nonzero, denominator, jnp.ones_like(denominator))
    return jnp.where(nonzero, numerator / safe, fill)


def d_abs_pow(x: ArrayLike, p: float) -> Array:
    """Derivative of :func:`abs_pow`: ``p |x|**(p-1) sign(x)`` for ``x != 0``, 0 at ``x = 0``."""
    x = jnp.asarray(x)
    nonzero = x != 0
    safe = jnp.where(nonzero, jnp.abs(x), jnp.ones_like(x))
    return jnp.where(nonzero, p * safe ** (p - 1.0) * jnp.sign(x), jnp.zeros_like(x))


def d_relu_pow(x: ArrayLike, p: float) -> Array:
    """Derivative of :func:`relu_pow`: ``p x**(p-1)`` for ``x > 0``, 0 for ``x <= 0``."""
    x = jnp.asarray(x)
    positive = x > 0
    safe = jnp.where(positive, x, jnp.ones_like(x))
    return jnp.where(positive, p * safe ** (p - 1.0), jnp.zeros_like(x))
