"""Chapter 04: fine-tuning BERT.

The chapter's settings per profile (``# The few-label curve is shown, not checked, in smoke and fast: fast trains each small set for
# 16 optimiser steps (2 epochs of 128 at batch 16; curve_min_steps 8), too few to leave chance
# reliably: seed 0 reached 0.542 with 128 labels on 150 test sentences (one standard error 0.04)
# and failed the band 0.58, which had never been measured. The band was not widened; the check
# stays for `full` (not measured: no GPU), whose small sets get at least 50 steps.
SETTINGS``) and its exercises."""

from __future__ import annotations

import numpy as np

from ..exercises import Hint, exercise
from ..stats import holm_adjust

# Settings per profile. ``None`` as a size means "all of it".
# data: which reviews (fmbook.text.choose_reviews): smoke and fast always use the rated movie-review
# sentences, whatever is cached; full uses "auto", which in the full profile means IMDB (an error
# when it cannot be had). n_*: examples (None = all); epochs: the most epochs; the notebook keeps
# the epoch with the best validation accuracy. max_length_cap bounds the length the histogram
# picks; curve_*: the data-efficiency curve (training sizes, seeds, minimum optimiser steps, test
# examples per point); trainer_n: examples for the short Trainer demo; n_bootstrap: resamples
# and sign flips of the bias probe; templates: how many of the probe's templates are used.
SETTINGS: dict[str, dict] = {
    "smoke": {"data": "movie_sentences", "n_train": 256, "n_val": 48, "n_test": 160, "epochs": 2,
              "batch_size": 16, "lr": 1e-4, "warmup_frac": 0.1, "max_length_cap": 64,
              "curve_sizes": [16, 32], "curve_seeds": 2, "curve_min_steps": 3, "curve_test": 32,
              "trainer_n": 32, "n_bootstrap": 500},
    "fast": {"data": "movie_sentences", "n_train": 2400, "n_val": 300, "n_test": 400, "epochs": 2,
             "batch_size": 32, "lr": 8e-5, "warmup_frac": 0.1, "max_length_cap": 64,
             "curve_sizes": [32, 128], "curve_seeds": 3, "curve_min_steps": 8, "curve_test": 150,
             "trainer_n": 400, "n_bootstrap": 2000},
    "full": {"data": "auto", "n_train": None, "n_val": 1000, "n_test": None, "epochs": 4, "batch_size": 32,
             "lr": 2e-5, "warmup_frac": 0.1, "max_length_cap": 512,
             "curve_sizes": [32, 128, 512, 2048], "curve_seeds": 3, "curve_min_steps": 50,
             "curve_test": 2000, "trainer_n": 4000, "n_bootstrap": 5000},
}

