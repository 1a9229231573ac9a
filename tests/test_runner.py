"""`fmbook run` executes a notebook headless, saves the executed copy and reads the ledger."""

import nbformat
import pytest

from fmbook.notebook import report, run_notebook


def _notebook(path, value):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "import fmbook\n"
        "ch = fmbook.start('00_start_here', seed=0)\n"
        f"ch.check('score', {value}, {{'smoke': (0.5, 1), 'fast': (0.5, 1), 'full': (0.5, 1)}})\n"
        "ch.finish()")]
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="module")
def passing_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("run")
    return run_notebook(_notebook(folder / "00_start_here.ipynb", 0.9), profile="smoke",
                        output_dir=folder / "build"), folder / "build"


def test_run_saves_the_executed_notebook_and_its_metrics(passing_run):
    result, _ = passing_run
    assert result["ok"] and result["entry"]["metrics"] == {"score": 0.9}
    executed = nbformat.read(result["executed"], as_version=4)
    assert executed.cells[0].outputs, "the executed copy keeps its outputs"


def test_run_reports_a_failed_check(tmp_path):
    nb = _notebook(tmp_path / "00_start_here.ipynb", 0.1)
    result = run_notebook(nb, profile="smoke", output_dir=tmp_path / "build")
    assert not result["ok"] and "ExpectationError" in result["error"]


def test_report_has_a_row_per_chapter(passing_run):
    result, build = passing_run
    text = report(build, [result]).read_text()
    assert "| 00_start_here | smoke |" in text and "score = 0.9" in text and "pass" in text


def test_missing_notebook_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no notebook"):
        run_notebook(tmp_path / "nope.ipynb", profile="smoke")


def _seeded_notebook(path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "import fmbook\n"
        "ch = fmbook.start('00_start_here', seed=0)\n"
        "ch.note('seed used', ch.seed)\n"
        "ch.finish()")]
    nbformat.write(nb, path)
    return path


def test_a_seed_override_reaches_the_notebook_and_is_kept_beside_its_own_run(tmp_path):
    nb = _seeded_notebook(tmp_path / "00_start_here.ipynb")
    own = run_notebook(nb, profile="smoke", output_dir=tmp_path / "build")
    other = run_notebook(nb, profile="smoke", seed=2, output_dir=tmp_path / "build")
    assert own["entry"]["metrics"]["seed used"] == 0
    assert other["entry"]["metrics"]["seed used"] == 2
    results = tmp_path / "build" / "results"
    assert sorted(p.name for p in results.glob("*.json")) == [
        "00_start_here.smoke.json", "00_start_here.smoke.seed2.json"]
