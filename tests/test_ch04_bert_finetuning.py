"""Chapter 04's exercises: typical wrong answers get their specific hints."""

from __future__ import annotations

import numpy as np

from fmbook.exercises import get


def test_pad_batch_with_an_inverted_mask_gets_a_specific_hint(hint_of):
    solution = get("04.pad_batch").solution

    def inverted(seqs, pad_id=0):
        ids, mask = solution(seqs, pad_id)
        return ids, 1 - mask

    assert "inverted" in hint_of("04.pad_batch", inverted)


def test_pad_batch_with_a_fixed_pad_id_gets_a_specific_hint(hint_of):
    solution = get("04.pad_batch").solution
    assert "pad_id" in hint_of("04.pad_batch", lambda seqs, pad_id=0: solution(seqs, 0))


def test_warmup_without_warmup_gets_a_specific_hint(hint_of):
    assert "step 0" in hint_of("04.warmup", lambda s, w, t: max(0.0, (t - s) / t) if s else 1.0)


def test_warmup_negative_after_the_end_gets_a_specific_hint(hint_of):
    def unclipped(s, w, t):
        return s / w if s < w else (t - s) / (t - w)

    assert "clip" in hint_of("04.warmup", unclipped)


def test_cls_logits_per_token_gets_a_specific_hint(hint_of):
    assert "every token" in hint_of("04.cls_logits", lambda h, W, b: np.asarray(h) @ np.asarray(W).T + b)


def test_cls_logits_returning_hidden_states_gets_a_specific_hint(hint_of):
    assert "not logits" in hint_of("04.cls_logits", lambda h, W, b: np.asarray(h)[:, 0, :])


def test_cls_logits_mean_pooling_gets_a_specific_hint(hint_of):
    assert "mean pooling" in hint_of("04.cls_logits", lambda h, W, b: np.asarray(h).mean(1) @ np.asarray(W).T + b)