# Bands (in the notebook's ch.check calls). full: never run on a GPU for this version of the
# chapter (and it reads IMDB, not the sentences), so every full band is None.
# smoke seeds 0/1/2 (sentences, 2026-11-26): fine-tuned 0.806/0.669/0.738, TF-IDF 0.625/0.606/0.600,
#   probe 0.706/0.744/0.763, margin +0.181/+0.063/+0.138, [MASK] share 0.798/0.786/0.790, chosen
#   share 0.158/0.149/0.149 -> smoke bands unchanged, all three pass (seed 1 is 0.05 above the
#   fine-tuned floor)
#   (fine-tuned 0.62..1 fails a model at chance; the MLM bands are binomial, about 5 standard
#   deviations around 80% / 15% for smoke's count of pieces; the special-token check is 0 by
#   construction, and fails a masking that chooses [CLS] or [SEP]). smoke time: nbval 18 min wall on the
#   shared machine, 293 s CPU (user + sys, 2 threads); headless seed 0 29 min wall, 446 s CPU before
#   the probe was batched and the curve cut to 2 random seeds; seed 2 on a nearly idle machine:
#   56 s wall, 90 s CPU.
# fast, seeds 0/1/2 (fmbook run --seed N, movie sentences, one thread; 357 / 353 s CPU for the whole
#   chapter in seeds 0 and 1, 14-16 min wall with four other runs alongside):
#   fine-tuned test accuracy 0.8275 / 0.8425 / 0.8400 -> band >= 0.79 (twice the spread 0.015 below
#   the worst run); TF-IDF 0.725 / 0.750 / 0.7375 -> 0.67 .. 0.80; frozen mean-pooled probe
#   0.7575 / 0.7525 / 0.780 -> 0.69 .. 0.84; fine-tuned minus TF-IDF 0.1025 / 0.0925 / 0.1025 -> >= 0.07;
#   epochs chosen on validation 2 / 2 / 1; masking shares 0.805 / 0.795 / 0.803 replaced by [MASK] and
#   0.151 chosen (requirements 0.77..0.83, 0.14..0.16). The Trainer demo (400 sentences, one epoch =
#   25 optimiser steps) reached 0.593 / 0.560 / 0.505: seed 2 failed the requirement "beat the
#   majority class by 0.05" and stopped there, so the demo is now shown, not checked. Seed 2 was
#   then run again, whole, with these final bands: it passed (334 s CPU; 128-label curve 0.591, after
#   0.542 / 0.558 in seeds 0 and 1). The old guesses (fine-tuned >= 0.82, Trainer >= 0.60, 128-label
#   curve >= 0.58) were replaced by these measurements.


def _pad_batch(seqs, pad_id=0):
    longest = max(len(s) for s in seqs)
    ids = np.full((len(seqs), longest), pad_id, dtype=np.int64)
    mask = np.zeros((len(seqs), longest), dtype=np.int64)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = s
        mask[i, : len(s)] = 1
    return ids, mask


def _warmup(step, warmup_steps, total_steps):
    if step < warmup_steps:
        return step / max(1, warmup_steps)
    return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))


def _cls_logits(hidden, W, b):
    cls = np.asarray(hidden)[:, 0, :]  # the [CLS] vector: position 0 of every sequence
    return cls @ np.asarray(W).T + np.asarray(b)


@exercise("04.pad_batch", "pad a batch and build its attention mask", solution=_pad_batch,
          hints=("Pad on the right to the longest sequence of the batch, with pad_id.",
                 "The mask is 1 where a real token is and 0 on padding, same shape as the ids."))
def _check_pad_batch(fn) -> None:
    seqs = [[101, 7592, 102], [101, 2307, 3185, 2003, 102], [101, 102]]
    got = fn(seqs, 0)
    if not isinstance(got, tuple) or len(got) != 2:
        raise Hint("return a pair (input_ids, attention_mask)")
    ids, mask = np.asarray(got[0]), np.asarray(got[1])
    want_ids, want_mask = _pad_batch(seqs, 0)
    if ids.shape != want_ids.shape:
        raise Hint(f"pad to the longest sequence of the batch: expected shape {want_ids.shape}, got {ids.shape}")
    if mask.shape != ids.shape:
        raise Hint(f"the mask must have the shape of the ids, {ids.shape}; yours is {mask.shape}")
    if np.array_equal(mask, 1 - want_mask):
        raise Hint("the mask is inverted: 1 marks real tokens (attend to them), 0 marks padding")
    if np.array_equal(ids, want_ids[:, ::-1]) or (ids[:, 0] == 0).any():
        raise Hint("pad on the right: every row must start with its own [CLS] (101)")
    if not np.array_equal(ids, want_ids):
        raise Hint("the ids are wrong: copy each sequence, then fill the rest of the row with pad_id")
    if not np.array_equal(mask, want_mask):
        raise Hint("the mask must be 1 exactly where a real token is (position < length of that sequence)")
    ids2, _ = fn([[101, 5, 102], [101, 102]], 7)
    if np.asarray(ids2)[1, 2] != 7:
        raise Hint("use the pad_id argument, not a fixed 0 (other tokenizers pad with other ids)")


