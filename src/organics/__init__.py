"""organics: stability of recurrent circuits with divisive normalization.

Importing the package switches JAX to float64 (``jax_enable_x64``): every analysis in the
package (fixed points, Jacobians, spectra) is done in double precision.
"""

from importlib.metadata import PackageNotFoundError, version

import jax

jax.config.update("jax_enable_x64", True)

from .models import VARIANTS, ORGaNICs, ORGaNICsDynamicGains, organics_rates  # noqa: E402

try:
    __version__ = version("organics")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

__all__ = [
    "__version__",
    "VARIANTS",
    "ORGaNICs",
    "ORGaNICsDynamicGains",
    "organics_rates",
]
