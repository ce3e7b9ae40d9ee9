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
    from .sweep import delta_sweep
    from .theory import critical_delta

    values = _parse_floats("--deltas", deltas)
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
        _fail(str(error))

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


# ---------------------------------------------------------------------------------------------
# simulate one circuit, portraits

SIMULATE_INITS = ("first_order", "norm", "zero", "random")
DATASET_FORMATS = ("zarr", "nc")
PORTRAIT_MODELS = ("organics", "organics-rectified", "ei")


def _check_choice(option: str, value: str, choices) -> None:
    if value not in choices:
        _fail(f"{option} must be one of {', '.join(choices)}; got {value!r}")


def _check_outputs(paths, overwrite: bool) -> None:
    existing = [str(p) for p in paths if p.exists()]
    if existing and not overwrite:
        _fail(f"{existing[0]} exists; pass --overwrite to replace it")


def _parse_limits(option: str, text: Optional[str]):
    if text is None:
        return None
    values = _parse_floats(option, text)
    if values.size != 2 or not values[1] > values[0]:
        _fail(f"{option} must be 'low,high' with high > low; got {text!r}")
    return (float(values[0]), float(values[1]))


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

    from .connectivity import ENSEMBLES, INPUT_KINDS
    from .models.organics import VARIANTS

    if n < 1:
        _fail(f"--n must be >= 1; got {n}")
    if not np.isfinite(delta) or delta < 0:
        _fail(f"--delta must be >= 0; got {delta}")
    if not np.isfinite(input_norm) or input_norm < 0:
        _fail(f"--input-norm must be >= 0; got {input_norm}")
    if not np.isfinite(sigma) or sigma <= 0:
        _fail(f"--sigma must be > 0; got {sigma}")
    if not np.isfinite(duration_ms) or duration_ms <= 0:
        _fail(f"--duration-ms must be > 0; got {duration_ms}")
    if n_save < 2:
        _fail(f"--n-save must be >= 2; got {n_save}")
    _check_choice("--input-kind", input_kind, INPUT_KINDS)
    _check_choice("--ensemble", ensemble, ENSEMBLES)
    _check_choice("--variant", variant, VARIANTS)
    _check_choice("--init", init, SIMULATE_INITS)
    _check_choice("--format", format, DATASET_FORMATS)
    out_dir = Path(out)
    if out_dir.exists() and not out_dir.is_dir():
        _fail(f"--out {out} exists and is not a directory")
    dataset_path = out_dir / f"trajectory.{format}"
    figure_paths = [out_dir / "time_courses.png", out_dir / "time_courses.pdf", out_dir / "portrait.png"]
    _check_outputs([dataset_path, *figure_paths], overwrite)

    import jax

    from .connectivity import input_drive, recurrent_matrix
    from .fixed_points import first_order_fixed_point, normalization_fixed_point
    from .models.organics import ORGaNICs
    from .plot.portraits import neuron_portrait, save_figure, time_courses
    from .simulate import Outcome, classify_trajectory, simulate
    from .trajectories import save_dataset, trajectory_dataset

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
            _fail(f"the {init} initial state is not finite for this circuit; try --init norm")
        with console.status("Simulating and classifying the trajectory..."):
            trajectory = simulate(model, x0, duration_ms * 1e-3, n_save=n_save)
            verdict = classify_trajectory(model, x0)
    except ValueError as error:
        _fail(str(error))

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

    _check_choice("--model", model, PORTRAIT_MODELS)
    for option, value in (
        ("--tau-y-ms", tau_y_ms),
        ("--tau-a-ms", tau_a_ms),
        ("--tau-e-ms", tau_e_ms),
        ("--tau-i-ms", tau_i_ms),
    ):
        if not np.isfinite(value) or value <= 0:
            _fail(f"{option} must be > 0; got {value}")
    if trajectories < 0:
        _fail(f"--trajectories must be >= 0; got {trajectories}")
    x_window, y_window = _parse_limits("--xlim", xlim), _parse_limits("--ylim", ylim)
    out_dir = Path(out)
    if out_dir.exists() and not out_dir.is_dir():
        _fail(f"--out {out} exists and is not a directory")
    _check_outputs([out_dir / "portrait.png", out_dir / "portrait.pdf"], overwrite)

    from .models.organics import ORGaNICs
    from .models.rate import dayan_abbott_ei
    import matplotlib.pyplot as plt

    from .plot.portraits import phase_portrait, save_figure

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
        _fail(str(error))
    paths = save_figure(fig, out_dir / "portrait", ("png", "pdf"))
    console.print(f"wrote {', '.join(str(p) for p in paths)}")


