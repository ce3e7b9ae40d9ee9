"""The documentation site: strict build, a quickstart that runs, pages that render in a browser.

1. ``mkdocs build --strict`` succeeds (every warning is an error: broken links, pages outside the
   nav, docstrings the API reference cannot parse) and the site references nothing external.
2. The python blocks of ``docs/quickstart.md`` run, in order, as one script.
3. The built site, served on localhost, renders in headless Chromium: the quickstart page shows its
   title and its math as MathML, and a gallery page loads its figures (the server sees every image
   requested and served). Chromium is required: ``apt-get install -y chromium``.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
CHROMIUM = "/usr/bin/chromium"
GALLERY_IMAGES = DOCS / "gallery" / "images"


def _env() -> dict[str, str]:
    return {**os.environ, "NO_MKDOCS_2_WARNING": "1", "PYTHONPATH": str(ROOT / "src")}


def _python_blocks(markdown: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", markdown, flags=re.S | re.M)


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory) -> subprocess.Popen:
    """The python blocks of ``docs/quickstart.md``, joined in order, running in a subprocess.

    Started before the site is built so that the two overlap on a 2-core machine.
    """
    blocks = _python_blocks((DOCS / "quickstart.md").read_text(encoding="utf-8"))
    assert len(blocks) >= 5  # build, fixed point, stability, simulate, plot
    folder = tmp_path_factory.mktemp("quickstart")
    script = folder / "quickstart.py"
    script.write_text("\n\n".join(blocks), encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, str(script)], cwd=folder, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    yield process
    if process.poll() is None:
        process.kill()
        process.communicate()


@pytest.fixture(scope="module")
def site(tmp_path_factory, quickstart) -> Path:
    """The site built with ``mkdocs build --strict`` into a temporary directory."""
    out = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stdout}\n{result.stderr}"
    return out


def _gallery_examples_with_images() -> list[str]:
    return sorted(p.name for p in GALLERY_IMAGES.iterdir() if p.is_dir() and any(p.glob("*.png")))


def test_strict_build_has_every_page_and_nothing_external(site):
    assert (site / "index.html").is_file()
    for page in ["installation", "quickstart", "concepts", "scan", "learning", "comparison"]:
        assert (site / page / "index.html").is_file(), page
    assert (site / "reference" / "theory" / "index.html").is_file()
    theory = (site / "reference" / "theory" / "index.html").read_text(encoding="utf-8")
    assert "critical_delta" in theory and "Closed forms from the papers" in theory  # mkdocstrings rendered
    # one gallery page per example script, with a copy of the script to link to
    for script in sorted((ROOT / "examples").glob("*.py")):
        assert (site / "gallery" / script.stem / "index.html").is_file(), script.name
        assert (site / "gallery" / "scripts" / script.name).read_text(encoding="utf-8") == script.read_text(
            encoding="utf-8"
        )
    # no JavaScript, stylesheet or font from another host (the machines have no internet)
    external = re.compile(r"""<(?:script|link|img)[^>]+(?:src|href)=["'](?:https?:)?//""", re.I)
    for html in site.rglob("*.html"):
        match = external.search(html.read_text(encoding="utf-8"))
        assert match is None, f"{html.relative_to(site)} references an external resource: {match.group(0)}"


def test_every_public_module_has_a_reference_page():
    documented = set()
    for page in (DOCS / "reference").glob("*.md"):
        documented |= set(re.findall(r"^::: (organics[\w.]*)", page.read_text(encoding="utf-8"), flags=re.M))
    package = ROOT / "src" / "organics"
    for path in package.rglob("*.py"):
        parts = path.relative_to(package.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if any(part.startswith("_") for part in parts) or parts[:2] == ("organics", "cli"):
            continue  # private modules and the command line (documented by --help)
        assert ".".join(parts) in documented, f"{'.'.join(parts)} has no ::: entry in docs/reference/"


def test_quickstart_runs(quickstart):
    stdout, stderr = quickstart.communicate(timeout=300)
    assert quickstart.returncode == 0, f"the quickstart failed:\n{stdout}\n{stderr}"
    assert "outcome: STABLE_FIXED_POINT" in stdout
    assert "converged: True" in stdout


class _LoggingHandler(http.server.SimpleHTTPRequestHandler):
    """Static files of the site; every (path, status) served is appended to ``requests``."""

    requests: list[tuple[str, int]]

    def log_request(self, code="-", size="-"):
        self.requests.append((self.path.split("?")[0], int(code)))

    def log_message(self, *args):  # quiet
        pass


@pytest.fixture(scope="module")
def server(site):
    """``(base_url, requests)``: the built site on localhost, and the log of what was served."""
    requests: list[tuple[str, int]] = []
    handler = type("Handler", (_LoggingHandler,), {"requests": requests})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(site)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", requests
    httpd.shutdown()
    httpd.server_close()


def _chromium_dom(url: str, profile: Path) -> str:
    """The DOM of ``url`` after loading (scripts run, images fetched), from headless Chromium."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install it with `apt-get install -y chromium` (the docs tests need it)")
    command = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}", "--virtual-time-budget=5000", "--dump-dom", url,
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"chromium failed on {url}:\n{result.stderr[-3000:]}"
    return result.stdout


def test_quickstart_renders_in_chromium(server, tmp_path):
    base, requests = server
    dom = _chromium_dom(f"{base}/quickstart/", tmp_path / "profile")
    assert "<title>Quickstart - organics</title>" in dom
    assert re.search(r"<h1[^>]*>Quickstart", dom)
    assert "<math" in dom  # $...$ became MathML when the site was built (no MathJax)
    served = dict(requests)
    stylesheets = [path for path in served if path.endswith(".css")]
    assert stylesheets and all(served[path] == 200 for path in stylesheets)


def test_gallery_page_loads_its_figures_in_chromium(server, tmp_path):
    base, requests = server
    examples = _gallery_examples_with_images()
    assert examples, f"no gallery figures under {GALLERY_IMAGES}: run `python docs/gallery_images.py`"
    name = examples[0]
    dom = _chromium_dom(f"{base}/gallery/{name}/", tmp_path / "profile")
    assert "- organics</title>" in dom
    images = sorted((GALLERY_IMAGES / name).glob("*.png"))
    served = dict(requests)
    for image in images:
        assert image.name in dom
        path = f"/gallery/images/{name}/{image.name}"
        assert served.get(path) == 200, f"the browser did not load {path}; served: {sorted(served)}"