@exercise("04.warmup", "linear warm-up then linear decay", solution=_warmup,
          hints=("For step < warmup_steps, the multiplier grows linearly from 0: step / warmup_steps.",
                 "After warm-up it falls linearly to 0 at total_steps: "
                 "(total_steps - step) / (total_steps - warmup_steps), and never below 0."))
def _check_warmup(fn) -> None:
    total, warm = 100, 10
    got = np.array([float(fn(s, warm, total)) for s in (0, 5, 10, 55, 100, 120)])
    want = np.array([_warmup(s, warm, total) for s in (0, 5, 10, 55, 100, 120)])
    if np.isclose(got[0], 1.0):
        raise Hint("at step 0 the multiplier is 0, not 1: warm-up starts from zero")
    if not np.isclose(got[1], want[1]):
        raise Hint(f"halfway through warm-up (step 5 of 10) expect {want[1]:.2f}, got {got[1]:.3g}")
    if not np.isclose(got[2], 1.0):
        raise Hint(f"at the end of warm-up (step 10) the multiplier is 1, got {got[2]:.3g}")
    if np.isclose(got[3], 1.0):
        raise Hint("after warm-up the learning rate must decay, not stay at its peak")
    if np.isclose(got[3], 1 - 55 / 100):
        raise Hint("decay over the steps after warm-up: divide by (total_steps - warmup_steps), not total_steps")
    if not np.isclose(got[3], want[3]):
        raise Hint(f"at step 55 of 100 (warm-up 10) expect {want[3]:.3f}, got {got[3]:.3g}")
    if not np.isclose(got[4], 0.0):
        raise Hint(f"at total_steps the multiplier is 0, got {got[4]:.3g}")
    if got[5] < 0:
        raise Hint("past total_steps clip at 0: a negative learning rate climbs the loss")
    if not np.isclose(got[5], 0.0):
        raise Hint(f"past total_steps the multiplier stays 0, got {got[5]:.3g}")


@exercise("04.cls_logits", "class logits from the [CLS] vector", solution=_cls_logits,
          hints=("BERT's hidden states have shape (batch, tokens, hidden); the [CLS] vector is position 0.",
                 "Apply the linear layer to that vector only: hidden[:, 0, :] @ W.T + b gives (batch, classes)."))
def _check_cls_logits(fn) -> None:
    rng = np.random.default_rng(4)
    hidden = rng.normal(size=(3, 5, 4))
    W, b = rng.normal(size=(2, 4)), np.array([0.1, -0.2])
    got = np.asarray(fn(hidden, W, b), dtype=float)
    want = _cls_logits(hidden, W, b)
    if got.shape == (3, 5, 2):
        raise Hint("you have logits for every token, shape (batch, tokens, 2): classify the [CLS] "
                   "vector only (hidden[:, 0, :])")
    if got.shape == hidden.shape or got.shape == (3, 4):
        raise Hint("hidden states are not logits (a common mistake): apply the linear layer W, b to get "
                   "one score per class")
    if got.shape != want.shape:
        raise Hint(f"expected shape (batch, classes) = {want.shape}, got {got.shape}")
    if np.allclose(got, hidden.mean(axis=1) @ W.T + b):
        raise Hint("that is mean pooling over tokens; BERT's classification head reads the [CLS] vector")
    if np.allclose(got, hidden[:, -1, :] @ W.T + b):
        raise Hint("that is the last token; [CLS] is the first one (position 0)")
    if np.allclose(got, hidden[:, 0, :] @ W.T):
        raise Hint("add the bias b")
    if not np.allclose(got, want):
        raise Hint("the logits are wrong: hidden[:, 0, :] @ W.T + b")


def _holm_reject(p_values, alpha=0.05):
    return np.asarray(holm_adjust(p_values)) <= alpha


@exercise("04.holm_reject", "which probe gaps are evidence after 14 comparisons?", solution=_holm_reject,
          hints=("Sort the p-values ascending. The smallest must be <= alpha / m, the next <= alpha / (m - 1), "
                 "and so on; m is the number of comparisons.",
                 "Stop at the first p-value that fails its threshold: it and every larger one are not "
                 "rejected, even if a later one would pass its own threshold. Return the decisions in the "
                 "input order, as booleans."))
