"""Stage the fmbook website's Sphinx sources from the executed notebooks (``make site``).

``python -m fmbook.website`` copies ``site/`` (conf.py, landing page, how-to-run page) into
``build/site-src/`` and adds:

- one page per chapter found by :func:`fmbook.notebook.chapters`: the executed copy that
  ``fmbook run``/``make book`` wrote under ``build/notebooks/``, with its outputs, and an
  "Open in Colab" and a download link under its title (both generated from
  :data:`fmbook.REPOSITORY`). A chapter without an executed copy gets a placeholder page that says
  how to produce it, and a warning; ``--require-executed`` makes that an error instead (CI);
- the results report (``build/report.md``, or made from the ledger ``build/results/``);
- the chapter map figure and MathJax, copied from the distribution so that no page loads anything
  from the network.

Sphinx (``make site``) then renders ``build/site-src/`` into ``build/site/`` without executing
anything.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from . import REPOSITORY
from .notebook import chapters

MATHJAX_DIRS = ("/usr/share/javascript/mathjax", "/usr/share/mathjax")
"""Where Debian's ``libjs-mathjax`` (MathJax 2) is installed."""

MATHJAX_PARTS = ("MathJax.js", "config/TeX-AMS_CHTML.js", "extensions", "jax/input/TeX",
                 "jax/output/CommonHTML", "jax/element", "fonts/HTML-CSS/TeX/woff", "localization/en")
"""The parts of MathJax that the TeX input and CommonHTML output need."""

WIDGET_NOTE = ("<p class=\"fmbook-widget-note\">The explorer's default view. Its controls work in "
               "JupyterLab or Colab: open the notebook with the links at the top of the page.</p>")

WIDGET_MIMES = ("application/vnd.jupyter.widget-view+json", "application/vnd.jupyter.widget-state+json")


class SiteError(RuntimeError):
    """The website cannot be staged (a missing input); the message says what to run."""


def github_path(repository: str = REPOSITORY) -> str:
    """``owner/name`` of a GitHub repository URL such as ``https://github.com/fmbook/fmbook``."""
    prefix = "https://github.com/"
    if not repository.startswith(prefix):
        raise ValueError(f"not a GitHub repository URL: {repository!r} (expected {prefix}OWNER/NAME)")
    return repository[len(prefix):].strip("/").removesuffix(".git")


def colab_url(notebook: str, repository: str = REPOSITORY, branch: str = "main") -> str:
    """The "Open in Colab" URL of ``notebooks/<notebook>`` in ``repository``."""
    return f"https://colab.research.google.com/github/{github_path(repository)}/blob/{branch}/notebooks/{notebook}"


def download_url(notebook: str, repository: str = REPOSITORY, branch: str = "main") -> str:
    """A URL that downloads ``notebooks/<notebook>`` (without outputs) from ``repository``."""
    return f"https://github.com/{github_path(repository)}/raw/{branch}/notebooks/{notebook}"


def links_html(notebook: str, repository: str = REPOSITORY) -> str:
    """The row of links shown under a chapter's title."""
    return ("<div class=\"fmbook-links\">"
            f"<a class=\"fmbook-colab\" href=\"{colab_url(notebook, repository)}\">Open in Colab</a>"
            f"<a class=\"fmbook-download\" href=\"{download_url(notebook, repository)}\" download>"
            "Download the notebook</a>"
            f"<a class=\"fmbook-github\" href=\"{repository}/blob/main/notebooks/{notebook}\">View on GitHub</a>"
            "</div>")


