"""Staging the website's sources from executed notebooks (fmbook.website)."""

from __future__ import annotations

import json

import nbformat
import pytest

from fmbook import REPOSITORY
from fmbook.website import (SiteError, chapter_page, colab_url, copy_mathjax, download_url, github_path,
                            placeholder_page, report_page, stage)

WIDGET = "application/vnd.jupyter.widget-view+json"


def _notebook(path, title="# Chapter 09: A test chapter", outputs=()):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(f"{title}\n\nWhat it is about."),
                nbformat.v4.new_code_cell("explore()", outputs=list(outputs))]
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    nbformat.write(nb, str(path))
    return path


def _explorer_output():
    return nbformat.v4.new_output("display_data", data={WIDGET: {"model_id": "abc"}, "image/png": "iVBORw0KGgo=",
                                                        "text/plain": "<static default view>"})


@pytest.fixture
def tree(tmp_path):
    """A repository-like tree: site/, notebooks/, figures/, a fake MathJax, an executed chapter."""
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "conf.py").write_text("# conf\n")
    (tmp_path / "site" / "index.md").write_text("# Home\n")
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "book_map.png").write_bytes(b"png")
    (tmp_path / "notebooks").mkdir()
    _notebook(tmp_path / "notebooks" / "00_intro.ipynb", "# Chapter 00: Intro")
    _notebook(tmp_path / "notebooks" / "01_next.ipynb", "# Chapter 01: Next")
    (tmp_path / "build" / "notebooks").mkdir(parents=True)
    _notebook(tmp_path / "build" / "notebooks" / "00_intro.ipynb", "# Chapter 00: Intro", [_explorer_output()])
    mj = tmp_path / "mathjax"
    for part in ("config/TeX-AMS_CHTML.js", "jax/input/TeX/config.js", "jax/output/CommonHTML/jax.js",
                 "jax/element/mml/jax.js", "extensions/tex2jax.js", "fonts/HTML-CSS/TeX/woff/a.woff",
                 "localization/en/en.js", "MathJax.js"):
        (mj / part).parent.mkdir(parents=True, exist_ok=True)
        (mj / part).write_text("//")
    return tmp_path


def _stage(tree, **kw):
    return stage(tree / "site", tree / "build", tree / "notebooks", figures_dir=tree / "figures",
                 mathjax_dirs=(str(tree / "mathjax"),), **kw)


def test_github_path_is_owner_and_name():
    assert github_path("https://github.com/fmbook/fmbook") == "fmbook/fmbook"
    assert github_path("https://github.com/a/b.git") == "a/b"


def test_github_path_rejects_other_hosts():
    with pytest.raises(ValueError, match="GitHub"):
        github_path("https://gitlab.com/a/b")


def test_colab_and_download_urls_come_from_the_repository_constant():
    owner_name = github_path(REPOSITORY)
    assert colab_url("01_x.ipynb") == f"https://colab.research.google.com/github/{owner_name}/blob/main/notebooks/01_x.ipynb"
    assert download_url("01_x.ipynb") == f"{REPOSITORY}/raw/main/notebooks/01_x.ipynb"


def test_chapter_page_puts_the_links_under_the_title(tmp_path):
    nb = chapter_page(_notebook(tmp_path / "09_t.ipynb"))
    lines = nb.cells[0].source.splitlines()
    assert lines[0] == "# Chapter 09: A test chapter"
    assert colab_url("09_t.ipynb") in lines[2] and download_url("09_t.ipynb") in lines[2]


def test_chapter_page_keeps_the_static_view_of_an_explorer_and_drops_the_widget(tmp_path):
    nb = chapter_page(_notebook(tmp_path / "09_t.ipynb", outputs=[_explorer_output()]))
    data = nb.cells[1].outputs[0]["data"]
    assert WIDGET not in data and "image/png" in data
    assert "default view" in nb.cells[1].outputs[1]["data"]["text/html"]
    assert "widgets" not in nb.metadata


