"""Chapter 03: an LSTM for review sentiment.

The chapter's settings per profile (``SETTINGS``) and its exercises."""

from __future__ import annotations

import numpy as np

from ..exercises import Hint, exercise

# Settings per profile. ``None`` as a size means "all of it".
# size_fractions: the training-set shares of the data-size curve (the full set is the last point);
# trunc_percentile: the percentile of the training lengths that the truncation-side experiment cuts to.
#
# Bands (movie sentences), from `fast` with random seeds 0, 1, 2 (worst run minus about twice the
# spread max - min; 8,057 / 2,015 sentences, majority class 0.504):
#   TF-IDF baseline 0.806 / 0.799 / 0.795 -> band (0.77, 0.83);
#   LSTM 0.782 / 0.754 / 0.751 -> band (0.69, 0.85);
#   bidirectional LSTM 0.771 / 0.764 / 0.788 -> band (0.71, 0.84);
#   NumPy LSTM step vs Keras 2.6e-7 / 4.0e-7 / 2.5e-7 -> band 1e-5 (the tolerance);
#   prediction change from 20 extra padding ids 0 / 0 / 0 -> band 1e-5.
# Notes (no band), same seeds: TF-IDF minus LSTM on 15% of the training texts 0.087 / 0.022 / 0.048,
#   on all of them 0.024 / 0.044 / 0.044 (the gap narrows in seed 0 only: one run per point is noisy);
#   truncation to 13 words, keep-end minus keep-start +0.010 / +0.009 / -0.010 (no side wins);
#   LSTM balanced accuracy on product sentences 0.648 / 0.611 / 0.608, on tweets 0.641 / 0.566 / 0.620
#   (plain accuracy on tweets 0.600 / 0.430 / 0.525 against a majority rate of 0.683).
# fast CPU time per run (one thread, user + sys, contended machine): 87.6 / 94.1 / 95.4 s; wall time
#   6.5 / 7.1 / 7.3 minutes under a load of about 10 on 2 cores.
# smoke (3,000 / 1,000 sentences), seeds 0, 1, 2, same rule: TF-IDF 0.766 / 0.729 / 0.743 -> (0.65, 0.84);
#   LSTM 0.722 / 0.669 / 0.721 -> (0.56, 0.83); BiLSTM 0.732 / 0.694 / 0.723 -> (0.61, 0.81); each lower
#   bound fails a model that learned nothing (majority class 0.504). CPU time 63 / 61 / 62 s (two
#   threads, user + sys); wall 3.5 to 5.2 minutes on the busy machine.
# IMDB (any profile) and every `full` band: never measured (no IMDB archive here, no GPU): None.
SETTINGS: dict[str, dict] = {
    # n_train/n_test: stratified subsets (None: all); max_tokens/max_len: caps on the
    # vocabulary and sequence length that the notebook picks from the data.
    "smoke": {"n_train": 3000, "n_test": 1000, "epochs": 3, "batch_size": 64, "max_tokens": 5000,
              "max_len": 200, "embed_dim": 32, "units": 32, "patience": 1,
              "size_fractions": (0.15, 0.4), "trunc_percentile": 25},
    "fast": {"n_train": None, "n_test": None, "epochs": 6, "batch_size": 64, "max_tokens": 20000,
             "max_len": 200, "embed_dim": 64, "units": 64, "patience": 1,
             "size_fractions": (0.15, 0.4), "trunc_percentile": 25},
    "full": {"n_train": None, "n_test": None, "epochs": 10, "batch_size": 64, "max_tokens": 20000,
             "max_len": 400, "embed_dim": 128, "units": 64, "patience": 2,
             "size_fractions": (0.1, 0.3), "trunc_percentile": 25},
}


def _pad_and_mask(sequences: list[list[int]], max_len: int) -> tuple[np.ndarray, np.ndarray]:
    padded = np.zeros((len(sequences), max_len), dtype="int64")
    for i, seq in enumerate(sequences):
        kept = list(seq)[:max_len]          # keep the first max_len tokens, like TextVectorization
        padded[i, :len(kept)] = kept        # pad at the end with 0
    mask = padded != 0                      # True for real tokens, False for padding
    return padded, mask


def _lstm_params(input_dim: int, units: int) -> int:
    # four gates (input, forget, cell candidate, output), each with an input kernel,
    # a recurrent kernel and a bias
    return 4 * (input_dim * units + units * units + units)


@exercise("03.pad_and_mask", "pad a batch of token ids and build its mask", solution=_pad_and_mask,
          hints=("Start from np.zeros((len(sequences), max_len), dtype=int) and copy each sequence "
                 "into the start of its row; cut sequences longer than max_len.",
                 "Token id 0 is reserved for padding, so the mask is simply padded != 0."))
