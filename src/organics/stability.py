r"""Linear stability of circuit fixed points: Jacobians, spectra and certificates."""

from __future__ import annotations

import jax
from jax import Array
from jax.typing import ArrayLike


def jacobian(model, state: Array, t: ArrayLike = 0.0) -> Array:
    """Jacobian ``df/dx`` of ``model.vector_field`` at ``state`` by forward-mode autodiff (1/s)."""
    return jax.jacfwd(lambda x: model.vector_field(t, x))(state)
