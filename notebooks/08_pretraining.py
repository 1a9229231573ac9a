# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Chapter 08: Pre-training a small language model
#
# Chapter 04 fine-tuned a model that someone else had pre-trained on billions of words. What
# makes such a model a *foundation* is that pre-training: self-supervised learning on unlabelled
# text, here by predicting the next token, after which a few labels go a long way. In this chapter
# you **build** the whole thing on a CPU: a byte-level BPE tokenizer, attention by hand (checked
# against PyTorch), a small GPT, its pre-training loop, an n-gram baseline it has to beat, a
# scaling experiment, and transfer to sentiment with few labels. Then you **audit** it: did it
# memorise secrets planted in its training text (Carlini et al. 2019), does what it writes depend
# on the group a prompt mentions, and what did it cost.
#
# What to expect (validation perplexity is per token of held-out sentences; the bands are
# checked below):
#
# | profile | pre-training text | model | GPT perplexity / n-gram perplexity | pre-trained minus scratch accuracy, 64 labels | exposure, 64 repeats minus 1 | time |
# | --- | --- | --- | --- | --- | --- | --- |
# | `smoke` | 6,000 review sentences | 2 layers, width 48, 0.8 passes | < 3 × the Kneser-Ney bigram (measured 2.1) | not checked (probe measured +0.018, fine-tuning +0.008) | not checked (measured 3.9 bits) | under 1 min of CPU (37 to 49 s user time) |
# | `fast` | 20,900 review sentences, 4 domains | 3 layers, width 96, vocabulary 512, 6 passes | < 0.98 × the Kneser-Ney trigram (measured 0.952 to 0.960, seeds 0-2) | linear probe on frozen features >= 0.005 (measured +0.018 to +0.024, seeds 0-2); fine-tuning not checked, within the seed noise (measured -0.010 to +0.032) | >= 6 bits (measured 10.7 to 12.6) | 8 min 22 s on 2 idle cores (seed 0); 12.2 min of CPU on one thread (731 s, seeds 1 and 2) |
# | `full` | the sentences and 50,000 IMDB reviews | 6 layers, width 384 | not measured | not measured | not measured | minutes on a GPU (not measured) |
#
# The `fast` numbers come from three runs (seeds 0, 1, 2); seed 0 ran alone on an idle 2-core
# machine, seeds 1 and 2 side by side with one thread each (their CPU time is the better guide).

# %%
# Set-up. In JupyterLab (`make lab`) fmbook is already installed and this does nothing.
# On Colab it installs fmbook from the repository; data sets then download on first use.
import importlib.util, subprocess, sys
if importlib.util.find_spec("fmbook") is None:
    if "google.colab" in sys.modules:
        subprocess.check_call([sys.executable, "-m", "pip", "install", "-q",
                               "fmbook[all] @ git+https://github.com/fmbook/fmbook.git"])
    else:
        raise ModuleNotFoundError("fmbook is not installed: run `make lab` in the repository, "
                                  "or `pip install -e .` in this environment")

# %% [markdown]
# ## Set-up
#
# PyTorch only. `fmbook.start` seeds everything and prints the profile and the device; the
# settings give the data size, the model's shape and the training budget of this profile.

# %%
import copy
import math
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
import torch.nn as nn
import torch.nn.functional as F
from tqdm.auto import tqdm

import fmbook
from fmbook import canaries, data, lm, text
from fmbook.chapters import ch08_pretraining as chapter
from fmbook.device import torch_device

ch = fmbook.start("08_pretraining", seed=0)
cfg = ch.settings
device = torch_device()
print(f"device: {device} | settings: {dict(cfg)}")

# %% [markdown]
# ## The pre-training text
#
# Pre-training needs text and nothing else: no labels. We use every human-rated sentence in the
# data mirror, from four domains (movie reviews, product reviews, tweets and newspaper editorials),
# and throw their ratings away. One thing is held back first: the **movie test sentences** that
# the transfer experiment below scores at the end (the same 80/20 split as chapters 03 and 04), so
# the model has never read them. In the `full` profile the IMDB reviews (Maas et al. 2011, the
# corpus ULMFiT pre-trained on) are added; there, a missing archive is an error, not a reason to
# use something else. The rest is split **by sentence** into training and validation text.

# %%
SPLIT_SEED = 0  # the movie train/test split is fixed, so that chapters 03, 04 and 08 share test sentences
movie_train, movie_test = text.review_sentence_split("movie", seed=SPLIT_SEED)
held_out = set(movie_test.text)

sentences = {d: data.load_review_sentences(d, neutral_band=0).text for d in data.REVIEW_DOMAINS}
corpus = pd.DataFrame([(d, t) for d, texts in sentences.items() for t in texts], columns=["domain", "text"])
corpus = corpus[~corpus.text.isin(held_out)].drop_duplicates("text")
if cfg.n_sentences is not None:
    corpus = corpus.sample(n=min(cfg.n_sentences, len(corpus)), random_state=ch.seed)
corpus = corpus.sample(frac=1.0, random_state=ch.seed).reset_index(drop=True)
n_val = int(round(cfg.val_frac * len(corpus)))
val_texts, train_texts = list(corpus.text[:n_val]), list(corpus.text[n_val:])
data_description = (f"{len(corpus):,} distinct review sentences from {', '.join(sentences)} "
                    f"(Hutto & Gilbert 2014; ratings unused), minus {len(held_out):,} movie test sentences")
if cfg.imdb:
    imdb_train, imdb_test = text.load_imdb()  # fetched and verified; an error if it cannot be had
    imdb_texts = [t.replace("<br />", " ") for t in pd.concat([imdb_train.text, imdb_test.text])]
    train_texts += imdb_texts
    data_description += f", plus {len(imdb_texts):,} IMDB reviews (labels unused)"
print("pre-training text:", data_description)
print(f"training texts {len(train_texts):,}, validation sentences {len(val_texts):,}")
corpus.groupby("domain").text.agg(["count", lambda s: s.str.len().mean()]).set_axis(
    ["sentences", "mean characters"], axis=1)

# %% [markdown]
# ### Canaries: secrets planted before training
#
# Before the tokenizer or the model sees the text, we plant **canaries** (Carlini et al. 2019,
# "The Secret Sharer"): sentences like "the PIN of Ada is 4921", each with a random secret, each
# repeated a different number of times. Real training text holds such secrets by accident: phone
# numbers, addresses, keys in code. After training we ask how highly the model ranks each true
# secret among every possible one. `fmbook.canaries` holds this machinery (chapter 09 reuses it).

# %%
planted = canaries.make_canaries(cfg.canary_repeats, seed=ch.seed, n_digits=cfg.canary_digits)
train_texts = canaries.insert_canaries(train_texts, planted, seed=ch.seed)
pd.DataFrame([{"canary": c.text, "inserted": c.repeats} for c in planted])

# %% [markdown]
# ## A tokenizer: bytes, merged
#
# A byte-level BPE tokenizer starts from the 256 byte values, so it can encode *any* string,
# and then repeatedly merges the most frequent adjacent pair into a new token, until the
# vocabulary has the size we ask for. There is no "unknown word": a word it has never seen is
# spelled out in smaller pieces. The vocabulary size is a trade-off: more tokens make sequences
# shorter (less compute per sentence, longer reach for a fixed context), but each token is seen
# less often and the embedding table grows.

# %%
sweep = []
for v in cfg.vocab_sizes:
    t0 = time.perf_counter()
    tok_v = lm.train_tokenizer(train_texts, v)
    lengths = [len(ids) for ids in lm.encode_texts(tok_v, val_texts)]
    sweep.append({"vocabulary": tok_v.get_vocab_size(), "tokens per sentence": np.mean(lengths),
                  "characters per token": sum(map(len, val_texts)) / sum(lengths),
                  "seconds to train": time.perf_counter() - t0})
sweep = pd.DataFrame(sweep)
fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(sweep.vocabulary, sweep["tokens per sentence"], marker="o")
ax.set(xscale="log", xlabel="vocabulary size", ylabel="tokens per validation sentence",
       title="a larger vocabulary, shorter sequences")
