"""Language-model plumbing: tokenizer, token streams, batches, an n-gram baseline,
log-likelihoods, generation, a reference GPT, and checkpoints.

Chapter 08 writes its transformer by hand in the notebook (that is the lesson);
this module holds what goes around it, tested, so that chapters 09 and 10 can
reload the pre-trained model and audit it the same way:

* :func:`train_tokenizer` trains a byte-level BPE with Hugging Face ``tokenizers``;
  :func:`encode_texts` / :func:`token_stream` turn texts into token ids.
* :func:`random_windows` draws next-token training batches from a stream;
  :func:`eval_windows` cuts a stream into fixed validation windows.
* :class:`KneserNeyLM` is a smoothed n-gram baseline (interpolated Kneser-Ney).
* :func:`sequence_log_likelihood` and :func:`text_log_likelihood` score texts
  under a causal model (what :mod:`fmbook.canaries` needs).
* :func:`generate` samples (greedy, temperature, top-k) with clear errors.
* :class:`GPT` is the reference copy of the chapter's decoder (a test checks
  that the notebook's definition agrees with it); :func:`save_model` and
  :func:`load_model` write and read it with ``safetensors``, refusing a
  checkpoint of another architecture.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

EOS = "<|endoftext|>"
"""Special token that separates texts in a stream and starts every text."""
PAD = "<|pad|>"
"""Special token used to pad batches (never a training target)."""


# --------------------------------------------------------------------------- tokenizer


def train_tokenizer(texts: Sequence[str], vocab_size: int, *, min_frequency: int = 2):
    """Train a byte-level BPE tokenizer on ``texts``.

    Byte-level means the base alphabet is the 256 byte values, so every string
    can be encoded: a word never seen in training is split into smaller pieces,
    in the worst case single bytes, and nothing is "unknown".

    Parameters
    ----------
    texts : sequence of str
        Training texts.
    vocab_size : int
        Target vocabulary size, special tokens included (at least 256 + 2).
    min_frequency : int, default 2
        A pair is merged only when it occurs at least this often.

    Returns
    -------
    tokenizers.Tokenizer
        With special tokens :data:`EOS` (id 0) and :data:`PAD` (id 1).
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    if isinstance(texts, str):
        raise TypeError("texts must be a sequence of strings, not one string")
    texts = list(texts)
    if not texts:
        raise ValueError("no texts to train the tokenizer on")
    if int(vocab_size) < 258:
        raise ValueError(f"vocab_size must be at least 258 (256 bytes and 2 special tokens), got {vocab_size!r}")
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=int(vocab_size), min_frequency=int(min_frequency),
                                  special_tokens=[EOS, PAD], initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator(texts, trainer=trainer)
    return tok


def encode_texts(tokenizer, texts: Sequence[str]) -> list[list[int]]:
    """Token ids of each text (no special tokens added)."""
    if isinstance(texts, str):
        raise TypeError("texts must be a sequence of strings, not one string")
    return [e.ids for e in tokenizer.encode_batch(list(texts), add_special_tokens=False)]


def token_stream(token_lists: Sequence[Sequence[int]], eos_id: int) -> np.ndarray:
    """Concatenate token lists into one stream, each text preceded by ``eos_id``, plus a final one.

    ``[[5, 6], [7]]`` becomes ``[eos, 5, 6, eos, 7, eos]``: every text starts after
    an end-of-text token, as it does when a single text is scored.
    """
    parts = [np.array([eos_id], dtype=np.int64)]
    for ids in token_lists:
        parts.append(np.asarray(ids, dtype=np.int64))
        parts.append(np.array([eos_id], dtype=np.int64))
    return np.concatenate(parts)


# --------------------------------------------------------------------------- batches


def random_windows(stream, block_size: int, batch_size: int, *, generator=None, device=None):
    """A training batch of next-token windows at random offsets of ``stream``.

    Returns
    -------
    x, y : torch.LongTensor of shape (batch_size, block_size)
        ``y`` is ``x`` shifted by one token: ``y[:, t]`` is the token after ``x[:, t]``.
    """
    data = torch.as_tensor(stream, dtype=torch.long)
    if len(data) <= block_size:
        raise ValueError(f"the stream has {len(data)} tokens, too few for windows of {block_size}+1")
    starts = torch.randint(0, len(data) - block_size, (batch_size,), generator=generator)
    offsets = torch.arange(block_size + 1)
    win = data[starts[:, None] + offsets[None, :]]
    x, y = win[:, :-1], win[:, 1:]
    return (x.to(device), y.to(device)) if device is not None else (x, y)


