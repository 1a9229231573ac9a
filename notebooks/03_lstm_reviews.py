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
# # Chapter 03: An LSTM for movie-review sentiment, and why it loses here
#
# A foundation model reads text as a sequence of tokens. Before transformers, the standard
# sequence reader was the **LSTM**, a recurrent network that reads one token at a time and keeps
# a memory. In this chapter you open up one LSTM step and write it in NumPy, build the network in
# Keras for movie-review sentiment, and measure it against a bag-of-words baseline that ignores
# word order. In our runs the bag of words wins on these short sentences (table below). The second
# half of the chapter asks why, with experiments rather than guesses, and then takes the model *out of its domain*
# (product reviews, tweets) to see whose texts it misreads.
#
# You will:
#
# 1. explore the reviews (lengths, vocabulary, examples) and set the number to beat with TF-IDF;
# 2. write one LSTM step in NumPy from the equations and check it against Keras' own layer;
# 3. train Embedding → LSTM → Dense with masking and early stopping, and a bidirectional LSTM;
# 4. measure why the LSTM loses: accuracy against the amount of training data, and which end of
#    a text to keep when it has to be cut;
# 5. measure the drop under domain shift with balanced accuracy, which tells a change in the
#    texts from a change in the share of positive labels.
#
# **Data.** IMDB (25,000 + 25,000 full reviews) when its archive is available, and always in the
# `full` profile; otherwise about 10,000 human-rated movie-review *sentences*. The notebook says
# which one it uses.
#
# **Expected results** (test accuracy; checked below; bands from `fast` runs with random seeds 0, 1
# and 2, written beside the chapter's settings in `fmbook/chapters/ch03_lstm_reviews.py`):
#
# | profile | data | TF-IDF baseline | LSTM | BiLSTM | measured, seeds 0 / 1 / 2 (baseline; LSTM; BiLSTM) | time |
# | --- | --- | --- | --- | --- | --- | --- |
# | `smoke` | 3,000 / 1,000 sentences | 0.65 .. 0.84 | 0.56 .. 0.83 | 0.61 .. 0.81 | 0.766 / 0.729 / 0.743; 0.722 / 0.669 / 0.721; 0.732 / 0.694 / 0.723 | about 1 minute of CPU |
# | `fast` | all 8,057 / 2,015 sentences | 0.77 .. 0.83 | 0.69 .. 0.85 | 0.71 .. 0.84 | 0.806 / 0.799 / 0.795; 0.782 / 0.754 / 0.751; 0.771 / 0.764 / 0.788 | 88 to 95 s of CPU (one thread) |
# | `fast` | IMDB (when present) | not measured | not measured | not measured | | |
# | `full` | IMDB on a GPU | not measured | not measured | not measured | | |
#
# A band shown as "not measured" is printed but not enforced: nobody has run that combination yet.
# NumPy LSTM step against Keras: a difference below 1e-5 (measured 2.5e-7 to 4.0e-7). Always
# guessing the majority class scores 0.504 on the sentences.
#
# **Time.** The chapter trains seven small networks: the LSTM, the bidirectional LSTM, two LSTMs
# on subsets of the data and two on cut texts (plus the one-step check). Measured CPU time for
# `fast` (one thread, user + system): 88 / 94 / 95 s for seeds 0 / 1 / 2, so about 1.5 to 2
# minutes on two idle cores; on our shared, busy machine the wall time was 6.5 to 7.3 minutes.

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
# TensorFlow and Keras are imported before `fmbook.start`, so that it seeds them too.

# %%
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
import time

from fmbook.frameworks import import_tensorflow

tf = import_tensorflow()  # `import tensorflow as tf`, minus the CUDA lines its C++ runtime prints
import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.metrics import balanced_accuracy_score

import fmbook
from fmbook import text as fmtext
from fmbook.chapters.ch03_lstm_reviews import draw_lstm_cell

ch = fmbook.start("03_lstm_reviews", seed=0)
tf.get_logger().setLevel("ERROR")   # no notices about retracing when several models predict
cfg = ch.settings
print("Keras", keras.__version__, "on", keras.backend.backend())
cfg

# %% [markdown]
# ## The data
#
# The data set is a parameter of the chapter. `"auto"` takes IMDB when a verified copy of its
# archive is in the data mirror or cache (and always in `full`, where a missing archive is an
# error), and the movie-review sentences otherwise. Set `DATASET = "imdb"` or
# `"movie_sentences"` to choose yourself. The choice is printed: nothing switches silently.
#
# The sentences come with a mean rating from -4 to 4 given by about 20 people. The label is the
# sign of the rating; sentences rated within 0.5 of zero (`fmbook.data.NEUTRAL_BAND`) are dropped,
# because the raters did not agree on a direction.

# %%
DATASET = "auto"   # "auto", "imdb" or "movie_sentences"

reviews = fmtext.choose_reviews(DATASET, profile=ch.profile, n_train=cfg.n_train,
                                n_test=cfg.n_test, seed=ch.seed)
train_df, test_df = reviews.train, reviews.test
ch.note("data set", reviews.name)

# %% [markdown]
# Texts go to Keras as plain NumPy string arrays and labels as 0/1 integers. `fmtext.as_texts`
# and `fmtext.as_labels` also reject empty texts and labels other than 0 and 1.
#
# > **Common mistake:** passing a pandas 3 string column (`df.text.values`) straight to Keras.
# > It is not a NumPy array, Keras converts it one element at a time, and `adapt` takes minutes
# > instead of a second. Convert once with `to_numpy(dtype=str)`.

