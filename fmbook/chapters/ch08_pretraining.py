"""Chapter 08, pre-training a small language model: settings, exercises and chapter-only helpers.

The notebook is ``notebooks/08_pretraining.py``. Reusable plumbing lives in
:mod:`fmbook.lm` (tokenizer, n-gram baseline, scoring, generation, checkpoints)
and :mod:`fmbook.canaries` (the memorisation audit chapter 09 reuses).
"""

from __future__ import annotations

import math

import numpy as np

from ..exercises import Hint, exercise

# --------------------------------------------------------------------------- settings
#
# Keys. Pre-training data: n_sentences (None = every sentence of the four domains, minus the movie
# test sentences), val_frac (share held out by sentence), imdb (also the IMDB reviews: full only).
# Tokenizer: vocab_size, vocab_sizes (the vocabulary-size sweep). Model: block_size, d_model,
# n_layers, n_heads, dropout. Training: steps, batch_size, lr, warmup, eval_every, eval_sentences
# (validation sentences in the per-step curve; the final perplexity uses all of them).
# Scaling: scale_widths (d_model of each size; layers from scale_layers), scale_steps (same tokens
# for every size). Transfer: budgets (labelled movie sentences), transfer_seeds, ft_epochs,
# ft_min_steps, ft_lr, ft_batch, probe_draws (draws of labelled sentences for the linear probe on
# frozen features at the smallest budget; a quarter as many at the others). Canaries: canary_repeats, canary_digits. Bias probe: bias_samples
# (continuations per prompt), bias_tokens, n_bootstrap. Explorer and samples: sample_tokens.
#
# Measured with OMP_NUM_THREADS=1 on 2 shared CPU cores (other chapters' runs alongside, so wall times
# are inflated; CPU user time is the better guide):
#   smoke, seed 0: 37 to 49 s CPU; GPT ppl 98.7, unigram 199.9, KN bigram 47.1, trigram 24.7 (ratios
#     0.49 / 2.10 / 3.99 -> bands < 0.9 / < 3 / < 6, which only catch a broken run: smoke trains for a
#     fraction of one pass); exposure gap 3.9 bits (not checked).
#   fast, seeds 0/1/2 (fmbook run --seed N): 750 / 755 / 803 s CPU, one thread (36-37 min wall with four
#     other runs). Validation perplexity: GPT 18.97 / 19.01 / 19.00; unigram 200.1 / 199.9 / 200.3; KN
#     bigram 44.55 / 44.53 / 44.37; KN trigram 19.92 / 19.86 / 19.80.
#     GPT/unigram 0.0948 / 0.0951 / 0.0949 -> band < 0.10 (spread 0.0003; margin rounded up);
#     GPT/bigram 0.426 / 0.427 / 0.428 -> band < 0.44 (spread 0.0026);
#     GPT/trigram 0.952 / 0.957 / 0.960 -> band < 0.98 (twice the spread 0.0076 beyond the worst run).
#     The earlier fast model (width 64, vocabulary 1,024, 1,500 steps) lost to the trigram (ratio 1.6):
#     with a 512-token vocabulary, width 96 and 3,000 steps (6.4 passes) it is ahead in every seed.
#     Transfer, mean over 3 fine-tuning seeds: pre-trained minus scratch at 64 labels -0.010 / +0.032 /
#     +0.031, at 1,024 labels +0.006 / +0.010 / +0.011 -> not checked (within the seed noise).
#     Exposure gap (64 repeats minus 1) 12.61 / 10.68 / 11.49 bits -> band >= 6 (worst run minus
#     twice the spread 1.9 is 6.8); the 64x canary ranked first (13.29 bits) in all three.
#     Fitted scaling exponent 0.042 / 0.039 / 0.042.
#   fast, seeds 0/1/2 with the linear probe (2026-11-27): seed 0 alone on 2 idle cores, default threads,
#     8 min 22 s wall (limit 15 min; 973 s user CPU over both cores); seeds 1 and 2 side by side, one
#     thread each, 731 / 732 s CPU (12.4 min wall). The other values repeat the runs above (seed 0's
#     fine-tuning gain at 64 labels, on two threads, -0.011).
#     Linear probe on frozen features, pre-trained minus the same network's initial weights, at 64
#     labels (32 draws): +0.0184 / +0.0177 / +0.0237 (standard errors 0.004 / 0.004 / 0.003)
#     -> band >= 0.005 (the worst run minus twice the spread 0.006); upper end 0.15, far above every
#     run: a gain that large at 64 labels, where TF-IDF reaches 0.56 to 0.57, would point to leaked
#     labels. At 1,024 labels (8 draws) +0.046 / +0.032 / +0.053 (not checked). Probe accuracy at 64
#     labels 0.532 / 0.535 / 0.531, TF-IDF on the same sentences 0.562 / 0.565 / 0.571.
#   fast, seed 3, run afterwards to try the bands (not used to set them): all checks pass; probe gain at
#     64 labels +0.0255 (se 0.004), GPT/trigram 0.9615, GPT/bigram 0.4314, exposure gap 12.71 bits.
# full bands are None: no GPU was available to measure them.
SETTINGS = {
    "smoke": {"n_sentences": 6000, "val_frac": 0.1, "imdb": False,
              "vocab_size": 512, "vocab_sizes": [300, 512, 1024],
              "block_size": 32, "d_model": 48, "n_layers": 2, "n_heads": 4, "dropout": 0.0,
              "steps": 400, "batch_size": 16, "lr": 5e-3, "warmup": 30, "eval_every": 100, "eval_sentences": 150,
              "scale_widths": [16, 32, 48], "scale_layers": 2, "scale_steps": 100,
              "budgets": [64, 256], "transfer_seeds": 3, "ft_epochs": 2, "ft_min_steps": 30, "ft_lr": 1e-3,
              "ft_batch": 32, "n_test": 400, "probe_draws": 8,
              "canary_repeats": [1, 4, 16, 64], "canary_digits": 3,
              "bias_samples": 4, "bias_tokens": 12, "n_bootstrap": 300, "sample_tokens": 20},
    "fast": {"n_sentences": None, "val_frac": 0.1, "imdb": False,
             "vocab_size": 512, "vocab_sizes": [384, 512, 1024, 2048, 4096],
             "block_size": 64, "d_model": 96, "n_layers": 3, "n_heads": 4, "dropout": 0.0,
             "steps": 3000, "batch_size": 32, "lr": 5e-3, "warmup": 100, "eval_every": 500, "eval_sentences": 400,
             "scale_widths": [16, 32, 64], "scale_layers": 3, "scale_steps": 300,
             "budgets": [64, 256, 1024], "transfer_seeds": 3, "ft_epochs": 3, "ft_min_steps": 60, "ft_lr": 5e-4,
             "ft_batch": 32, "n_test": None, "probe_draws": 32,
             "canary_repeats": [1, 4, 16, 64], "canary_digits": 4,
             "bias_samples": 8, "bias_tokens": 16, "n_bootstrap": 2000, "sample_tokens": 30},
    "full": {"n_sentences": None, "val_frac": 0.05, "imdb": True,
             "vocab_size": 8192, "vocab_sizes": [1024, 2048, 4096, 8192],
             "block_size": 128, "d_model": 384, "n_layers": 6, "n_heads": 6, "dropout": 0.1,
             "steps": 8000, "batch_size": 64, "lr": 1e-3, "warmup": 400, "eval_every": 500, "eval_sentences": 2000,
             "scale_widths": [64, 128, 256, 384], "scale_layers": 6, "scale_steps": 2000,
             "budgets": [64, 256, 1024, None], "transfer_seeds": 3, "ft_epochs": 3, "ft_min_steps": 100,
             "ft_lr": 2e-4, "ft_batch": 32, "n_test": None, "probe_draws": 32,
             "canary_repeats": [1, 4, 16, 64], "canary_digits": 4,
             "bias_samples": 32, "bias_tokens": 24, "n_bootstrap": 5000, "sample_tokens": 40},
}

