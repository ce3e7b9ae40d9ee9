"""Circuit models: each is an immutable Equinox module with ``vector_field(t, x, args)``."""

from .organics import VARIANTS, ORGaNICs, ORGaNICsDynamicGains, organics_rates

__all__ = ["VARIANTS", "ORGaNICs", "ORGaNICsDynamicGains", "organics_rates"]