# ------------------------------------------------------------------------------------------ scan
def _sweepable(option: str, text: Optional[str], kind=float):
    """A value or a comma-separated list (a list becomes a dimension of the scan)."""
    if text is None:
        return None
    try:
        values = [kind(v.strip()) for v in text.split(",") if v.strip()]
    except ValueError:
        _fail(f"{option} must be a {kind.__name__} or a comma-separated list of them; got {text!r}")
    if not values:
        _fail(f"{option} must not be empty")
    return values[0] if len(values) == 1 else values


@app.command("scan")
def scan_command(
    out: Annotated[str, typer.Option("--out", help="Zarr store to write (rerun the same command to resume).")],
    preset: Annotated[
        str,
        typer.Option(
            help="Named configuration: demo, stabilization-delocalized, stabilization-localized, critical-slowing."
        ),
    ] = "demo",
    config: Annotated[Optional[str], typer.Option(help="TOML file with scan fields (overrides the preset).")] = None,
    n: Annotated[Optional[int], typer.Option(help="Number of principal neurons N (>= 1).")] = None,
    ensemble: Annotated[Optional[str], typer.Option(help="goe, goe_symmetric, ginibre, power_law or dale.")] = None,
    sparsity: Annotated[Optional[float], typer.Option(help="Expected nonzeros per row of M (0 < s <= N).")] = None,
    input_type: Annotated[Optional[str], typer.Option(help="localized, delocalized, random or gaussian.")] = None,
    model: Annotated[
        Optional[str], typer.Option(help="main, rectified, rectified_recurrence, or a comma list.")
    ] = None,
    mu: Annotated[Optional[str], typer.Option(help="Mean of M (value or comma list).")] = None,
    sigma: Annotated[Optional[str], typer.Option(help="Semi-saturation sigma > 0 (value or comma list).")] = None,
    b0: Annotated[Optional[str], typer.Option(help="Gain b0 > 0 (value or comma list).")] = None,
    b1: Annotated[Optional[str], typer.Option(help="Input gain b1 > 0 (value or comma list).")] = None,
    tau: Annotated[Optional[float], typer.Option(help="tau_y = tau_a in seconds (> 0).")] = None,
    initial: Annotated[Optional[str], typer.Option(help="norm, first_order, zero, zero_epsilon or random.")] = None,
    delta_min: Annotated[Optional[float], typer.Option(help="Smallest recurrent strength Delta.")] = None,
    delta_max: Annotated[Optional[float], typer.Option(help="Largest recurrent strength Delta.")] = None,
    delta_num: Annotated[Optional[int], typer.Option(help="Number of Delta values (>= 1).")] = None,
    delta_scale: Annotated[Optional[str], typer.Option(help="log or linear spacing of Delta.")] = None,
    input_min: Annotated[Optional[float], typer.Option(help="Smallest input norm |z|.")] = None,
    input_max: Annotated[Optional[float], typer.Option(help="Largest input norm |z|.")] = None,
    input_num: Annotated[Optional[int], typer.Option(help="Number of input norms (>= 1).")] = None,
    input_scale: Annotated[Optional[str], typer.Option(help="log or linear spacing of |z|.")] = None,
    trials: Annotated[Optional[int], typer.Option(help="Random circuits per cell (>= 1).")] = None,
    seed: Annotated[Optional[int], typer.Option(help="Seed of every random draw (>= 0).")] = None,
    max_chunks: Annotated[Optional[int], typer.Option(help="Chunks of 100 tau before 'unresolved' (>= 1).")] = None,
    records: Annotated[Optional[str], typer.Option(help="full (states and spectra) or summary (scalars).")] = None,
    chunk_delta: Annotated[Optional[int], typer.Option(help="Delta values per block (new stores only).")] = None,
    chunk_input: Annotated[Optional[int], typer.Option(help="Input norms per block (new stores only).")] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace a scan store of another configuration.")] = False,
    show_config: Annotated[bool, typer.Option(help="Print the resolved configuration as TOML and exit.")] = False,
    scheduler: Annotated[Optional[str], typer.Option(help="Dask scheduler address, e.g. tcp://host:8786.")] = None,
    cluster: Annotated[Optional[str], typer.Option(help="Start a Dask cluster: local, slurm or pbs.")] = None,
    workers: Annotated[int, typer.Option(help="Worker processes of --cluster local.")] = 2,
    jobs: Annotated[int, typer.Option(help="Batch jobs of --cluster slurm/pbs.")] = 1,
    cores: Annotated[int, typer.Option(help="Cores (= worker processes) per batch job.")] = 4,
    memory: Annotated[str, typer.Option(help="Memory per batch job, e.g. 16GB.")] = "16GB",
    walltime: Annotated[str, typer.Option(help="Wall time per batch job, e.g. 04:00:00.")] = "04:00:00",
    queue: Annotated[Optional[str], typer.Option(help="Batch queue / partition.")] = None,
    account: Annotated[Optional[str], typer.Option(help="Batch account.")] = None,
) -> None:
    """Stability phase diagram over random connectivity: Delta x |z| x trials, written to a Zarr store.

    Each trial draws W_r = I + M (seeded by the seed and the cell and trial indices only), starts
    the ORGaNICs circuit from the chosen initial state and classifies its dynamics (stable fixed
    point, limit cycle, diverging, unresolved); at stable fixed points it records the Jacobian
    spectrum, lambda* tau, relaxation time, frequencies and the normalization error. Killing the
    scan and rerunning the same command resumes it. Options override the preset or config file.
    """
    from .scan import presets
    from .scan.executors import CLUSTERS, DaskExecutor, dask_client
    from .scan.report import ScanProgress, print_summary
    from .scan.runner import run_scan
    from .scan.spec import SpecError, dump_config, load_config
    from .scan.store import StoreError

    overrides = dict(
        n=n, ensemble=ensemble, sparsity=sparsity, input_type=input_type, initial=initial,
        model=_sweepable("--model", model, str), mu=_sweepable("--mu", mu), sigma=_sweepable("--sigma", sigma),
        b0=_sweepable("--b0", b0), b1=_sweepable("--b1", b1), tau_y=tau, tau_a=tau,
        delta_min=delta_min, delta_max=delta_max, delta_num=delta_num, delta_scale=delta_scale,
        input_min=input_min, input_max=input_max, input_num=input_num, input_scale=input_scale,
        trials=trials, seed=seed, max_chunks=max_chunks, records=records,
    )  # fmt: skip
    try:
        spec = load_config(config) if config is not None else presets.preset(preset)
        spec = spec.replace(**overrides)
    except SpecError as error:
        _fail(str(error))
    if show_config:
        console.print(dump_config(spec), markup=False, highlight=False)
        return
    if scheduler is not None and cluster is not None:
        _fail("give either --scheduler or --cluster, not both")
    if cluster is not None and cluster not in CLUSTERS:
        _fail(f"--cluster must be one of {', '.join(CLUSTERS)}; got {cluster!r}")

    progress = ScanProgress(console, spec)
    try:
        if scheduler is None and cluster is None:
            ds = run_scan(spec, out, overwrite=overwrite, chunk_delta=chunk_delta, chunk_input=chunk_input,
                          on_start=progress.start, on_block=progress.advance)  # fmt: skip
        else:
            options = dict(workers=workers, jobs=jobs, cores=cores, memory=memory, walltime=walltime,
                           queue=queue, account=account)  # fmt: skip
            with dask_client(scheduler=scheduler, cluster=cluster, **options) as client:
                console.print(f"Dask scheduler {client.scheduler.address}")
                ds = run_scan(spec, out, executor=DaskExecutor(client), overwrite=overwrite,
                              chunk_delta=chunk_delta, chunk_input=chunk_input,
                              on_start=progress.start, on_block=progress.advance)  # fmt: skip
    except (StoreError, SpecError, RuntimeError, OSError) as error:
        progress.stop()
        _fail(str(error))
    progress.stop()
    print_summary(console, ds)