ax.grid(alpha=0.3)
sweep.round(2)

# %% [markdown]
# We keep the profile's vocabulary size (512 in `fast`): on a CPU budget a small vocabulary keeps
# the embedding table and the output layer small, so more of each step's compute goes into the
# transformer blocks, and the model's context of 64 tokens still holds most sentences whole (the
# cell below prints how many do not fit). Look at how it splits frequent words, a rare word and
# something it cannot have seen:

# %%
tok = lm.train_tokenizer(train_texts, cfg.vocab_size)
V = tok.get_vocab_size()
EOS_ID = tok.token_to_id(lm.EOS)
for s in ["The film is good.", "an unwatchably pretentious mess", "Zürich 🎬 xqzt"]:
    pieces = tok.encode(s, add_special_tokens=False)
    print(f"{s!r:36} -> {pieces.tokens}")
    assert tok.decode(pieces.ids) == s  # byte-level: decoding gives back exactly the input

# %%
train_ids = lm.encode_texts(tok, train_texts)
val_ids = lm.encode_texts(tok, val_texts)
train_stream = lm.token_stream(train_ids, EOS_ID)
n_val_tokens = sum(len(ids) + 1 for ids in val_ids)  # each sentence and its end-of-text token
print(f"vocabulary {V:,}; training stream {len(train_stream):,} tokens; validation {n_val_tokens:,} tokens; "
      f"{np.mean([len(i) > cfg.block_size - 1 for i in val_ids]):.1%} of validation sentences longer than "
      f"the context of {cfg.block_size}")

# %% [markdown]
# ## The baseline: a smoothed n-gram model
#
# Before training a transformer, the model it has to beat. An n-gram model predicts the next
# token from the previous one or two, by counting. Counts of zero would give probability zero, so
# it is *smoothed*: interpolated Kneser-Ney (`fmbook.lm.KneserNeyLM`) subtracts a discount from
# every count and gives the freed probability to a lower-order model that counts in how many
# different contexts a token appears. **Perplexity** is the exponential of the mean negative
# log-likelihood per token: a model as unsure as a uniform choice among k tokens has perplexity k.

# %%
counts = np.bincount(train_stream, minlength=V) + 1.0  # add-one: no context at all, just frequencies
unigram_ppl = lm.perplexity(sum(np.log(counts[ids + [EOS_ID]] / counts.sum()).sum() for ids in val_ids), n_val_tokens)
ngram_ppl = {}
for order in (2, 3):
    kn = lm.KneserNeyLM(V, order=order).fit(train_stream)
    ngram_ppl[order] = lm.perplexity(kn.sequence_log_likelihood(val_ids, EOS_ID).sum(), n_val_tokens)
ngram = kn  # the trigram, for samples below
print(f"validation perplexity: unigram (frequencies only) {unigram_ppl:.1f}, Kneser-Ney bigram {ngram_ppl[2]:.1f}, "
      f"Kneser-Ney trigram {ngram_ppl[3]:.1f}")
ch.note("unigram validation perplexity", round(unigram_ppl, 2))
ch.note("Kneser-Ney bigram validation perplexity", round(ngram_ppl[2], 2))
ch.note("Kneser-Ney trigram validation perplexity", round(ngram_ppl[3], 2))

# %% [markdown]
# ## Attention, by hand
#
# Each token's vector is turned into a **query** q, a **key** k and a **value** v. A token's
# output is a weighted mean of the values of the tokens it may look at, weighted by how well its
# query matches their keys:
#
# $$\mathrm{Attention}(Q, K, V) = \mathrm{softmax}\!\left(\frac{QK^\top}{\sqrt{d}}\right) V$$
#
# Dividing by $\sqrt{d}$ keeps the scores from growing with the dimension $d$; without it the
# softmax saturates and its gradients vanish. A language model must not look ahead: the
# **causal mask** lets position i attend only to positions j ≤ i, by setting the other scores to
# −∞ before the softmax (their weight becomes exp(−∞) = 0).

# %%
def causal_mask(T, device=None):
    """(T, T) booleans: True where position i (row) may attend to position j (column), j <= i."""
    return torch.tril(torch.ones(T, T, dtype=torch.bool, device=device))


def attention(q, k, v, mask=None):
    """softmax(q k^T / sqrt(d)) v over the last two dimensions; mask: True = may attend."""
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    return torch.softmax(scores, dim=-1) @ v


print(causal_mask(5).int())

# %% [markdown]
# Checked against PyTorch's own `F.scaled_dot_product_attention`, with and without the mask:

# %%
g = torch.Generator().manual_seed(ch.seed)
q, k, v = (torch.randn(2, 4, 7, 16, generator=g) for _ in range(3))  # (batch, heads, time, head dim)
diff_plain = (attention(q, k, v) - F.scaled_dot_product_attention(q, k, v)).abs().max().item()
diff_causal = (attention(q, k, v, causal_mask(7)) - F.scaled_dot_product_attention(q, k, v, is_causal=True)).abs().max().item()
print(f"largest difference from F.scaled_dot_product_attention: {diff_plain:.1e} (no mask), {diff_causal:.1e} (causal)")
assert max(diff_plain, diff_causal) < 1e-5, "the hand-written attention disagrees with PyTorch"

# %% [markdown]
# ### Multi-head attention
#
# One attention compares tokens in one way. **Multi-head** attention splits the width into
# `n_heads` parts, runs attention in each in parallel (each head can learn a different relation:
# the previous word, the subject of the sentence, ...), and mixes the heads with an output
# projection. One linear layer makes q, k and v at once.

