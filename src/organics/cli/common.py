"""What every ``organics`` command shares: the Typer app, the console, option parsing and checks."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import numpy as np
import typer
from rich.console import Console

app = typer.Typer(
    name="organics",
    help="Stability of recurrent circuits with divisive normalization (ORGaNICs).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(width=None if sys.stdout.isatty() else 120)


def _version_callback(value: bool) -> None:
    if value:
        from .. import __version__

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


def fail(message: str) -> None:
    """Print one error line (never wrapped, so logs and tests see it whole) and exit with status 2."""
    console.print(f"[red]error:[/red] {message}", soft_wrap=True)
    raise typer.Exit(code=2)


def parse_floats(name: str, text: str) -> np.ndarray:
    try:
        values = np.array([float(v) for v in text.split(",") if v.strip()], dtype=float)
    except ValueError:
        fail(f"{name} must be a comma-separated list of numbers; got {text!r}")
    if values.size == 0:
        fail(f"{name} must list at least one number")
    return values


def check_choice(option: str, value: str, choices) -> None:
    if value not in choices:
        fail(f"{option} must be one of {', '.join(choices)}; got {value!r}")


def check_outputs(paths, overwrite: bool) -> None:
    existing = [str(p) for p in paths if p.exists()]
    if existing and not overwrite:
        fail(f"{existing[0]} exists; pass --overwrite to replace it")


def parse_limits(option: str, text: Optional[str]):
    if text is None:
        return None
    values = parse_floats(option, text)
    if values.size != 2 or not values[1] > values[0]:
        fail(f"{option} must be 'low,high' with high > low; got {text!r}")
    return (float(values[0]), float(values[1]))


def sweepable(option: str, text: Optional[str], kind=float):
    """A value or a comma-separated list (a list becomes a dimension of the scan)."""
    if text is None:
        return None
    try:
        values = [kind(v.strip()) for v in text.split(",") if v.strip()]
    except ValueError:
        fail(f"{option} must be a {kind.__name__} or a comma-separated list of them; got {text!r}")
    if not values:
        fail(f"{option} must not be empty")
    return values[0] if len(values) == 1 else values
