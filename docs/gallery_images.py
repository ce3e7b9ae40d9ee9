"""Draw the figures of the documentation gallery: run every example script into docs/gallery/images/<name>/.

    python docs/gallery_images.py            # every examples/*.py at full size
    python docs/gallery_images.py --quick    # the scripts' fast, coarser mode
    python docs/gallery_images.py --only same_matrix_three_models

Each script ``examples/<name>.py`` is run as ``python examples/<name>.py --out docs/gallery/images/<name>
[--quick]`` in its own process; only its PNG files are kept (PDFs and other outputs are deleted), and
the folder is emptied first, so it holds exactly the figures of the last run. To keep the repository
small, each PNG is scaled down to at most ``MAX_WIDTH`` pixels (about 100 dpi for the scripts' 150-dpi
figures) and stored with a 256-colour palette (Pillow, which Matplotlib already requires). The gallery pages are built
from these folders by ``docs/hooks.py`` when the site is built.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "docs"))
from hooks import IMAGES, example_scripts  # noqa: E402

MAX_WIDTH = 1600  # pixels


def shrink(path: Path, max_width: int = MAX_WIDTH) -> None:
    """Rewrite a PNG at most ``max_width`` pixels wide (Lanczos), as a 256-colour palette image."""
    with Image.open(path) as image:
        image = image.convert("RGB")
    if image.width > max_width:
        image = image.resize((max_width, round(image.height * max_width / image.width)), Image.Resampling.LANCZOS)
    image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(path, optimize=True)


def draw(script: Path, out: Path, quick: bool) -> list[Path]:
    """Run one example into ``out`` (emptied first) and keep only its PNG files; raise if it fails."""
    out.mkdir(parents=True, exist_ok=True)
    for old in out.iterdir():
        if old.is_file():
            old.unlink()
    command = [sys.executable, str(script), "--out", str(out)] + (["--quick"] if quick else [])
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if result.returncode != 0:
        raise RuntimeError(f"{script.name} failed (exit {result.returncode}):\n{result.stderr[-4000:]}")
    for path in out.rglob("*"):
        if path.is_file() and path.suffix != ".png":
            path.unlink()
    pngs = sorted(out.glob("*.png"))
    if not pngs:
        raise RuntimeError(f"{script.name} wrote no PNG into {out}")
    for png in pngs:
        shrink(png)
    return pngs


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="pass --quick to every script (fast, coarser)")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these examples (script stems)")
    args = parser.parse_args(argv)
    scripts = example_scripts(ROOT / "examples")
    if args.only:
        known = {s.stem for s in scripts}
        unknown = sorted(set(args.only) - known)
        if unknown:
            raise SystemExit(f"--only: unknown example(s) {unknown}; known: {sorted(known)}")
        scripts = [s for s in scripts if s.stem in args.only]
    for script in scripts:
        start = time.perf_counter()
        pngs = draw(script, ROOT / "docs" / IMAGES / script.stem, args.quick)
        sizes = ", ".join(f"{p.name} ({p.stat().st_size // 1024} KiB)" for p in pngs)
        print(f"{script.stem}: {time.perf_counter() - start:.0f} s -> {sizes}", flush=True)


if __name__ == "__main__":
    main()
