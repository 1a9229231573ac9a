"""Notebook conventions: jupytext pairs in sync, no stored outputs, the standard first and last cells."""

from pathlib import Path

import jupytext
import nbformat
import pytest

from fmbook.notebook import SETUP_CELL
from fmbook.notebook import chapters as chapter_notebooks
from fmbook import chapters

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = chapter_notebooks(ROOT / "notebooks")


def _cells(nb):
    return [(c.cell_type, c.source.strip()) for c in nb.cells]


def test_there_are_chapters():
    assert len(NOTEBOOKS) >= 2


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_jupytext_pair_is_in_sync(path):
    py = path.with_suffix(".py")
    assert py.exists(), f"{path.name} has no jupytext .py pair"
    assert _cells(jupytext.read(py)) == _cells(jupytext.read(path)), (
        f"{path.name} and {py.name} differ: edit the .py and run `make sync`")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    assert not any(c.get("outputs") for c in nb.cells if c.cell_type == "code"), "strip the outputs"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_first_code_cell_is_the_setup_cell(path):
    nb = nbformat.read(path, as_version=4)
    first = next(c for c in nb.cells if c.cell_type == "code")
    assert first.source.strip() == SETUP_CELL.strip()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_chapter_starts_with_fmbook_start_and_ends_with_its_results_card(path):
    nb = nbformat.read(path, as_version=4)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    assert any(f'fmbook.start("{path.stem}"' in src for src in code)
    assert code[-1].strip() == "ch.finish()"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_notebook_has_a_chapter_module(path):
    assert path.stem in chapters.discover(), (
        f"add fmbook/chapters/{chapters.module_name(path.stem)}.py with its SETTINGS")


@pytest.mark.parametrize("chapter", chapters.discover())
def test_every_chapter_module_has_a_notebook_pair(chapter):
    assert (ROOT / "notebooks" / f"{chapter}.py").exists()
    assert (ROOT / "notebooks" / f"{chapter}.ipynb").exists()
