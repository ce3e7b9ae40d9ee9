"""The README's quickstart runs as written."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_example_runs(capsys):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "README.md has no python example"
    for block in blocks:
        exec(compile(block, str(README), "exec"), {})
    printed = capsys.readouterr().out.split()
    assert "STABLE_FIXED_POINT" in printed
    assert "True" in printed


def test_readme_starts_with_the_two_setup_commands():
    first, second = README.read_text().splitlines()[:2]
    assert first.strip().startswith("python3 -m venv .venv") and first.strip().endswith("organics scan --out demo-scan.zarr")
    assert second.strip().startswith("python3 -m venv .venv") and "pytest" in second