@app.command("plot")
def plot_command(
    path: Annotated[str, typer.Argument(help="Zarr store written by 'organics scan'.")],
    out: Annotated[str, typer.Option("--out", help="Directory for the figures.")],
    formats: Annotated[str, typer.Option(help="Comma-separated figure formats.")] = "png,pdf",
) -> None:
    """Phase-diagram figures of a scan: majority outcome with Delta_c(|z|), lambda* tau with the
    critical-slowing contour, normalization error and CV with the measured breakdown, outcome
    percentages, oscillation frequency and quality factor (one set per sweep combination)."""
    from .plot.phase import plot_scan
    from .scan.store import StoreError, open_scan, scalar_records

    chosen = tuple(f.strip() for f in formats.split(",") if f.strip())
    bad = [f for f in chosen if f not in ("png", "pdf", "svg")]
    if bad or not chosen:
        _fail(f"--formats must list png, pdf or svg; got {formats!r}")
    try:
        ds = scalar_records(open_scan(path))
    except StoreError as error:
        _fail(str(error))
    if not bool(ds["done"].any()):
        _fail(f"{path!r} holds no computed cell yet; run 'organics scan' first")
    paths = plot_scan(ds, out, formats=chosen)
    console.print(f"Wrote {len(paths)} files to {out}")


if __name__ == "__main__":
    app()