# %%
x_train_text = fmtext.as_texts(train_df["text"].to_numpy(dtype=str))
x_test_text = fmtext.as_texts(test_df["text"].to_numpy(dtype=str))
y_train = fmtext.as_labels(train_df["label"], n=len(x_train_text))
y_test = fmtext.as_labels(test_df["label"], n=len(x_test_text))
majority = float(max(y_test.mean(), 1 - y_test.mean()))   # accuracy of always guessing one class
print(f"train {len(x_train_text):,} texts, test {len(x_test_text):,}; positive share "
      f"{y_train.mean():.3f} / {y_test.mean():.3f}; always guessing the majority class scores {majority:.3f}")
ch.note("majority-class accuracy (test)", majority)

# %% [markdown]
# ## Exploring the text
#
# A few examples of each class first. Always read some data before modelling it.

# %%
for label, name in [(1, "positive"), (0, "negative")]:
    print(f"--- {name}")
    for t in x_train_text[y_train == label][:3]:
        print("  ", t[:200] + ("..." if len(t) > 200 else ""))

# %% [markdown]
# How long are the texts? The model reads a fixed number of tokens: every text is cut (or
# padded) to a length that covers 95% of the training texts, unless the profile's cap
# `max_len` is shorter. The plot says which of the two it is, and how many texts lose words.

# %%
train_lengths = np.array([len(t.split()) for t in x_train_text])
p95 = int(np.ceil(np.percentile(train_lengths, 95)))
seq_len = int(min(p95, cfg.max_len))
length_label = (f"95th percentile, {seq_len} words" if seq_len == p95
                else f"cap max_len = {seq_len} words (the 95th percentile is {p95})")
cut_share = float(np.mean(train_lengths > seq_len))

fig, ax = plt.subplots(figsize=(6, 3))
ax.hist(train_lengths, bins=50, color="#4878a8")
ax.axvline(seq_len, color="#b00020", ls="--", label=f"sequence length: {length_label}")
ax.set_xlabel("words per text")
ax.set_ylabel("texts")
ax.set_title(f"{reviews.name}: median {np.median(train_lengths):.0f} words")
ax.legend()
plt.show()
print(f"sequence length {seq_len} ({length_label}); {cut_share:.1%} of the training texts are longer and get cut")
ch.note("share of training texts cut by the sequence length", cut_share)

# %% [markdown]
# And the vocabulary: how many distinct words, and how many appear only once? A word seen once in
# training cannot be learned from, so the vocabulary keeps the words seen at least twice (up to
# the profile's cap of `max_tokens`).

# %%
from collections import Counter

import re
import string

strip = re.compile(f"[{re.escape(string.punctuation)}]")      # what TextVectorization strips
word_counts = Counter(w for t in x_train_text for w in strip.sub("", t.lower()).split())
n_words = len(word_counts)
n_twice = sum(1 for c in word_counts.values() if c >= 2)
vocab_size = int(min(n_twice + 2, cfg.max_tokens))   # + padding (0) and [UNK] (1)
print(f"{n_words:,} distinct lower-cased words; {n_twice:,} appear at least twice; "
      f"vocabulary size {vocab_size:,}")
print("most common:", ", ".join(w for w, _ in word_counts.most_common(15)))

# %% [markdown]
# ## The number to beat: a bag of words
#
# TF-IDF turns each text into a weighted count of its words and word pairs, ignoring their order.
# A logistic regression on top is fast and strong. Any sequence model must be compared with it.
# Its settings (word pairs, `min_df=2`, `C=4`) are fixed before looking at the test set.

# %%
TFIDF = dict(ngram_range=(1, 2), min_df=2, C=4.0, max_iter=2000)

t0 = time.perf_counter()
baseline = fmtext.tfidf_baseline(x_train_text, y_train, **TFIDF)
baseline_seconds = time.perf_counter() - t0
baseline_acc = float(np.mean(baseline.predict(x_test_text) == y_test))
print(f"TF-IDF + logistic regression: test accuracy {baseline_acc:.4f} ({baseline_seconds:.1f} s); "
      f"majority class {majority:.4f}")

# %% [markdown]
# The expected bands depend on the data set as well as the profile, and both are printed. Every
# lower bound is well above the majority-class rate printed above, so a model that learned
# nothing fails it.

# %%
BASELINE_BANDS = {
    "movie_sentences": {"smoke": (0.65, 0.84), "fast": (0.77, 0.83), "full": None},
    "imdb": {"smoke": (0.70, 0.95), "fast": None, "full": None},
}
ch.check("TF-IDF baseline test accuracy", baseline_acc, BASELINE_BANDS[reviews.name])

# %% [markdown]
# ## How an LSTM reads: one step
#
# An LSTM reads a text one token at a time. At step $t$ it takes the token's vector $x_t$ and
# its own two states from the step before: the **hidden state** $h_{t-1}$ (what it outputs) and
# the **cell state** $c_{t-1}$ (its memory). Four *gates* are computed from $x_t$ and $h_{t-1}$,
# each with its own input kernel $W$, recurrent kernel $U$ and bias $b$:
#
# $$
# \begin{aligned}
# i_t &= \sigma(x_t W_i + h_{t-1} U_i + b_i) && \text{input gate: how much new content to write}\\
# f_t &= \sigma(x_t W_f + h_{t-1} U_f + b_f) && \text{forget gate: how much memory to keep}\\
# g_t &= \tanh(x_t W_c + h_{t-1} U_c + b_c) && \text{candidate content}\\
# o_t &= \sigma(x_t W_o + h_{t-1} U_o + b_o) && \text{output gate: how much memory to show}\\
# c_t &= f_t \odot c_{t-1} + i_t \odot g_t && \text{the new memory}\\
# h_t &= o_t \odot \tanh(c_t) && \text{the new output}
# \end{aligned}
# $$
#
# $\sigma$ is the logistic sigmoid (a gate between 0 and 1) and $\odot$ multiplies element by
# element. The cell state is updated by *adding*, not by multiplying through a weight matrix
# as a plain recurrent network does: that is what lets a gradient travel back over many steps
# without vanishing, as long as the forget gate stays near 1.