def eval_windows(stream, block_size: int, *, max_windows: int | None = None):
    """Cut ``stream`` into consecutive, non-overlapping windows (for a validation loss).

    Returns
    -------
    x, y : torch.LongTensor of shape (n_windows, block_size)
    """
    data = torch.as_tensor(stream, dtype=torch.long)
    n = (len(data) - 1) // block_size
    if n < 1:
        raise ValueError(f"the stream has {len(data)} tokens, too few for one window of {block_size}+1")
    if max_windows is not None:
        n = min(n, int(max_windows))
    x = data[: n * block_size].view(n, block_size)
    y = data[1: n * block_size + 1].view(n, block_size)
    return x, y


# --------------------------------------------------------------------------- n-gram baseline


class KneserNeyLM:
    """Interpolated Kneser-Ney n-gram model over token ids (order 2 or 3).

    The highest order uses discounted counts; lower orders use *continuation*
    counts (in how many different contexts a token appears), which is what makes
    Kneser-Ney better than plain back-off: "Francisco" is frequent but follows
    almost only "San", so it gets little probability after an unseen context.

    Parameters
    ----------
    vocab_size : int
    order : {2, 3}, default 3
    discount : float, default 0.75
    """

    def __init__(self, vocab_size: int, order: int = 3, discount: float = 0.75):
        if order not in (2, 3):
            raise ValueError(f"order must be 2 or 3, got {order!r}")
        if not 0 < discount < 1:
            raise ValueError(f"discount must be in (0, 1), got {discount!r}")
        self.V, self.order, self.d = int(vocab_size), int(order), float(discount)
        self.fitted = False

    # counts of n-grams are kept as sorted int64 keys with counts, looked up by searchsorted
    @staticmethod
    def _table(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        uniq, counts = np.unique(keys, return_counts=True)
        return uniq, counts.astype(np.float64)

    @staticmethod
    def _lookup(table: tuple[np.ndarray, np.ndarray], keys: np.ndarray) -> np.ndarray:
        uniq, vals = table
        if len(uniq) == 0:
            return np.zeros(len(keys))
        pos = np.clip(np.searchsorted(uniq, keys), 0, len(uniq) - 1)
        return np.where(uniq[pos] == keys, vals[pos], 0.0)

    def fit(self, stream: np.ndarray) -> KneserNeyLM:
        """Count the n-grams of a token stream (see :func:`token_stream`)."""
        s = np.asarray(stream, dtype=np.int64)
        if s.size < self.order:
            raise ValueError(f"the stream has {s.size} tokens, too few for order {self.order}")
        if s.min() < 0 or s.max() >= self.V:
            raise ValueError(f"token ids must be in [0, {self.V}); got {s.min()} .. {s.max()}")
        V = self.V
        big = s[:-1] * V + s[1:]
        bigrams = np.unique(big)
        # unigram level: continuation counts N1+(. w), normalised over all bigram types
        cont = np.bincount(bigrams % V, minlength=V).astype(np.float64)
        self.p_uni = (cont + 1e-3) / (cont + 1e-3).sum()  # a tiny floor: every byte token stays possible
        if self.order == 2:
            self.ctx1 = self._table(s[:-1])  # c(v .)
            self.n1_1 = self._table(bigrams // V)  # N1+(v .)
            self.big = self._table(big)  # c(v w)
        else:
            tri = (s[:-2] * V + s[1:-1]) * V + s[2:]
            trigrams = np.unique(tri)
            # bigram level of a trigram model: continuation counts N1+(. v w) and N1+(. v .)
            self.big = self._table(trigrams % (V * V))
            mid = trigrams // V % V
            self.ctx1 = self._table(mid)  # N1+(. v .) = sum_w N1+(. v w)
            self.n1_1 = self._table(np.unique(trigrams % (V * V)) // V)  # N1+(v .) among continuation types
            self.tri = self._table(tri)
            self.ctx2 = self._table(s[:-2] * V + s[1:-1])
            self.n1_2 = self._table(trigrams // V)  # N1+(u v .)
        self.fitted = True
        return self

    def _p_bigram(self, v: np.ndarray, w: np.ndarray) -> np.ndarray:
        c_vw = self._lookup(self.big, v * self.V + w)
        c_v = self._lookup(self.ctx1, v)
        n_v = self._lookup(self.n1_1, v)
        safe = np.maximum(c_v, 1.0)
        lam = np.where(c_v > 0, self.d * n_v / safe, 1.0)
        return np.where(c_v > 0, np.maximum(c_vw - self.d, 0) / safe, 0.0) + lam * self.p_uni[w]

    def prob(self, context: np.ndarray, w: np.ndarray) -> np.ndarray:
        """P(w | context) for arrays of contexts (shape (n, order-1)) and next tokens (n,)."""
        if not self.fitted:
            raise RuntimeError("call fit() first")
        context = np.asarray(context, dtype=np.int64).reshape(len(w), self.order - 1)
        w = np.asarray(w, dtype=np.int64)
        v = context[:, -1]
        p2 = self._p_bigram(v, w)
        if self.order == 2:
            return p2
        u = context[:, 0]
        key = u * self.V + v
        c_uv = self._lookup(self.ctx2, key)
        n_uv = self._lookup(self.n1_2, key)
        c_uvw = self._lookup(self.tri, key * self.V + w)
        safe = np.maximum(c_uv, 1.0)
        lam = np.where(c_uv > 0, self.d * n_uv / safe, 1.0)
        return np.where(c_uv > 0, np.maximum(c_uvw - self.d, 0) / safe, 0.0) + lam * p2

    def next_distribution(self, context: Sequence[int]) -> np.ndarray:
        """The whole distribution over the next token after ``context`` (sums to 1)."""
        ctx = list(context)[-(self.order - 1):]
        if len(ctx) < self.order - 1:
            raise ValueError(f"the context needs at least {self.order - 1} tokens, got {len(ctx)}")
        w = np.arange(self.V)
        return self.prob(np.tile(ctx, (self.V, 1)), w)

    def sequence_log_likelihood(self, token_lists: Sequence[Sequence[int]], bos_id: int) -> np.ndarray:
        """Natural-log probability of each token list followed by ``bos_id`` (end of text), given a start of ``bos_id``s."""
        out = np.zeros(len(token_lists))
        k = self.order - 1
        for i, ids in enumerate(token_lists):
            seq = np.array([bos_id] * k + list(ids) + [bos_id], dtype=np.int64)
            ctx = np.stack([seq[j:len(seq) - k + j] for j in range(k)], axis=1)
            out[i] = np.log(self.prob(ctx, seq[k:])).sum()
        return out

    def generate(self, context: Sequence[int], max_new_tokens: int, *, temperature: float = 1.0,
                 rng: np.random.Generator | None = None, stop_id: int | None = None) -> list[int]:
        """Sample tokens after ``context`` (temperature 0: the most likely token each step)."""
        rng = rng if rng is not None else np.random.default_rng(0)
        out = list(context)
        if len(out) < self.order - 1:
            raise ValueError(f"the context needs at least {self.order - 1} tokens, got {len(out)}")
        for _ in range(int(max_new_tokens)):
            p = self.next_distribution(out)
            if temperature == 0:
                nxt = int(np.argmax(p))
            else:
                logp = np.log(p) / temperature
                q = np.exp(logp - logp.max())
                nxt = int(rng.choice(self.V, p=q / q.sum()))
            if stop_id is not None and nxt == stop_id:
                break
            out.append(nxt)
        return out[len(context):]


def perplexity(total_log_likelihood: float, n_tokens: int) -> float:
    """``exp(-total_log_likelihood / n_tokens)`` (natural logs)."""
    if n_tokens <= 0:
        raise ValueError("perplexity needs at least one token")
    return float(math.exp(-float(total_log_likelihood) / n_tokens))


# --------------------------------------------------------------------------- the reference GPT


@dataclass(frozen=True)
class GPTConfig:
    """Shape of a GPT decoder."""

    vocab_size: int
    block_size: int = 64
    d_model: int = 128
    n_layers: int = 4
    n_heads: int = 4
    dropout: float = 0.1

    def __post_init__(self):
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model={self.d_model} must be a multiple of n_heads={self.n_heads}")
        if min(self.vocab_size, self.block_size, self.d_model, self.n_layers, self.n_heads) < 1:
            raise ValueError(f"every size in {self} must be positive")


def attention(q, k, v, mask=None):
    """Scaled dot-product attention: ``softmax(q k^T / sqrt(d) masked) v``; ``mask`` True = may attend."""
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    return torch.softmax(scores, dim=-1) @ v


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention with a causal mask (one fused q, k, v projection)."""

    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.n_heads = cfg.n_heads
        self.qkv = nn.Linear(cfg.d_model, 3 * cfg.d_model)
        self.proj = nn.Linear(cfg.d_model, cfg.d_model)
        self.drop = nn.Dropout(cfg.dropout)
        self.register_buffer("mask", torch.tril(torch.ones(cfg.block_size, cfg.block_size, dtype=torch.bool)),
                             persistent=False)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.n_heads, C // self.n_heads).transpose(1, 2) for t in (q, k, v))
        y = attention(q, k, v, self.mask[:T, :T])
        return self.drop(self.proj(y.transpose(1, 2).reshape(B, T, C)))


class Block(nn.Module):
    """A pre-norm transformer block: x + attention(LN(x)), then x + MLP(LN(x))."""

    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.ln1 = nn.LayerNorm(cfg.d_model)
        self.attn = CausalSelfAttention(cfg)
        self.ln2 = nn.LayerNorm(cfg.d_model)
        self.mlp = nn.Sequential(nn.Linear(cfg.d_model, 4 * cfg.d_model), nn.GELU(),
                                 nn.Linear(4 * cfg.d_model, cfg.d_model), nn.Dropout(cfg.dropout))

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class GPT(nn.Module):
    """A GPT-style decoder: token + learned position embeddings, pre-norm blocks, tied output layer.

    ``forward(idx)`` returns logits of shape (batch, time, vocab);
    ``forward(idx, hidden=True)`` returns the final normalised hidden states instead.
    """

    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.cfg = cfg
        self.tok_emb = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.pos_emb = nn.Embedding(cfg.block_size, cfg.d_model)
        self.drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList([Block(cfg) for _ in range(cfg.n_layers)])
        self.ln_f = nn.LayerNorm(cfg.d_model)
        self.head = nn.Linear(cfg.d_model, cfg.vocab_size, bias=False)
        self.head.weight = self.tok_emb.weight  # weight tying
        self.apply(self._init)

    @staticmethod
    def _init(m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, 0.0, 0.02)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)

    def forward(self, idx, hidden=False):
        B, T = idx.shape
        if T > self.cfg.block_size:
            raise ValueError(f"a context of {T} tokens is longer than the model's block size "
                             f"{self.cfg.block_size}")
        x = self.drop(self.tok_emb(idx) + self.pos_emb(torch.arange(T, device=idx.device)))
        for block in self.blocks:
            x = block(x)
        x = self.ln_f(x)
        return x if hidden else self.head(x)


def count_parameters(model, *, non_embedding: bool = False) -> int:
    """Number of distinct parameters (tied weights counted once).

    With ``non_embedding=True`` the token and position embeddings are left out,
    as in Kaplan et al. (2020)'s scaling laws.
    """
    seen, total = set(), 0
    for name, p in model.named_parameters():
        if id(p) in seen:
            continue
        seen.add(id(p))
        if non_embedding and ("tok_emb" in name or "pos_emb" in name):
            continue
        total += p.numel()
    return total


def training_flops(n_params: int, n_tokens: int) -> float:
    """The usual estimate of training compute: ``6 * N * D`` (forward 2ND, backward 4ND)."""
    return 6.0 * float(n_params) * float(n_tokens)


# --------------------------------------------------------------------------- scoring and sampling


def _vocab_size(model) -> int | None:
    cfg = getattr(model, "cfg", None)
    if cfg is not None and hasattr(cfg, "vocab_size"):
        return int(cfg.vocab_size)
    emb = getattr(model, "tok_emb", None)
    return int(emb.num_embeddings) if emb is not None else None


def _check_ids(ids: Sequence[int], vocab_size: int | None) -> None:
    if vocab_size is None:
        return
    if len(ids) and (min(ids) < 0 or max(ids) >= vocab_size):
        raise ValueError(f"token id {max(ids)} is outside the model's vocabulary of {vocab_size}: the "
                         "tokenizer and the model do not belong together")


def sequence_log_likelihood(model, token_lists: Sequence[Sequence[int]], *, bos_id: int, block_size: int,
                            batch_size: int = 256, device=None, add_eos: bool = True) -> np.ndarray:
    """Natural-log probability of each token list under a causal LM, given a start token.

    Each sequence is scored as ``[bos] + ids (+ [bos] as end of text)``: the sum of
    ``log p(token | the tokens before it)`` over every token after the first.
    A sequence longer than ``block_size`` is scored in consecutive windows of
    ``block_size`` predictions (the context restarts at each window).

    Parameters
    ----------
    model : callable
        ``model(idx)`` returns logits of shape (batch, time, vocab).
    token_lists : sequence of sequences of int
    bos_id : int
        The start (and end) of text token, :data:`EOS` in this module's tokenizer.
    block_size : int
        The model's context length.
    batch_size : int, default 256
    device : torch.device, optional
        Default: the device of the model's first parameter.
    add_eos : bool, default True
        Also score the end-of-text token after the sequence.

    Returns
    -------
    numpy.ndarray of shape (len(token_lists),)
    """
    if device is None:
        device = next(model.parameters()).device
    pieces: list[tuple[int, list[int], list[int]]] = []  # (sequence index, inputs, targets)
    for i, ids in enumerate(token_lists):
        seq = [bos_id] + list(ids) + ([bos_id] if add_eos else [])
        if len(seq) < 2:
            raise ValueError(f"sequence {i} is empty: nothing to score")
        for s in range(0, len(seq) - 1, block_size):
            pieces.append((i, seq[s:s + block_size], seq[s + 1:s + block_size + 1]))
    _check_ids([t for p in pieces for t in p[1]], _vocab_size(model))
    out = np.zeros(len(token_lists))
    pieces.sort(key=lambda p: len(p[1]))
    was_training = getattr(model, "training", False)
    if hasattr(model, "eval"):
        model.eval()
    try:
        with torch.no_grad():
            for b in range(0, len(pieces), batch_size):
                chunk = pieces[b:b + batch_size]
                T = max(len(p[1]) for p in chunk)
                x = torch.full((len(chunk), T), bos_id, dtype=torch.long)
                y = torch.full((len(chunk), T), -100, dtype=torch.long)
                for r, (_, inp, tgt) in enumerate(chunk):
                    x[r, :len(inp)] = torch.tensor(inp)
                    y[r, :len(tgt)] = torch.tensor(tgt)
                logits = model(x.to(device)).float()
                lp = -F.cross_entropy(logits.transpose(1, 2), y.to(device), reduction="none", ignore_index=-100)
                sums = lp.sum(1).cpu().numpy()
                for r, (i, _, _) in enumerate(chunk):
                    out[i] += sums[r]
    finally:
        if was_training:
            model.train()
    return out


def text_log_likelihood(model, tokenizer, texts: Sequence[str], *, block_size: int, batch_size: int = 256,
                        device=None) -> np.ndarray:
    """:func:`sequence_log_likelihood` of raw texts (what :mod:`fmbook.canaries` calls)."""
    eos = tokenizer.token_to_id(EOS)
    if eos is None:
        raise ValueError(f"the tokenizer has no {EOS!r} token: train it with fmbook.lm.train_tokenizer")
    return sequence_log_likelihood(model, encode_texts(tokenizer, texts), bos_id=eos, block_size=block_size,
                                   batch_size=batch_size, device=device, add_eos=False)


def generate(model, prompt_ids: Sequence[int] | Sequence[Sequence[int]], max_new_tokens: int, *, block_size: int,
             temperature: float = 1.0, top_k: int | None = None, greedy: bool = False, generator=None,
             stop_id: int | None = None, device=None) -> list[list[int]]:
    """Continue one or more prompts (of equal length) token by token.

    Parameters
    ----------
    model : callable
        ``model(idx)`` returns logits (batch, time, vocab).
    prompt_ids : list of int, or list of lists of int (all the same length)
    max_new_tokens : int
    block_size : int
        The model's context; a longer prompt is an error. While generating, only
        the last ``block_size`` tokens are fed back.
    temperature : float, default 1.0
        Divides the logits: below 1 sharper, above 1 flatter. Must be > 0
        (use ``greedy=True`` for the most likely token).
    top_k : int, optional
        Sample only among the ``top_k`` most likely tokens.
    greedy : bool, default False
        Always take the most likely token.
    generator : torch.Generator, optional
        For reproducible sampling (on the CPU).
    stop_id : int, optional
        Stop a sequence at this token (it is not returned; the others continue).

    Returns
    -------
    list of list of int
        The new tokens of each prompt.

    Raises
    ------
    ValueError
        An empty prompt, prompts of different lengths, a prompt longer than
        ``block_size``, a token outside the model's vocabulary, a temperature <= 0.
    """
    prompts = [list(prompt_ids)] if prompt_ids and isinstance(list(prompt_ids)[0], (int, np.integer)) \
        else [list(p) for p in prompt_ids]
    if not prompts or any(len(p) == 0 for p in prompts):
        raise ValueError("the prompt has no tokens: give at least one token to continue from "
                         "(an empty string encodes to nothing)")
    if len({len(p) for p in prompts}) != 1:
        raise ValueError("all prompts in one call must have the same number of tokens")
    if len(prompts[0]) > block_size:
        raise ValueError(f"the prompt has {len(prompts[0])} tokens, more than the model's block size "
                         f"{block_size}: shorten it (keep its last {block_size} tokens)")
    if not greedy and not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature!r}; use greedy=True for the most likely token")
    if top_k is not None and int(top_k) < 1:
        raise ValueError(f"top_k must be a positive number of tokens, got {top_k!r}")
    _check_ids([t for p in prompts for t in p], _vocab_size(model))
    if device is None:
        device = next(model.parameters()).device
    was_training = getattr(model, "training", False)
    model.eval()
    idx = torch.tensor(prompts, dtype=torch.long, device=device)
    done = torch.zeros(len(prompts), dtype=torch.bool)
    new: list[list[int]] = [[] for _ in prompts]
    try:
        with torch.no_grad():
            for step in range(int(max_new_tokens)):
                logits = model(idx[:, -block_size:])[:, -1, :].float()
                if greedy:
                    nxt = logits.argmax(-1)
                else:
                    logits = logits / temperature
                    if top_k is not None:
                        kth = torch.topk(logits, min(int(top_k), logits.shape[-1])).values[:, -1:]
                        logits = logits.masked_fill(logits < kth, float("-inf"))
                    probs = torch.softmax(logits, -1).cpu()
                    nxt = torch.multinomial(probs, 1, generator=generator).squeeze(1).to(device)
                for r, t in enumerate(nxt.tolist()):
                    if done[r]:
                        continue
                    if stop_id is not None and t == stop_id:
                        done[r] = True
                    else:
                        new[r].append(t)
                if bool(done.all()):
                    break
                idx = torch.cat([idx, nxt[:, None]], dim=1)
    finally:
        if was_training:
            model.train()
    return new


# --------------------------------------------------------------------------- checkpoints


class CheckpointError(ValueError):
    """A checkpoint that does not fit the model it is loaded into."""


def save_model(model, path: str | Path, config: GPTConfig | dict[str, Any], *, architecture: str | None = None,
               tokenizer=None, extra: dict[str, Any] | None = None) -> Path:
    """Save a model's weights with ``safetensors``, its config and architecture in the metadata.

    Parameters
    ----------
    model : torch.nn.Module
    path : path
        The ``.safetensors`` file (folders are created). With ``tokenizer``, the
        tokenizer is written beside it as ``<stem>.tokenizer.json``.
    config : GPTConfig or dict
        What it takes to rebuild the model.
    architecture : str, optional
        A name checked on loading (default: the class name of ``model``).
    tokenizer : tokenizers.Tokenizer, optional
    extra : dict, optional
        More JSON-able metadata (e.g. what data it was trained on).

    Returns
    -------
    pathlib.Path
    """
    from safetensors.torch import save_model as _save

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    cfg = asdict(config) if isinstance(config, GPTConfig) else dict(config)
    meta = {"fmbook_architecture": architecture or type(model).__name__, "config": json.dumps(cfg),
            "extra": json.dumps(extra or {})}
    _save(model, str(path), metadata=meta)
    if tokenizer is not None:
        tokenizer.save(str(tokenizer_path(path)))
    return path


def tokenizer_path(path: str | Path) -> Path:
    """Where :func:`save_model` writes the tokenizer of checkpoint ``path``."""
    path = Path(path)
    return path.with_name(path.stem + ".tokenizer.json")


def read_metadata(path: str | Path) -> dict[str, Any]:
    """The architecture, config and extra metadata of a checkpoint (weights are not read)."""
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}: run the chapter that saves it first")
    with safe_open(str(path), framework="pt") as fh:
        meta = fh.metadata() or {}
    if "fmbook_architecture" not in meta or "config" not in meta:
        raise CheckpointError(f"{path} was not written by fmbook.lm.save_model (no architecture in its metadata)")
    return {"architecture": meta["fmbook_architecture"], "config": json.loads(meta["config"]),
            "extra": json.loads(meta.get("extra", "{}"))}


def load_model(path: str | Path, build: Callable[..., Any] | None = None, *, architecture: str | None = None,
               device=None):
    """Rebuild a model from a checkpoint written by :func:`save_model`.

    Parameters
    ----------
    path : path
    build : callable, optional
        Makes the model from the config (e.g. ``lambda cfg: MyGPT(GPTConfig(**cfg))``).
        Default: the reference :class:`GPT`.
    architecture : str, optional
        The architecture the caller expects (default: the name of the class ``build``
        returns, ``"GPT"`` for the default).
    device : torch.device, optional

    Returns
    -------
    model, metadata : torch.nn.Module (in eval mode), dict

    Raises
    ------
    CheckpointError
        When the checkpoint is of another architecture, or its tensors do not fit
        the model (missing, unexpected or differently shaped weights).
    """
    from safetensors.torch import load_model as _load

    meta = read_metadata(path)
    if build is None:
        build = lambda cfg: GPT(GPTConfig(**cfg))  # noqa: E731
    model = build(meta["config"])
    expected = architecture or type(model).__name__
    if meta["architecture"] != expected:
        raise CheckpointError(f"{path} holds a {meta['architecture']!r} model, not a {expected!r}: load it "
                              f"with the class it was saved from")
    try:
        missing, unexpected = _load(model, str(path), strict=True, device=str(device or "cpu"))
    except RuntimeError as exc:
        raise CheckpointError(f"{path} does not fit a {expected!r} built from its config: {exc}") from None
    if missing or unexpected:  # pragma: no cover - strict=True raises first
        raise CheckpointError(f"{path}: missing {missing}, unexpected {unexpected}")
    if device is not None:
        model.to(device)
    return model.eval(), meta


def checkpoint_path(name: str) -> Path:
    """Where a chapter keeps a model for later chapters: ``<fmbook cache>/models/<name>.safetensors``."""
    from .data import cache_dir

    if not name or "/" in name or "\\" in name:
        raise ValueError(f"a checkpoint name is a plain file stem, got {name!r}")
    return cache_dir() / "models" / f"{name}.safetensors"


def load_pretrained(name: str, *, device=None):
    """Load a model saved by a chapter (e.g. ``"ch08_gpt.fast"``) with its tokenizer.

    Returns
    -------
    model, tokenizer, metadata
    """
    from tokenizers import Tokenizer

    path = checkpoint_path(name)
    if not path.is_file():
        raise FileNotFoundError(f"no pre-trained model {name!r} at {path}: run chapter 08 "
                                "(notebooks/08_pretraining.ipynb) in the matching profile first")
    model, meta = load_model(path, device=device)
    tok_file = tokenizer_path(path)
    if not tok_file.is_file():
        raise FileNotFoundError(f"the tokenizer of {name!r} is missing ({tok_file}): run chapter 08 again")
    return model, Tokenizer.from_file(str(tok_file)), meta


__all__ = ["EOS", "PAD", "train_tokenizer", "encode_texts", "token_stream", "random_windows", "eval_windows",
           "KneserNeyLM", "perplexity", "GPTConfig", "GPT", "CausalSelfAttention", "Block", "attention",
           "count_parameters", "training_flops", "sequence_log_likelihood", "text_log_likelihood", "generate",
           "CheckpointError", "save_model", "load_model", "read_metadata", "tokenizer_path", "checkpoint_path",
           "load_pretrained"]