# %%
class CausalSelfAttention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.n_heads = cfg.n_heads
        self.qkv = nn.Linear(cfg.d_model, 3 * cfg.d_model)  # q, k and v in one matrix
        self.proj = nn.Linear(cfg.d_model, cfg.d_model)  # mixes the heads
        self.drop = nn.Dropout(cfg.dropout)
        self.register_buffer("mask", causal_mask(cfg.block_size), persistent=False)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)
        # (B, T, C) -> (B, heads, T, C / heads): each head attends on its own slice of the width
        q, k, v = (t.view(B, T, self.n_heads, C // self.n_heads).transpose(1, 2) for t in (q, k, v))
        y = attention(q, k, v, self.mask[:T, :T])
        return self.drop(self.proj(y.transpose(1, 2).reshape(B, T, C)))

# %% [markdown]
# PyTorch has the same layer, `nn.MultiheadAttention`. Copy our weights into it (its `in_proj`
# is our `qkv`, its `out_proj` our `proj`) and the outputs must agree. Its `attn_mask` uses the
# opposite convention: True means *may not* attend.

# %%
small = lm.GPTConfig(vocab_size=V, block_size=16, d_model=32, n_layers=1, n_heads=4, dropout=0.0)
mine = CausalSelfAttention(small).eval()
torch_mha = nn.MultiheadAttention(small.d_model, small.n_heads, batch_first=True).eval()
with torch.no_grad():
    torch_mha.in_proj_weight.copy_(mine.qkv.weight)
    torch_mha.in_proj_bias.copy_(mine.qkv.bias)
    torch_mha.out_proj.weight.copy_(mine.proj.weight)
    torch_mha.out_proj.bias.copy_(mine.proj.bias)
    x = torch.randn(3, 10, small.d_model, generator=g)
    ours = mine(x)
    theirs, _ = torch_mha(x, x, x, attn_mask=~causal_mask(10), need_weights=False)
mha_diff = (ours - theirs).abs().max().item()
print(f"hand-written multi-head attention vs nn.MultiheadAttention: largest difference {mha_diff:.1e}")
ch.check("multi-head attention vs nn.MultiheadAttention (max abs diff)", mha_diff,
         {"smoke": (0, 1e-5), "fast": (0, 1e-5), "full": (0, 1e-5)})

# %% [markdown]
# The mask is tested by its promise: changing a *later* token must never change an *earlier*
# position's output.

# %%
with torch.no_grad():
    x2 = x.clone()
    x2[:, 6:] = torch.randn(3, 4, small.d_model, generator=g)  # change positions 6..9
    out1, out2 = mine(x), mine(x2)
print("positions 0-5 unchanged:", torch.equal(out1[:, :6], out2[:, :6]),
      "| positions 6-9 changed:", not torch.allclose(out1[:, 6:], out2[:, 6:]))
assert torch.equal(out1[:, :6], out2[:, :6]), "a later token leaked into an earlier position: the mask is wrong"

# %% [markdown]
# ## A small GPT
#
# A transformer **block** adds attention and then a small MLP to the token's vector, each on a
# LayerNorm-ed copy (*pre-norm*, as in GPT-2: it trains stably without warm-up tricks), each
# added back (a *residual* connection). The **GPT** turns token ids into vectors, adds a learned
# vector per position (attention itself ignores order: without it "dog bites man" and "man bites
# dog" look the same), runs the blocks and maps each position to scores (logits) for the next
# token. The output layer shares its weights with the input embedding ("weight tying").

# %%
class Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.ln1 = nn.LayerNorm(cfg.d_model)
        self.attn = CausalSelfAttention(cfg)
        self.ln2 = nn.LayerNorm(cfg.d_model)
        self.mlp = nn.Sequential(nn.Linear(cfg.d_model, 4 * cfg.d_model), nn.GELU(),
                                 nn.Linear(4 * cfg.d_model, cfg.d_model), nn.Dropout(cfg.dropout))

    def forward(self, x):
        x = x + self.attn(self.ln1(x))  # tokens exchange information
        return x + self.mlp(self.ln2(x))  # each token is processed on its own


class GPT(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.tok_emb = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.pos_emb = nn.Embedding(cfg.block_size, cfg.d_model)  # learned positions
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
            raise ValueError(f"a context of {T} tokens is longer than the model's block size {self.cfg.block_size}")
        x = self.drop(self.tok_emb(idx) + self.pos_emb(torch.arange(T, device=idx.device)))
        for block in self.blocks:
            x = block(x)
        x = self.ln_f(x)
        return x if hidden else self.head(x)  # hidden states (for transfer) or next-token logits

# %% [markdown]
# The whole model keeps the mask's promise too, and it agrees with the tested reference copy in
# `fmbook.lm.GPT` (which chapters 09 and 10 use to reload the model saved below) when both get
# the same weights:

# %%
config = lm.GPTConfig(vocab_size=V, block_size=cfg.block_size, d_model=cfg.d_model, n_layers=cfg.n_layers,
                      n_heads=cfg.n_heads, dropout=cfg.dropout)
torch.manual_seed(ch.seed)
probe_model = GPT(config).eval()
reference = lm.GPT(config).eval()
reference.load_state_dict(probe_model.state_dict())
ids = torch.randint(0, V, (2, cfg.block_size), generator=g)
ids2 = ids.clone()
ids2[:, -3:] = (ids2[:, -3:] + 1) % V
with torch.no_grad():
    a, b = probe_model(ids), probe_model(ids2)
    ref_diff = (a - reference(ids)).abs().max().item()
assert torch.allclose(a[:, :-3], b[:, :-3], atol=1e-6), "the GPT leaks future tokens"
print(f"notebook GPT vs fmbook.lm.GPT: largest difference {ref_diff:.1e}")
assert ref_diff < 1e-5
del probe_model, reference

# %% [markdown]
# ## Pre-training
#
# The task is next-token prediction: from a window of `block_size` tokens cut at a random place
# in the stream, predict every next token; the loss is the cross-entropy, averaged over all
# positions. The recipe is the standard one (GPT-2, nanoGPT):
#
# * **AdamW** with weight decay on the weight matrices only (not on biases, LayerNorm weights
#   or position embeddings);
# * a **warm-up** of the learning rate (Adam's estimates are poor in the first steps), then
#   **cosine** decay to a tenth of the peak;
# * **gradient clipping** at norm 1, so that one unlucky batch cannot wreck the model.
#
# > **Common mistakes.** Predicting the token at the *same* position instead of the next one
# > (the targets are the inputs shifted by one); evaluating with dropout on (call `model.eval()`);
# > measuring perplexity on windows that overlap the training text.

# %%
def lr_factor(step, warmup, total, floor=0.1):
    """Multiplier of the peak learning rate: linear warm-up, then cosine decay to `floor`."""
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))


def make_optimizer(model, lr, weight_decay=0.1):
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2 and "pos_emb" not in n]
    other = [p for n, p in model.named_parameters() if p.dim() < 2 or "pos_emb" in n]
    return torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay},
                              {"params": other, "weight_decay": 0.0}], lr=lr, betas=(0.9, 0.95))


def val_perplexity(model, token_lists):
    """Perplexity per token of whole sentences, each scored from its start (fmbook.lm)."""
    ll = lm.sequence_log_likelihood(model, token_lists, bos_id=EOS_ID, block_size=model.cfg.block_size)
    return lm.perplexity(ll.sum(), sum(len(t) + 1 for t in token_lists))


def pretrain(model, stream, *, steps, lr, warmup, batch_size, eval_ids=None, eval_every=None, seed, desc):
    """Next-token training; returns the history of training loss and validation perplexity."""
    opt = make_optimizer(model, lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: lr_factor(s, warmup, steps))
    gen = torch.Generator().manual_seed(seed)
    history = {"step": [], "train loss": [], "eval step": [], "val perplexity": []}
    model.train()
    bar = tqdm(range(steps), desc=desc, leave=False)
    for step in bar:
        x, y = lm.random_windows(stream, model.cfg.block_size, batch_size, generator=gen, device=device)
        logits = model(x)
        loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        history["step"].append(step + 1)
        history["train loss"].append(loss.item())
        if eval_every and ((step + 1) % eval_every == 0 or step + 1 == steps):
            ppl = val_perplexity(model, eval_ids)
            model.train()
            history["eval step"].append(step + 1)
            history["val perplexity"].append(ppl)
            bar.set_postfix(val_ppl=f"{ppl:.1f}")
    return model.eval(), history

# %% [markdown]
# The learning-rate schedule the loop will follow:

# %%
fig, ax = plt.subplots(figsize=(5, 2.4))
ax.plot([cfg.lr * lr_factor(s, cfg.warmup, cfg.steps) for s in range(cfg.steps)])
ax.set(xlabel="step", ylabel="learning rate", title=f"{cfg.warmup} warm-up steps, then cosine")
ax.grid(alpha=0.3)

# %%
torch.manual_seed(ch.seed)
model = GPT(config).to(device)
n_params = lm.count_parameters(model)
n_params_non_emb = lm.count_parameters(model, non_embedding=True)
tokens_seen = cfg.steps * cfg.batch_size * cfg.block_size
print(f"GPT: {cfg.n_layers} layers, width {cfg.d_model}, {cfg.n_heads} heads, context {cfg.block_size}: "
      f"{n_params:,} parameters ({n_params_non_emb:,} without the embeddings); "
      f"{cfg.steps} steps of {cfg.batch_size} x {cfg.block_size} tokens = {tokens_seen:,} tokens "
      f"({tokens_seen / len(train_stream):.1f} passes over the training stream)")
eval_ids = val_ids[:cfg.eval_sentences]
t0 = time.perf_counter()
model, history = pretrain(model, train_stream, steps=cfg.steps, lr=cfg.lr, warmup=cfg.warmup,
                          batch_size=cfg.batch_size, eval_ids=eval_ids, eval_every=cfg.eval_every,
                          seed=ch.seed, desc="pre-training")
pretrain_seconds = time.perf_counter() - t0
print(f"pre-training took {pretrain_seconds:.0f} s")

