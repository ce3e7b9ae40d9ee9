"""organics: stability of recurrent circuits with divisive normalization (ORGaNICs).

Importing the package

* switches JAX to float64 (``jax_enable_x64``): every analysis (fixed points, Jacobians,
  spectra) is done in double precision;
* adds ``--xla_cpu_multi_thread_eigen=false`` to ``XLA_FLAGS`` unless that flag is already set,
  before JAX starts its CPU backend: XLA's own kernels then run single-threaded and parallelism
  comes from batching. Measured on the 2-core development machine with ``benchmarks/xla_flags.py``
  (fastest of 3, jaxlib 0.9.2): batched matrix products 1.11x faster with the flag, batched
  matrix-vector products 0.99x, a batch of 32 eigendecompositions 0.90x; the scan benchmark's warm
  cost per trial is the same either way within run-to-run noise (about 10 %). Set ``XLA_FLAGS``
  yourself (before importing ``organics`` or running any JAX computation) to override it. The flag
  does not prevent the LAPACK thread-pool deadlock of jaxlib 0.10.x; those versions are excluded
  (``docs/installation.md``).
"""

import os

if "xla_cpu_multi_thread_eigen" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false").strip()

from importlib.metadata import PackageNotFoundError, version  # noqa: E402

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

from . import (  # noqa: E402
    balanced,
    bifurcation,
    connectivity,
    fixed_points,
    linear,
    nonnormal,
    scan,
    sde,
    simulate,
    spectra,
    stability,
    theory,
    two_dimensional,
)
from .balanced import (  # noqa: E402
    AmplificationSplit,
    BalancedAmplification,
    balanced_amplification,
    balanced_ei_matrix,
    circular_law_amplification,
    normal_counterpart,
    simulated_noise_amplification,
)
from .bifurcation import (  # noqa: E402
    Branch,
    Crossing,
    OscillationSweep,
    follow_fixed_point,
    locate_crossing,
    sweep_oscillations,
)
from .connectivity import (  # noqa: E402
    ENSEMBLES,
    INPUT_KINDS,
    input_drive,
    perturbation_matrix,
    random_circuit,
    recurrent_matrix,
)
from .fixed_points import (  # noqa: E402
    FixedPoint,
    algorithm1,
    algorithm2,
    first_order_fixed_point,
    iterative_fixed_point,
    newton_fixed_point,
    normalization_fixed_point,
    simulate_to_steady_state,
)
from .linear import effective_time_constants, linear_modes, linear_solution, mode_amplification, steady_state  # noqa: E402
from .nonnormal import (  # noqa: E402
    NoiseAmplification,
    henrici_departure,
    noise_amplification,
    numerical_abscissa,
    pseudospectrum,
    schur_decomposition,
    transient_amplification,
)
from .models import (  # noqa: E402
    VARIANTS,
    LinearNetwork,
    ORGaNICs,
    ORGaNICsDynamicGains,
    RateNetwork,
    ThreeTypeRing,
    dayan_abbott_ei,
    organics_rates,
    stabilized_supralinear_network,
    three_type_ring,
    two_type_ring,
)
from .sde import GridBrownianPath, noise_covariance, noise_matrix, simulate_sde  # noqa: E402
from .simulate import (  # noqa: E402
    DIVERGING,
    LIMIT_CYCLE,
    STABLE_FIXED_POINT,
    UNRESOLVED,
    Classification,
    Outcome,
    Trajectory,
    classify_batch,
    classify_trajectory,
    simulate_batch,
)
from .simulate import simulate as simulate_trajectory  # noqa: E402
from .spectra import (  # noqa: E402
    LinearNoiseAnalysis,
    WelchSpectra,
    auto_spectra,
    coherence,
    cross_spectrum,
    linear_noise_analysis,
    power_spectral_density,
    sample_covariance,
    stationary_covariance,
    welch_spectra,
    zero_frequency_spectrum,
)
from .stability import (  # noqa: E402
    LDSResult,
    SpectrumSummary,
    SplittingCertificate,
    companion_matrix,
    eigenvalues,
    energy,
    energy_2d,
    jacobian,
    jacobian_closed_form,
    lyapunov_diagonal_stability,
    quadratic_eigenvalue_form,
    spectrum_summary,
    splitting_certificate,
    splitting_matrix,
    stability_report,
)
from .scan import PRESETS, ScanSpec, load_config, open_scan, run_scan  # noqa: E402
from .sweep import SweepResult, delta_sweep  # noqa: E402
from .trajectories import open_dataset, save_dataset, trajectory_dataset  # noqa: E402
from .theory import (  # noqa: E402
    analytic_eigenvalues,
    critical_delta,
    critical_delta_per_neuron,
    critical_input,
    first_order_normalization_error,
    gap_closing_delta,
    normalization_scale,
)
from .two_dimensional import (  # noqa: E402
    TheoremPrediction,
    TwoDFixedPoint,
    quartic_coefficients,
    theorem_prediction,
    two_d_fixed_points,
    two_d_jacobian,
)

