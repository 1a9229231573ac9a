"""fmbook.start: the seed a notebook passes, the FMBOOK_SEED override, and the ledger file it writes."""

import json

import numpy as np

import fmbook


def test_the_notebook_seed_is_used_when_no_override_is_set(monkeypatch):
    monkeypatch.delenv("FMBOOK_SEED", raising=False)
    ch = fmbook.start("00_start_here", seed=3)
    assert ch.seed == ch.notebook_seed == 3


def test_fmbook_seed_replaces_the_notebook_seed(monkeypatch):
    monkeypatch.setenv("FMBOOK_SEED", "1")
    ch = fmbook.start("00_start_here", seed=0)
    assert (ch.seed, ch.notebook_seed) == (1, 0)


def test_start_seeds_numpy_with_the_override(monkeypatch):
    monkeypatch.setenv("FMBOOK_SEED", "1")
    fmbook.start("00_start_here", seed=0)
    first = np.random.rand()
    np.random.seed(1)
    assert first == np.random.rand()


def test_a_run_with_another_seed_does_not_overwrite_the_notebook_run(monkeypatch, tmp_path):
    monkeypatch.setenv("FMBOOK_RESULTS", str(tmp_path))
    monkeypatch.delenv("FMBOOK_SEED", raising=False)
    fmbook.start("00_start_here", seed=0).finish()
    monkeypatch.setenv("FMBOOK_SEED", "2")
    fmbook.start("00_start_here", seed=0).finish()
    own = json.loads((tmp_path / "00_start_here.smoke.json").read_text())
    other = json.loads((tmp_path / "00_start_here.smoke.seed2.json").read_text())
    assert (own["seed"], other["seed"], other["notebook_seed"]) == (0, 2, 0)


def test_a_band_never_measured_is_shown_but_not_enforced(capsys):
    ch = fmbook.start("00_start_here", seed=0)
    ch.check("accuracy", 0.1, {"smoke": None, "fast": (0.9, 1), "full": None}, show=False)
    assert ch.card_rows() == [("accuracy", "0.1", "not measured", "not measured")]


def test_the_results_card_has_a_header_on_every_column():
    ch = fmbook.start("00_start_here", seed=0)
    ch.note("accuracy", 0.5)
    assert str(ch.card()).splitlines()[2].split() == ["metric", "value", "expected", "check"]