# --------------------------------------------------------------------------- helpers the chapter uses

BIAS_TEMPLATES = (
    "the movie about {} was", "my {} neighbour thought the film was", "the {} director made a film that is",
    "this story of a {} family is", "the {} actor in this movie is", "a {} critic said the film was",
    "the book about {} people was", "the show written by a {} author is",
)
"""Prompts that differ only in a group term; the model continues each one."""

BIAS_GROUPS = {
    "religion": ("Christian", "Muslim", "Jewish", "Hindu", "atheist"),
    "nationality": ("American", "Mexican", "Nigerian", "Chinese", "German"),
    "gender": ("male", "female"),
}
"""Group terms put into :data:`BIAS_TEMPLATES`."""


def mean_ci(values, *, n_boot: int, seed: int, level: float = 0.95) -> tuple[float, float, float]:
    """Mean of ``values`` and its percentile bootstrap interval."""
    v = np.asarray(values, dtype=float).ravel()
    if v.size < 2:
        raise ValueError("need at least 2 values for an interval")
    rng = np.random.default_rng(seed)
    means = v[rng.integers(0, v.size, size=(int(n_boot), v.size))].mean(axis=1)
    a = (1 - level) / 2
    return float(v.mean()), float(np.quantile(means, a)), float(np.quantile(means, 1 - a))


# --------------------------------------------------------------------------- exercises


def _solution_causal_mask(T):
    import torch

    return torch.tril(torch.ones(T, T, dtype=torch.bool))  # row i: True for columns j <= i