# %%
draw_lstm_cell()
plt.show()

# %% [markdown]
# Keras stores the four gates side by side: `kernel` is $[W_i\,W_f\,W_c\,W_o]$ of shape
# `(input_dim, 4 * units)`, `recurrent_kernel` is $[U_i\,U_f\,U_c\,U_o]$ of shape
# `(units, 4 * units)` and `bias` has `4 * units` entries, in the gate order i, f, c, o. Here is
# one step in NumPy, written from the equations.

# %%
def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def lstm_step(x, h, c, kernel, recurrent_kernel, bias):
    """One LSTM step for a batch: x (batch, input_dim), h and c (batch, units) -> new (h, c)."""
    z = x @ kernel + h @ recurrent_kernel + bias      # all four gates at once: (batch, 4 * units)
    i, f, g, o = np.split(z, 4, axis=-1)             # Keras' order: input, forget, candidate, output
    c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
    h = sigmoid(o) * np.tanh(c)
    return h, c

# %% [markdown]
# Is it right? We build Keras' LSTM layer at the chapter's size (`cfg.units` units reading
# `cfg.embed_dim`-dimensional vectors, with Keras' own random initialisation), give it a
# sequence of one step and a random starting state, and compare its new $h$ and $c$ with ours.

# %%
rng = np.random.default_rng(ch.seed)
keras_lstm = keras.layers.LSTM(cfg.units, return_state=True)
x_step = rng.normal(size=(8, 1, cfg.embed_dim)).astype("float32")
h0 = rng.normal(size=(8, cfg.units)).astype("float32")
c0 = rng.normal(size=(8, cfg.units)).astype("float32")
_, h_keras, c_keras = keras_lstm(x_step, initial_state=[h0, c0])
kernel, recurrent_kernel, bias = keras_lstm.get_weights()
print("kernel", kernel.shape, "recurrent kernel", recurrent_kernel.shape, "bias", bias.shape)

h_np, c_np = lstm_step(x_step[:, 0].astype("float64"), h0, c0, kernel, recurrent_kernel, bias)
step_diff = float(max(np.max(np.abs(h_np - np.asarray(h_keras))), np.max(np.abs(c_np - np.asarray(c_keras)))))
print(f"largest difference between the NumPy step and Keras (h and c): {step_diff:.2e}")
ch.check("NumPy LSTM step vs Keras: largest difference", step_diff,
         {"smoke": (0.0, 1e-5), "fast": (0.0, 1e-5), "full": None})

# %% [markdown]
# A check that can fail: swap two gates (Keras' order is i, f, c, o, not i, f, o, c) and the
# difference is of the size of the states themselves.

# %%
swap = lambda w: np.concatenate([np.split(w, 4, axis=-1)[k] for k in (0, 1, 3, 2)], axis=-1)
h_bad, _ = lstm_step(x_step[:, 0].astype("float64"), h0, c0, swap(kernel), swap(recurrent_kernel), swap(bias))
print(f"with the gates in the order i, f, o, c: largest difference {np.max(np.abs(h_bad - np.asarray(h_keras))):.2f}")

# %% [markdown]
# A full LSTM repeats this step along the text, carrying $(h, c)$ from token to token; its
# answer is the last $h$. You write that loop, padding included, in the exercises at the end.

# %% [markdown]
# ## Tokenising with `TextVectorization`
#
# The Keras layer lower-cases, strips punctuation, splits on white space, maps each word to an
# integer id (0 = padding, 1 = `[UNK]` for words outside the vocabulary) and pads or cuts every
# text to `seq_len` ids, keeping the start and padding at the end.
#
# > **Common mistake:** calling `adapt` on all the data, test set included. The vocabulary then
# > contains words that only occur in the test set, which leaks test information into the model.
# > Adapt on the training texts only.

# %%
vectorize = keras.layers.TextVectorization(max_tokens=vocab_size, output_sequence_length=seq_len)
vectorize.adapt(x_train_text, batch_size=1024)   # the training texts only
vocab = np.array(vectorize.get_vocabulary())
x_train = vectorize(x_train_text).numpy()
x_test = vectorize(x_test_text).numpy()
print("vocabulary:", len(vocab), "ids; first entries", [str(w) for w in vocab[:8]])
print("the first training text as ids:", x_train[0][:20], "...")

# %% [markdown]
# ## The model: Embedding → LSTM → Dense
#
# The embedding turns each id into a vector, learned from scratch with the rest of the model.
# `mask_zero=True` makes the embedding emit a mask that tells the LSTM which positions are
# padding, so that it leaves its state unchanged there. The LSTM's last $h$ goes through dropout
# to one sigmoid unit: the probability that the review is positive.
#
# > **Common mistake:** forgetting `mask_zero=True`. The LSTM then reads dozens of padding tokens
# > after every short text, and its final state mostly remembers the padding.

# %%
def build_model(bidirectional: bool = False) -> keras.Model:
    lstm = keras.layers.LSTM(cfg.units, name="lstm")
    return keras.Sequential([
        keras.Input(shape=(None,), dtype="int64"),
        keras.layers.Embedding(len(vocab), cfg.embed_dim, mask_zero=True, name="embedding"),
        keras.layers.Bidirectional(lstm, name="bilstm") if bidirectional else lstm,
        keras.layers.Dropout(0.5),
        keras.layers.Dense(1, activation="sigmoid"),
    ], name="bilstm" if bidirectional else "lstm")


model = build_model()
model.summary()

# %% [markdown]
# Does the mask work? With masking, adding more padding after a text must not change the
# prediction at all. We check it on the untrained model (a check that a broken mask fails).

