"""Named scan configurations: the demo and the Stabilization paper's production grids.

The production grids follow the research code's SLURM generators (research-code spec §2): N = 100,
sigma = 0.1, b0 = b1 = 1, tau = 2 ms, W = ones, goe_symmetric, mu = 0, first-order start,
Delta in logspace(0.01, 10, 200), |z| in logspace(0.01, 1, 200), 100 trials per cell, at most
20 chunks of 100 tau. Any field can be overridden from the command line or a TOML file.
"""

from __future__ import annotations

from .spec import ScanSpec, SpecError

_PRODUCTION = dict(
    n=100,
    ensemble="goe_symmetric",
    mu=0.0,
    sigma=0.1,
    b0=1.0,
    b1=1.0,
    tau_y=2e-3,
    tau_a=2e-3,
    initial="first_order",
    delta_min=0.01,
    delta_max=10.0,
    delta_num=200,
    input_min=0.01,
    input_max=1.0,
    input_num=200,
    trials=100,
    max_chunks=20,
)

PRESETS: dict[str, ScanSpec] = {
    # Small enough to finish in well under two minutes on two cores (compilation included), and
    # spans stable, critically slowed, unresolved and diverging cells. (No clean limit cycle:
    # from these starts the oscillations either decay slowly or stay irregular; see the notes.)
    "demo": ScanSpec(
        n=50,
        delta_min=0.03,
        delta_max=3.0,
        delta_num=8,
        input_min=0.01,
        input_max=0.5,
        input_num=5,
        trials=4,
        max_chunks=10,
    ),
    "stabilization-delocalized": ScanSpec(**_PRODUCTION, input_type="delocalized"),
    "stabilization-localized": ScanSpec(**_PRODUCTION, input_type="localized"),
    # A fine, linear Delta grid through the closing of the gap at small input (Delta_c(0.01) = 0.158),
    # with a longer budget: critically slowed trials relax over thousands of tau.
    "critical-slowing": ScanSpec(
        **{
            **_PRODUCTION,
            "max_chunks": 40,
            "delta_min": 0.02,
            "delta_max": 0.3,
            "delta_num": 29,
            "delta_scale": "linear",
            "input_min": 0.01,
            "input_max": 0.05,
            "input_num": 3,
            "trials": 20,
        }
    ),
}
PRESET_DESCRIPTIONS: dict[str, str] = {
    "demo": "N = 50, 8 x 5 cells x 4 trials: stable, critically slowed, unresolved and diverging cells in about 20 s",
    "stabilization-delocalized": "the paper's phase diagram, delocalized input (200 x 200 cells x 100 trials)",
    "stabilization-localized": "the paper's phase diagram, localized input (200 x 200 cells x 100 trials)",
    "critical-slowing": "fine linear Delta grid through the closing gap at |z| = 0.01-0.05, 20 trials, 4000 tau",
}


def preset(name: str) -> ScanSpec:
    """The preset called ``name`` (see :data:`PRESETS`)."""
    if name not in PRESETS:
        raise SpecError(f"preset must be one of {', '.join(PRESETS)}; got {name!r}")
    return PRESETS[name]