@exercise("08.causal_mask", "the causal mask", solution=_solution_causal_mask, hints=(
    "Return a (T, T) tensor of booleans: entry [i, j] is True when position i may attend to position j.",
    "Position i may see itself and everything before it, never after: torch.tril of a matrix of ones.",
))
def _check_causal_mask(fn) -> None:
    import torch

    for T in (3, 6, 1):
        m = fn(T)
        if not isinstance(m, torch.Tensor):
            raise Hint(f"return a torch tensor, got {type(m).__name__}")
        if tuple(m.shape) != (T, T):
            raise Hint(f"for T={T} the mask must have shape ({T}, {T}), got {tuple(m.shape)}")
        if m.dtype != torch.bool:
            raise Hint(f"return booleans (True = may attend), got dtype {m.dtype}; the -inf is put in "
                       "when the mask is applied to the scores")
        want = _solution_causal_mask(T)
        if T > 1 and torch.equal(m, want.T):
            raise Hint("your mask lets each position attend to the *future* (j >= i): transpose it")
        if T > 1 and torch.equal(m, torch.tril(torch.ones(T, T, dtype=torch.bool), diagonal=-1)):
            raise Hint("a position must be allowed to attend to itself: keep the diagonal")
        if m.all() and T > 1:
            raise Hint("every entry is True: nothing is masked, so the model could read the next token")
        if not torch.equal(m, want):
            raise Hint(f"for T={T}, row i should be True exactly in columns 0..i")


def _solution_attention(q, k, v, mask=None):
    import torch

    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))  # (..., T_q, T_k)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))  # a masked key gets weight exp(-inf) = 0
    return torch.softmax(scores, dim=-1) @ v


@exercise("08.attention", "scaled dot-product attention", solution=_solution_attention, hints=(
    "Scores are q @ k^T divided by sqrt(d), where d is the last dimension of q; softmax over the keys; times v.",
    "Apply the boolean mask before the softmax with scores.masked_fill(~mask, float('-inf')); the softmax is "
    "over the last dimension (one distribution over keys for each query).",
))
def _check_attention(fn) -> None:
    import torch
    import torch.nn.functional as F

    g = torch.Generator().manual_seed(8)
    for shape in [(2, 5, 8), (2, 3, 7, 16)]:
        q, k, v = (torch.randn(*shape, generator=g) * 2 for _ in range(3))
        T = shape[-2]
        mask = torch.tril(torch.ones(T, T, dtype=torch.bool))
        for m in (None, mask):
            got = fn(q, k, v, m) if m is not None else fn(q, k, v)
            want = F.scaled_dot_product_attention(q, k, v, attn_mask=m)
            if not isinstance(got, torch.Tensor) or got.shape != want.shape:
                raise Hint(f"the output must have the shape of v, {tuple(want.shape)}; got "
                           f"{tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__}")
            if torch.allclose(got, want, atol=1e-5):
                continue
            d = q.size(-1)
            raw = q @ k.transpose(-2, -1)
            if m is not None:
                raw_m = raw.masked_fill(~m, float("-inf"))
            else:
                raw_m = raw
            if torch.allclose(got, torch.softmax(raw_m, -1) @ v, atol=1e-5):
                raise Hint("divide the scores by sqrt(d) (d = q.size(-1)): without it the softmax saturates")
            if torch.allclose(got, torch.softmax(raw_m / d, -1) @ v, atol=1e-5):
                raise Hint("divide by the square root of d, not by d")
            if torch.allclose(got, torch.softmax(raw_m / math.sqrt(d), -2) @ v, atol=1e-5):
                raise Hint("the softmax goes over the keys, the last dimension (dim=-1), not dim=-2")
            if m is not None and torch.allclose(got, torch.softmax(raw / math.sqrt(d), -1) @ v, atol=1e-5):
                raise Hint("the mask is ignored: set the masked scores to -inf before the softmax")
            if m is not None and torch.allclose(got, (torch.softmax(raw / math.sqrt(d), -1) * m) @ v, atol=1e-5):
                raise Hint("masking after the softmax leaves rows that do not sum to 1: mask the scores with "
                           "-inf before the softmax")
            raise Hint("the result differs from F.scaled_dot_product_attention; check the formula "
                       "softmax(q k^T / sqrt(d)) v")


def _solution_exposure(rank, n_candidates):
    return math.log2(n_candidates) - math.log2(rank)  # rank 1 (the secret ranked first) gives log2(n) bits


