"""Circuit models: each is an immutable Equinox module with ``vector_field(t, x, args)`` (1/s)."""

from .organics import VARIANTS, ORGaNICs, ORGaNICsDynamicGains, organics_rates
from .rate import NONLINEARITIES, LinearNetwork, RateNetwork, dayan_abbott_ei

__all__ = [
    "VARIANTS",
    "ORGaNICs",
    "ORGaNICsDynamicGains",
    "organics_rates",
    "NONLINEARITIES",
    "LinearNetwork",
    "RateNetwork",
    "dayan_abbott_ei",
]