def _check_pad_and_mask(fn) -> None:
    batch = [[5, 8, 2], [7], [3, 4, 9, 6, 1]]
    got = fn(batch, 4)
    if not isinstance(got, tuple) or len(got) != 2:
        raise Hint("return a pair (padded, mask)")
    padded, mask = np.asarray(got[0]), np.asarray(got[1])
    want_p, want_m = _pad_and_mask(batch, 4)
    if padded.shape != want_p.shape:
        raise Hint(f"padded must have shape (batch size, max_len) = {want_p.shape}; yours is {padded.shape}")
    if np.array_equal(padded[1], [0, 0, 0, 7]):
        raise Hint("you padded at the front: this chapter's TextVectorization pads at the end, "
                   "so [7] becomes [7, 0, 0, 0]")
    if np.array_equal(padded[2], [4, 9, 6, 1]):
        raise Hint("you kept the last tokens of a long sequence: keep the first max_len tokens, "
                   "as TextVectorization does, so [3, 4, 9, 6, 1] becomes [3, 4, 9, 6]")
    if not np.array_equal(padded, want_p):
        raise Hint(f"padded is wrong: for {batch} and max_len 4 expect {want_p.tolist()}, got {padded.tolist()}")
    if mask.shape != want_m.shape:
        raise Hint(f"mask must have the shape of padded, {want_m.shape}; yours is {mask.shape}")
    if mask.dtype != bool:
        raise Hint("return the mask as booleans (True = real token), e.g. padded != 0")
    if np.array_equal(mask, ~want_m):
        raise Hint("the mask is inverted: True marks real tokens, False marks padding")
    if not np.array_equal(mask, want_m):
        raise Hint(f"mask is wrong: expect {want_m.astype(int).tolist()} (1 = token)")
    empty_p, empty_m = (np.asarray(a) for a in fn([[1, 2], []], 3))
    if empty_p.shape != (2, 3) or empty_m[1].any():
        raise Hint("an empty sequence must become a row of padding with an all-False mask")


@exercise("03.lstm_params", "count the parameters of an LSTM layer", solution=_lstm_params,
          hints=("An LSTM has four gates. Each gate has a kernel for the input (input_dim x units), "
                 "a recurrent kernel for the previous state (units x units) and a bias (units).",
                 "Total = 4 * (input_dim * units + units * units + units)."))
def _check_lstm_params(fn) -> None:
    cases = [(64, 64), (32, 16), (128, 1)]
    for input_dim, units in cases:
        got = fn(input_dim, units)
        if got is None:
            raise Hint("your function returned None")
        got = int(got)
        want = _lstm_params(input_dim, units)
        if got == want:
            continue
        if got == 3 * (input_dim * units + units * units + units):
            raise Hint("that is a GRU-sized count (3 gates); an LSTM has 4 gates: input, forget, "
                       "cell candidate and output")
        if got == 4 * (input_dim * units + units * units):
            raise Hint("you forgot the biases: each of the 4 gates has `units` of them")
        if got == 4 * (input_dim * units + units):
            raise Hint("you forgot the recurrent kernel (units x units per gate), which lets the "
                       "LSTM look at its previous state")
        if got == input_dim * units + units * units + units:
            raise Hint("that is one gate's worth: multiply by the number of gates")
        raise Hint(f"for input_dim={input_dim}, units={units} expect {want}, got {got}; check against "
                   "keras.layers.LSTM(units).count_params() after building it")


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _lstm_step_reference(x, h, c, kernel, recurrent_kernel, bias):
    """One LSTM step in Keras' layout (gate order i, f, c, o); returns (h, c)."""
    z = x @ kernel + h @ recurrent_kernel + bias
    i, f, g, o = np.split(z, 4, axis=-1)
    c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
    return _sigmoid(o) * np.tanh(c), c


def _lstm_sequence(x: np.ndarray, mask: np.ndarray, kernel: np.ndarray, recurrent_kernel: np.ndarray,
                   bias: np.ndarray) -> np.ndarray:
    x, mask = np.asarray(x, dtype="float64"), np.asarray(mask, dtype=bool)
    units = recurrent_kernel.shape[0]
    h = np.zeros((x.shape[0], units))
    c = np.zeros((x.shape[0], units))
    for t in range(x.shape[1]):
        h_new, c_new = _lstm_step_reference(x[:, t], h, c, kernel, recurrent_kernel, bias)
        keep = mask[:, t:t + 1]               # a padded step leaves the state as it was
        h, c = np.where(keep, h_new, h), np.where(keep, c_new, c)
    return h


