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


def test_holm_reject_uncorrected_gets_a_specific_hint(hint_of):
    assert "correct for the number" in hint_of("04.holm_reject", lambda p, alpha=0.05: np.asarray(p) <= alpha)


def test_holm_reject_bonferroni_gets_a_specific_hint(hint_of):
    assert "Bonferroni" in hint_of("04.holm_reject", lambda p, alpha=0.05: np.asarray(p) <= alpha / len(p))


def test_holm_reject_without_stopping_gets_a_specific_hint(hint_of):
    def no_stop(p, alpha=0.05):
        p = np.asarray(p)
        ranks = np.argsort(np.argsort(p, kind="stable"), kind="stable")
        return p <= alpha / (p.size - ranks)

    assert "do not stop" in hint_of("04.holm_reject", no_stop)


def test_holm_reject_in_sorted_order_gets_a_specific_hint(hint_of):
    solution = get("04.holm_reject").solution
    assert "order of the input" in hint_of(
        "04.holm_reject", lambda p, alpha=0.05: solution(p, alpha)[np.argsort(p, kind="stable")])


def test_holm_reject_solution_agrees_with_the_library_adjustment():
    from fmbook.stats import holm_adjust

    p = np.random.default_rng(0).uniform(0, 0.1, 14)
    np.testing.assert_array_equal(get("04.holm_reject").solution(p, 0.05), holm_adjust(p) <= 0.05)


def test_fast_and_smoke_read_the_rated_sentences_whatever_is_cached():
    from fmbook.chapters.ch04_bert_finetuning import SETTINGS

    assert SETTINGS["smoke"]["data"] == SETTINGS["fast"]["data"] == "movie_sentences"


def _entry(profile, metrics):
    return {"chapter": "03_lstm_reviews", "profile": profile, "metrics": metrics}


def test_the_chapter_03_row_reads_the_lstm_not_the_bidirectional_lstm():
    from fmbook.chapters.ch04_bert_finetuning import lstm_row

    entries = [_entry("fast", {"bidirectional LSTM test accuracy": 0.9, "LSTM test accuracy": 0.7,
                               "data set": "movie_sentences"})]
    label, value = lstm_row(entries, "fast", "movie_sentences")
    assert value == 0.7
    assert label == "chapter 03 LSTM (fast profile, movie_sentences, its own split)"


def test_the_chapter_03_row_prefers_the_same_profile_and_names_another_data_set():
    from fmbook.chapters.ch04_bert_finetuning import lstm_row

    entries = [_entry("smoke", {"LSTM test accuracy": 0.6, "data set": "movie_sentences"}),
               _entry("full", {"LSTM test accuracy": 0.85, "data set": "imdb"})]
    label, value = lstm_row(entries, "full", "movie_sentences")
    assert value == 0.85
    assert "imdb, another data set" in label


def test_no_chapter_03_entry_means_no_row():
    from fmbook.chapters.ch04_bert_finetuning import lstm_row

    assert lstm_row([_entry("fast", {"bidirectional LSTM test accuracy": 0.9})], "fast", "movie_sentences") is None
    assert lstm_row([], "fast", "movie_sentences") is None