# %%
probe = x_test[:8]
padded_more = np.pad(probe, ((0, 0), (0, 20)))   # 20 more padding ids at the end
diff = float(np.max(np.abs(model.predict(probe, verbose=0) - model.predict(padded_more, verbose=0))))
print(f"largest change in the prediction from 20 extra padding tokens: {diff:.2e}")
ch.check("prediction change from extra padding", diff,
         {"smoke": (0.0, 1e-5), "fast": (0.0, 1e-5), "full": (0.0, 1e-5)})

# %% [markdown]
# ## Training with a validation split and early stopping
#
# Keras holds out the last 10% of the training set for validation (our training frame is
# shuffled). Early stopping watches the validation loss, stops after `patience` epochs without
# improvement and restores the best weights: the number of epochs is chosen on validation data,
# never on the test set.
#
# > **Common mistake:** `model.compile("adam", "binary_crossentropy", ["accuracy"])`. In Keras 3
# > the third positional argument is `loss_weights`, not `metrics`; the error it gives is about a
# > "string dtype". Name the arguments.

# %%
def train(model: keras.Model, x, y, verbose: int = 2) -> tuple[keras.callbacks.History, float, float]:
    """Compile and fit on (x, y); return the history, wall-clock seconds and CPU seconds."""
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy",
                  metrics=["accuracy"])
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=cfg.patience,
                                         restore_best_weights=True)
    t0, c0 = time.perf_counter(), time.process_time()
    history = model.fit(x, y, validation_split=0.1, epochs=cfg.epochs,
                        batch_size=cfg.batch_size, callbacks=[stop], verbose=verbose)
    return history, time.perf_counter() - t0, time.process_time() - c0


history, lstm_seconds, lstm_cpu = train(model, x_train, y_train)
print(f"trained in {lstm_seconds:.0f} s wall clock ({lstm_cpu:.0f} s of CPU time)")

# %% [markdown]
# The curves show the usual picture: the training loss keeps falling while the validation loss
# turns up after an epoch or two. That is overfitting, and early stopping keeps the weights from
# before it.

# %%
from fmbook.plots import curves

fig, axes = plt.subplots(1, 2, figsize=(10, 3.3))
curves({"train": history.history["loss"], "validation": history.history["val_loss"]},
       xlabel="epoch", ylabel="loss", ax=axes[0])
curves({"train": history.history["accuracy"], "validation": history.history["val_accuracy"]},
       xlabel="epoch", ylabel="accuracy", ax=axes[1])
plt.show()
best_epoch = int(np.argmin(history.history["val_loss"])) + 1
print(f"best validation loss after epoch {best_epoch} of {len(history.history['loss'])}")
ch.note("LSTM best epoch (validation loss)", best_epoch)

# %% [markdown]
# ## Test accuracy
#
# The test set is used once, now. Chapter 04 fine-tunes BERT on the same data and compares with
# this figure.

# %%
def predict_proba(model: keras.Model, texts) -> np.ndarray:
    """Probability of 'positive' for each text."""
    return model.predict(vectorize(fmtext.as_texts(texts)), verbose=0, batch_size=256)[:, 0]


lstm_proba = predict_proba(model, x_test_text)
lstm_acc = float(np.mean((lstm_proba >= 0.5) == y_test))
print(f"LSTM test accuracy on {reviews.name}: {lstm_acc:.4f}   (TF-IDF baseline: {baseline_acc:.4f}; "
      f"majority class {majority:.4f})")

# %%
LSTM_BANDS = {
    "movie_sentences": {"smoke": (0.56, 0.83), "fast": (0.69, 0.85), "full": None},
    "imdb": {"smoke": (0.60, 0.95), "fast": None, "full": None},
}
ch.check("LSTM test accuracy", lstm_acc, LSTM_BANDS[reviews.name])

# %% [markdown]
# ## A bidirectional LSTM
#
# A bidirectional layer runs a second LSTM from the end of the text to the start and joins both
# final states: each half sees the part of the text the other reads last. It has twice the LSTM
# parameters and takes about twice as long. Its band is its own, measured from its own runs.

# %%
bi_model = build_model(bidirectional=True)
bi_history, bi_seconds, bi_cpu = train(bi_model, x_train, y_train)
bi_acc = float(np.mean((predict_proba(bi_model, x_test_text) >= 0.5) == y_test))
print(f"bidirectional LSTM test accuracy: {bi_acc:.4f} ({bi_seconds:.0f} s, {bi_cpu:.0f} s CPU)")
BILSTM_BANDS = {
    "movie_sentences": {"smoke": (0.61, 0.81), "fast": (0.71, 0.84), "full": None},
    "imdb": {"smoke": (0.60, 0.95), "fast": None, "full": None},
}
ch.check("bidirectional LSTM test accuracy", bi_acc, BILSTM_BANDS[reviews.name])

# %% [markdown]
# One table: accuracy, size and training time. The baseline's "parameters" are its logistic
# regression weights, one per TF-IDF feature.

# %%
n_baseline = int(baseline[-1].coef_.size + baseline[-1].intercept_.size)
comparison = pd.DataFrame({
    "model": ["majority class", "TF-IDF + logistic regression", "LSTM", "bidirectional LSTM"],
    "test accuracy": [majority, baseline_acc, lstm_acc, bi_acc],
    "parameters": [0, n_baseline, model.count_params(), bi_model.count_params()],
    "training seconds": [0.0, baseline_seconds, lstm_seconds, bi_seconds],
}).set_index("model")
ch.note("LSTM parameters", int(model.count_params()))
ch.note("LSTM minus baseline accuracy", lstm_acc - baseline_acc)
comparison.style.format({"test accuracy": "{:.4f}", "parameters": "{:,}", "training seconds": "{:.1f}"})

