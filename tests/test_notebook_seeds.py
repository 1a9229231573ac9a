"""Every random seed in a chapter notebook comes from ``ch.seed``, so ``FMBOOK_SEED`` changes the whole run."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9][0-9]_*.py"))
LITERAL_SEED = re.compile(
    r"(?:\bseed|random_state)\s*=\s*\d|manual_seed\(\s*\d|default_rng\(\s*\d|RandomState\(\s*\d|random\.seed\(\s*\d")
START = re.compile(r"fmbook\.start\(")


def literal_seeds(source: str) -> list[str]:
    """Code lines (comments left out) that pass a literal number as a seed, except ``fmbook.start``."""
    found = []
    for number, line in enumerate(source.splitlines(), 1):
        code = line.split("#", 1)[0]
        if LITERAL_SEED.search(code) and not START.search(code):
            found.append(f"line {number}: {line.strip()}")
    return found


def test_literal_seeds_are_found():
    assert literal_seeds("torch.manual_seed(1)\nx = f(random_state=0)\nrng = np.random.default_rng(2)") == [
        "line 1: torch.manual_seed(1)", "line 2: x = f(random_state=0)", "line 3: rng = np.random.default_rng(2)"]


def test_seeds_from_the_chapter_and_the_start_line_are_allowed():
    source = 'ch = fmbook.start("05_adversarial", seed=0)\ntorch.manual_seed(ch.seed + 1)\nf(seed=ch.seed)  # seed=0'
    assert literal_seeds(source) == []


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_draws_every_seed_from_ch_seed(notebook):
    assert literal_seeds(notebook.read_text()) == []
