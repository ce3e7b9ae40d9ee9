r"""Baseline classifiers in the same framework as the ORGaNICs models (Equinox, one example per call).

* :class:`RecurrentClassifier` -- an ``equinox.nn.LSTMCell`` or ``GRUCell`` run over the sequence with
  ``lax.scan`` from a zero state, and a linear readout of the final hidden state ``h_T``.

  LSTM (``i, f, o`` sigmoid gates, ``g = tanh``)::

      (i, f, g, o) = W_ih x_t + W_hh h_{t-1} + bias,   c_t = f c_{t-1} + i g,   h_t = o tanh(c_t)

  Equinox draws every weight and bias uniformly in ``+-1/sqrt(hidden)``; the forget-gate bias then starts
  at ``forget_bias`` (default 1, the usual LSTM initialization: Gers, Schmidhuber & Cummins 2000;
  Jozefowicz, Zaremba & Sutskever 2015), so that ``f`` starts near ``sigmoid(1) = 0.73`` and the cell
  keeps its memory over long sequences from the first step of training. ``forget_bias=None`` keeps
  Equinox's draw.

  GRU::

      r = sigmoid(W_ir x + W_hr h + b_r),   u = sigmoid(W_iz x + W_hz h + b_z)
      n = tanh(W_in x + b_in + r (W_hn h + b_hn)),   h_t = (1 - u) n + u h_{t-1}

* :class:`MLPClassifier` -- ``equinox.nn.MLP`` with ReLU hidden layers: ``h_1 = relu(A_1 x + c_1)``, ...,
  logits ``= A_L h_{L-1} + c_L``.

Each maps one example to logits of shape ``(n_classes,)`` and exposes its hidden states for the
stability diagnostics (``hidden_states``).
"""

from __future__ import annotations

import math
from typing import Literal

import equinox as eqx
import jax
import jax.numpy as jnp
from jax import Array

__all__ = ["RECURRENT_KINDS", "RecurrentClassifier", "MLPClassifier"]

RECURRENT_KINDS: tuple[str, ...] = ("lstm", "gru")


class RecurrentClassifier(eqx.Module):
    """LSTM or GRU over a sequence ``(T, input_size)``, linear readout of ``h_T`` -> ``(n_classes,)``."""

    cell: eqx.nn.LSTMCell | eqx.nn.GRUCell
    readout: eqx.nn.Linear
    kind: str = eqx.field(static=True)

    def __init__(
        self,
        kind: Literal["lstm", "gru"],
        input_size: int,
        hidden: int,
        n_classes: int,
        *,
        key: Array,
        forget_bias: float | None = 1.0,
    ):
        if kind not in RECURRENT_KINDS:
            raise ValueError(f"kind must be one of {RECURRENT_KINDS}; got {kind!r}")
        if forget_bias is not None and not math.isfinite(forget_bias):
            raise ValueError(f"forget_bias must be a finite number or None; got {forget_bias!r}")
        k_cell, k_out = jax.random.split(key)
        if kind == "lstm":
            cell = eqx.nn.LSTMCell(input_size, hidden, key=k_cell)
            if forget_bias is not None:  # gates are stacked (i, f, g, o): the forget gate is rows hidden..2*hidden
                bias = cell.bias.at[hidden : 2 * hidden].set(forget_bias)
                cell = eqx.tree_at(lambda c: c.bias, cell, bias)
            self.cell = cell
        else:
            self.cell = eqx.nn.GRUCell(input_size, hidden, key=k_cell)
        self.readout = eqx.nn.Linear(hidden, n_classes, key=k_out)
        self.kind = kind

    def _zero_state(self) -> Array | tuple[Array, Array]:
        """Zero initial state in the parameters' dtype (so float32 inputs work with float64 weights)."""
        h = jnp.zeros(self.cell.hidden_size, dtype=self.cell.weight_hh.dtype)
        return (h, h) if self.kind == "lstm" else h

    def hidden_states(self, xs: Array) -> Array:
        """Hidden state ``h_t`` after every step, shape ``(T, hidden)``."""

        def step(state, x):
            state = self.cell(x, state)
            h = state[0] if self.kind == "lstm" else state
            return state, h

        _, hs = jax.lax.scan(step, self._zero_state(), xs)
        return hs

    def __call__(self, xs: Array) -> Array:
        """Logits for one sequence ``xs`` of shape ``(T, input_size)``."""

        def step(state, x):
            return self.cell(x, state), None

        final, _ = jax.lax.scan(step, self._zero_state(), xs)
        h = final[0] if self.kind == "lstm" else final
        return self.readout(h)


class MLPClassifier(eqx.Module):
    """``equinox.nn.MLP`` (``depth`` ReLU hidden layers of width ``hidden``) -> ``(n_classes,)``."""

    mlp: eqx.nn.MLP

    def __init__(self, input_size: int, hidden: int, n_classes: int, *, key: Array, depth: int = 1):
        if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
            raise ValueError(f"depth must be an integer >= 1 (hidden layers); got {depth!r}")
        self.mlp = eqx.nn.MLP(input_size, n_classes, width_size=hidden, depth=depth, activation=jax.nn.relu, key=key)

    def hidden_states(self, x: Array) -> Array:
        """Activations of every hidden layer, concatenated, shape ``(depth * hidden,)``."""
        hs = []
        for layer in self.mlp.layers[:-1]:
            x = self.mlp.activation(layer(x))
            hs.append(x)
        return jnp.concatenate(hs)

    def __call__(self, x: Array) -> Array:
        """Logits for one input ``x`` of shape ``(input_size,)``."""
        return self.mlp(x)
