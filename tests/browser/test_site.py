"""The built website in a real browser: every page loads cleanly, offline, with its math and figures.

Needs a built site (``make site``, or ``make site-smoke`` as CI does); ``FMBOOK_SITE_DIR`` points at
another one. A screenshot of every page goes to ``build/site-shots/``.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import threading
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlparse

import pytest

from fmbook import REPOSITORY
from fmbook.website import github_path

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
SITE = Path(os.environ.get("FMBOOK_SITE_DIR", ROOT / "build" / "site"))
PAGES = sorted(str(p.relative_to(SITE)) for p in SITE.rglob("*.html")
               if "_static" not in p.parts and "_sources" not in p.parts) if SITE.is_dir() else []
UNRENDERED = re.compile(r"\\\(|\\\[|\$\$|\\begin\{")


@pytest.fixture(scope="module")
def site_url():
    """The built site served on 127.0.0.1 (a free port) for the module's tests."""
    handler = functools.partial(_QuietHandler, directory=str(SITE))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def _visit(browser, url: str, shot: Path) -> dict:
    """Open ``url``; return what went wrong on the way and what the page holds."""
    problems: list[str] = []
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    base = urlparse(url)

    def route(r):
        u = urlparse(r.request.url)
        if u.scheme in ("data", "blob", "about") or (u.scheme, u.netloc) == (base.scheme, base.netloc):
            r.continue_()
        else:
            problems.append(f"request leaving the machine: {r.request.url}")
            r.abort()

    page.route("**/*", route)
    page.on("console", lambda m: m.type == "error" and problems.append(f"console error: {m.text}"))
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"failed request: {r.url} ({r.failure})")
            if urlparse(r.url).netloc == base.netloc else None)
    page.on("response", lambda r: r.status >= 400 and problems.append(f"HTTP {r.status}: {r.url}"))
    page.goto(url, wait_until="networkidle")
    # MathJax 2 typesets asynchronously: wait for its queue to drain.
    page.wait_for_function("() => !window.MathJax || (window.MathJax.Hub && "
                           "new Promise(ok => window.MathJax.Hub.Queue(() => ok(true))))", timeout=30_000)
    info = page.evaluate("""() => {
        const text = el => el ? el.innerText : "";
        const prose = [...document.querySelectorAll("article p, article li, article td, article h1, article h2, article h3")]
            .filter(el => !el.closest("pre, code, .cell_output, .highlight"));
        return {
          math: [...document.querySelectorAll(".math")].map(el => ({
              rendered: !!el.querySelector(".MathJax_CHTML, .mjx-chtml, mjx-container"), text: el.innerText})),
          prose: prose.map(text),
          images: [...document.images].map(i => ({src: i.src, ok: i.complete && i.naturalWidth > 0,
                                                    output: !!i.closest(".cell_output, .output")})),
          links: [...document.querySelectorAll("a[href]")].map(a => ({href: a.href, cls: a.className,
                                                                      text: a.innerText.trim()})),
          ids: [...document.querySelectorAll("[id]")].map(e => e.id),
        };
    }""")
    page.screenshot(path=str(shot), full_page=True)
    page.close()
    info["problems"] = problems
    return info


@pytest.fixture(scope="module")
def visited(browser, site_url, shots_dir):
    """Each page of the site, visited once: ``{relative path: info}``."""
    cache: dict[str, dict] = {}

    def get(rel: str) -> dict:
        if rel not in cache:
            cache[rel] = _visit(browser, urljoin(site_url, rel), shots_dir / (rel.replace("/", "__") + ".png"))
        return cache[rel]

    return get


def _need_site():
    if not PAGES:
        pytest.skip(f"no built site at {SITE}: run `make site` (or `make site-smoke`) first")


def test_site_has_a_landing_page_and_a_page_per_chapter():
    _need_site()
    from fmbook.notebook import chapters

    assert "index.html" in PAGES
    for nb in chapters(ROOT / "notebooks"):
        assert f"chapters/{nb.stem}.html" in PAGES, f"no page for {nb.name}"


@pytest.mark.parametrize("rel", PAGES or ["(no site)"])
def test_page_loads_offline_without_errors(visited, rel):
    _need_site()
    info = visited(rel)
    assert not info["problems"], "\n".join(info["problems"])


@pytest.mark.parametrize("rel", PAGES or ["(no site)"])
def test_page_math_is_rendered(visited, rel):
    _need_site()
    info = visited(rel)
    raw = [m["text"] for m in info["math"] if not m["rendered"]]
    assert not raw, f"math left as TeX: {raw[:5]}"
    leftover = [t for t in info["prose"] if UNRENDERED.search(t)]
    assert not leftover, f"TeX delimiters in the text: {leftover[:5]}"


@pytest.mark.parametrize("rel", PAGES or ["(no site)"])
def test_page_images_load(visited, rel):
    _need_site()
    broken = [i["src"] for i in visited(rel)["images"] if not i["ok"]]
    assert not broken, f"broken images: {broken}"


@pytest.mark.parametrize("rel", PAGES or ["(no site)"])
def test_page_internal_links_resolve(visited, site_url, rel):
    _need_site()
    info = visited(rel)
    broken = []
    for link in info["links"]:
        url, fragment = urldefrag(link["href"])
        if not url.startswith(site_url):
            continue
        target = url[len(site_url):] or "index.html"
        if target.endswith("/"):
            target += "index.html"
        path = SITE / target
        if not path.is_file():
            broken.append(link["href"])
        elif fragment and target.endswith(".html") and target in PAGES:
            if fragment not in visited(target)["ids"]:
                broken.append(link["href"])
    assert not broken, f"broken internal links: {broken}"


@pytest.mark.parametrize("rel", [p for p in PAGES if p.startswith("chapters/")] or ["(no site)"])
def test_chapter_page_shows_figures_and_launch_links(visited, rel):
    _need_site()
    info = visited(rel)
    figures = [i for i in info["images"] if i["output"] and i["ok"]]
    assert figures, "a chapter page without figures: is its executed copy missing (see the page)?"
    name = Path(rel).stem + ".ipynb"
    hrefs = {link["href"] for link in info["links"]}
    assert f"https://colab.research.google.com/github/{github_path(REPOSITORY)}/blob/main/notebooks/{name}" in hrefs
    assert any(h.startswith(REPOSITORY) and h.endswith(f"/notebooks/{name}") and "/raw/" in h for h in hrefs)


def test_every_page_has_a_screenshot(visited, shots_dir):
    _need_site()
    for rel in PAGES:
        visited(rel)
        assert (shots_dir / (rel.replace("/", "__") + ".png")).stat().st_size > 0
