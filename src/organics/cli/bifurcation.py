r"""``organics bifurcation``: sweep one parameter of a small model, locate where it loses stability.

Models and parameters (:data:`PARAMETERS`):

* the Dayan–Abbott E–I pair (:func:`organics.models.rate.dayan_abbott_ei`, lecture notes on
  recurrent networks): ``tau_I``, ``tau_E`` (ms), the weights ``M_EE``, ``M_EI``, ``M_IE``,
  ``M_II`` and the thresholds ``gamma_E``, ``gamma_I`` (Hz), the others at their preset values
  (``tau_I = 30 ms`` when another parameter is swept). With both units active the Jacobian is
  ``[[(M_EE - 1)/tau_E, M_EI/tau_E], [M_IE/tau_I, (M_II - 1)/tau_I]]``: a Hopf point where its
  trace vanishes with a positive determinant, ``tau_I = tau_E (1 - M_II)/(M_EE - 1) = 40 ms``;
* the two-dimensional ORGaNICs circuit (NeurIPS 2024, Eq. 15) with ``z = 1``, ``w = 1``,
  ``b = b0 = 0.5``, ``sigma = 0.1``, ``tau_y = tau_a = 2 ms``: ``organics_w_r`` sweeps the
  recurrent weight ``w_r`` (Theorems 5.1/5.2: its sign-matching fixed point stays stable, so no
  crossing is expected).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Optional

import numpy as np
import typer
from rich.table import Table

from .common import app, check_outputs, console, fail

FIGURE_FORMATS = ("png", "pdf", "svg")


@dataclass(frozen=True)
class Parameter:
    """A sweepable parameter: ``build(value_in_SI_units)`` returns the model."""

    description: str
    unit: str
    scale: float  # display value = SI value * scale
    default_range: tuple[float, float]  # display units
    build: Callable[[float], Any]
    positive: bool
    state_names: tuple[str, str]
    state_unit: str
    name: str
    model: str = "Dayan–Abbott E–I pair"


def _ei_with(entry: str) -> Callable[[float], Any]:
    """Builder of the E-I pair (tau_I = 30 ms) with one weight or threshold replaced."""
    import equinox as eqx

    from ..models.rate import dayan_abbott_ei

    def build(value: float):
        model = dayan_abbott_ei()
        if entry.startswith("gamma"):
            index = 0 if entry == "gamma_E" else 1
            return eqx.tree_at(lambda m: m.h, model, model.h.at[index].set(-value))
        row, column = {"M_EE": (0, 0), "M_EI": (0, 1), "M_IE": (1, 0), "M_II": (1, 1)}[entry]
        return eqx.tree_at(lambda m: m.M, model, model.M.at[row, column].set(value))

    return build


def _ei_tau(which: str) -> Callable[[float], Any]:
    from ..models.rate import dayan_abbott_ei

    if which == "I":
        return lambda value: dayan_abbott_ei(tau_i=value)
    return lambda value: dayan_abbott_ei(tau_e=value)


def _organics_w_r(value: float):
    from ..models.organics import ORGaNICs

    return ORGaNICs(z=[1.0], W_r=[[value]], W=[[1.0]], b=0.5, b0=0.5, sigma=0.1, tau_y=2e-3, tau_a=2e-3)


EI_STATE = (r"$v_E$", r"$v_I$")


#: Sweepable parameters by name (``--parameter``).
PARAMETERS: dict[str, Parameter] = {
    "tau_I": Parameter("inhibitory time constant", "ms", 1e3, (20.0, 60.0), _ei_tau("I"), True, EI_STATE, "Hz",
                       r"$\tau_I$"),
    "tau_E": Parameter("excitatory time constant", "ms", 1e3, (2.0, 20.0), _ei_tau("E"), True, EI_STATE, "Hz",
                       r"$\tau_E$"),
    "M_EE": Parameter("E-to-E weight", "", 1.0, (1.0, 1.6), _ei_with("M_EE"), False, EI_STATE, "Hz", "$M_{EE}$"),
    "M_EI": Parameter("I-to-E weight", "", 1.0, (-2.0, -0.5), _ei_with("M_EI"), False, EI_STATE, "Hz",
                      "$M_{EI}$"),
    "M_IE": Parameter("E-to-I weight", "", 1.0, (0.5, 2.0), _ei_with("M_IE"), False, EI_STATE, "Hz", "$M_{IE}$"),
    "M_II": Parameter("I-to-I weight", "", 1.0, (-1.0, 0.5), _ei_with("M_II"), False, EI_STATE, "Hz", "$M_{II}$"),
    "gamma_E": Parameter("E threshold", "Hz", 1.0, (-20.0, 0.0), _ei_with("gamma_E"), False, EI_STATE, "Hz",
                         r"$\gamma_E$"),
    "gamma_I": Parameter("I threshold", "Hz", 1.0, (0.0, 20.0), _ei_with("gamma_I"), False, EI_STATE, "Hz",
                         r"$\gamma_I$"),
    "organics_w_r": Parameter("recurrent weight", "", 1.0, (0.5, 4.0), _organics_w_r, False, ("$y$", "$a$"),
                              "dimensionless", "$w_r$", "2-D ORGaNICs circuit (Eq. 15)"),
}  # fmt: skip


def initial_state(model) -> np.ndarray:
    """Start of the continuation: for a rate network the equilibrium with every unit active,
    ``(I - M)^{-1} h`` (Newton then corrects it if some unit is rectified); for ORGaNICs the
    default Newton start (:func:`organics.fixed_points.newton_initial_state`)."""
    from ..fixed_points import newton_initial_state
    from ..linear import steady_state
    from ..models.rate import RateNetwork

    if isinstance(model, RateNetwork):
        try:
            return steady_state(np.asarray(model.M), np.asarray(model.drive(0.0)))
        except ValueError:
            return np.zeros(model.state_size)
    return np.asarray(newton_initial_state(model))


def find_crossings(build: Callable[[float], Any], branch, tol: float = 1e-12) -> list:
    """Every sign change of ``Re lambda*`` between neighbouring converged values, located by
    :func:`organics.bifurcation.locate_crossing` (relative tolerance ``tol``)."""
    from ..bifurcation import locate_crossing

    crossings = []
    ok = np.flatnonzero(branch.converged)
    for a, b in zip(ok[:-1], ok[1:]):
        fa, fb = branch.leading[a].real, branch.leading[b].real
        if fa == 0.0 or np.sign(fa) == np.sign(fb):
            continue
        crossings.append(locate_crossing(build, branch.values[a], branch.values[b], branch.states[a], tol=tol))
    return crossings


@app.command("bifurcation")
def bifurcation_command(
    out: Annotated[str, typer.Option("--out", help="Directory for the figure.")],
    parameter: Annotated[str, typer.Option(help=f"Swept parameter: {', '.join(PARAMETERS)}.")] = "tau_I",
    min_value: Annotated[
        Optional[float], typer.Option("--min", help="Smallest value, in the parameter's unit (ms for tau).")
    ] = None,
    max_value: Annotated[Optional[float], typer.Option("--max", help="Largest value (> --min).")] = None,
    num: Annotated[int, typer.Option(help="Number of parameter values (>= 3).")] = 41,
    duration: Annotated[
        Optional[float], typer.Option(help="Simulated seconds per value (default 100 x the largest time constant).")
    ] = None,
    simulate: Annotated[bool, typer.Option(help="Simulate every value for panels (c) and (d).")] = True,
    formats: Annotated[str, typer.Option(help="Comma-separated figure formats (png, pdf, svg).")] = "png,pdf",
    overwrite: Annotated[bool, typer.Option(help="Replace existing figures.")] = False,
) -> None:
    """Follow the fixed point of a small model over one parameter, locate where the leading eigenvalue
    crosses zero (Hopf: complex pair, with its frequency; or a real crossing) by bisection to relative
    precision 1e-12, and plot (a) Re and (b) Im of the eigenvalues against the parameter with the crossing
    marked, (c) the oscillation amplitude from simulations (limit cycle beyond a Hopf point, damped
    oscillation before it) and (d) two time courses. Writes OUT/bifurcation_<parameter>.<format>."""
    if parameter not in PARAMETERS:
        fail(f"--parameter must be one of {', '.join(PARAMETERS)}; got {parameter!r}")
    spec = PARAMETERS[parameter]
    low = spec.default_range[0] if min_value is None else min_value
    high = spec.default_range[1] if max_value is None else max_value
    if not (np.isfinite(low) and np.isfinite(high)):
        fail(f"--min and --max must be finite; got {low}, {high}")
    if not low < high:
        fail(f"--min must be < --max; got --min {low:g} >= --max {high:g}")
    if spec.positive and low <= 0:
        fail(f"{parameter} is a time constant: --min must be > 0 ({spec.unit}); got {low:g}")
    if num < 3:
        fail(f"--num must be >= 3; got {num}")
    if duration is not None and not (np.isfinite(duration) and duration > 0):
        fail(f"--duration must be > 0 seconds; got {duration}")
    chosen = tuple(f.strip() for f in formats.split(",") if f.strip())
    if not chosen or any(f not in FIGURE_FORMATS for f in chosen):
        fail(f"--formats must list {', '.join(FIGURE_FORMATS)}; got {formats!r}")
    out_dir = Path(out)
    if out_dir.exists() and not out_dir.is_dir():
        fail(f"--out {out} exists and is not a directory")
    stem = out_dir / f"bifurcation_{parameter}"
    check_outputs([stem.with_name(f"{stem.name}.{f}") for f in chosen], overwrite)

    from ..bifurcation import follow_fixed_point
    from ..bifurcation import sweep_oscillations
    from ..plot.bifurcation import bifurcation_figure
    from ..plot.portraits import save_figure

    values = np.linspace(low, high, num) / spec.scale
    try:
        with console.status("Following the fixed point..."):
            branch = follow_fixed_point(spec.build, values, initial_state(spec.build(values[0])))
            crossings = find_crossings(spec.build, branch)
        sweep = None
        if simulate:
            if duration is None:
                duration = 100.0 * max(float(np.max(spec.build(v).time_constants())) for v in values[[0, -1]])
            with console.status(f"Simulating {num} values for {duration:g} s..."):
                sweep = sweep_oscillations(spec.build, branch, duration=duration)
    except ValueError as error:
        fail(str(error))

    unit = f" {spec.unit}" if spec.unit else ""
    console.print(
        f"{parameter} ({spec.description}) from {low:g} to {high:g}{unit}, {num} values: "
        f"fixed point found at {int(branch.converged.sum())}, stable at {int(branch.stable.sum())}"
    )
    if crossings:
        table = Table(title=f"Re λ* = 0 crossings of {parameter}")
        for column in (f"{parameter}{unit}", "type", "λ* (1/s)", "frequency (Hz)", "fixed point"):
            table.add_column(column, justify="right")
        for c in crossings:
            table.add_row(
                f"{c.parameter * spec.scale:.12g}",
                "Hopf" if c.hopf else "real",
                f"{c.eigenvalue.real:+.2e} {c.eigenvalue.imag:+.10g}i",
                f"{c.frequency:.10g}" if c.hopf else "-",
                ", ".join(f"{x:.6g}" for x in c.state),
            )
        console.print(table)
    else:
        side = "negative (stable)" if np.all(branch.leading.real[branch.converged] < 0) else "of one sign"
        console.print(f"no crossing in [{low:g}, {high:g}]{unit}: Re λ* stays {side}")
    if sweep is not None:
        peak = np.nanmax(sweep.amplitude[:, 0])
        name = spec.state_names[0].strip("$")
        console.print(f"largest peak-to-peak amplitude of {name}: {peak:.6g} {spec.state_unit}".rstrip())
    figure = bifurcation_figure(
        branch,
        crossings,
        sweep,
        parameter_name=spec.name,
        parameter_unit=spec.unit,
        scale=spec.scale,
        component_names=spec.state_names,
        state_unit=spec.state_unit,
        title=f"{spec.model}: fixed point and oscillations against the {spec.description} {spec.name}",
    )
    paths = save_figure(figure, stem, chosen)
    console.print(f"wrote {', '.join(str(p) for p in paths)}")
