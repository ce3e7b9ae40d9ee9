"""Circuit models: each is an immutable Equinox module with ``vector_field(t, x, args)`` (1/s)."""

from .organics import VARIANTS, ORGaNICs, ORGaNICsDynamicGains, organics_rates
from .rate import NONLINEARITIES, LinearNetwork, RateNetwork, dayan_abbott_ei, stabilized_supralinear_network
from .ring import (
    RING_KERNEL,
    ThreeTypeRing,
    grating_stimulus,
    poisson_spike_trains,
    preferred_orientations,
    ring_input_weights,
    ring_normalization_pool,
    ring_recurrent_weights,
    ring_tuning_exponent,
    three_type_ring,
    two_type_ring,
)

__all__ = [
    "VARIANTS",
    "ORGaNICs",
    "ORGaNICsDynamicGains",
    "organics_rates",
    "NONLINEARITIES",
    "LinearNetwork",
    "RateNetwork",
    "dayan_abbott_ei",
    "stabilized_supralinear_network",
    "RING_KERNEL",
    "ThreeTypeRing",
    "grating_stimulus",
    "poisson_spike_trains",
    "preferred_orientations",
    "ring_input_weights",
    "ring_normalization_pool",
    "ring_recurrent_weights",
    "ring_tuning_exponent",
    "three_type_ring",
    "two_type_ring",
]