# %%
verdict = "beats" if lstm_acc > baseline_acc else "does not beat"
bi_verdict = "beats" if bi_acc > baseline_acc else "does not beat"
print(f"On {reviews.name}, the LSTM ({lstm_acc:.4f}) {verdict} the TF-IDF baseline "
      f"({baseline_acc:.4f}), with {model.count_params() / n_baseline:.1f}x its parameters; "
      f"the bidirectional LSTM ({bi_acc:.4f}) {bi_verdict} it.")

# %% [markdown]
# ## Why the LSTM loses here: how much it has to learn from how little
#
# The LSTM learns everything from our training sentences: one `cfg.embed_dim`-dimensional vector
# per word, and the gates on top. The bag of words needs one weight per word or word pair, and
# no word order. How much evidence is there per word?

# %%
kept_counts = np.array([word_counts.get(str(w), 0) for w in vocab[2:]])
rare_share = float(np.mean(kept_counts < 5))
n_embedding = int(model.get_layer("embedding").count_params())
print(f"{len(y_train):,} training texts, {int(train_lengths.sum()):,} words in all")
print(f"{rare_share:.1%} of the {len(kept_counts):,} vocabulary words occur fewer than 5 times in "
      f"training; the embedding alone has {n_embedding:,} of the LSTM's {model.count_params():,} "
      f"parameters ({n_embedding / model.count_params():.0%}), all learned from these texts")
ch.note("share of vocabulary words seen fewer than 5 times", rare_share)

# %% [markdown]
# If too little data is the reason, the gap to the bag of words should depend on the amount of
# data. We train both models again, with the same recipe, on stratified subsets of the training
# set (the same vocabulary, the same early stopping on a validation split of each subset) and
# test them on the same test set. This is an experiment about the model, not a choice of model,
# so looking at the test set is fine here. Each point is one training run, and the LSTM moves by
# a few points between random seeds (the three-seed values are written beside the chapter's
# settings): read the shape of the curve, not its third decimal, and rerun with another
# `FMBOOK_SEED` before trusting a small difference.

# %%
sizes = [int(round(f * len(y_train))) for f in cfg.size_fractions]
rows_all = np.arange(len(y_train))
curve = []
for n in sizes:
    rows = fmtext.subsample(train_df.assign(row=rows_all), n, seed=ch.seed)["row"].to_numpy()
    tfidf_n = fmtext.tfidf_baseline(x_train_text[rows], y_train[rows], **TFIDF)
    lstm_n = build_model()
    train(lstm_n, x_train[rows], y_train[rows], verbose=0)
    curve.append({"training texts": n,
                  "TF-IDF": float(np.mean(tfidf_n.predict(x_test_text) == y_test)),
                  "LSTM": float(np.mean((predict_proba(lstm_n, x_test_text) >= 0.5) == y_test))})
    print(f"{n:>6,} texts: TF-IDF {curve[-1]['TF-IDF']:.4f}, LSTM {curve[-1]['LSTM']:.4f}")
curve.append({"training texts": len(y_train), "TF-IDF": baseline_acc, "LSTM": lstm_acc})
curve = pd.DataFrame(curve).set_index("training texts")
curve["TF-IDF minus LSTM"] = curve["TF-IDF"] - curve["LSTM"]
curve.style.format("{:.4f}")

# %%
fig, ax = plt.subplots(figsize=(6, 3.3))
ax.plot(curve.index, curve["TF-IDF"], "o-", color="#808080", label="TF-IDF + logistic regression")
ax.plot(curve.index, curve["LSTM"], "s-", color="#4878a8", label="LSTM, embeddings from scratch")
ax.axhline(majority, color="k", lw=0.8, ls=":", label=f"majority class ({majority:.2f})")
ax.set_xscale("log")
ax.set_xlabel("training texts")
ax.set_ylabel("test accuracy")
ax.set_title("accuracy against the amount of training data")
ax.legend(fontsize=8)
plt.show()

# %%
gap_small, gap_all = float(curve["TF-IDF minus LSTM"].iloc[0]), float(curve["TF-IDF minus LSTM"].iloc[-1])
lstm_gain = float(curve["LSTM"].iloc[-1] - curve["LSTM"].iloc[0])
tfidf_gain = float(curve["TF-IDF"].iloc[-1] - curve["TF-IDF"].iloc[0])
for name, value in [("TF-IDF minus LSTM, smallest subset", gap_small), ("TF-IDF minus LSTM, all data", gap_all),
                    ("LSTM gain from smallest subset to all data", lstm_gain),
                    ("TF-IDF gain from smallest subset to all data", tfidf_gain)]:
    ch.note(name, value)
print(f"From {curve.index[0]:,} to {curve.index[-1]:,} training texts the LSTM gains "
      f"{100 * lstm_gain:.1f} points and TF-IDF {100 * tfidf_gain:.1f}. The bag of words leads by "
      f"{100 * gap_small:.1f} points on the smallest subset and by {100 * gap_all:.1f} with all the data: "
      + ("the gap narrows as data grows, as expected if data is what the LSTM lacks."
         if gap_all < gap_small else
         "the gap does not narrow over this range, so more sentences of this kind alone do not close it."))

# %% [markdown]
# Whatever the exact numbers in your run, the LSTM pays for every word with a vector learned
# from scratch: a word seen three times gets a vector fitted to three sentences. A bag of words
# with a linear model asks far less of little data: one weight per word, no order.

# %% [markdown]
# ## Which end of a text to keep
#
# When a text is longer than the sequence length, something is cut. `TextVectorization` keeps
# the start; for reviews the verdict often comes at the end ("... but in the end it works").
# With the main model's sequence length only the few texts printed above lose words, too few
# to measure a difference. So we make the cut bite on purpose: both versions read only the first or
# the last `cut` words, where `cut` is the `cfg.trunc_percentile`th percentile of the training
# lengths, and train otherwise identical LSTMs.