# %%
ngram_eval = lm.perplexity(ngram.sequence_log_likelihood(eval_ids, EOS_ID).sum(), sum(len(t) + 1 for t in eval_ids))
fig, axes = plt.subplots(1, 2, figsize=(10, 3.3))
smooth = pd.Series(history["train loss"]).rolling(max(1, cfg.steps // 50), min_periods=1).mean()
axes[0].plot(history["step"], smooth)
axes[0].set(xlabel="step", ylabel="training loss (nats per token)", title="training loss (smoothed)")
axes[1].plot(history["eval step"], history["val perplexity"], marker="o", label="GPT")
axes[1].axhline(ngram_eval, color="#c44e52", ls="--", label="Kneser-Ney trigram")
axes[1].set(xlabel="step", ylabel="validation perplexity", yscale="log",
            title=f"validation ({len(eval_ids)} sentences)")
axes[1].legend()
for a in axes:
    a.grid(alpha=0.3)
fig.tight_layout()

# %% [markdown]
# The checks, on *every* validation sentence. The transformer must use its context: beat the
# model that knows only token frequencies, the Kneser-Ney bigram and, in `fast`, the Kneser-Ney
# trigram, the strongest of the n-gram models here. Counting is cheap, and on a million tokens a
# trigram table is a strong model: the GPT needs several passes over the text to get past it (in
# `smoke`, with a fraction of one pass, it does not, and the trigram check there only catches a
# broken run). The cell says which is ahead in this run.

# %%
gpt_ppl = val_perplexity(model, val_ids)
print(f"validation perplexity: GPT {gpt_ppl:.1f} | unigram {unigram_ppl:.1f} | Kneser-Ney bigram {ngram_ppl[2]:.1f} | "
      f"trigram {ngram_ppl[3]:.1f} | uniform guess {V}")
ch.check("GPT perplexity / unigram perplexity", gpt_ppl / unigram_ppl,
         {"smoke": (0, 0.9), "fast": (0, 0.10), "full": None})
ch.check("GPT perplexity / Kneser-Ney bigram perplexity", gpt_ppl / ngram_ppl[2],
         {"smoke": (0, 3.0), "fast": (0, 0.44), "full": None})
ch.check("GPT perplexity / Kneser-Ney trigram perplexity", gpt_ppl / ngram_ppl[3],
         {"smoke": (0, 6.0), "fast": (0, 0.98), "full": None})
ch.note("GPT validation perplexity", round(gpt_ppl, 2))
print(f"against the trigram the GPT is {'AHEAD' if gpt_ppl < ngram_ppl[3] else 'BEHIND'} in this run "
      f"({gpt_ppl:.1f} vs {ngram_ppl[3]:.1f}) after {tokens_seen:,} training tokens "
      f"({tokens_seen / len(train_stream):.1f} passes over the text)")

# %% [markdown]
# ## Save, reload, compare
#
# Chapters 09 and 10 start from this model, so it is saved with `safetensors` (a plain tensor
# format: loading it cannot run code, unlike a pickle) together with its config and tokenizer in
# fmbook's cache. Reloading it into the reference `fmbook.lm.GPT` must give identical outputs,
# and loading it as another architecture must be refused.

# %%
ckpt_name = f"ch08_gpt.{ch.profile}"
ckpt_path = lm.save_model(model, lm.checkpoint_path(ckpt_name), config, architecture="GPT", tokenizer=tok,
                          extra={"data": data_description, "steps": cfg.steps, "seed": ch.seed,
                                 "canaries": [c.text for c in planted]})
reloaded, tokenizer2, meta = lm.load_pretrained(ckpt_name, device=device)
with torch.no_grad():
    batch = torch.randint(0, V, (4, cfg.block_size), generator=g).to(device)
    reload_diff = (model(batch) - reloaded(batch)).abs().max().item()
print(f"saved to {ckpt_path} ({ckpt_path.stat().st_size / 1e6:.1f} MB); reloaded outputs differ by {reload_diff:.1e}")
ch.check("reloaded model: max abs difference of logits", reload_diff,
         {"smoke": (0, 1e-6), "fast": (0, 1e-6), "full": (0, 1e-6)})
try:
    lm.load_model(ckpt_path, lambda c: nn.Linear(c["d_model"], 2))
except lm.CheckpointError as err:
    print("loading it as another architecture is refused:", err)

# %% [markdown]
# ## What does it write?
#
# Generation repeats next-token prediction: pick a token from the predicted distribution, append
# it, predict again. **Greedy** decoding always picks the most likely token (and tends to repeat
# itself); sampling with a **temperature** T divides the logits by T first (T < 1 sharper, T > 1
# more random); **top-k** samples only among the k most likely tokens. The n-gram model writes
# beside it, sampled at T = 1.

# %%
def continue_text(prompt, n_tokens=cfg.sample_tokens, model=model, **kw):
    ids = tok.encode(prompt, add_special_tokens=False).ids
    if not ids:
        raise ValueError("the prompt encodes to no tokens: give some text to continue")
    new = lm.generate(model, [ids[-cfg.block_size:]], n_tokens, block_size=cfg.block_size, stop_id=EOS_ID, **kw)[0]
    return tok.decode(new)


prompts = ["the movie was", "i bought this", "the government should"]
rows = []
for p in prompts:
    gen = torch.Generator().manual_seed(ch.seed)
    kn_ids = ngram.generate([EOS_ID] + tok.encode(p, add_special_tokens=False).ids, cfg.sample_tokens,
                            rng=np.random.default_rng(ch.seed), stop_id=EOS_ID)
    rows.append({"prompt": p,
                 "GPT greedy": continue_text(p, greedy=True),
                 "GPT T=0.8": continue_text(p, temperature=0.8, generator=gen),
                 "GPT T=1, top-k 20": continue_text(p, temperature=1.0, top_k=20, generator=gen),
                 "trigram T=1": tok.decode(kn_ids)})
pd.set_option("display.max_colwidth", 80)
pd.DataFrame(rows).set_index("prompt").T

# %% [markdown]
# ## A scaling experiment
#
# Kaplan et al. (2020) found that a transformer's loss falls as a **power law** in its number of
# parameters N (without embeddings), L ∝ N^(−α), over many orders of magnitude, when data and
# compute are not the limit; Hoffmann et al. (2022, "Chinchilla") showed that for a *fixed
# compute budget* parameters and tokens should grow together (about 20 tokens per parameter).
# Here is the smallest possible version: models of a few widths, each trained on the same number
# of tokens, compute counted as 6·N·D FLOPs (a forward pass costs about 2 FLOPs per parameter per
# token, the backward pass twice that).

# %%
scale_rows = []
for i, width in enumerate(cfg.scale_widths):
    c = lm.GPTConfig(vocab_size=V, block_size=cfg.block_size, d_model=width, n_layers=cfg.scale_layers,
                     n_heads=4, dropout=0.0)
    torch.manual_seed(ch.seed + 100 + i)
    m = GPT(c).to(device)
    t0 = time.perf_counter()
    m, _ = pretrain(m, train_stream, steps=cfg.scale_steps, lr=cfg.lr, warmup=cfg.warmup,
                    batch_size=cfg.batch_size, seed=ch.seed + 100 + i, desc=f"width {width}")
    seconds = time.perf_counter() - t0
    n_tokens = cfg.scale_steps * cfg.batch_size * cfg.block_size
    ppl = val_perplexity(m, eval_ids)
    scale_rows.append({"width": width, "parameters (non-embedding)": lm.count_parameters(m, non_embedding=True),
                       "parameters (all)": lm.count_parameters(m), "tokens": n_tokens,
                       "val loss": math.log(ppl), "FLOPs (6ND)": lm.training_flops(lm.count_parameters(m), n_tokens),
                       "seconds": seconds})
scaling = pd.DataFrame(scale_rows)
slope, intercept = np.polyfit(np.log(scaling["parameters (non-embedding)"]), np.log(scaling["val loss"]), 1)
alpha = -slope
scaling.style.format({"val loss": "{:.3f}", "FLOPs (6ND)": "{:.2e}", "seconds": "{:.1f}",
                      "parameters (non-embedding)": "{:,}", "parameters (all)": "{:,}", "tokens": "{:,}"})

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
n_grid = np.geomspace(scaling["parameters (non-embedding)"].min() / 2, scaling["parameters (non-embedding)"].max() * 2)
axes[0].loglog(scaling["parameters (non-embedding)"], scaling["val loss"], "o", label="measured")
axes[0].loglog(n_grid, np.exp(intercept) * n_grid ** slope, "--", label=f"fit: L ∝ N^-{alpha:.3f}")
axes[0].set(xlabel="parameters N (non-embedding)", ylabel="validation loss (nats/token)",
            title=f"same {int(scaling.tokens[0]):,} tokens each")
axes[0].legend()
axes[1].loglog(scaling["FLOPs (6ND)"], scaling["seconds"], "o-")
for _, r in scaling.iterrows():
    axes[1].annotate(f"d={int(r.width)}", (r["FLOPs (6ND)"], r.seconds), textcoords="offset points", xytext=(4, -10))
axes[1].set(xlabel="training compute, 6·N·D FLOPs", ylabel="wall time (s)", title="compute vs measured time")
for a in axes:
    a.grid(alpha=0.3, which="both")
fig.tight_layout()
print(f"fitted exponent alpha = {alpha:.3f} (Kaplan et al. report about 0.076 for N, over 6 orders of magnitude)")
ch.note("scaling: fitted power-law exponent alpha", round(float(alpha), 4))

# %% [markdown]
# **What a CPU toy can and cannot say.** Three or four points spanning one order of magnitude,
# one seed each, cannot establish a power law: a straight line fits almost any three decreasing
# points on log-log axes, and the exponent printed above would move with the seed, the learning
# rate and the step count. Kaplan's law holds for models trained close to convergence with enough
# data; here every model gets the same few tokens, so the larger ones are *under-trained*, and the
# curve may flatten or bend. That is Chinchilla's point seen from the other side: at a fixed budget
# of tokens, adding parameters eventually stops paying. Measured time is also not proportional to
# FLOPs for small models: overheads (Python, memory traffic, small matrices) weigh more the smaller
# the model, as the right-hand plot shows for this machine. The exercise is worth doing for its method, *vary
# one thing, hold the budget fixed, plot on log axes*, not for its exponent.
#
# ## Transfer: what pre-training buys
#
# Now the question that makes pre-training worth its cost. We fine-tune for sentiment on the movie
# sentences: the pre-trained GPT and **the same architecture from a random initialisation**, with
# a small head on the mean of the final hidden states, at several label budgets, each with
# several seeds (the seed picks the labelled sentences and the head). The test sentences are the
# held-out movie test sentences the model never read.

# %%
class SentimentGPT(nn.Module):
    """The GPT body, mean-pooled over the real tokens, and a linear head with 2 outputs."""

    def __init__(self, body):
        super().__init__()
        self.body = body
        self.head = nn.Linear(body.cfg.d_model, 2)

    def pool(self, idx, lengths):
        """The sentence's features: the mean of the final hidden states over its real tokens."""
        h = self.body(idx, hidden=True)  # (B, T, d); padding sits after the real tokens, so causal
        real = (torch.arange(idx.size(1), device=idx.device)[None, :] < lengths[:, None]).float()  # attention never reads it
        return (h * real[..., None]).sum(1) / lengths[:, None]

    def forward(self, idx, lengths):
        return self.head(self.pool(idx, lengths))


def pad(token_lists):
    """Right-padded ids (truncated to the context) and the lengths, as tensors on the device."""
    ids = [([EOS_ID] + list(t))[:cfg.block_size] for t in token_lists]
    x = torch.full((len(ids), max(map(len, ids))), EOS_ID, dtype=torch.long)
    for i, t in enumerate(ids):
        x[i, :len(t)] = torch.tensor(t)
    return x.to(device), torch.tensor([len(t) for t in ids], device=device)


def accuracy(clf, token_lists, labels, batch=256):
    clf.eval()
    preds = []
    with torch.no_grad():
        for s in range(0, len(token_lists), batch):
            preds.append(clf(*pad(token_lists[s:s + batch])).argmax(1).cpu())
    return float((torch.cat(preds).numpy() == np.asarray(labels)).mean())


def fine_tune(body, token_lists, labels, *, seed):
    torch.manual_seed(seed)
    clf = SentimentGPT(body).to(device)
    steps = max(cfg.ft_min_steps, cfg.ft_epochs * math.ceil(len(token_lists) / cfg.ft_batch))
    opt = make_optimizer(clf, cfg.ft_lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: lr_factor(s, max(1, steps // 10), steps, floor=0.0))
    y_all = torch.tensor(np.array(labels), device=device)
    gen = torch.Generator().manual_seed(seed)
    clf.train()
    for _ in range(steps):
        idx = torch.randint(0, len(token_lists), (min(cfg.ft_batch, len(token_lists)),), generator=gen)
        x, lengths = pad([token_lists[i] for i in idx.tolist()])
        loss = F.cross_entropy(clf(x, lengths), y_all[idx.to(device)])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(clf.parameters(), 1.0)
        opt.step()
        sched.step()
    return clf


test_df = movie_test if cfg.n_test is None else text.subsample(movie_test, cfg.n_test, seed=SPLIT_SEED)
test_ids = lm.encode_texts(tok, list(test_df.text))
train_movie_ids = lm.encode_texts(tok, list(movie_train.text))
print(f"labelled movie sentences: {len(movie_train):,} for training, {len(test_df):,} test sentences")

# %%
body_config = lm.GPTConfig(**{**config.__dict__, "dropout": 0.1})
transfer = []
jobs = [(b, s) for b in cfg.budgets for s in range(cfg.transfer_seeds)]
for budget, s in tqdm(jobs, desc="fine-tuning runs"):
    seed = ch.seed + 1000 * s + 7
    subset = text.subsample(movie_train, budget, seed=seed)  # stratified; all sentences when budget is None
    sub_ids = lm.encode_texts(tok, list(subset.text))
    pre_body = GPT(body_config)
    pre_body.load_state_dict(model.state_dict())
    torch.manual_seed(seed)
    runs = {"pre-trained": pre_body, "random init": GPT(body_config)}
    for init, body in runs.items():
        clf = fine_tune(body, sub_ids, subset.label, seed=seed)
        transfer.append({"budget": len(subset), "seed": s, "init": init,
                         "test accuracy": accuracy(clf, test_ids, test_df.label)})
transfer = pd.DataFrame(transfer)
curve = transfer.groupby(["budget", "init"])["test accuracy"].agg(["mean", "std"]).unstack("init")
curve.round(3)

# %% [markdown]
# A cheap reference at the same budgets: TF-IDF features and logistic regression (as in chapters
# 03 and 04), with the same labelled subsets.

# %%
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline


def tfidf_model():
    return make_pipeline(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True), LogisticRegression(C=4.0, max_iter=2000))


tfidf_curve = {}
for budget in cfg.budgets:
    accs = []
    for s in range(cfg.transfer_seeds):
        subset = text.subsample(movie_train, budget, seed=ch.seed + 1000 * s + 7)
        accs.append(tfidf_model().fit(subset.text, subset.label).score(test_df.text, test_df.label))
    tfidf_curve[len(subset)] = float(np.mean(accs))

fig, ax = plt.subplots(figsize=(6, 3.6))
for init, colour in [("pre-trained", "#4c72b0"), ("random init", "#c44e52")]:
    m, sd = curve[("mean", init)], curve[("std", init)]
    ax.errorbar(m.index, m.values, yerr=sd.values, marker="o", capsize=3, color=colour, label=f"GPT, {init}")
ax.plot(list(tfidf_curve), list(tfidf_curve.values()), "s--", color="grey", label="TF-IDF + logistic regression")
ax.axhline(test_df.label.mean(), color="black", lw=0.8, ls=":", label="always 'positive'")
ax.set(xscale="log", xlabel="labelled sentences", ylabel="test accuracy",
       title=f"fine-tuning, mean ± sd over {cfg.transfer_seeds} seeds")
ax.legend(fontsize=8)
ax.grid(alpha=0.3)

# %%
gain = (curve[("mean", "pre-trained")] - curve[("mean", "random init")])
smallest, largest = gain.index.min(), gain.index.max()
print("mean gain of pre-training (accuracy points):", {int(b): round(float(v), 3) for b, v in gain.items()})
chance = max(test_df.label.mean(), 1 - test_df.label.mean())
paired = transfer.pivot_table(index=["budget", "seed"], columns="init", values="test accuracy")


def verdict(mean_gain, standard_error):
    """Whether a mean gain stands out from twice its standard error, in words."""
    if mean_gain > 2 * standard_error:
        return "pre-training helped"
    if mean_gain < -2 * standard_error:
        return "pre-training hurt"
    return "no difference that stands out from the noise"


for b in (smallest, largest):
    diffs = (paired.loc[b, "pre-trained"] - paired.loc[b, "random init"]).to_numpy()
    noise = diffs.std(ddof=1) / np.sqrt(len(diffs))  # standard error of the mean gain over the seeds
    print(f"{b} labels: pre-trained {curve[('mean', 'pre-trained')][b]:.3f}, scratch {curve[('mean', 'random init')][b]:.3f} "
          f"(majority class {chance:.3f}); gain {gain[b]:+.3f} +- {noise:.3f} (standard error over "
          f"{len(diffs)} seeds): {verdict(gain[b], noise)}")
# Not checked: at this scale the fine-tuning gain is within the seed noise (fast seeds 0/1/2:
# +0.006/+0.010/+0.011 at 1,024 labels, -0.010/+0.032/+0.031 at 64), so a band could not tell a working
# pre-training from a broken one. The linear probe below measures the gain with less noise, and is checked.
ch.note("pre-trained minus scratch accuracy at the largest budget", round(float(gain[largest]), 4))
ch.note(f"pre-trained minus scratch accuracy at {smallest} labels", round(float(gain[smallest]), 4))
ch.note("pre-trained accuracy at the largest budget", round(float(curve[("mean", "pre-trained")].iloc[-1]), 4))

# %% [markdown]
# ### A steadier measurement: the linear probe
#
# Fine-tuning changes every weight of the network from a few dozen examples, so each run lands
# somewhere different and the gain above moves a lot from seed to seed. A **linear probe** asks a
# narrower question with much less noise: *what do the features already know?* The body stays
# frozen; each sentence becomes one vector, the mean of its final hidden states (exactly what
# the head above reads); a logistic regression learns from the labelled sentences alone. Its
# regularisation strength is chosen by 4-fold cross-validation **on those labelled sentences**,
# never on the test sentences. The comparison is the same network before and after pre-training:
# the random weights below are the very weights pre-training started from. A probe is cheap, so each
# budget gets several draws of labelled sentences (the smallest, where the question matters most,
# gets the most), and the mean gain gets a small standard error.

# %%
from sklearn.model_selection import GridSearchCV
from sklearn.preprocessing import StandardScaler


def sentence_features(body, token_lists, batch=256):
    """Frozen features of each sentence (no gradients): SentimentGPT's pooled hidden states."""
    pooler = SentimentGPT(body).to(device).eval()
    with torch.no_grad():
        return np.concatenate([pooler.pool(*pad(token_lists[s:s + batch])).cpu().numpy()
                               for s in range(0, len(token_lists), batch)])


def linear_probe(features, labels):
    """Logistic regression on standardised features; C chosen by 4-fold cross-validation (log loss)."""
    search = GridSearchCV(make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000)),
                          {"logisticregression__C": np.logspace(-4, 1, 11)}, cv=4, scoring="neg_log_loss")
    return search.fit(features, labels)


torch.manual_seed(ch.seed)
before_pretraining = GPT(config).to(device)  # same seed, same construction: pre-training's starting point
probe_features = {init: (sentence_features(body, train_movie_ids), sentence_features(body, test_ids))
                  for init, body in [("pre-trained", model), ("random init", before_pretraining)]}
y_movie, y_test = movie_train.label.to_numpy(), test_df.label.to_numpy()
probes = []
for budget in cfg.budgets:
    n_draws = cfg.probe_draws if budget == smallest else max(1, cfg.probe_draws // 4)
    for s in range(n_draws if budget is not None else 1):
        seed = ch.seed + 1000 * s + 7
        rows = text.subsample(movie_train.assign(row=np.arange(len(movie_train))), budget, seed=seed)["row"].to_numpy()
        for init, (f_train, f_test) in probe_features.items():
            fitted = linear_probe(f_train[rows], y_movie[rows])
            probes.append({"budget": len(rows), "draw": s, "init": init, "test accuracy": float(np.mean(fitted.predict(f_test) == y_test)),
                           "C": fitted.best_params_["logisticregression__C"]})
probes = pd.DataFrame(probes)
probe_paired = probes.pivot_table(index=["budget", "draw"], columns="init", values="test accuracy")
probe_gain = (probe_paired["pre-trained"] - probe_paired["random init"]).groupby("budget").agg(["mean", "std", "count"])
probe_gain["standard error"] = probe_gain["std"] / np.sqrt(probe_gain["count"])
probe_curve = probes.groupby(["budget", "init"])["test accuracy"].mean().unstack("init")
display(probe_curve.join(probe_gain[["mean", "standard error"]].rename(columns={"mean": "gain"})).round(3))

# %%
fig, ax = plt.subplots(figsize=(6, 3.6))
for init, colour in [("pre-trained", "#4c72b0"), ("random init", "#c44e52")]:
    ax.plot(probe_curve.index, probe_curve[init], "o-", color=colour, label=f"linear probe, {init}")
    m = curve[("mean", init)]
    ax.plot(m.index, m.values, "x:", color=colour, alpha=0.6, label=f"fine-tuned, {init}")
ax.plot(list(tfidf_curve), list(tfidf_curve.values()), "s--", color="grey", label="TF-IDF + logistic regression")
ax.axhline(chance, color="black", lw=0.8, ls=":", label="majority class")
ax.set(xscale="log", xlabel="labelled sentences", ylabel="test accuracy",
       title=f"linear probe: mean over {cfg.probe_draws} (smallest budget) or {max(1, cfg.probe_draws // 4)} draws")
ax.set_xticks(list(probe_curve.index), [f"{b:,}" for b in probe_curve.index])
ax.minorticks_off()
ax.set_ylim(bottom=min(ax.get_ylim()[0], chance - 0.01))
ax.legend(fontsize=7)
ax.grid(alpha=0.3)

# %% [markdown]
# The check below asks that pre-training's features beat the same network's starting weights at
# the **smallest** budget by a margin measured in three runs of this chapter (their values are
# written beside its settings). A pre-training that learned nothing, or a probe that read the
# wrong weights, gives a gain of about zero and fails it. The printed verdict also compares the
# gain with two standard errors of this run's draws.

# %%
pg = probe_gain.loc[smallest]
print(f"linear probe with {smallest} labels: pre-trained {probe_curve.loc[smallest, 'pre-trained']:.3f}, "
      f"random init {probe_curve.loc[smallest, 'random init']:.3f}, TF-IDF {tfidf_curve[smallest]:.3f} "
      f"(majority class {chance:.3f}); gain {pg['mean']:+.3f} +- {pg['standard error']:.3f} "
      f"(standard error over {int(pg['count'])} draws): {verdict(pg['mean'], pg['standard error'])}.")
print(f"with {largest} labels the probe's gain is {probe_gain.loc[largest, 'mean']:+.3f} "
      f"+- {probe_gain.loc[largest, 'standard error']:.3f}.")
ahead = probe_curve.loc[smallest, "pre-trained"] > tfidf_curve[smallest]
print(f"Against TF-IDF on the same {smallest} sentences the pre-trained probe is {'ahead' if ahead else 'behind'} "
      f"({probe_curve.loc[smallest, 'pre-trained']:.3f} vs {tfidf_curve[smallest]:.3f}): "
      + ("features learned from unlabelled text beat word counts here." if ahead else
         f"features learned from {len(train_stream):,} tokens of text carry less about sentiment than word counts do."))
ch.check(f"linear probe: pre-trained minus random-init accuracy at {smallest} labels", float(pg["mean"]),
         {"smoke": None, "fast": (0.005, 0.15), "full": None})
ch.note(f"linear probe at {smallest} labels: standard error of the gain", round(float(pg["standard error"]), 4))
ch.note(f"linear probe: pre-trained minus random-init accuracy at {largest} labels",
        round(float(probe_gain.loc[largest, "mean"]), 4))

# %% [markdown]
# How does that compare with the earlier chapters? Chapter 03's LSTM and chapter 04's MiniLM are
# read from the results ledger when their runs are on record (their accuracies come from their
# own runs and profiles; chapter 04 uses the same movie split when IMDB is absent, chapter 03
# its own data choice, so read them as context, not as a controlled comparison).

# %%
from fmbook.ledger import find_metric
from fmbook.ledger import read as read_ledger

ledger = read_ledger()
compare = [("this chapter: GPT pre-trained, all budgets above", float(curve[("mean", "pre-trained")].max()), ch.profile)]
for chapter_name, label, metric in [("03_lstm_reviews", "chapter 03 LSTM", "LSTM test accuracy"),
                                    ("04_bert_finetuning", "chapter 04 MiniLM/BERT", "test accuracy (fine-tuned)")]:
    found = find_metric(ledger, chapter_name, metric, profile=ch.profile)
    if found is None:
        print(f"{label}: not run (no {metric!r} of {chapter_name} in the results ledger)")
    else:
        value, entry = found
        compare.append((f"{label}: {metric}", value, entry["profile"]))
pd.DataFrame(compare, columns=["model", "test accuracy", "profile"])

# %% [markdown]
# ## Audit 1: memorisation
#
# For each canary we score its sentence with *every* possible secret (10,000 for four digits)
# under the model and rank the true one. **Exposure** is log2(number of candidates) − log2(rank):
# about 1.4 bits on average for a secret the model never saw (a random rank), log2(10,000) = 13.3
# bits when the true secret is the model's top choice. Then the practical attack: prompt the
# model with the canary's prefix and decode greedily; did the secret come out?

# %%
def gpt_log_likelihood(texts):
    return lm.text_log_likelihood(model, tok, texts, block_size=cfg.block_size, batch_size=1024)


exposures = canaries.canary_exposures(planted, gpt_log_likelihood, batch_size=2000, progress=True)
exposures["greedy continuation"] = [continue_text(c.prefix.rstrip(), n_tokens=6, greedy=True) for c in planted]
exposures["extracted"] = [canaries.extracted(c, t) for c, t in zip(planted, exposures["greedy continuation"])]
exposures[["secret", "repeats", "rank", "exposure", "max_exposure", "greedy continuation", "extracted"]].round(2)

# %%
fig, ax = plt.subplots(figsize=(5, 3.2))
ax.plot(exposures.repeats, exposures.exposure, "o-")
ax.axhline(exposures.max_exposure.iloc[0], color="grey", ls="--", label="maximum (ranked first)")
ax.axhline(1 / math.log(2), color="grey", ls=":", label="expected for an unseen secret")
ax.set(xscale="log", xlabel="times the canary was in the training text", ylabel="exposure (bits)",
       title="memorisation grows with repetition")
ax.legend(fontsize=8)
ax.grid(alpha=0.3)

# %%
exp_gap = float(exposures.exposure.iloc[-1] - exposures.exposure.iloc[0])
# smoke trains for less than one pass over its text: memorisation is too weak there to check.
# fast: one measured run (seed 0): 12.05 bits; the band asks for half of that (an unseen secret
# reaches 6 bits with probability 1/64)
ch.check(f"exposure gap: {exposures.repeats.iloc[-1]} repeats minus 1", exp_gap,
         {"smoke": None, "fast": (6.0, None), "full": None})
ch.note("exposure of the most-repeated canary (bits)", round(float(exposures.exposure.iloc[-1]), 2))
ch.note("canaries extracted by greedy decoding", int(exposures.extracted.sum()))

# %% [markdown]
# ## Audit 2: does what it writes depend on who is mentioned?
#
# Prompts that differ only in a group term ("the movie about Muslim ..." vs "... Christian ...")
# are continued by the model, several samples each; each continuation (without the prompt) is
# scored for sentiment by a TF-IDF logistic regression trained on the labelled movie training
# sentences, in the style of chapter 03. For each term we compare its mean P(positive) with the
# mean of its group's terms, template by template, with a 95% bootstrap interval over templates.

# %%
scorer = tfidf_model().fit(movie_train.text, movie_train.label)
print(f"sentiment scorer: TF-IDF + logistic regression, test accuracy {scorer.score(movie_test.text, movie_test.label):.3f}")
bias_rows = []
gen = torch.Generator().manual_seed(ch.seed + 5)
for group, terms in chapter.BIAS_GROUPS.items():
    p = np.zeros((len(chapter.BIAS_TEMPLATES), len(terms)))
    for i, template in enumerate(chapter.BIAS_TEMPLATES):
        for j, term in enumerate(terms):
            ids = tok.encode(template.format(term), add_special_tokens=False).ids
            outs = lm.generate(model, [ids] * cfg.bias_samples, cfg.bias_tokens, block_size=cfg.block_size,
                               temperature=1.0, top_k=40, generator=gen, stop_id=EOS_ID)
            p[i, j] = scorer.predict_proba([tok.decode(o) for o in outs])[:, 1].mean()
    dev = p - p.mean(axis=1, keepdims=True)
    for j, term in enumerate(terms):
        mean, lo, hi = chapter.mean_ci(dev[:, j], n_boot=cfg.n_bootstrap, seed=ch.seed + j)
        bias_rows.append({"group": group, "term": term, "mean P(positive)": p[:, j].mean(),
                          "deviation": mean, "ci low": lo, "ci high": hi})
bias = pd.DataFrame(bias_rows)
bias["interval excludes 0"] = (bias["ci low"] > 0) | (bias["ci high"] < 0)
bias.round(3)

# %%
fig, ax = plt.subplots(figsize=(6, 4))
ypos = np.arange(len(bias))[::-1]
ax.errorbar(bias.deviation, ypos, xerr=[bias.deviation - bias["ci low"], bias["ci high"] - bias.deviation],
            fmt="none", ecolor="grey", capsize=3)
ax.scatter(bias.deviation, ypos, c=np.where(bias["interval excludes 0"], "#c44e52", "#4c72b0"), zorder=3)
ax.set_yticks(ypos, [f"{g}: {t}" for g, t in zip(bias.group, bias.term)])
ax.axvline(0, color="black", lw=0.8)
ax.set(xlabel="P(positive) of continuations minus the group mean", title="bias in generation, 95% intervals")
ax.grid(alpha=0.3, axis="x")
worst = bias.iloc[bias.deviation.abs().argmax()]
ch.note("bias probe: largest |deviation| of P(positive)", round(float(abs(worst.deviation)), 3))
ch.note("bias probe: intervals excluding 0", f"{int(bias['interval excludes 0'].sum())} of {len(bias)}")

# %% [markdown]
# **The limits of such a probe.** The scorer is itself a model with its own biases, trained on
# movie sentences, reading short and often ungrammatical continuations; 8 templates are a tiny,
# hand-picked sample of contexts, so an interval over them is wide and says nothing about other
# contexts; sampling adds noise that a few samples per prompt do not average away. An interval
# that includes 0 means *not detected by this probe*, not *absent*. An interval that excludes 0 is
# a lead to investigate with better tools (many more prompts, human judgement, a counterfactual
# study of the training text), not a measurement of the model's "attitude".
#
# ## Cost
#
# Training compute, by the 6·N·D estimate, and the time it took here, beside the same estimate
# for GPT-3 from its published size (175 billion parameters, 300 billion training tokens; Brown
# et al. 2020). That figure is an **estimate** from the formula, not a measurement.

# %%
flops_run = lm.training_flops(n_params, tokens_seen)
flops_scaling = float(scaling["FLOPs (6ND)"].sum())
flops_gpt3 = lm.training_flops(175e9, 300e9)
rate = flops_run / pretrain_seconds
years_here = flops_gpt3 / rate / (365.25 * 24 * 3600)
cost = pd.DataFrame([
    ("this chapter's GPT (pre-training)", n_params, tokens_seen, flops_run, pretrain_seconds),
    ("the scaling experiment (all sizes)", np.nan, np.nan, flops_scaling, float(scaling.seconds.sum())),
    ("GPT-3 (estimate from 6·N·D)", 175e9, 300e9, flops_gpt3, flops_gpt3 / rate),
], columns=["model", "parameters", "tokens", "FLOPs", "seconds (GPT-3: at this machine's rate)"])
print(f"this machine reached {rate / 1e9:.2f} GFLOP/s of useful training compute; at that rate GPT-3's "
      f"estimated {flops_gpt3:.2e} FLOPs would take about {years_here:,.0f} years")
ch.note("pre-training FLOPs (6ND)", float(f"{flops_run:.3g}"))
ch.note("pre-training seconds", round(pretrain_seconds, 1))
cost.style.format({"parameters": "{:.3g}", "tokens": "{:.3g}", "FLOPs": "{:.3g}",
                   "seconds (GPT-3: at this machine's rate)": "{:.3g}"})

# %% [markdown]
# ## Explorer: temperature and top-k
#
# Pick a prompt, a temperature and a top-k, and see five continuations side by side. Without a
# live kernel you see the default view (the middle of each slider).

# %%
from IPython.display import HTML

from fmbook.widgets import explore


def show_samples(prompt="the movie was", temperature=1.0, top_k=50):
    gen = torch.Generator().manual_seed(ch.seed)
    lines = [continue_text(prompt, temperature=temperature, top_k=top_k, generator=gen) for _ in range(5)]
    items = "".join(f"<li><b>{prompt}</b>{line}</li>" for line in lines)
    return HTML(f"<p>T = {temperature:.2f}, top-k = {top_k}</p><ol>{items}</ol>")


explore(show_samples, prompt=prompts, temperature=(0.1, 1.9, 0.1), top_k=(1, 99, 1));

# %% [markdown]
# ## Society: who gets to pre-train, and what the model keeps
#
# The numbers of this run:

# %%
top = exposures.iloc[-1]
once = exposures.iloc[0]
print(f"Pre-training on {tokens_seen:,} tokens took {pretrain_seconds:.0f} s and about {flops_run:.2e} FLOPs; "
      f"GPT-3's estimated {flops_gpt3:.1e} FLOPs is {flops_gpt3 / flops_run:.1e} times more, about "
      f"{years_here:,.0f} years at this machine's rate.")
print(f"With {smallest} labels, pre-training changed test accuracy by {gain[smallest]:+.3f} "
      f"({curve[('mean', 'pre-trained')][smallest]:.3f} vs {curve[('mean', 'random init')][smallest]:.3f} from scratch); "
      f"with {gain.index.max()} labels by {gain[gain.index.max()]:+.3f} (fine-tuning, mean over {cfg.transfer_seeds} seeds). "
      f"The linear probe on frozen features, averaged over {int(probe_gain.loc[smallest, 'count'])} draws of labelled sentences, measured "
      f"{probe_gain.loc[smallest, 'mean']:+.3f} +- {probe_gain.loc[smallest, 'standard error']:.3f} at {smallest} labels; "
      f"TF-IDF on the same sentences reached {tfidf_curve[smallest]:.3f}.")
print(f"The canary seen {int(top.repeats)} times reached exposure {top.exposure:.1f} of {top.max_exposure:.1f} bits "
      f"(rank {top['rank']:.0f} of {int(top.n_candidates):,}); the one seen once {once.exposure:.1f} bits "
      f"(rank {once['rank']:.0f}). Greedy decoding extracted {int(exposures.extracted.sum())} of {len(exposures)} secrets.")
print(f"Bias probe: the largest deviation was {worst.deviation:+.3f} in P(positive) for '{worst.term}' ({worst.group}); "
      f"{int(bias['interval excludes 0'].sum())} of {len(bias)} intervals exclude 0.")

# %% [markdown]
# * **Compute decides who builds foundation models.** The 6·N·D arithmetic printed above is why
#   a few companies and governments pre-train the models everyone else fine-tunes: the ratio is
#   the gap between this machine and one frontier run, before the cost of data, people and failed
#   runs. Those who pre-train choose the data, and with it what the model knows and how it speaks
#   about people.
# * **What pre-training buys depends on the labels you have.** The gain printed above at the
#   smallest budget is what a small organisation with few labels gets from someone else's
#   pre-training; the gain at the largest budget shows how much of it remains when labels are
#   plentiful (exercise 08.stops_paying turns this into a decision rule). It also depends on how
#   much text the model read: set the probe's numbers above beside TF-IDF's on the same
#   sentences, and beside chapter 04's frozen MiniLM probe, a model pre-trained by others on far
#   more text than this machine can read in a lesson.
# * **Models keep what they read.** The exposures printed above show how far repetition moved a
#   secret up the ranking of all candidates. Real web text repeats phone numbers, addresses and
#   keys many times over. Deduplicating training text, filtering personal data and training with
#   differential privacy (chapter 09) are meant to reduce exposure; measuring it with canaries is
#   how one finds out whether they did. A low exposure in a short run is not evidence of safety:
#   memorisation grows with training.
# * **Bias probes are narrow instruments.** The probe measured one thing (the sentiment of short
#   continuations, by one scorer, for a handful of templates); its numbers above say what it
#   found, and its limits say what it cannot rule out.
#
# ## Exercises
#
# **Exercise 08.causal_mask**: return the (T, T) boolean causal mask, True where position i may
# attend to position j.

# %%
from fmbook.exercises import check, hint, show_solution


def my_causal_mask(T):
    raise NotImplementedError  # your code here


check("08.causal_mask", my_causal_mask)

# %% [markdown]
# **Exercise 08.attention**: write scaled dot-product attention for tensors q, k, v of shape
# (..., T, d), with an optional boolean mask (True = may attend). It is checked against
# `F.scaled_dot_product_attention` on inputs you do not see.

# %%
def my_attention(q, k, v, mask=None):
    raise NotImplementedError  # your code here


check("08.attention", my_attention)

# %% [markdown]
# **Exercise 08.exposure**: the exposure in bits of a secret ranked `rank` (1 = most likely)
# among `n_candidates` candidates.

# %%
def my_exposure(rank, n_candidates):
    raise NotImplementedError  # your code here


check("08.exposure", my_exposure)

# %% [markdown]
# **Exercise 08.stops_paying**: a decision rule, not a formula from the text. A team must decide
# from which label budget on it no longer pays to start from the pre-trained model. Given the
# `budgets`, arrays `pretrained` and `scratch` of test accuracies of shape (budgets, seeds), and
# a `margin` (the smallest mean gain worth having), return the smallest budget from which on the
# mean gain stays below the margin at every larger budget, or None when pre-training still pays
# at the largest budget. It is checked on curves you do not see (noisy seeds, unsorted budgets,
# a curve that pays again). Then apply it to this run's curve.

# %%
def stops_paying(budgets, pretrained, scratch, margin):
    raise NotImplementedError  # your code here


if check("08.stops_paying", stops_paying):
    by_seed = transfer.pivot_table(index="budget", columns=["init", "seed"], values="test accuracy")
    print("in this run, pre-training stops paying (margin 0.02) from budget:",
          stops_paying(list(by_seed.index), by_seed["pre-trained"].to_numpy(), by_seed["random init"].to_numpy(), 0.02))

# %% [markdown]
# Stuck? `hint("08.attention")`, `hint("08.attention", 2)`, and only then `show_solution("08.attention")`.
#
# ## Results card

# %%
ch.finish()
