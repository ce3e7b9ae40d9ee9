"""Parameter checks run when a model is built (never inside a traced computation).

Every check raises ``ValueError`` whose message names the parameter and the accepted range.
Values that are JAX tracers (a model built inside ``jit``/``vmap``) are not checked: their
values are unknown at trace time, and the user-facing construction already checked them.
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np


def is_traced(*values: Any) -> bool:
    """True if any value is a JAX tracer (abstract, so it cannot be inspected)."""
    return any(isinstance(v, jax.core.Tracer) for v in values)


def _as_numpy(name: str, value: Any) -> np.ndarray:
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be a real number or array of real numbers, got {value!r}") from error
    return array


def check_finite(name: str, value: Any) -> None:
    """Reject NaN and infinite entries."""
    if is_traced(value):
        return
    array = _as_numpy(name, value)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite (no NaN or inf); got {_describe(array)}")


def check_positive(name: str, value: Any) -> None:
    """Require finite entries > 0."""
    if is_traced(value):
        return
    check_finite(name, value)
    array = _as_numpy(name, value)
    if np.any(array <= 0):
        raise ValueError(f"{name} must be > 0 everywhere; got minimum {array.min():.6g}")


def check_nonnegative(name: str, value: Any) -> None:
    """Require finite entries >= 0."""
    if is_traced(value):
        return
    check_finite(name, value)
    array = _as_numpy(name, value)
    if np.any(array < 0):
        raise ValueError(f"{name} must be >= 0 everywhere (a nonnegative matrix); got minimum {array.min():.6g}")


def check_shape(name: str, value: Any, shape: tuple[int, ...]) -> None:
    """Require an exact shape (after broadcasting of scalars by the caller)."""
    actual = tuple(np.shape(value))
    if actual != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}; got {actual}")


def check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    """Require one of a fixed set of names."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(repr(c) for c in choices)}; got {value!r}")


def _describe(array: np.ndarray) -> str:
    bad = ~np.isfinite(array)
    return f"{int(bad.sum())} non-finite entr{'y' if bad.sum() == 1 else 'ies'} of {array.size}"
