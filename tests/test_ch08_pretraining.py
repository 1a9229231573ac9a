"""Chapter 08: settings, exercise checkers, and the notebook's GPT against fmbook.lm.GPT."""

import inspect
import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from fmbook.chapters import ch08_pretraining as chapter
from fmbook.exercises import Hint, get

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "08_pretraining.py"


def rejects(exercise_id, answer, match):
    with pytest.raises(Hint, match=match):
        get(exercise_id).checker(answer)


def test_every_profile_has_the_same_setting_names():
    keys = [set(chapter.SETTINGS[p]) for p in ("smoke", "fast", "full")]
    assert keys[0] == keys[1] == keys[2]


def test_only_full_reads_imdb():
    assert [chapter.SETTINGS[p]["imdb"] for p in ("smoke", "fast", "full")] == [False, False, True]


@pytest.mark.parametrize("ex", ["08.causal_mask", "08.attention", "08.exposure", "08.stops_paying"])
def test_checker_accepts_the_worked_solution(ex):
    e = get(ex)
    e.checker(e.solution)


@pytest.mark.parametrize("ex, stub", [("08.causal_mask", "my_causal_mask"), ("08.attention", "my_attention"),
                                      ("08.exposure", "my_exposure"), ("08.stops_paying", "stops_paying")])
def test_notebook_stub_has_the_solution_signature(ex, stub):
    source = NOTEBOOK.read_text()
    match = re.search(rf"^def {stub}\((.*?)\):\n    raise NotImplementedError", source, re.M)
    assert match, f"no stub {stub} in the notebook"
    params = ", ".join(str(p) for p in inspect.signature(get(ex).solution).parameters.values())
    assert match.group(1) == params


def test_causal_mask_checker_names_a_mask_that_sees_the_future():
    rejects("08.causal_mask", lambda T: torch.triu(torch.ones(T, T, dtype=torch.bool)), "future")


def test_causal_mask_checker_names_a_mask_without_the_diagonal():
    rejects("08.causal_mask", lambda T: torch.tril(torch.ones(T, T, dtype=torch.bool), diagonal=-1), "itself")


def test_causal_mask_checker_asks_for_booleans_not_an_additive_mask():
    rejects("08.causal_mask", lambda T: torch.triu(torch.full((T, T), float("-inf")), diagonal=1), "booleans")


def _attention(scale, dim=-1, mask_mode="inf"):
    def fn(q, k, v, mask=None):
        s = q @ k.transpose(-2, -1) / scale(q.size(-1))
        if mask is not None and mask_mode == "inf":
            s = s.masked_fill(~mask, float("-inf"))
        return torch.softmax(s, dim=dim) @ v
    return fn


def test_attention_checker_names_a_missing_scale():
    rejects("08.attention", _attention(lambda d: 1.0), "sqrt")


def test_attention_checker_names_a_scale_by_d():
    rejects("08.attention", _attention(lambda d: d), "square root")


def test_attention_checker_names_the_wrong_softmax_dimension():
    rejects("08.attention", _attention(math.sqrt, dim=-2), "last dimension")


def test_attention_checker_names_an_ignored_mask():
    rejects("08.attention", _attention(math.sqrt, mask_mode="none"), "mask is ignored")


def test_exposure_checker_names_the_natural_log():
    rejects("08.exposure", lambda r, n: math.log(n) - math.log(r), "log2")


def test_exposure_checker_names_a_zero_based_rank():
    rejects("08.exposure", lambda r, n: math.log2(n) - math.log2(r + 1), "1-based")


def test_exposure_checker_names_a_reversed_sign():
    rejects("08.exposure", lambda r, n: math.log2(r) - math.log2(n), "sign")


def _first_not_paying(budgets, pre, scr, margin):
    order = np.argsort(budgets)
    gain = (np.asarray(pre) - np.asarray(scr)).mean(1)[order]
    below = np.flatnonzero(gain < margin)
    return None if below.size == 0 else np.asarray(budgets)[order][below[0]].item()


def test_stops_paying_checker_names_a_rule_that_ignores_a_later_gain():
    rejects("08.stops_paying", _first_not_paying, "pays again")


def test_stops_paying_checker_names_a_rule_that_uses_the_best_seed():
    def best_seed(budgets, pre, scr, margin):
        order = np.argsort(budgets)
        gain = (np.asarray(pre) - np.asarray(scr)).max(1)[order]
        pays = np.flatnonzero(gain >= margin)
        if pays.size and pays[-1] == len(gain) - 1:
            return None
        return np.asarray(budgets)[order][0 if pays.size == 0 else pays[-1] + 1].item()
    rejects("08.stops_paying", best_seed, "seeds")


def test_stops_paying_checker_names_unsorted_budgets():
    def unsorted(budgets, pre, scr, margin):
        gain = (np.asarray(pre) - np.asarray(scr)).mean(1)
        pays = np.flatnonzero(gain >= margin)
        if pays.size and pays[-1] == len(gain) - 1:
            return None
        return budgets[0 if pays.size == 0 else pays[-1] + 1]
    rejects("08.stops_paying", unsorted, "sort")


def test_mean_ci_brackets_the_mean():
    mean, lo, hi = chapter.mean_ci([0.1, 0.2, 0.3, 0.4], n_boot=500, seed=0)
    assert lo <= mean <= hi and mean == pytest.approx(0.25)


def _notebook_classes():
    """Execute the notebook cells that define the model (and nothing else)."""
    source = NOTEBOOK.read_text()
    cells = source.split("# %%")
    wanted = [c for c in cells if re.search(r"^(def causal_mask|def attention|class CausalSelfAttention|class Block)",
                                            c, re.M) or "class GPT(nn.Module)" in c]
    namespace = {}
    exec("import math\nimport torch\nimport torch.nn as nn\n" + "\n".join(wanted), namespace)
    return namespace


def test_notebook_gpt_agrees_with_the_reference_in_fmbook_lm():
    from fmbook import lm

    ns = _notebook_classes()
    cfg = lm.GPTConfig(vocab_size=50, block_size=12, d_model=16, n_layers=2, n_heads=4, dropout=0.0)
    torch.manual_seed(0)
    mine = ns["GPT"](cfg).eval()
    ref = lm.GPT(cfg).eval()
    ref.load_state_dict(mine.state_dict())  # same names and shapes, or this raises
    x = torch.randint(0, 50, (3, 12))
    with torch.no_grad():
        assert torch.allclose(mine(x), ref(x), atol=1e-6)
        assert torch.allclose(mine(x, hidden=True), ref(x, hidden=True), atol=1e-6)
