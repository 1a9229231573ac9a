"""The chapter 04 exercises accept their solutions and explain the typical mistakes."""

from __future__ import annotations

import numpy as np
import pytest

from fmbook.exercises import Hint, check, get

IDS = ("04.pad_batch", "04.warmup", "04.cls_logits")


@pytest.mark.parametrize("ex_id", IDS)
def test_solution_passes_its_checker(ex_id):
    ex = get(ex_id)
    ex.checker(ex.solution)
    assert ex.hints


@pytest.mark.parametrize("ex_id", IDS)
def test_unattempted_stub_is_reported_not_raised(ex_id, capsys):
    def stub(*args, **kwargs):
        raise NotImplementedError

    assert not check(ex_id, stub)
    assert "not attempted" in capsys.readouterr().out


def _hint(ex_id, fn) -> str:
    with pytest.raises(Hint) as info:
        get(ex_id).checker(fn)
    return str(info.value)


def test_pad_batch_inverted_mask_gets_a_specific_hint():
    solution = get("04.pad_batch").solution

    def inverted(seqs, pad_id=0):
        ids, mask = solution(seqs, pad_id)
        return ids, 1 - mask

    assert "inverted" in _hint("04.pad_batch", inverted)


def test_pad_batch_fixed_pad_id_gets_a_specific_hint():
    solution = get("04.pad_batch").solution
    assert "pad_id" in _hint("04.pad_batch", lambda seqs, pad_id=0: solution(seqs, 0))


def test_warmup_without_warmup_gets_a_specific_hint():
    assert "step 0" in _hint("04.warmup", lambda s, w, t: max(0.0, (t - s) / t) if s else 1.0)


def test_warmup_negative_after_the_end_gets_a_specific_hint():
    def unclipped(s, w, t):
        return s / w if s < w else (t - s) / (t - w)

    assert "clip" in _hint("04.warmup", unclipped)


def test_cls_logits_per_token_gets_the_seed_bug_hint():
    assert "every token" in _hint("04.cls_logits", lambda h, W, b: np.asarray(h) @ np.asarray(W).T + b)


def test_cls_logits_hidden_states_as_logits_gets_the_seed_bug_hint():
    assert "not logits" in _hint("04.cls_logits", lambda h, W, b: np.asarray(h)[:, 0, :])


def test_cls_logits_mean_pooling_gets_a_specific_hint():
    assert "mean pooling" in _hint("04.cls_logits", lambda h, W, b: np.asarray(h).mean(1) @ np.asarray(W).T + b)