# %%
cut = max(2, int(np.percentile(train_lengths, cfg.trunc_percentile)))
vectorize_all = keras.layers.TextVectorization(vocabulary=vocab, ragged=True)   # same ids, no cut
ids_train, ids_test = (vectorize_all(t).to_list() for t in (x_train_text, x_test_text))
truncated = {}
for keep, side in [("start", "post"), ("end", "pre")]:
    # pad_sequences: truncating="post" keeps the start, "pre" keeps the end; padding at the end
    xs_train = keras.utils.pad_sequences(ids_train, maxlen=cut, padding="post", truncating=side)
    xs_test = keras.utils.pad_sequences(ids_test, maxlen=cut, padding="post", truncating=side)
    m = build_model()
    train(m, xs_train, y_train, verbose=0)
    truncated[keep] = (m.predict(xs_test, verbose=0, batch_size=256)[:, 0] >= 0.5) == y_test
    print(f"keep the {keep:>5} ({cut} words): test accuracy {truncated[keep].mean():.4f}")
print(f"the cut bites on {np.mean(train_lengths > cut):.0%} of the training texts")

# %% [markdown]
# One run per side cannot tell a small difference from luck. A paired bootstrap over the test
# texts (resampling which texts are tested, the same for both models) gives an interval for the
# difference; it does not include the randomness of training, which the three-seed bands in the
# settings show.

# %%
boot = np.random.default_rng(ch.seed)
end_minus_start = float(truncated["end"].mean() - truncated["start"].mean())
resampled = [truncated["end"][r].mean() - truncated["start"][r].mean()
             for r in (boot.integers(0, len(y_test), len(y_test)) for _ in range(1000))]
lo, hi = np.percentile(resampled, [2.5, 97.5])
ch.note("truncation: keep-end minus keep-start accuracy", end_minus_start)
better = "end" if end_minus_start > 0 else "start"
print(f"Reading only {cut} words, keeping the {better} is better by {100 * abs(end_minus_start):.1f} points "
      f"(95% bootstrap interval over test texts {100 * lo:+.1f} to {100 * hi:+.1f} points, end minus start); "
      + ("the interval excludes zero." if lo > 0 or hi < 0 else
         "the interval includes zero, so this run does not show which end matters more.")
      + f" In the main model the cut bites on {cut_share:.1%} of the training texts.")

# %% [markdown]
# ## What would close the gap
#
# Early stopping already picks the number of epochs on validation data, and the side of the cut
# matters only for the few texts it bites on. What remains is the LSTM's real handicap on these
# sentences: it has to learn what every word means from a few thousand labelled sentences, and
# most of its parameters are word vectors seen a handful of times. Besides more labelled sentences
# (the curve above shows what they bought in this run), the other way out is **representations
# learned beforehand from far more unlabelled text**. Chapter 04
# fine-tunes a BERT whose embeddings and layers were pre-trained that way, on exactly these
# sentences, and compares with the LSTM figure below; chapter 08 shows what pre-training itself
# is, by doing a small one.

# %% [markdown]
# ## What did the embedding learn?
#
# Each word's embedding is a vector. Words the model treats alike end up close together. Below,
# the nearest neighbours (cosine similarity) of a few sentiment words. With this little data the
# neighbourhoods are noisy, but polarity usually shows.

# %%
emb = model.get_layer("embedding").get_weights()[0]
unit = emb / (np.linalg.norm(emb, axis=1, keepdims=True) + 1e-9)
word_id = {w: i for i, w in enumerate(vocab)}


def neighbours(word: str, k: int = 6) -> list[str]:
    sims = unit[2:] @ unit[word_id[word]]            # skip padding and [UNK]
    order = np.argsort(-sims) + 2
    return [str(vocab[i]) for i in order if vocab[i] != word][:k]


for w in ["good", "bad", "funny", "boring", "best", "worst"]:
    if w in word_id:
        print(f"{w:>8}: {', '.join(neighbours(w))}")

# %% [markdown]
# ## Where it goes wrong
#
# The most confidently wrong test texts: look for sarcasm, negation ("not bad at all") and mixed
# reviews that a human rater read one way and the words point the other.

# %%
wrong = np.flatnonzero((lstm_proba >= 0.5) != y_test)
confidence = np.abs(lstm_proba - 0.5)
errors = pd.DataFrame({"text": x_test_text[wrong], "label": y_test[wrong],
                       "p(positive)": lstm_proba[wrong].round(3),
                       "words": [len(t.split()) for t in x_test_text[wrong]]})
print(f"{len(wrong)} of {len(y_test)} test texts are misclassified")
pd.set_option("display.max_colwidth", 160)
errors.loc[np.argsort(-confidence[wrong])[:5]]

# %% [markdown]
# And the longest misclassified texts: is the fixed sequence length cutting off the end of the
# review, where the verdict often is?

# %%
longest = errors.sort_values("words", ascending=False).head(3)
print(f"sequence length {seq_len}; the longest misclassified texts have {longest['words'].tolist()} words")
longest

# %% [markdown]
# ## Try it: type a review
#
# In a live notebook, type a review and see the model's verdict. Without a kernel you see the
# default example.

# %%
import ipywidgets as widgets
from IPython.display import HTML

from fmbook.widgets import explore


def verdict_html(review: str) -> HTML:
    try:
        p = float(predict_proba(model, [review])[0])
    except ValueError as exc:                # empty input
        return HTML(f"<i>{exc}</i>")
    colour = "#1b7f3b" if p >= 0.5 else "#b00020"
    label = "positive" if p >= 0.5 else "negative"
    return HTML(f"<div style='font-size:1.1em'>LSTM: <b style='color:{colour}'>{label}</b> "
                f"(p(positive) = {p:.2f})</div>")


