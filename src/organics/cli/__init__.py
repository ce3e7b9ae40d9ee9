"""The ``organics`` command line: parse, validate, call the library, print a summary.

One module per group of commands; each registers its commands on the shared Typer ``app``.
"""

from . import bifurcation, circuit, scan, train  # noqa: F401  (register the commands)
from .common import app

__all__ = ["app"]