def _check_holm_reject(fn) -> None:
    cases = [  # p-values of probes the notebook never shows
        (np.array([0.001, 0.2, 0.004, 0.03, 0.0005, 0.6, 0.012, 0.045, 0.9, 0.0031, 0.3, 0.07, 0.02, 0.5]), 0.05),
        (np.array([0.01, 0.011, 0.04, 0.2]), 0.05),
        (np.array([0.003, 0.009, 0.016, 0.017]), 0.05),
        (np.array([0.02, 0.5, 0.001]), 0.1),
        (np.array([0.032, 0.01, 0.03]), 0.05),
    ]
    for p, alpha in cases:
        try:
            got = np.asarray(fn(p.copy(), alpha))
        except NotImplementedError:
            raise
        except Exception as exc:
            raise Hint(f"your function raised {type(exc).__name__}: {exc}") from exc
        want = _holm_reject(p, alpha)
        if got.shape != p.shape:
            raise Hint(f"return one decision per p-value, shape {p.shape}; got shape {got.shape}")
        if got.dtype != bool:
            raise Hint("return booleans (True = the gap is evidence at this alpha), e.g. an array of dtype bool")
        if np.array_equal(got, want):
            continue
        if np.array_equal(got, p <= alpha) or np.array_equal(got, p < alpha):
            raise Hint(f"that compares every p-value with alpha = {alpha} alone: with {p.size} comparisons "
                       "some small p-values appear by chance; correct for the number of comparisons")
        if np.array_equal(got, p <= alpha / p.size):
            raise Hint("that is Bonferroni (every p-value against alpha / m): valid but stricter than needed. "
                       "Holm relaxes the threshold step by step: alpha / m, alpha / (m - 1), ...")
        ranks = np.argsort(np.argsort(p, kind="stable"), kind="stable")
        if np.array_equal(got, p <= alpha / (p.size - ranks)):
            raise Hint("you test each p-value against its own threshold but do not stop: once one sorted "
                       "p-value fails, every larger one is kept (not rejected)")
        if np.array_equal(got, want[np.argsort(p, kind="stable")]):
            raise Hint("the number of rejections is right but not which ones: return the decisions in the "
                       "order of the input, not sorted")
        raise Hint(f"for p = {np.round(p, 4).tolist()} at alpha = {alpha} the decisions should be "
                   f"{want.tolist()}, got {got.tolist()}")


LSTM_CHAPTER = "03_lstm_reviews"
LSTM_METRIC = "LSTM test accuracy"  # chapter 03's name for its (one-directional) LSTM's accuracy


def lstm_row(entries, profile, data_set):
    """Chapter 03's LSTM result for the comparison table, read from the results ledger.

    Parameters
    ----------
    entries : list of dict
        Ledger entries (``fmbook.ledger.read()``).
    profile : str
        This run's profile; chapter 03's entry of the same profile is preferred.
    data_set : str
        The data set this run reads, so the row can say when chapter 03 read another one.

    Returns
    -------
    (label, value) or None
        The row's label (chapter 03's profile, data set and split) and its accuracy under
        ``LSTM_METRIC`` exactly, never the bidirectional LSTM's; None when the ledger holds no
        chapter 03 entry with that number.
    """
    from ..ledger import find_metric

    found = find_metric(entries, LSTM_CHAPTER, LSTM_METRIC, profile=profile)
    if found is None:
        return None
    value, entry = found
    theirs = entry.get("metrics", {}).get("data set")
    if not isinstance(theirs, str):
        where = "data set not recorded"
    elif theirs == data_set:
        where = f"{theirs}, its own split"
    else:
        where = f"{theirs}, another data set"
    return f"chapter 03 LSTM ({entry.get('profile', '?')} profile, {where})", value
