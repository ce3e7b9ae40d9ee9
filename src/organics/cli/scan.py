"""``organics scan`` (phase diagrams over random connectivity) and ``organics plot`` (their figures)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from .common import app, console, fail, sweepable


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
        Optional[str],
        typer.Option(
            help="ORGaNICs main, rectified or rectified_recurrence; rate networks with the same W_r and drive: "
            "linear, rate_relu, rate_relu_power, rate_sigmoid or rate_tanh; or a comma list."
        ),
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
    the ORGaNICs circuit (or a rate network with the same W_r and drive, see --model) from the
    chosen initial state and classifies its dynamics (stable fixed point, limit cycle, diverging,
    unresolved); at stable fixed points it records the Jacobian spectrum, lambda* tau, relaxation
    time, frequencies and the normalization error. Killing the scan and rerunning the same
    command resumes it. Options override the preset or config file.
    """
    from ..scan import presets
    from ..scan.executors import CLUSTERS, DaskExecutor, dask_client
    from ..scan.report import ScanProgress, print_summary
    from ..scan.runner import run_scan
    from ..scan.spec import SpecError, dump_config, load_config
    from ..scan.store import StoreError

    overrides = dict(
        n=n, ensemble=ensemble, sparsity=sparsity, input_type=input_type, initial=initial,
        model=sweepable("--model", model, str), mu=sweepable("--mu", mu), sigma=sweepable("--sigma", sigma),
        b0=sweepable("--b0", b0), b1=sweepable("--b1", b1), tau_y=tau, tau_a=tau,
        delta_min=delta_min, delta_max=delta_max, delta_num=delta_num, delta_scale=delta_scale,
        input_min=input_min, input_max=input_max, input_num=input_num, input_scale=input_scale,
        trials=trials, seed=seed, max_chunks=max_chunks, records=records,
    )  # fmt: skip
    try:
        spec = load_config(config) if config is not None else presets.preset(preset)
        spec = spec.replace(**overrides)
    except SpecError as error:
        fail(str(error))
    if show_config:
        console.print(dump_config(spec), markup=False, highlight=False)
        return
    if scheduler is not None and cluster is not None:
        fail("give either --scheduler or --cluster, not both")
    if cluster is not None and cluster not in CLUSTERS:
        fail(f"--cluster must be one of {', '.join(CLUSTERS)}; got {cluster!r}")

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
        fail(str(error))
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
    from ..plot.phase import plot_scan
    from ..scan.store import StoreError, open_scan, scalar_records

    chosen = tuple(f.strip() for f in formats.split(",") if f.strip())
    bad = [f for f in chosen if f not in ("png", "pdf", "svg")]
    if bad or not chosen:
        fail(f"--formats must list png, pdf or svg; got {formats!r}")
    try:
        ds = scalar_records(open_scan(path))
    except StoreError as error:
        fail(str(error))
    if not bool(ds["done"].any()):
        fail(f"{path!r} holds no computed cell yet; run 'organics scan' first")
    paths = plot_scan(ds, out, formats=chosen)
    console.print(f"Wrote {len(paths)} files to {out}")
