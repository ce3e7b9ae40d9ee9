"""Commands on one circuit: the Delta sweep demo, 2-D fixed points, simulation and phase portraits."""

from __future__ import annotations

from typing import Annotated, Optional

import numpy as np
import typer
from rich.table import Table

from .common import app, check_choice, check_outputs, console, fail, parse_floats, parse_limits

DEFAULT_DEMO_DELTAS = "0,0.02,0.05,0.1,0.2,0.3,0.5,1,2"


@app.command()
def demo(
    n: Annotated[int, typer.Option(help="Number of principal neurons (>= 1).")] = 100,
    input_norm: Annotated[float, typer.Option(help="2-norm of the input drive |z| (> 0).")] = 0.1,
    deltas: Annotated[
        str, typer.Option(help="Comma-separated recurrent strengths Delta (>= 0).")
    ] = DEFAULT_DEMO_DELTAS,
    input_kind: Annotated[
        str, typer.Option(help="Input drive: localized, delocalized, random or gaussian.")
    ] = "delocalized",
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
    from ..sweep import delta_sweep
    from ..theory import critical_delta

    values = parse_floats("--deltas", deltas)
    try:
        delta_c = critical_delta(input_norm, sigma=sigma)
        with console.status("Simulating and classifying trajectories..."):
            result = delta_sweep(
                values,
                n=n,
                input_norm=input_norm,
                input_kind=input_kind,
                ensemble=ensemble,
                sigma=sigma,
                variant=variant,
                seed=seed,
            )
    except ValueError as error:
        fail(str(error))

    table = Table(title=f"ORGaNICs, N = {n}, |z| = {input_norm:g} ({input_kind}), sigma = {sigma:g}, {ensemble}")
    for column in (
        "Δ",
        "ρ(W_r)",
        "outcome",
        "Re λ*·τ",
        "relax. ms",
        "freq. Hz",
        "norm. error",
        "period ms",
        "simulated ms",
    ):
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
    from ..two_dimensional import two_d_fixed_points

    try:
        points = two_d_fixed_points(
            w_r=w_r, w=w, b=b, z=z, b0=b0, sigma=sigma, tau_y=tau_y, tau_a=tau_a, variant=variant
        )
    except ValueError as error:
        fail(str(error))
    table = Table(title=f"2-D ORGaNICs ({variant}): w_r = {w_r:g}, z = {z:g}, b0 sigma = {b0 * sigma:g}")
    for column in ("y_s", "a_s", "eigenvalues (1/s)", "stability"):
        table.add_column(column, justify="right")
    for point in points:
        eigs = ", ".join(f"{complex(e):.4g}" for e in point.eigenvalues)
        table.add_row(f"{point.y:.6g}", f"{point.a:.6g}", eigs, "stable" if point.stable else "unstable")
    console.print(table)


# ---------------------------------------------------------------------------------------------
SIMULATE_INITS = ("first_order", "norm", "zero", "random")
DATASET_FORMATS = ("zarr", "nc")
PORTRAIT_MODELS = ("organics", "organics-rectified", "ei")


@app.command("simulate")
def simulate_command(
    out: Annotated[str, typer.Option(help="Output directory.")],
    n: Annotated[int, typer.Option(help="Number of principal neurons (>= 1).")] = 100,
    delta: Annotated[float, typer.Option(help="Recurrent strength Delta of W_r = I + M (>= 0).")] = 0.1,
    input_norm: Annotated[float, typer.Option(help="2-norm of the input drive |z| (>= 0).")] = 0.1,
    input_kind: Annotated[
        str, typer.Option(help="Input drive: localized, delocalized, random or gaussian.")
    ] = "delocalized",
    ensemble: Annotated[str, typer.Option(help="Random ensemble of M in W_r = I + M.")] = "goe_symmetric",
    sigma: Annotated[float, typer.Option(help="Semi-saturation constant (> 0).")] = 0.1,
    variant: Annotated[str, typer.Option(help="main, rectified or rectified_recurrence.")] = "main",
    seed: Annotated[int, typer.Option(help="Seed of the random connectivity (and random input/start).")] = 0,
    duration_ms: Annotated[float, typer.Option(help="Simulated time in ms (> 0).")] = 400.0,
    init: Annotated[str, typer.Option(help="Initial state: first_order, norm, zero or random.")] = "first_order",
    n_save: Annotated[int, typer.Option(help="Number of saved time points (>= 2).")] = 1000,
    format: Annotated[str, typer.Option("--format", help="Dataset format: zarr or nc (NetCDF).")] = "zarr",
    overwrite: Annotated[bool, typer.Option(help="Replace existing outputs.")] = False,
) -> None:
    """Simulate one random circuit, classify its trajectory and save the dataset and figures.

    Writes OUT/trajectory.zarr (or .nc), OUT/time_courses.png/.pdf and OUT/portrait.png
    (y_i against a_i of the slowest-converging neurons).
    """
    from pathlib import Path

    from ..connectivity import ENSEMBLES, INPUT_KINDS
    from ..models.organics import VARIANTS

    if n < 1:
        fail(f"--n must be >= 1; got {n}")
    if not np.isfinite(delta) or delta < 0:
        fail(f"--delta must be >= 0; got {delta}")
    if not np.isfinite(input_norm) or input_norm < 0:
        fail(f"--input-norm must be >= 0; got {input_norm}")
    if not np.isfinite(sigma) or sigma <= 0:
        fail(f"--sigma must be > 0; got {sigma}")
    if not np.isfinite(duration_ms) or duration_ms <= 0:
        fail(f"--duration-ms must be > 0; got {duration_ms}")
    if n_save < 2:
        fail(f"--n-save must be >= 2; got {n_save}")
    check_choice("--input-kind", input_kind, INPUT_KINDS)
    check_choice("--ensemble", ensemble, ENSEMBLES)
    check_choice("--variant", variant, VARIANTS)
    check_choice("--init", init, SIMULATE_INITS)
    check_choice("--format", format, DATASET_FORMATS)
    out_dir = Path(out)
    if out_dir.exists() and not out_dir.is_dir():
        fail(f"--out {out} exists and is not a directory")
    dataset_path = out_dir / f"trajectory.{format}"
    figure_paths = [out_dir / "time_courses.png", out_dir / "time_courses.pdf", out_dir / "portrait.png"]
    check_outputs([dataset_path, *figure_paths], overwrite)

    import jax

    from ..connectivity import input_drive, recurrent_matrix
    from ..fixed_points import first_order_fixed_point, normalization_fixed_point
    from ..models.organics import ORGaNICs
    from ..plot.portraits import neuron_portrait, save_figure, time_courses
    from ..simulate import Outcome, classify_trajectory, simulate
    from ..trajectories import save_dataset, trajectory_dataset

    try:
        key = jax.random.key(seed)
        W_r = recurrent_matrix(jax.random.fold_in(key, 0), n, ensemble=ensemble, delta=delta)
        z = input_drive(n, input_kind, input_norm, key=jax.random.fold_in(key, 1))
        model = ORGaNICs(z=z, W_r=W_r, sigma=sigma, variant=variant)
        if init == "first_order":
            x0 = np.asarray(first_order_fixed_point(model).state)
        elif init == "norm":
            x0 = np.asarray(normalization_fixed_point(model).state)
        elif init == "zero":
            x0 = np.zeros(model.state_size)
        else:
            rng = np.random.default_rng(seed)
            x0 = np.concatenate([rng.normal(0.0, 0.1, n), rng.uniform(0.0, 0.2, n)])
        if not np.all(np.isfinite(x0)):
            fail(f"the {init} initial state is not finite for this circuit; try --init norm")
        with console.status("Simulating and classifying the trajectory..."):
            trajectory = simulate(model, x0, duration_ms * 1e-3, n_save=n_save)
            verdict = classify_trajectory(model, x0)
    except ValueError as error:
        fail(str(error))

    outcome = Outcome(int(verdict.outcome)).name.lower()
    attrs = dict(
        delta=float(delta),
        input_norm=float(input_norm),
        input_kind=input_kind,
        ensemble=ensemble,
        seed=int(seed),
        init=init,
        outcome=outcome,
        leading_real=float(verdict.leading_real),
        leading_imag=float(verdict.leading_imag),
        period=float(verdict.period),
        classified_time=float(verdict.time_simulated),
    )
    ds = trajectory_dataset(model, trajectory, attrs=attrs)
    save_dataset(ds, dataset_path, overwrite=overwrite)
    title = f"N = {n}, Δ = {delta:g}, |z| = {input_norm:g} ({input_kind}), {ensemble}: {outcome.replace('_', ' ')}"
    save_figure(time_courses(trajectory, model, title=title), out_dir / "time_courses", ("png", "pdf"))
    save_figure(neuron_portrait(model, trajectory), out_dir / "portrait", ("png",))

    console.print(
        f"outcome: [bold]{outcome.replace('_', ' ')}[/bold] (classified over "
        f"{1e3 * float(verdict.time_simulated):.0f} ms; Re λ* = {float(verdict.leading_real):.4g} 1/s"
        + (f", period {1e3 * float(verdict.period):.3g} ms" if float(verdict.period) > 0 else "")
        + ")"
    )
    console.print(
        f"trajectory: {len(trajectory.ts)} samples over {duration_ms:g} ms, "
        f"solver status {int(trajectory.status)}; |y(end)| = {float(ds.y_norm[-1]):.6g}"
    )
    console.print(f"wrote {dataset_path}, {out_dir / 'time_courses.png'} (.pdf), {out_dir / 'portrait.png'}")


@app.command("portrait")
def portrait_command(
    out: Annotated[str, typer.Option(help="Output directory.")],
    model: Annotated[
        str, typer.Option("--model", help="organics, organics-rectified or ei (Dayan-Abbott E-I).")
    ] = "organics",
    w_r: Annotated[float, typer.Option(help="Recurrent weight w_r (ORGaNICs).")] = 2.0,
    w: Annotated[float, typer.Option(help="Normalization weight w (> 0).")] = 1.0,
    b: Annotated[float, typer.Option(help="Input gain b (> 0).")] = 0.5,
    b0: Annotated[float, typer.Option(help="Gain b0 (> 0).")] = 0.5,
    sigma: Annotated[float, typer.Option(help="Semi-saturation constant (> 0).")] = 0.1,
    z: Annotated[float, typer.Option(help="Input drive z.")] = 1.0,
    tau_y_ms: Annotated[float, typer.Option(help="Time constant of y in ms (> 0).")] = 2.0,
    tau_a_ms: Annotated[float, typer.Option(help="Time constant of a in ms (> 0).")] = 2.0,
    tau_e_ms: Annotated[float, typer.Option(help="E time constant of the E-I model in ms (> 0).")] = 10.0,
    tau_i_ms: Annotated[float, typer.Option(help="I time constant of the E-I model in ms (> 0).")] = 30.0,
    xlim: Annotated[Optional[str], typer.Option(help="Horizontal window 'low,high' (default: automatic).")] = None,
    ylim: Annotated[Optional[str], typer.Option(help="Vertical window 'low,high' (default: automatic).")] = None,
    trajectories: Annotated[int, typer.Option(help="Number of sample trajectories (>= 0).")] = 6,
    overwrite: Annotated[bool, typer.Option(help="Replace existing outputs.")] = False,
) -> None:
    """Phase portrait of a two-dimensional circuit: vector field, nullclines, fixed points
    (red star stable, black star unstable), sample trajectories. Writes OUT/portrait.png/.pdf."""
    from pathlib import Path

    check_choice("--model", model, PORTRAIT_MODELS)
    for option, value in (
        ("--tau-y-ms", tau_y_ms),
        ("--tau-a-ms", tau_a_ms),
        ("--tau-e-ms", tau_e_ms),
        ("--tau-i-ms", tau_i_ms),
    ):
        if not np.isfinite(value) or value <= 0:
            fail(f"{option} must be > 0; got {value}")
    if trajectories < 0:
        fail(f"--trajectories must be >= 0; got {trajectories}")
    x_window, y_window = parse_limits("--xlim", xlim), parse_limits("--ylim", ylim)
    out_dir = Path(out)
    if out_dir.exists() and not out_dir.is_dir():
        fail(f"--out {out} exists and is not a directory")
    check_outputs([out_dir / "portrait.png", out_dir / "portrait.pdf"], overwrite)

    from ..models.organics import ORGaNICs
    from ..models.rate import dayan_abbott_ei
    import matplotlib.pyplot as plt

    from ..plot.portraits import phase_portrait, save_figure

    try:
        if model == "ei":
            circuit = dayan_abbott_ei(tau_i=tau_i_ms * 1e-3, tau_e=tau_e_ms * 1e-3)
            x_window = (0.0, 60.0) if x_window is None else x_window  # rates in Hz around v* = (80/3, 50/3)
            y_window = (0.0, 40.0) if y_window is None else y_window
            title = f"Dayan–Abbott E–I pair\n$\\tau_E$ = {tau_e_ms:g} ms, $\\tau_I$ = {tau_i_ms:g} ms"
        else:
            variant = "main" if model == "organics" else "rectified"
            circuit = ORGaNICs(
                z=[z],
                W_r=[[w_r]],
                W=[[w]],
                b=b,
                b0=b0,
                sigma=sigma,
                tau_y=tau_y_ms * 1e-3,
                tau_a=tau_a_ms * 1e-3,
                variant=variant,
            )
            title = (
                f"2-D ORGaNICs ({variant}): $w_r$ = {w_r:g}, z = {z:g}, w = {w:g}, b = {b:g}\n"
                f"$b_0$ = {b0:g}, $\\sigma$ = {sigma:g}, $\\tau_y$ = {tau_y_ms:g} ms, $\\tau_a$ = {tau_a_ms:g} ms"
            )
        with console.status("Drawing the phase portrait..."):
            fig, ax = plt.subplots(figsize=(8.5, 5.0), layout="constrained")
            phase_portrait(
                circuit, ax, xlim=x_window, ylim=y_window, n_trajectories=trajectories, title=title, legend="outside"
            )
    except ValueError as error:
        fail(str(error))
    paths = save_figure(fig, out_dir / "portrait", ("png", "pdf"))
    console.print(f"wrote {', '.join(str(p) for p in paths)}")
