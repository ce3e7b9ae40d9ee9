"""Console reporting of a scan: a live progress bar and the end-of-scan summary table (Rich)."""

from __future__ import annotations

import numpy as np
import xarray as xr
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from . import analysis
from .engine import Block
from .spec import ScanSpec
from .store import ScanStore, scalar_records


class ScanProgress:
    """Trials done, rate and ETA while blocks complete (``on_start`` / ``on_block`` of ``run_scan``)."""

    def __init__(self, console: Console, spec: ScanSpec):
        self.console = console
        self.spec = spec
        self.progress: Progress | None = None
        self.task = None

    def start(self, store: ScanStore, pending: list[Block]) -> None:
        spec = self.spec
        todo = sum(int(np.prod(b.shape)) for b in pending) * spec.trials
        done = spec.n_trials - todo
        dims = " x ".join(f"{len(v)} {k}" for k, v in spec.sweep.items())
        grid = f"{dims + ' x ' if dims else ''}{spec.delta_num} Delta x {spec.input_num} |z| x {spec.trials} trials"
        self.console.print(
            f"Scan of N = {spec.n} ({spec.ensemble}, {spec.input_type} input, {spec.initial} start): {grid} "
            f"= {spec.n_trials} trials in {len(store.layout.blocks())} blocks -> {store.path}"
        )
        if done:
            self.console.print(f"Resuming: {done} trials already stored, {todo} to go.")
        self.progress = Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("trials"),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=self.console,
            transient=False,
        )
        self.progress.start()
        self.task = self.progress.add_task("scan", total=spec.n_trials, completed=done, rate="")

    def advance(self, block: Block) -> None:
        if self.progress is None:
            return
        self.progress.advance(self.task, int(np.prod(block.shape)) * self.spec.trials)
        task = self.progress.tasks[0]
        if task.speed:
            self.progress.update(self.task, rate=f"{task.speed:.1f}/s")

    def stop(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None


def _fmt(value: float, template: str = "{:.3g}") -> str:
    return "-" if value is None or not np.isfinite(value) else template.format(value)


def print_summary(console: Console, ds: xr.Dataset) -> None:
    """Per-Delta outcome fractions and stability boundary, and measured vs analytic Delta_c per input.

    One pair of tables per sweep combination; rate models get only the first (the analytic
    Delta_c and the loss of normalization are ORGaNICs notions, shown as "-").
    """
    for _, sub in analysis.iter_sweep(scalar_records(ds)):
        suffix = analysis.format_combination(analysis.display_labels(sub))
        radius = sub["spectral_radius"].mean(("input_norm", "trial"))
        table = Table(title=f"Outcomes per recurrent strength{' (' + suffix + ')' if suffix else ''}")
        for column in (
            "Δ",
            "ρ(W_r)",
            "cells",
            "stable",
            "cycle",
            "diverg.",
            "unres.",
            "slowed",
            "1st unstable |z|",
            "stable from |z|",
            "norm. lost |z|",
        ):
            table.add_column(column, justify="right")
        for row in analysis.summary_rows(sub):
            table.add_row(
                _fmt(row["delta"]),
                _fmt(float(radius.sel(delta=row["delta"])), "{:.2f}"),
                f"{row['cells_done']}/{row['cells']}",
                *(_fmt(100 * row[name], "{:.0f}%") for name in ("stable", "limit_cycle", "diverging", "unresolved")),
                str(row["slowed_cells"]),
                _fmt(row["first_unstable_input"]),
                _fmt(row["stable_from_input"]),
                _fmt(row["normalization_breakdown_input"]),
            )  # fmt: skip
        console.print(table)
        if bool(analysis.is_rate_model(sub)):
            continue
        comparison = analysis.critical_delta_comparison(sub)
        crit = Table(title="Critical recurrent strength: first Δ with |λ*τ| < 1e-2 (measured) and Δ_c(|z|) (theory)")
        for column in ("|z|", "measured Δ", "analytic Δ_c", "ratio"):
            crit.add_column(column, justify="right")
        for z in comparison["input_norm"].values:
            point = comparison.sel(input_norm=z)
            crit.add_row(_fmt(z), *(_fmt(float(point[k])) for k in ("measured", "analytic", "ratio")))
        console.print(crit)