def _keras_lstm_final_state(x, mask, kernel, recurrent_kernel, bias) -> np.ndarray:
    """What keras.layers.LSTM returns for these weights and this mask (the checker's reference)."""
    import keras

    layer = keras.layers.LSTM(recurrent_kernel.shape[0])
    layer.build((None, None, x.shape[-1]))
    layer.set_weights([kernel, recurrent_kernel, bias])
    out = layer(x.astype("float32"), mask=None if mask is None else np.asarray(mask, dtype=bool))
    return np.asarray(out, dtype="float64")


def _permute_gates(w: np.ndarray, order: tuple[int, int, int, int]) -> np.ndarray:
    return np.concatenate([np.split(w, 4, axis=-1)[k] for k in order], axis=-1)


@exercise("03.lstm_sequence", "run an LSTM over padded sequences, as Keras does",
          solution=_lstm_sequence,
          hints=("Start from h = c = zeros((batch, units)) and loop over the time axis, calling your "
                 "one-step function (the notebook's lstm_step) on x[:, t]. Keras packs the four gates "
                 "side by side in the order i, f, c (candidate), o.",
                 "A padded step must leave the state exactly as it was, row by row: compute the new "
                 "(h, c), then keep it only where mask[:, t] is True, e.g. "
                 "h = np.where(mask[:, t:t+1], h_new, h). Return the last h, not c."))
def _check_lstm_sequence(fn) -> None:
    rng = np.random.default_rng(20260311)     # weights and inputs the notebook never shows
    batch, steps, dim, units = 4, 6, 5, 3
    x = rng.normal(size=(batch, steps, dim))
    lengths = np.array([6, 4, 1, 3])
    mask = np.arange(steps)[None, :] < lengths[:, None]
    mask[3, 1] = False                        # a gap inside the text, not only at the end
    kernel = rng.normal(scale=0.5, size=(dim, 4 * units))
    recurrent = rng.normal(scale=0.5, size=(units, 4 * units))
    bias = rng.normal(scale=0.5, size=4 * units)
    want = _keras_lstm_final_state(x, mask, kernel, recurrent, bias)
    got = fn(x, mask, kernel, recurrent, bias)
    if got is None:
        raise Hint("your function returned None: return the final hidden state h, shape (batch, units)")
    got = np.asarray(got, dtype="float64")
    if got.shape != want.shape:
        raise Hint(f"return the final hidden state of shape (batch, units) = {want.shape}; yours is {got.shape}")
    if np.allclose(got, want, atol=1e-5):
        return
    if np.allclose(got, _keras_lstm_final_state(x, None, kernel, recurrent, bias), atol=1e-5):
        raise Hint("you ran the LSTM over the padded steps too: where mask[:, t] is False the state "
                   "must stay as it was (that is what mask_zero=True does in the chapter's model)")
    wrong_order = _lstm_sequence(x, mask, *(_permute_gates(w, (0, 1, 3, 2)) for w in (kernel, recurrent, bias)))
    if np.allclose(got, wrong_order, atol=1e-5):
        raise Hint("your gates are in the order i, f, o, c; Keras packs them as i, f, c, o "
                   "(the candidate before the output gate)")
    h = np.zeros((batch, units))
    c = np.zeros((batch, units))
    for t in range(steps):                    # resetting the state on padded steps
        h_new, c_new = _lstm_step_reference(x[:, t], h, c, kernel, recurrent, bias)
        keep = mask[:, t:t + 1]
        h, c = np.where(keep, h_new, 0.0), np.where(keep, c_new, 0.0)
    if np.allclose(got, h, atol=1e-5):
        raise Hint("you set the state to zero on padded steps: it must stay as it was, so a text "
                   "followed by padding ends with the state after its last real token")
    raise Hint(f"your final state differs from Keras' by up to {np.max(np.abs(got - want)):.2e}; "
               "check the step on its own first: c = f * c + i * g and h = o * tanh(c), with sigmoid "
               "gates and a tanh candidate g")