def chapter_title(nb) -> str:
    """The text of the first ``# `` heading of a notebook (its chapter title)."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    raise SiteError("the notebook has no '# Title' heading in a markdown cell")


def _insert_links(nb, notebook: str, repository: str) -> None:
    """Put the launch links right under the title line of the first markdown cell with one."""
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        lines = cell.source.splitlines()
        for i, line in enumerate(lines):
            if line.startswith("# "):
                cell.source = "\n".join(lines[:i + 1] + ["", links_html(notebook, repository), ""] + lines[i + 1:])
                return
    raise SiteError(f"{notebook}: no '# Title' heading to put the links under")


def chapter_page(executed: str | Path, repository: str = REPOSITORY):
    """An executed notebook, ready to render: launch links added, widget views left out.

    An explorer's output holds a widget view and a static image of its default view; a website has
    no kernel, so only the image is kept, and the notebook's widget state is dropped.
    """
    import nbformat

    nb = nbformat.read(str(executed), as_version=4)
    _insert_links(nb, Path(executed).name, repository)
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        outputs = []
        for out in cell.get("outputs", []):
            outputs.append(out)
            data = out.get("data")
            if data and any(m in data for m in WIDGET_MIMES):
                for mime in WIDGET_MIMES:
                    data.pop(mime, None)
                if not data:  # a widget with no static view: say so rather than render nothing
                    data["text/plain"] = "(an interactive widget: open the notebook to use it)"
                else:
                    outputs.append(nbformat.v4.new_output("display_data", data={"text/html": WIDGET_NOTE}))
        if "outputs" in cell:
            cell.outputs = outputs
    return nb


def placeholder_page(source: str | Path, build_dir: str | Path, repository: str = REPOSITORY) -> str:
    """The page of a chapter that has no executed copy: its title and how to produce one."""
    import nbformat

    source = Path(source)
    title = chapter_title(nbformat.read(str(source), as_version=4))
    return (f"# {title}\n\n{links_html(source.name, repository)}\n\n"
            ":::{admonition} Not executed yet\n:class: warning fmbook-placeholder\n\n"
            f"This page shows a chapter's outputs, and `{Path(build_dir) / 'notebooks' / source.name}` "
            "does not exist yet. Execute the chapter, then build the site again:\n\n"
            f"```bash\n.venv/bin/fmbook run notebooks/{source.name} --profile smoke --output-dir {build_dir}\n"
            "make site\n```\n\n`make book` executes every chapter.\n:::\n")


def chapter_table(pages: list[tuple[str, str, bool]]) -> str:
    """A markdown table of the chapters: ``(page name, title, executed)`` each."""
    lines = ["| # | chapter |", "| --- | --- |"]
    for name, title, executed in pages:
        number, _, rest = title.partition(":")
        label = rest.strip() or title
        note = "" if executed else " (not executed yet)"
        lines.append(f"| {number.replace('Chapter', '').strip() or name[:2]} | [{label}](chapters/{name}){note} |")
    return "\n".join(lines) + "\n"


def _value(v) -> str:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return str(v)
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def report_page(build_dir: str | Path, pages: dict[str, str] | None = None) -> str:
    """The results report page, from the ledger ``build/results/`` (``build/report.md`` without one).

    A summary table (chapter, profile, seed, device, seconds, status), then each chapter's headline
    metrics with their expected bands and informational numbers. ``pages`` maps a chapter name to its
    page, for links.
    """
    from .ledger import read

    build_dir = Path(build_dir)
    pages = pages or {}
    intro = ("Every chapter checks its headline numbers against the band expected for its profile and "
             "records them in the results ledger; `make book` (or `fmbook run`) writes what this page "
             "shows.\n")
    entries = read(build_dir / "results")
    if not entries:
        path = build_dir / "report.md"
        if not path.exists():
            return (f"# Results report\n\n{intro}\nNo chapter has been run yet: `make book` runs them all "
                    "and records their results.\n")
        lines = path.read_text().splitlines()
        body = "\n".join(lines[1:] if lines and lines[0].startswith("# ") else lines)
        return f"# Results report\n\n{intro}\n{body.strip()}\n"

    link = lambda name: f"[{name}]({pages[name]})" if name in pages else name  # noqa: E731
    out = [f"# Results report\n\n{intro}",
           "| chapter | profile | seed | device | seconds | status |",
           "| --- | --- | ---: | --- | ---: | --- |"]
    for e in entries:
        status = "pass" if e.get("passed") else ("FAIL" if e.get("passed") is False else "-")
        out.append(f"| {link(e['chapter'])} | {e['profile']} | {e.get('seed', '-')} | {e['device']} "
                   f"| {e['seconds']:.0f} | {status} |")
    missing = sorted(set(pages) - {e["chapter"] for e in entries})
    if missing:
        out.append("\nNot run yet (no ledger entry): " + ", ".join(link(m) for m in missing) + ".")
    for e in entries:
        seed = f", seed {e['seed']}" if "seed" in e else ""
        out += ["", f"## {e['chapter']} ({e['profile']}{seed})", "",
                "| metric | value | expected |", "| --- | ---: | --- |"]
        for name, value in e["metrics"].items():
            out.append(f"| {name} | {_value(value)} | {e['expected'].get(name, '(for information)')} |")
        if e.get("versions"):
            out += ["", "Libraries: " + ", ".join(f"{k} {v}" for k, v in e["versions"].items())
                    + (f"; Python {e['python']}" if e.get("python") else "")
                    + (f"; recorded {e['recorded_at']}" if e.get("recorded_at") else "") + "."]
    return "\n".join(out) + "\n"


def copy_mathjax(dest: str | Path, sources: tuple[str, ...] = MATHJAX_DIRS) -> Path:
    """Copy the parts of MathJax 2 that the site uses into ``dest``; clear error when absent."""
    src = next((Path(s) for s in sources if (Path(s) / "MathJax.js").is_file()), None)
    if src is None:
        raise SiteError("MathJax not found (looked in " + ", ".join(sources) + "): the site serves it "
                        "locally. Install it with `apt-get install -y libjs-mathjax`.")
    dest = Path(dest)
    for part in MATHJAX_PARTS:
        s, d = src / part, dest / part
        if not s.exists():
            raise SiteError(f"MathJax at {src} lacks {part}: reinstall libjs-mathjax and fonts-mathjax")
        d.parent.mkdir(parents=True, exist_ok=True)
        if s.is_dir():
            shutil.copytree(s, d, symlinks=False, dirs_exist_ok=True)
        else:
            shutil.copy2(s, d)
    return dest


def stage(site_dir: str | Path = "site", build_dir: str | Path = "build", notebooks_dir: str | Path = "notebooks",
          dest: str | Path | None = None, require_executed: bool = False,
          repository: str = REPOSITORY, figures_dir: str | Path = "figures",
          mathjax_dirs: tuple[str, ...] = MATHJAX_DIRS) -> dict:
    """Write the Sphinx sources of the website into ``dest`` (default ``build/site-src``).

    Returns
    -------
    dict
        ``{"dest": Path, "executed": [names], "missing": [names]}``.

    Raises
    ------
    SiteError
        When there are no chapters, when ``require_executed`` and a chapter has no executed copy,
        or when MathJax is not installed.
    """
    import nbformat

    site_dir, build_dir = Path(site_dir), Path(build_dir)
    dest = Path(dest) if dest is not None else build_dir / "site-src"
    sources = chapters(notebooks_dir)
    if not sources:
        raise SiteError(f"no chapter notebooks in {notebooks_dir}")
    if not (site_dir / "conf.py").is_file():
        raise SiteError(f"{site_dir}/conf.py not found: run from the repository root")
    missing = [s.name for s in sources if not (build_dir / "notebooks" / s.name).is_file()]
    if missing and require_executed:
        raise SiteError(f"no executed copy of {', '.join(missing)} under {build_dir}/notebooks: "
                        "run `make book` (or `fmbook book --profile smoke`) first")
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(site_dir, dest)
    shutil.copytree(figures_dir, dest / "figures", ignore=shutil.ignore_patterns("*.py"))
    (dest / "chapters").mkdir()
    pages = []
    for src in sources:
        executed = build_dir / "notebooks" / src.name
        if executed.is_file():
            nb = chapter_page(executed, repository)
            nbformat.write(nb, str(dest / "chapters" / src.name))
            pages.append((src.stem, chapter_title(nb), True))
        else:
            (dest / "chapters" / f"{src.stem}.md").write_text(placeholder_page(src, build_dir, repository))
            pages.append((src.stem, chapter_title(nbformat.read(str(src), as_version=4)), False))
    (dest / "_chapter_table.md").write_text(chapter_table(pages))
    (dest / "report.md").write_text(report_page(build_dir, {name: f"chapters/{name}" for name, _, _ in pages}))
    copy_mathjax(dest / "_static" / "mathjax", mathjax_dirs)
    executed_names = [p[0] for p in pages if p[2]]
    (dest / "_fmbook_pages.json").write_text(json.dumps({"executed": executed_names, "missing": missing}))
    return {"dest": dest, "executed": executed_names, "missing": missing}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fmbook.website", description=__doc__.splitlines()[0])
    parser.add_argument("--site-dir", default="site")
    parser.add_argument("--build-dir", default="build")
    parser.add_argument("--notebooks-dir", default="notebooks")
    parser.add_argument("--dest", default=None, help="default: BUILD_DIR/site-src")
    parser.add_argument("--require-executed", action="store_true",
                        help="fail when a chapter has no executed copy (instead of a placeholder page)")
    args = parser.parse_args(argv)
    try:
        result = stage(args.site_dir, args.build_dir, args.notebooks_dir, args.dest, args.require_executed)
    except SiteError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"staged {len(result['executed'])} executed chapter(s) into {result['dest']}")
    for name in result["missing"]:
        print(f"warning: {name} has no executed copy under {args.build_dir}/notebooks: its page says how to "
              "make one (`make book`)", file=sys.stderr)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