explore(verdict_html, review=widgets.Text(
    value="A gorgeous, funny film, though the ending drags.", description="review",
    layout=widgets.Layout(width="90%"), continuous_update=False));

# %% [markdown]
# ## Society: when the model leaves its domain
#
# A sentiment model is trained on one kind of text and then used on others: a company trains on
# movie reviews and deploys on product reviews, or on tweets. The people who write differently
# from the training data (other vocabulary, slang, emoticons, other languages) are served worst,
# and nobody notices unless someone measures it.
#
# We test the movie model, unchanged, on the product-review sentences and the tweets (same
# labelling rule). Two things can change between domains, and accuracy mixes them up:
#
# * **label shift**: the share of positive texts differs (tweets in this set are mostly
#   positive). Accuracy then moves even if the model is exactly as good on each class;
# * **covariate shift**: the texts themselves differ (words, style), so the model is worse on
#   each class.
#
# **Balanced accuracy**, the mean of the accuracy on positives and on negatives, does not depend
# on the share of positives: a drop in it is a drop in per-class accuracy, not a change in the
# label mix. Its chance level is 0.5; for plain accuracy chance is the majority-class rate of
# each domain, drawn as a tick on the plot. When the chapter runs on IMDB, the movie sentences
# are a shifted domain too.

# %%
from fmbook.data import load_review_sentences


def shift_row(domain: str, texts, labels, lstm_pred) -> dict:
    return {"domain": domain, "texts": len(labels), "positive share": labels.mean(),
            "majority class": max(labels.mean(), 1 - labels.mean()),
            "LSTM": float(np.mean(lstm_pred == labels)),
            "LSTM balanced": float(balanced_accuracy_score(labels, lstm_pred)),
            "LSTM on positives": float(np.mean(lstm_pred[labels == 1] == 1)),
            "LSTM on negatives": float(np.mean(lstm_pred[labels == 0] == 0)),
            "TF-IDF": float(np.mean(baseline.predict(texts) == labels)),
            "TF-IDF balanced": float(balanced_accuracy_score(labels, baseline.predict(texts)))}


shift_domains = ["product", "tweet"] + (["movie"] if reviews.name == "imdb" else [])
in_domain = f"{reviews.name} (test, in domain)"
rows = [shift_row(in_domain, x_test_text, y_test, (lstm_proba >= 0.5).astype(int))]
for domain in shift_domains:
    df = load_review_sentences(domain)  # the same neutral band as the training sentences
    texts, labels = fmtext.as_texts(df["text"].to_numpy(dtype=str)), fmtext.as_labels(df["label"])
    rows.append(shift_row(domain, texts, labels, (predict_proba(model, texts) >= 0.5).astype(int)))
shift = pd.DataFrame(rows).set_index("domain")
shift["LSTM drop"] = shift.loc[in_domain, "LSTM"] - shift["LSTM"]
shift["LSTM balanced drop"] = shift.loc[in_domain, "LSTM balanced"] - shift["LSTM balanced"]
for domain in shift_domains:
    ch.note(f"LSTM accuracy on {domain} sentences", float(shift.loc[domain, "LSTM"]))
    ch.note(f"LSTM balanced accuracy on {domain} sentences", float(shift.loc[domain, "LSTM balanced"]))
shift.style.format({c: "{:.3f}" for c in shift.columns if c != "texts"}
                   | {"LSTM drop": "{:+.3f}", "LSTM balanced drop": "{:+.3f}"})

# %%
fig, ax = plt.subplots(figsize=(7, 3.3))
pos = np.arange(len(shift))
for k, (col, colour) in enumerate([("LSTM", "#4878a8"), ("LSTM balanced", "#9ec1e0"),
                                   ("TF-IDF", "#808080"), ("TF-IDF balanced", "#c8c8c8")]):
    ax.bar(pos + (k - 1.5) * 0.2, shift[col], width=0.2, color=colour, label=col)
for p, rate in zip(pos, shift["majority class"]):     # chance for accuracy: each domain's majority rate
    ax.hlines(rate, p - 0.42, p + 0.02, color="k", lw=1.5)
ax.hlines(0.5, pos[0] - 0.45, pos[-1] + 0.45, color="k", lw=0.8, ls=":")   # chance for balanced accuracy
ax.plot([], [], color="k", lw=1.5, label="majority class (chance for accuracy)")
ax.plot([], [], color="k", lw=0.8, ls=":", label="0.5 (chance for balanced accuracy)")
ax.set_xticks(pos, [d.replace(" (test, in domain)", "\n(in domain)") for d in shift.index])
ax.set_ylabel("accuracy")
ax.set_ylim(0.3, 1.0)
ax.set_title("the movie-trained models on other domains")
ax.legend(fontsize=7, loc="lower right", ncol=2)
plt.show()

# %% [markdown]
# Part of the drop is vocabulary. The model only knows the `vocab_size` words it kept from the
# movie training texts; everything else becomes `[UNK]`, and lower-casing and punctuation
# stripping erase "GREAT!!!", ":)" and "#fail" before the model sees them.

# %%
def unknown_share(texts) -> float:
    ids = vectorize(fmtext.as_texts(texts)).numpy()
    return float((ids == 1).sum() / max((ids > 0).sum(), 1))


oov = {in_domain: unknown_share(x_test_text)}
for domain in shift_domains:
    oov[domain] = unknown_share(load_review_sentences(domain)["text"].to_numpy(dtype=str))
for name, share in oov.items():
    print(f"{name:>34}: {share:6.1%} of tokens are [UNK]")
tweet = "GREAT game!!! :) #win @friend"
kept = [str(vocab[i]) for i in vectorize([tweet]).numpy()[0] if i > 0]
print(f"the model reads {tweet!r} as {kept}")