def draw_lstm_cell(ax=None):
    """Draw one LSTM cell (gates, cell state, hidden state) with matplotlib; return the axes."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch

    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4))
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 6)
    ax.axis("off")
    ax.add_patch(FancyBboxPatch((1.2, 0.8), 7.2, 4.2, boxstyle="round,pad=0.1", fc="#f4f6fa", ec="#888"))

    def box(x, y, label, colour):
        ax.add_patch(FancyBboxPatch((x - 0.45, y - 0.3), 0.9, 0.6, boxstyle="round,pad=0.05",
                                    fc=colour, ec="k", lw=0.8))
        ax.text(x, y, label, ha="center", va="center", fontsize=10)

    def node(x, y, label):
        ax.add_patch(plt.Circle((x, y), 0.25, fc="white", ec="k", lw=0.8))
        ax.text(x, y, label, ha="center", va="center", fontsize=10)

    def arrow(x0, y0, x1, y1, colour="k"):
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0),
                    arrowprops=dict(arrowstyle="->", color=colour, lw=1.2))

    gates = [(2.6, r"$f_t$: $\sigma$", "#f6c8c8"), (4.0, r"$i_t$: $\sigma$", "#c8e6c9"),
             (5.4, r"$g_t$: tanh", "#c8e6c9"), (6.8, r"$o_t$: $\sigma$", "#c8d8f6")]
    ax.text(0.2, 1.2, r"$h_{t-1}$", fontsize=11)
    ax.text(4.3, 0.05, r"$x_t$", fontsize=11)
    arrow(0.8, 1.3, 1.6, 1.3)
    arrow(4.5, 0.35, 4.5, 0.95)
    ax.plot([1.6, 7.6], [1.3, 1.3], color="#555", lw=1)          # [h_{t-1}, x_t] feeds every gate
    for x, label, colour in gates:
        arrow(x, 1.3, x, 2.0)
        box(x, 2.3, label, colour)
    # the cell state runs along the top
    ax.text(0.2, 4.35, r"$c_{t-1}$", fontsize=11)
    arrow(0.8, 4.4, 2.35, 4.4, "#b00020")
    node(2.6, 4.4, "×")
    arrow(2.85, 4.4, 4.45, 4.4, "#b00020")
    node(4.7, 4.4, "+")
    arrow(4.95, 4.4, 9.4, 4.4, "#b00020")
    ax.text(9.45, 4.35, r"$c_t$", fontsize=11)
    arrow(2.6, 2.6, 2.6, 4.15)                                    # forget gate scales c_{t-1}
    node(4.7, 3.4, "×")
    arrow(4.0, 2.6, 4.55, 3.2)
    arrow(5.4, 2.6, 4.85, 3.2)
    arrow(4.7, 3.65, 4.7, 4.15)                                   # i * g is added
    ax.text(7.35, 3.75, "tanh", fontsize=9)
    node(7.3, 3.4, "×")
    arrow(7.3, 4.4, 7.3, 3.65)                                    # tanh(c_t)
    arrow(6.8, 2.6, 7.15, 3.2)                                    # output gate
    arrow(7.55, 3.4, 9.4, 3.4)
    ax.text(9.45, 3.35, r"$h_t$", fontsize=11)
    ax.set_title("one LSTM step: the gates read $[x_t, h_{t-1}]$; the cell state $c$ runs along the top")
    return ax


def _unknown_share(ids: np.ndarray) -> float:
    ids = np.asarray(ids)
    real = ids != 0                          # padding (0) is not a token of the text
    return float((ids == 1).sum() / max(real.sum(), 1))   # 1 is [UNK]


@exercise("03.unknown_share", "the share of a text's tokens the vocabulary does not know",
          solution=_unknown_share,
          hints=("TextVectorization uses id 0 for padding and id 1 for [UNK].",
                 "Count the ids equal to 1 and divide by the number of ids that are not 0 "
                 "(padding is not part of the text)."))
def _check_unknown_share(fn) -> None:
    ids = np.array([[5, 1, 7, 0, 0, 0], [1, 1, 9, 4, 0, 0]])
    got = fn(ids)
    if got is None:
        raise Hint("your function returned None")
    got = float(got)
    want = _unknown_share(ids)               # 3 unknown of 7 real tokens
    if np.isclose(got, 3):
        raise Hint("that is the number of [UNK] tokens; divide by the number of real tokens")
    if np.isclose(got, 3 / ids.size):
        raise Hint("you divided by all positions, padding included: padding (id 0) is not part of "
                   "the text, so leave it out of the denominator")
    if np.isclose(got, 1 - want):
        raise Hint("that is the share of known tokens; the exercise asks for the unknown ones (id 1)")
    if not np.isclose(got, want):
        raise Hint(f"for {ids.tolist()} expect 3/7 = {want:.3f}, got {got:.3f}")
    if not np.isclose(float(fn(np.array([[0, 0, 0]]))), 0.0):
        raise Hint("a batch of padding only has no tokens: return 0.0 instead of dividing by zero")
