"""MkDocs hooks of the organics site: the example gallery and server-side math.

Gallery. Every script ``examples/<name>.py`` (names starting with ``_`` excluded) becomes a page
``gallery/<name>.md`` built from its module docstring (first line = title, the rest = description
and command) and the PNG images found under ``docs/gallery/images/<name>/`` (written by
``python docs/gallery_images.py``), with a copy of the script at ``gallery/scripts/<name>.py`` to
link to. ``gallery/index.md`` lists them all, and the "Gallery" entry of the nav is expanded to
index + one page per example, so an example added later appears without editing the docs. The
scripts are read with :mod:`ast`, never imported or run, so building the site stays fast.

Math. ``pymdownx.arithmatex`` (``generic: true``) leaves ``\\( ... \\)`` / ``\\[ ... \\]`` in
``arithmatex`` spans and divs; :func:`on_page_content` converts them to MathML with
``latex2mathml``, which browsers render without JavaScript or fonts from the network.
"""

from __future__ import annotations

import ast
import html
import logging
import re
from pathlib import Path

from mkdocs.structure.files import File

log = logging.getLogger("mkdocs.hooks.organics")

GALLERY = "gallery"
GALLERY_TITLE = "Gallery"
IMAGES = f"{GALLERY}/images"
_ROLE = re.compile(r":(?:func|class|meth|mod|data|attr|math):`~?([^`]+)`")
_INLINE_MATH = re.compile(r'<span class="arithmatex">\\\((.*?)\\\)</span>', re.S)
_BLOCK_MATH = re.compile(r'<div class="arithmatex">\\\[(.*?)\\\]</div>', re.S)


def _examples_dir(config) -> Path:
    return Path(config["config_file_path"]).resolve().parent / "examples"


def example_scripts(examples: Path) -> list[Path]:
    """The gallery's scripts: ``examples/*.py`` in name order, private ones (``_*.py``) excluded."""
    return sorted(p for p in examples.glob("*.py") if not p.name.startswith("_"))


def split_docstring(script: Path) -> tuple[str, str]:
    """Title (first docstring line, without a final period) and the rest, roles turned into code.

    Raises ``ValueError`` naming the script when it has no module docstring: every example must
    say what it shows.
    """
    docstring = ast.get_docstring(ast.parse(script.read_text(encoding="utf-8")))
    if not docstring:
        raise ValueError(f"{script}: an example script needs a module docstring (first line = title)")
    title, _, body = docstring.partition("\n")
    body = _ROLE.sub(r"`\1`", body.strip("\n"))
    return title.strip().rstrip("."), body


def example_images(docs_dir: Path, name: str) -> list[str]:
    """Paths (relative to the docs dir, POSIX) of the PNG figures of one example."""
    folder = docs_dir / IMAGES / name
    return [f"{IMAGES}/{name}/{p.name}" for p in sorted(folder.glob("*.png"))]


def example_page(name: str, title: str, body: str, images: list[str], source: str) -> str:
    """Markdown of one gallery page (links are relative to ``gallery/<name>.md``)."""
    lines = [f"# {title}", "", body, ""]
    if images:
        for image in images:
            relative = image.removeprefix(f"{GALLERY}/")
            lines += [f"![{Path(image).stem}]({relative})", ""]
    else:
        lines += [
            '!!! note "No figure yet"',
            f"    Run `python docs/gallery_images.py --only {name}` to draw this example's figures.",
            "",
        ]
    lines += [
        f"Script: [`examples/{name}.py`](scripts/{name}.py)",
        "",
        '??? example "Source"',
        "    ```python",
        *[f"    {line}" if line else "" for line in source.splitlines()],
        "    ```",
        "",
    ]
    return "\n".join(lines)


def index_page(entries: list[tuple[str, str, list[str]]]) -> str:
    """Markdown of ``gallery/index.md``: one entry (title, first figure) per example."""
    lines = [
        f"# {GALLERY_TITLE}",
        "",
        "Figures drawn by the scripts in `examples/`. Each page shows the script's description, its figures "
        "and its source; `python examples/<name>.py --out DIR` draws them (`--quick` for a fast, coarser run), "
        "and `python docs/gallery_images.py` redraws every figure of this gallery.",
        "",
    ]
    for name, title, images in entries:
        lines += [f"## [{title}]({name}.md)", ""]
        if images:
            lines += [f'[![{title}]({images[0].removeprefix(f"{GALLERY}/")}){{ width="480" }}]({name}.md)', ""]
    return "\n".join(lines)


def _gallery(config) -> list[tuple[str, str, str, list[str], str]]:
    docs_dir = Path(config["docs_dir"])
    out = []
    for script in example_scripts(_examples_dir(config)):
        title, body = split_docstring(script)
        name = script.stem
        out.append((name, title, body, example_images(docs_dir, name), script.read_text(encoding="utf-8")))
    return out


def on_config(config):
    """Expand the nav entry ``Gallery: gallery/index.md`` into the index and one page per example."""
    pages = [{title: f"{GALLERY}/{name}.md"} for name, title, *_ in _gallery(config)]
    nav = config["nav"] or []
    for i, entry in enumerate(nav):
        if isinstance(entry, dict) and entry.get(GALLERY_TITLE) == f"{GALLERY}/index.md":
            nav[i] = {GALLERY_TITLE: [f"{GALLERY}/index.md", *pages]}
    return config


def on_files(files, config):
    """Add the generated gallery pages and script copies to the site's files."""
    entries = []
    for name, title, body, images, source in _gallery(config):
        files.append(
            File.generated(config, f"{GALLERY}/{name}.md", content=example_page(name, title, body, images, source))
        )
        files.append(File.generated(config, f"{GALLERY}/scripts/{name}.py", content=source))
        entries.append((name, title, images))
    files.append(File.generated(config, f"{GALLERY}/index.md", content=index_page(entries)))
    return files


def _mathml(tex: str, display: str) -> str:
    from latex2mathml.converter import convert

    return convert(html.unescape(tex).strip(), display=display)


def on_page_content(content, page, config, files):
    """Replace the TeX of ``arithmatex`` spans/divs by MathML (kept as TeX text if latex2mathml is missing)."""
    if "arithmatex" not in content:
        return content
    try:
        import latex2mathml  # noqa: F401
    except ImportError:
        log.warning("latex2mathml is not installed: math stays as TeX text (pip install -e '.[docs]')")
        return content
    content = _BLOCK_MATH.sub(lambda m: f'<div class="arithmatex">{_mathml(m.group(1), "block")}</div>', content)
    return _INLINE_MATH.sub(lambda m: f'<span class="arithmatex">{_mathml(m.group(1), "inline")}</span>', content)