# %% [markdown]
# What the run says, domain by domain. A balanced-accuracy drop of more than 2 points is read as
# a change in per-class accuracy (covariate shift); the rest of an accuracy change comes from the
# different label mix.

# %%
for domain in shift_domains:
    r = shift.loc[domain]
    kind = ("the mean per-class accuracy fell, so the texts themselves differ (covariate shift)"
            if r["LSTM balanced drop"] > 0.02 else
            "per-class accuracy barely moves, so the change comes from the label mix (label shift)")
    print(f"{domain}: accuracy {r['LSTM']:.1%} (majority class {r['majority class']:.1%}, drop "
          f"{100 * r['LSTM drop']:+.1f} points), balanced accuracy {r['LSTM balanced']:.1%} (drop "
          f"{100 * r['LSTM balanced drop']:+.1f} points): {kind}. Right on {r['LSTM on positives']:.1%} of "
          f"the positive and {r['LSTM on negatives']:.1%} of the negative texts; {oov[domain]:.1%} of "
          f"their tokens are unknown to it.")
worst = shift.drop(index=in_domain)["LSTM balanced"].idxmin()
r = shift.loc[worst]
missed = "positive" if r["LSTM on positives"] < r["LSTM on negatives"] else "negative"
print(f"On {worst} texts it misreads the {missed} ones more often: right on {r['LSTM on positives']:.1%} of "
      f"the positive and {r['LSTM on negatives']:.1%} of the negative texts (in domain: "
      f"{shift.loc[in_domain, 'LSTM on positives']:.1%} and {shift.loc[in_domain, 'LSTM on negatives']:.1%}).")
print(f"The worst-served domain is {worst}: balanced accuracy {shift.loc[worst, 'LSTM balanced']:.1%} "
      f"against {shift.loc[in_domain, 'LSTM balanced']:.1%} in domain.")
if shift.loc[worst, "LSTM"] < shift.loc[worst, "majority class"]:
    print(f"On {worst} texts the LSTM is less accurate than always guessing the majority class.")

# %% [markdown]
# Questions to discuss:
#
# * Compare the "on positives" and "on negatives" columns. When a model misreads one class more
#   often on tweets, whom does that hurt: a cheerful writer in a style it never saw, or a
#   complaint that goes unnoticed?
# * A report that gives accuracy alone on tweets mixes the label mix with the model's quality.
#   Which number belongs on a model card, and why both?
# * The accuracy on the shifted domains is an average. Whose texts are misread: people who write
#   informally, in dialects, with emoji? What would you need to measure that?
# * Is a larger vocabulary, or no lower-casing, a fix, or does it only move the problem?
#   Chapter 04 asks the same about a pretrained BERT, trained on far more text.

# %% [markdown]
# ## Exercises
#
# **Exercise 03.lstm_sequence**: the notebook wrote one step; now write the whole layer. Given a
# batch of input vectors `x` of shape `(batch, steps, input_dim)`, a boolean `mask` of shape
# `(batch, steps)` (True for real tokens) and the three Keras weight arrays, return the final
# hidden state `h`, shape `(batch, units)`, exactly as `keras.layers.LSTM(units)` returns it for
# that mask. Start from zero states. Decide yourself what a masked step must do to the state:
# the checker runs your function on weights and inputs you never see (a gap in the middle of a
# text included) and compares with Keras to 1e-5. You may call `lstm_step` from above.

# %%
from fmbook.exercises import check, hint, show_solution


def lstm_sequence(x, mask, kernel, recurrent_kernel, bias):
    raise NotImplementedError  # your code here


check("03.lstm_sequence", lstm_sequence)

# %% [markdown]
# **Exercise 03.pad_and_mask**: given a batch of token-id lists and `max_len`, return
# `(padded, mask)`: an integer array of shape `(len(sequences), max_len)` that keeps the *first*
# `max_len` ids of each sequence and pads at the end with 0 (as `TextVectorization` does, and as
# `keras.utils.pad_sequences(..., padding="post", truncating="post")` does), and a boolean mask
# that is True for real tokens.

# %%
def pad_and_mask(sequences, max_len):
    raise NotImplementedError  # your code here


check("03.pad_and_mask", pad_and_mask)

# %% [markdown]
# **Exercise 03.lstm_params**: return the number of trainable parameters of
# `keras.layers.LSTM(units)` reading vectors of size `input_dim`. Check your formula against the
# model summary above: the LSTM reads `cfg.embed_dim`-dimensional embeddings.

# %%
def lstm_params(input_dim, units):
    raise NotImplementedError  # your code here


check("03.lstm_params", lstm_params)

# %% [markdown]
# **Exercise 03.unknown_share**: given a batch of token ids from `vectorize` (0 = padding,
# 1 = `[UNK]`), return the share of the *text's* tokens that are unknown. This is the number the
# Society section printed per domain.

# %%
def unknown_share_exercise(ids):
    raise NotImplementedError  # your code here


check("03.unknown_share", unknown_share_exercise)

# %% [markdown]
# Stuck? `hint("03.lstm_sequence")`, then `hint("03.lstm_sequence", 2)`, and only then
# `show_solution("03.lstm_sequence")`.
#
# **To think about** (no checker): the data-size curve trained every LSTM with the same
# vocabulary, built from all the training texts. Is that fair to the small subsets, or does it
# help them? And which experiment would show directly that pretrained word vectors, not the
# LSTM's gates, are what the sentences lack?
#
# ## Results
#
# The LSTM figure for chapter 04 to compare with:

# %%
print(f"CHAPTER 03 RESULT: LSTM test accuracy {lstm_acc:.4f} on {reviews.name} "
      f"({len(y_test):,} test texts, profile {ch.profile}); bidirectional LSTM {bi_acc:.4f}; "
      f"TF-IDF baseline {baseline_acc:.4f}; majority class {majority:.4f}")

# %%
ch.finish()