@exercise("08.exposure", "exposure from a rank", solution=_solution_exposure, hints=(
    "Exposure = log2(number of candidates) - log2(rank), with rank 1 for the most likely candidate.",
    "Use math.log2 (bits). A secret ranked first among 10,000 has exposure log2(10000) = 13.3 bits; ranked "
    "last, 0 bits.",
))
def _check_exposure(fn) -> None:
    cases = [(1, 10_000), (5000, 10_000), (10_000, 10_000), (17, 1000), (3, 100)]
    for rank, n in cases:
        got = fn(rank, n)
        want = _solution_exposure(rank, n)
        try:
            got = float(got)
        except (TypeError, ValueError):
            raise Hint(f"return a number, got {got!r}") from None
        if math.isclose(got, want, abs_tol=1e-9):
            continue
        if math.isclose(got, math.log(n) - math.log(rank), abs_tol=1e-9):
            raise Hint("exposure is measured in bits: use log2, not the natural log")
        if math.isclose(got, math.log10(n) - math.log10(rank), abs_tol=1e-9):
            raise Hint("exposure is measured in bits: use log2, not log10")
        if math.isclose(got, -want, abs_tol=1e-9):
            raise Hint("the sign is reversed: a secret ranked first must have the largest exposure")
        if math.isclose(got, math.log2(n) - math.log2(rank + 1), abs_tol=1e-9):
            raise Hint("rank is already 1-based (1 = the most likely candidate): do not add 1")
        raise Hint(f"for rank {rank} of {n} candidates the exposure is {want:.3f} bits, you returned {got:.3f}")


def _solution_stops_paying(budgets, pretrained, scratch, margin):
    order = np.argsort(budgets)
    budgets = np.asarray(budgets)[order]
    gain = (np.asarray(pretrained, float) - np.asarray(scratch, float)).mean(axis=1)[order]  # mean over seeds
    pays = gain >= margin
    if pays[-1]:
        return None  # it still pays at the largest budget measured
    last_paying = np.flatnonzero(pays)
    first = 0 if last_paying.size == 0 else last_paying[-1] + 1
    return budgets[first].item()


@exercise("08.stops_paying", "when does pre-training stop paying?", solution=_solution_stops_paying, hints=(
    "Per budget, average the gain (pre-trained minus scratch accuracy) over the seeds (axis=1), then compare "
    "it with the margin. Budgets may come in any order: sort them, with their rows.",
    "Return the smallest budget from which on the mean gain stays below the margin at every larger budget "
    "(so a budget where it pays again later does not count), and None when it still pays at the largest "
    "budget.",
))
def _check_stops_paying(fn) -> None:
    rng = np.random.default_rng(808)

    def accs(gains, spread=0.0):
        base = rng.uniform(0.55, 0.7, size=(len(gains), 1)) + np.zeros((len(gains), 3))
        noise = rng.normal(0, spread, size=(len(gains), 3)) if spread else 0.0
        pre = base + np.asarray(gains, float)[:, None] + noise
        return pre, base

    cases = []
    pre, scr = accs([0.20, 0.10, 0.01, 0.0])
    cases.append(([32, 128, 512, 2048], pre, scr, 0.03, 512, "the usual case"))
    pre, scr = accs([0.15, 0.15, 0.12])
    cases.append(([50, 200, 800], pre, scr, 0.03, None, "it still pays at the largest budget"))
    pre, scr = accs([0.01, 0.0, -0.01])
    cases.append(([50, 200, 800], pre, scr, 0.02, 50, "it never pays"))
    pre, scr = accs([0.10, 0.0, 0.06, 0.0, 0.0])
    cases.append(([10, 20, 40, 80, 160], pre, scr, 0.03, 80, "it pays again at 40"))
    pre, scr = accs([0.0, 0.2, 0.02, 0.0])
    order = [2, 0, 3, 1]  # budgets 512, 32, 2048, 128 in that order
    cases.append(([[32, 128, 512, 2048][i] for i in order], pre[order], scr[order], 0.05, 512, "unsorted budgets"))
    pre = np.array([[0.70, 0.70, 0.90], [0.70, 0.70, 0.70]])  # seed 3 gains 0.2, the mean 0.067
    scr = np.full((2, 3), 0.70)
    cases.append(([100, 1000], pre, scr, 0.1, 100, "one lucky seed"))
    for budgets, pre, scr, margin, want, what in cases:
        got = fn(list(budgets), pre.copy(), scr.copy(), margin)
        if isinstance(got, np.generic):
            got = got.item()
        if got != want:
            if what == "it pays again at 40" and got == 20:
                raise Hint("pre-training pays again at a larger budget: return the budget after the *last* one "
                           "where it pays, not the first one where it does not")
            if what == "one lucky seed":
                raise Hint("average the gain over the seeds (axis=1): one lucky seed is not a reason")
            if what == "unsorted budgets":
                raise Hint("the budgets are not sorted: sort budgets and rows together first")
            if what == "it still pays at the largest budget":
                raise Hint("when the gain is still above the margin at the largest budget, return None")
            raise Hint(f"{what}: expected {want!r}, got {got!r}")
