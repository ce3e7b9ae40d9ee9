"""The ``organics`` command line: parse, validate, call the library, print a summary."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(
    name="organics",
    help="Stability of recurrent circuits with divisive normalization (ORGaNICs).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(width=None if sys.stdout.isatty() else 120)

DEFAULT_DEMO_DELTAS = "0,0.02,0.05,0.1,0.2,0.3,0.5,1,2"


def _version_callback(value: bool) -> None:
    if value:
        from . import __version__

        console.print(f"organics {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        Optional[bool],
        typer.Option("--version", callback=_version_callback, is_eager=True, help="Print the version and exit."),
    ] = None,
) -> None:
    """Stability of recurrent circuits with divisive normalization (ORGaNICs)."""


def _fail(message: str) -> None:
    console.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code=2)


def _parse_floats(name: str, text: str) -> np.ndarray:
    try:
        values = np.array([float(v) for v in text.split(",") if v.strip()], dtype=float)
    except ValueError:
        _fail(f"{name} must be a comma-separated list of numbers; got {text!r}")
    if values.size == 0:
        _fail(f"{name} must list at least one number")
    return values


@app.command()
def demo(
    n: Annotated[int, typer.Option(help="Number of principal neurons (>= 1).")] = 100,
    input_norm: Annotated[float, typer.Option(help="2-norm of the input drive |z| (> 0).")] = 0.1,
    deltas: Annotated[str, typer.Option(help="Comma-separated recurrent strengths Delta (>= 0).")] = DEFAULT_DEMO_DELTAS,
    input_kind: Annotated[str, typer.Option(help="Input drive: localized, delocalized, random or gaussian.")] = "delocalized",
    ensemble: Annotated[str, typer.Option(help="Random ensemble of M in W_r = I + M.")] = "goe_symmetric",
    sigma: Annotated[float, typer.Option(help="Semi-saturation constant (> 0).")] = 0.1,
    variant: Annotated[str, typer.Option(help="main, rectified or rectified_recurrence.")] = "main",
    seed: Annotated[int, typer.Option(help="Seed of the random connectivity.")] = 0,
) -> None:
    """Stability report of the default circuit: one random W_r = I + M per recurrent strength.

    Each circuit is simulated from the first-order correction of the normalization fixed point
    and its trajectory classified (stable fixed point confirmed by the Jacobian spectrum, limit
    cycle, diverging or unresolved). At a stable fixed point the report gives the leading
    eigenvalue lambda* times tau (tau = 2 ms), the relaxation time, the frequency of the slowest
    mode and the normalization error, next to the analytic breakdown strength
    Delta_c(|z|) = sqrt(2) s / (1 - s), s = sqrt(sigma^2 b0^2 + b^2 |z|^2).
    """
    from .sweep import delta_sweep
    from .theory import critical_delta

    values = _parse_floats("--deltas", deltas)
    try:
        delta_c = critical_delta(input_norm, sigma=sigma)
        with console.status("Simulating and classifying trajectories..."):
            result = delta_sweep(
                values, n=n, input_norm=input_norm, input_kind=input_kind, ensemble=ensemble,
                sigma=sigma, variant=variant, seed=seed,
            )
    except ValueError as error:
        _fail(str(error))

    table = Table(title=f"ORGaNICs, N = {n}, |z| = {input_norm:g} ({input_kind}), sigma = {sigma:g}, {ensemble}")
    for column in ("Δ", "ρ(W_r)", "outcome", "Re λ*·τ", "relax. ms", "freq. Hz", "norm. error", "period ms",
                   "simulated ms"):
        table.add_column(column, justify="right")
    for i, verdict in enumerate(result.verdicts()):
        table.add_row(
            f"{result.delta[i]:g}",
            f"{result.spectral_radius[i]:.3f}",
            verdict,
            _number(result.leading_real_times_tau[i], "{:+.4f}"),
            _number(1e3 * result.relaxation_time[i], "{:.2f}"),
            _number(result.frequency_hz[i], "{:.1f}"),
            _number(result.normalization_error[i], "{:.3f}"),
            _number(1e3 * result.period[i] if result.period[i] > 0 else np.nan, "{:.2f}"),
            f"{1e3 * result.time_simulated[i]:.0f}",
        )
    console.print(table)
    console.print(
        f"Analytic breakdown of normalization (first-order theory, mu = 0): Delta_c = {delta_c:.3f}; "
        f"spectral radius of W_r there ~ {1 + np.sqrt(2) * delta_c:.2f}. A stable fixed point with "
        "rho(W_r) > 1 is the normalization-stabilized regime; |lambda* tau| -> 0 (critical slowing) "
        "announces the instability."
    )


def _number(value: float, template: str) -> str:
    return "-" if not np.isfinite(value) else template.format(value)


@app.command("fixed-points-2d")
def fixed_points_2d(
    w_r: Annotated[float, typer.Option(help="Recurrent weight w_r (> 0).")] = 2.0,
    w: Annotated[float, typer.Option(help="Normalization weight w (> 0).")] = 1.0,
    b: Annotated[float, typer.Option(help="Input gain b (> 0).")] = 0.5,
    z: Annotated[float, typer.Option(help="Input drive z.")] = 1.0,
    b0: Annotated[float, typer.Option(help="Gain b0 (> 0).")] = 0.5,
    sigma: Annotated[float, typer.Option(help="Semi-saturation constant (> 0).")] = 0.1,
    tau_y: Annotated[float, typer.Option(help="Time constant of y in seconds (> 0).")] = 2e-3,
    tau_a: Annotated[float, typer.Option(help="Time constant of a in seconds (> 0).")] = 2e-3,
    variant: Annotated[str, typer.Option(help="main (Eq. 15) or rectified (Eq. 101).")] = "main",
) -> None:
    """All fixed points of the two-dimensional circuit (quartic Eq. 79) with their stability."""
    from .two_dimensional import two_d_fixed_points

    try:
        points = two_d_fixed_points(
            w_r=w_r, w=w, b=b, z=z, b0=b0, sigma=sigma, tau_y=tau_y, tau_a=tau_a, variant=variant
        )
    except ValueError as error:
        _fail(str(error))
    table = Table(title=f"2-D ORGaNICs ({variant}): w_r = {w_r:g}, z = {z:g}, b0 sigma = {b0 * sigma:g}")
    for column in ("y_s", "a_s", "eigenvalues (1/s)", "stability"):
        table.add_column(column, justify="right")
    for point in points:
        eigs = ", ".join(f"{complex(e):.4g}" for e in point.eigenvalues)
        table.add_row(f"{point.y:.6g}", f"{point.a:.6g}", eigs, "stable" if point.stable else "unstable")
    console.print(table)