try:
    __version__ = version("organics")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

__all__ = [
    "__version__",
    # modules
    "balanced",
    "bifurcation",
    "connectivity",
    "fixed_points",
    "linear",
    "nonnormal",
    "sde",
    "simulate",
    "spectra",
    "stability",
    "theory",
    "two_dimensional",
    # models
    "VARIANTS",
    "ORGaNICs",
    "ORGaNICsDynamicGains",
    "organics_rates",
    "LinearNetwork",
    "RateNetwork",
    "dayan_abbott_ei",
    "stabilized_supralinear_network",
    "two_type_ring",
    "three_type_ring",
    "ThreeTypeRing",
    # connectivity
    "ENSEMBLES",
    "INPUT_KINDS",
    "input_drive",
    "perturbation_matrix",
    "random_circuit",
    "recurrent_matrix",
    # fixed points
    "FixedPoint",
    "normalization_fixed_point",
    "first_order_fixed_point",
    "iterative_fixed_point",
    "algorithm1",
    "algorithm2",
    "newton_fixed_point",
    "simulate_to_steady_state",
    # stability
    "jacobian",
    "jacobian_closed_form",
    "eigenvalues",
    "SpectrumSummary",
    "spectrum_summary",
    "stability_report",
    "quadratic_eigenvalue_form",
    "companion_matrix",
    "splitting_matrix",
    "SplittingCertificate",
    "splitting_certificate",
    "LDSResult",
    "lyapunov_diagonal_stability",
    "energy",
    "energy_2d",
    # theory and the 2-D circuit
    "analytic_eigenvalues",
    "critical_delta",
    "critical_delta_per_neuron",
    "critical_input",
    "first_order_normalization_error",
    "gap_closing_delta",
    "normalization_scale",
    "two_d_fixed_points",
    "TwoDFixedPoint",
    "quartic_coefficients",
    "two_d_jacobian",
    "theorem_prediction",
    "TheoremPrediction",
    # simulation
    "simulate_trajectory",
    "simulate_batch",
    "Trajectory",
    "classify_trajectory",
    "classify_batch",
    "Classification",
    "Outcome",
    "UNRESOLVED",
    "DIVERGING",
    "STABLE_FIXED_POINT",
    "LIMIT_CYCLE",
    # noise
    "simulate_sde",
    "noise_matrix",
    "noise_covariance",
    "GridBrownianPath",
    "stationary_covariance",
    "power_spectral_density",
    "zero_frequency_spectrum",
    "auto_spectra",
    "cross_spectrum",
    "coherence",
    "welch_spectra",
    "WelchSpectra",
    "sample_covariance",
    "linear_noise_analysis",
    "LinearNoiseAnalysis",
    # trajectories as datasets (plots live in organics.plot, imported on demand)
    "trajectory_dataset",
    "save_dataset",
    "open_dataset",
    # linear networks and bifurcations
    "linear_modes",
    "linear_solution",
    "steady_state",
    "mode_amplification",
    "effective_time_constants",
    "follow_fixed_point",
    "locate_crossing",
    "Branch",
    "Crossing",
    "OscillationSweep",
    "sweep_oscillations",
    # balanced E/I networks (Hennequin, Vogels & Gerstner 2012)
    "AmplificationSplit",
    "BalancedAmplification",
    "balanced_amplification",
    "balanced_ei_matrix",
    "circular_law_amplification",
    "normal_counterpart",
    "simulated_noise_amplification",
    # non-normal amplification
    "schur_decomposition",
    "henrici_departure",
    "numerical_abscissa",
    "transient_amplification",
    "pseudospectrum",
    "noise_amplification",
    "NoiseAmplification",
    # phase-diagram scans (organics.scan)
    "scan",
    "ScanSpec",
    "PRESETS",
    "load_config",
    "run_scan",
    "open_scan",
    # reports
    "delta_sweep",
    "SweepResult",
]