def test_chapter_page_says_so_when_a_widget_has_no_static_view(tmp_path):
    out = nbformat.v4.new_output("display_data", data={WIDGET: {"model_id": "abc"}})
    nb = chapter_page(_notebook(tmp_path / "09_t.ipynb", outputs=[out]))
    assert "interactive widget" in nb.cells[1].outputs[0]["data"]["text/plain"]


def test_chapter_page_needs_a_title(tmp_path):
    with pytest.raises(SiteError, match="Title"):
        chapter_page(_notebook(tmp_path / "09_t.ipynb", title="no heading here"))


def test_placeholder_page_says_how_to_execute_the_chapter(tmp_path):
    text = placeholder_page(_notebook(tmp_path / "09_t.ipynb"), "build")
    assert text.startswith("# Chapter 09: A test chapter")
    assert "fmbook run notebooks/09_t.ipynb" in text and "make site" in text


def test_report_page_falls_back_to_build_report_without_a_ledger(tmp_path):
    (tmp_path / "report.md").write_text("# fmbook results report\n\n| chapter |\n| --- |\n| 00_intro |\n")
    text = report_page(tmp_path)
    assert text.startswith("# Results report") and "| 00_intro |" in text
    assert "fmbook results report" not in text


def _entry(tmp_path, chapter="00_intro", passed=True):
    (tmp_path / "results").mkdir(exist_ok=True)
    entry = {"chapter": chapter, "profile": "smoke", "device": "cpu", "seed": 1, "seconds": 3.0,
             "metrics": {"acc": 0.91234, "n": 5}, "expected": {"acc": "0.8 .. 1"}, "passed": passed,
             "versions": {"numpy": "2.0"}, "python": "3.11"}
    (tmp_path / "results" / f"{chapter}.smoke.json").write_text(json.dumps(entry))


def test_report_page_lists_each_chapter_metric_with_its_band(tmp_path):
    _entry(tmp_path)
    text = report_page(tmp_path, {"00_intro": "chapters/00_intro", "01_next": "chapters/01_next"})
    assert "| [00_intro](chapters/00_intro) | smoke | 1 | cpu | 3 | pass |" in text
    assert "| acc | 0.9123 | 0.8 .. 1 |" in text and "| n | 5 | (for information) |" in text
    assert "Not run yet (no ledger entry): [01_next](chapters/01_next)" in text
    assert "numpy 2.0" in text


def test_report_page_shows_a_failed_chapter(tmp_path):
    _entry(tmp_path, passed=False)
    assert "| 3 | FAIL |" in report_page(tmp_path)


def test_report_page_says_when_nothing_has_run(tmp_path):
    assert "make book" in report_page(tmp_path)


def test_stage_writes_executed_chapters_and_placeholders(tree):
    result = _stage(tree)
    dest = result["dest"]
    assert result["executed"] == ["00_intro"] and result["missing"] == ["01_next.ipynb"]
    assert (dest / "chapters" / "00_intro.ipynb").is_file()
    assert "Not executed yet" in (dest / "chapters" / "01_next.md").read_text()
    assert "(not executed yet)" in (dest / "_chapter_table.md").read_text()
    assert (dest / "conf.py").is_file() and (dest / "figures" / "book_map.png").is_file()
    assert (dest / "_static" / "mathjax" / "MathJax.js").is_file()


def test_stage_can_require_every_chapter_executed(tree):
    with pytest.raises(SiteError, match="01_next.ipynb.*make book"):
        _stage(tree, require_executed=True)


def test_copy_mathjax_says_how_to_install_it_when_absent(tmp_path):
    with pytest.raises(SiteError, match="apt-get install -y libjs-mathjax"):
        copy_mathjax(tmp_path / "out", (str(tmp_path / "nowhere"),))


def test_every_chapter_opens_with_its_title():
    """The first cell is the '# Chapter NN: ...' markdown the page title and links come from (no empty cell)."""
    from pathlib import Path

    from fmbook.notebook import chapters

    root = Path(__file__).resolve().parents[1]
    for path in chapters(root / "notebooks"):
        first = nbformat.read(str(path), as_version=4).cells[0]
        assert first.cell_type == "markdown" and first.source.startswith("# "), f"{path.name} opens with {first.source[:40]!r}"
