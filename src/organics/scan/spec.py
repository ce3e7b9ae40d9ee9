r"""What a scan computes: the grid, the circuit, the random ensemble and the classification budget.

A :class:`ScanSpec` is a frozen, validated description of a phase-diagram scan (Morone, Rawat,
Heeger & Martiniani, "Stabilization of recurrent neural networks through divisive
normalization"; research-code spec §2-§4). Every trial draws ``W_r = I + M`` from a seeded
ensemble (:func:`organics.connectivity.recurrent_matrix`) at recurrent strength ``delta``, builds
an input drive of 2-norm ``input_norm`` (:func:`organics.connectivity.input_drive`), starts the
ORGaNICs circuit (``W = ones``, scalar gains ``b0``, ``b1``, ``sigma``, time constants ``tau_y``,
``tau_a`` in seconds), or a rate model with the same ``W_r`` and drive, from the chosen initial
state and classifies its trajectory (:func:`organics.simulate.classify_batch`).

**Models** (``model``). The ORGaNICs variants :data:`~organics.models.organics.VARIANTS`
(``"main"``, ``"rectified"``, ``"rectified_recurrence"``) and the classic rate models
:data:`RATE_MODELS` (:mod:`organics.models.rate`; lecture notes on linear recurrent networks),
each built from the *same* trial (the same ``W_r``, ``z`` and start)::

    "linear"     tau_y dv/dt = -v + b1 z + W_r v          (LinearNetwork)
    "rate_<F>"   tau_y dv/dt = -v + F(b1 z + W_r v)       (RateNetwork)

with ``F`` in :data:`~organics.models.rate.NONLINEARITIES` (gain 1): ``rate_relu`` ``[u]+``,
``rate_relu_power`` ``[u]+**2`` (:data:`RATE_POWER`, the exponent of the stabilized
supralinear network), ``rate_sigmoid`` ``1/(1 + exp(-u))`` and ``rate_tanh`` ``tanh(u)``.

*Mapping, and why.* The rate network's recurrent matrix (``M`` of the lecture notes and of
:class:`~organics.models.rate.LinearNetwork`) is ``W_r`` itself, not the scan's perturbation
``W_r - I``, and its input ``h = b1 z`` is the drive of the ORGaNICs principal neurons (Eq. 14,
``tau_y dy/dt = -y + b z + (1 - sqrt([a]+)) W_r y``). The linear network is then ORGaNICs without
the normalization gate ``1 - sqrt([a]+)`` on the same recurrent drive ``W_r y``: the comparison
of the Stabilization paper, where a linear network needs every eigenvalue of its weights inside
the stability region while ORGaNICs is stable with ``rho(W_r) > 1``. Exactly: the linear network
is stable iff ``max Re eig(W_r) < 1`` (the stored ``spectral_abscissa``), i.e. iff
``max Re eig(M) < 0`` for ``W_r = I + M``; from a generic start it diverges iff
``max Re eig(W_r) > 1``. In the ensembles ``goe``, ``goe_symmetric``, ``ginibre`` and ``dale``
``eig(M)`` has a bulk centred on 0 (a mean ``mu`` only adds an outlier), so that happens at every
``delta > 0`` (with probability -> 1 as ``n`` grows): the linear network's stable region is the
line ``delta = 0`` (for ``power_law`` it is decided by the Perron eigenvalue of ``M``, positive
for ``mu >= 0``). The time to leave the bound, ``~ tau_y ln(bound / |v(0)|) / (max Re eig(W_r) - 1)``,
decides whether a trial is seen to diverge within ``max_chunks`` (else it is unresolved).
``sigma``, ``b0`` and ``tau_a`` do not enter a rate model except through its start.

*Start of a rate model*: the principal-neuron part ``y(0)`` of the start of the main ORGaNICs
circuit of the same trial (``initial`` = ``"norm"``: ``y_s0``; ``"first_order"``:
``y_s0 + y_s1``; ``"zero"``; ``"zero_epsilon"``; ``"random"``: the same ``U(0, 1)`` draws), so
that a ``model`` sweep compares every model from the same initial rates (common random
numbers extended to the start). The ORGaNICs reference points and what is measured against
them (``normalization_*``, ``first_order_*``, ``normalization_error``, ``first_order_error``)
and the ``a`` half of the fixed point are NaN for rate models; they have ``n`` state variables
and ``n`` Jacobian eigenvalues (the other ``n`` entries of ``eigenvalues`` are NaN). Every model
thus has the same variables and shapes, and a ``model`` sweep is one dataset.

Grid: ``delta`` x ``input_norm`` (``*_min``, ``*_max``, ``*_num``, ``*_scale`` = ``"log"`` or
``"linear"``) x ``trials``. The fields ``model``, ``mu``, ``sigma``, ``b0`` and ``b1`` accept
either one value or a list; a list becomes an extra dimension of the dataset, placed before
``delta`` in the order of :data:`SWEEPABLE`.

The spec round-trips through a plain dictionary (:meth:`ScanSpec.to_dict`, stored in the
dataset's attributes, which is how a resumed scan recognises its own store) and through TOML
files (:func:`load_config`)::

    # scan.toml
    n = 100
    ensemble = "goe_symmetric"
    input_type = "localized"
    mu = [0.0, -0.5]
    delta_min = 0.01
    delta_max = 10.0
    delta_num = 20
    trials = 10
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..connectivity import ENSEMBLES, INPUT_KINDS
from ..models.organics import VARIANTS
from ..models.rate import NONLINEARITIES

#: Rate models of a scan: the linear network and one rate network per nonlinearity (module docstring).
RATE_MODELS: tuple[str, ...] = ("linear", *(f"rate_{name}" for name in NONLINEARITIES))
#: Every accepted ``model``: the ORGaNICs variants, then the rate models.
MODELS: tuple[str, ...] = (*VARIANTS, *RATE_MODELS)
#: Exponent of ``"rate_relu_power"``, ``F(u) = [u]+**2`` (the supralinear network's exponent).
RATE_POWER = 2.0
#: Fields that may be given as a list, each list becoming a dimension of the dataset (in this order).
SWEEPABLE: tuple[str, ...] = ("model", "mu", "sigma", "b0", "b1")
#: Initial conditions of a trial (research-code spec §4, ``initial_type``).
INITIAL_STATES: tuple[str, ...] = ("norm", "first_order", "zero", "zero_epsilon", "random")
#: ``"full"`` stores per-neuron states and whole spectra; ``"summary"`` only per-trial scalars.
RECORDS: tuple[str, ...] = ("full", "summary")
SCALES: tuple[str, ...] = ("log", "linear")
#: Value of every state component for the ``"zero_epsilon"`` start (research code: 1e-3).
ZERO_EPSILON = 1e-3


class SpecError(ValueError):
    """An invalid scan specification (the message names the field and the accepted values)."""


def _choice(name: str, value: Any, accepted: tuple[str, ...]) -> None:
    if value not in accepted:
        raise SpecError(f"{name} must be one of {', '.join(repr(a) for a in accepted)}; got {value!r}")


def _integer(name: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise SpecError(f"{name} must be an integer >= {minimum}; got {value!r}")


def _number(name: str, value: Any, *, positive: bool = False, nonnegative: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise SpecError(f"{name} must be a number; got {value!r}")
    if not math.isfinite(value):
        raise SpecError(f"{name} must be finite; got {value!r}")
    if positive and value <= 0:
        raise SpecError(f"{name} must be > 0; got {value!r}")
    if nonnegative and value < 0:
        raise SpecError(f"{name} must be >= 0; got {value!r}")


def _as_values(value: Any) -> tuple:
    """A sweepable field as a tuple of values (one value -> a 1-tuple)."""
    return tuple(value) if isinstance(value, (list, tuple)) else (value,)


def _grid(lo: float, hi: float, num: int, scale: str) -> np.ndarray:
    if num == 1:
        return np.array([float(lo)])
    return np.logspace(np.log10(lo), np.log10(hi), num) if scale == "log" else np.linspace(lo, hi, num)


@dataclasses.dataclass(frozen=True)
class ScanSpec:
    """A validated phase-diagram scan (see the module docstring). Times are in seconds."""

    n: int = 100
    ensemble: str = "goe_symmetric"
    sparsity: float | None = None
    excitatory_fraction: float = 0.8
    input_type: str = "delocalized"
    model: str | tuple[str, ...] = "main"
    mu: float | tuple[float, ...] = 0.0
    sigma: float | tuple[float, ...] = 0.1
    b0: float | tuple[float, ...] = 1.0
    b1: float | tuple[float, ...] = 1.0
    tau_y: float = 2e-3
    tau_a: float = 2e-3
    initial: str = "first_order"
    delta_min: float = 0.01
    delta_max: float = 10.0
    delta_num: int = 10
    delta_scale: str = "log"
    input_min: float = 0.01
    input_max: float = 1.0
    input_num: int = 5
    input_scale: str = "log"
    trials: int = 4
    seed: int = 0
    max_chunks: int = 20
    records: str = "full"

    def __post_init__(self) -> None:
        for name in SWEEPABLE:  # lists from TOML/JSON become tuples (hashable, comparable)
            value = getattr(self, name)
            if isinstance(value, list):
                object.__setattr__(self, name, tuple(value))
        self._validate()

    # ------------------------------------------------------------------ validation
    def _validate(self) -> None:
        _integer("n", self.n, 1)
        _choice("ensemble", self.ensemble, ENSEMBLES)
        _choice("input_type", self.input_type, INPUT_KINDS)
        _choice("initial", self.initial, INITIAL_STATES)
        _choice("records", self.records, RECORDS)
        if self.sparsity is not None:
            _number("sparsity", self.sparsity, positive=True)
            if self.sparsity > self.n:
                raise SpecError(f"sparsity must be in (0, n = {self.n}] (nonzeros per row); got {self.sparsity!r}")
            if self.ensemble == "ginibre" and self.sparsity != self.n:
                raise SpecError("sparsity must be omitted for ensemble 'ginibre' (dense by definition); use 'goe'")
        _number("excitatory_fraction", self.excitatory_fraction)
        if not 0 < self.excitatory_fraction < 1:
            raise SpecError(f"excitatory_fraction must be in (0, 1); got {self.excitatory_fraction!r}")
        if self.ensemble == "dale" and self.n < 2:
            raise SpecError(f"n must be >= 2 for ensemble 'dale'; got {self.n}")
        for name in SWEEPABLE:
            values = _as_values(getattr(self, name))
            if not values:
                raise SpecError(f"{name} must be a value or a non-empty list")
            if len(set(values)) != len(values):
                raise SpecError(f"{name} lists a value twice: {list(values)}")
            for value in values:
                if name == "model":
                    _choice("model", value, MODELS)
                else:
                    _number(name, value, positive=name != "mu")
        if self.ensemble == "dale" and any(mu != 0 for mu in _as_values(self.mu)):
            raise SpecError("mu must be 0 for ensemble 'dale' (its mean is balanced by construction)")
        _number("tau_y", self.tau_y, positive=True)
        _number("tau_a", self.tau_a, positive=True)
        for axis, label in (("delta", "recurrent strength"), ("input", "input norm")):
            lo, hi = getattr(self, f"{axis}_min"), getattr(self, f"{axis}_max")
            num, scale = getattr(self, f"{axis}_num"), getattr(self, f"{axis}_scale")
            _number(f"{axis}_min", lo, nonnegative=True)
            _number(f"{axis}_max", hi, nonnegative=True)
            _integer(f"{axis}_num", num, 1)
            _choice(f"{axis}_scale", scale, SCALES)
            if lo > hi:
                raise SpecError(f"{axis}_min must be <= {axis}_max ({label} grid); got {lo!r} > {hi!r}")
            if num == 1 and lo != hi:
                raise SpecError(f"{axis}_num = 1 needs {axis}_min == {axis}_max; got {lo!r} and {hi!r}")
            if num > 1 and lo == hi:
                raise SpecError(f"{axis}_min == {axis}_max = {lo!r} needs {axis}_num = 1; got {num}")
            if scale == "log" and lo <= 0:
                raise SpecError(f"{axis}_min must be > 0 for {axis}_scale = 'log'; got {lo!r}")
        _integer("trials", self.trials, 1)
        _integer("seed", self.seed, 0)
        _integer("max_chunks", self.max_chunks, 1)

    # ------------------------------------------------------------------ the grid
    @property
    def deltas(self) -> np.ndarray:
        """Recurrent strengths ``Delta`` (dimensionless)."""
        return _grid(self.delta_min, self.delta_max, self.delta_num, self.delta_scale)

    @property
    def input_norms(self) -> np.ndarray:
        """Input norms ``|z|`` (units of the drive)."""
        return _grid(self.input_min, self.input_max, self.input_num, self.input_scale)

    @property
    def sweep(self) -> dict[str, tuple]:
        """The extra dimensions: sweepable fields given as lists, in :data:`SWEEPABLE` order."""
        return {name: _as_values(getattr(self, name)) for name in SWEEPABLE if isinstance(getattr(self, name), tuple)}

    @property
    def grid_dims(self) -> tuple[str, ...]:
        """Dimensions of one cell: sweep dimensions, then ``delta`` and ``input_norm``."""
        return (*self.sweep, "delta", "input_norm")

    @property
    def grid_shape(self) -> tuple[int, ...]:
        return (*(len(v) for v in self.sweep.values()), self.delta_num, self.input_num)

    @property
    def n_cells(self) -> int:
        return int(np.prod(self.grid_shape))

    @property
    def n_trials(self) -> int:
        """Total number of trials (cells x trials per cell)."""
        return self.n_cells * self.trials

    def cell_parameters(self, sweep_index: tuple[int, ...]) -> dict[str, Any]:
        """Values of the sweepable fields for one combination of sweep indices."""
        chosen = dict(zip(self.sweep, sweep_index))
        return {
            name: _as_values(getattr(self, name))[chosen[name]] if name in chosen else getattr(self, name)
            for name in SWEEPABLE
        }

    # ------------------------------------------------------------------ serialisation
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON/TOML-compatible dictionary (lists for sweeps); ``from_dict`` inverts it."""
        out = dataclasses.asdict(self)
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in out.items()}

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> "ScanSpec":
        """Build from a mapping; unknown keys are an error naming them and listing the known ones."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise SpecError(f"unknown scan field(s) {', '.join(unknown)}; known fields: {', '.join(sorted(known))}")
        return cls(**dict(values))

    def replace(self, **changes: Any) -> "ScanSpec":
        """A copy with some fields changed (validated again); ``None`` values are ignored."""
        return self.from_dict({**self.to_dict(), **{k: v for k, v in changes.items() if v is not None}})


def load_config(path: str | Path) -> ScanSpec:
    """Read a scan specification from a TOML file (top-level keys, or a ``[scan]`` table)."""
    path = Path(path)
    if not path.is_file():
        raise SpecError(f"config file {str(path)!r} does not exist")
    try:
        values = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as error:
        raise SpecError(f"config file {str(path)!r} is not valid TOML: {error}") from None
    if set(values) == {"scan"} and isinstance(values["scan"], dict):
        values = values["scan"]
    return ScanSpec.from_dict(values)


def dump_config(spec: ScanSpec) -> str:
    """The spec as TOML text (``load_config`` reads it back); ``sparsity`` is omitted when dense."""
    lines = []
    for key, value in spec.to_dict().items():
        if value is None:
            continue
        lines.append(f"{key} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)
