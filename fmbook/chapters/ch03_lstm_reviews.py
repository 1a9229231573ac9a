"""Chapter 03: an LSTM for review sentiment.

The chapter's settings per profile (``SETTINGS``) and its exercises."""

from __future__ import annotations

import numpy as np

from ..exercises import Hint, exercise

# Settings per profile. ``None`` as a size means "all of it".
SETTINGS: dict[str, dict] = {
    # n_train/n_test: stratified subsets (None: all); max_tokens/max_len: caps on the
    # vocabulary and sequence length that the notebook picks from the data.
    "smoke": {"n_train": 3000, "n_test": 1000, "epochs": 3, "batch_size": 64, "max_tokens": 5000,
              "max_len": 200, "embed_dim": 32, "units": 32, "patience": 1},
    "fast": {"n_train": None, "n_test": None, "epochs": 6, "batch_size": 64, "max_tokens": 20000,
             "max_len": 200, "embed_dim": 64, "units": 64, "patience": 2},
    "full": {"n_train": None, "n_test": None, "epochs": 10, "batch_size": 64, "max_tokens": 20000,
             "max_len": 400, "embed_dim": 128, "units": 64, "patience": 2},
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
