"""Tests of chapter 03's exercises: solutions pass, typical mistakes get specific hints."""

from __future__ import annotations

import numpy as np
import pytest

from fmbook.exercises import Hint, check, get


def _front_padded(sequences, max_len):
    out = np.zeros((len(sequences), max_len), dtype=int)
    for i, s in enumerate(sequences):
        s = list(s)[:max_len]
        if s:
            out[i, -len(s):] = s
    return out, out != 0


def _inverted_mask(sequences, max_len):
    padded, mask = get("03.pad_and_mask").solution(sequences, max_len)
    return padded, ~mask


def test_pad_and_mask_solution_passes_its_checker():
    ex = get("03.pad_and_mask")
    ex.checker(ex.solution)


def test_front_padding_gets_a_hint_about_padding_at_the_end():
    with pytest.raises(Hint, match="padded at the front"):
        get("03.pad_and_mask").checker(_front_padded)


def test_inverted_mask_gets_a_specific_hint():
    with pytest.raises(Hint, match="mask is inverted"):
        get("03.pad_and_mask").checker(_inverted_mask)


def test_lstm_params_solution_passes_its_checker():
    ex = get("03.lstm_params")
    ex.checker(ex.solution)


@pytest.mark.parametrize("wrong, message", [
    (lambda d, u: 3 * (d * u + u * u + u), "GRU"),
    (lambda d, u: 4 * (d * u + u * u), "biases"),
    (lambda d, u: 4 * (d * u + u), "recurrent kernel"),
])
def test_typical_lstm_count_mistakes_get_specific_hints(wrong, message):
    with pytest.raises(Hint, match=message):
        get("03.lstm_params").checker(wrong)


def test_lstm_params_solution_matches_keras():
    keras = pytest.importorskip("keras")
    layer = keras.layers.LSTM(16)
    layer.build((None, None, 32))
    assert layer.count_params() == get("03.lstm_params").solution(32, 16)


def test_unattempted_exercise_is_reported_not_raised():
    def stub(*args):
        raise NotImplementedError

    assert not check("03.lstm_params", stub, quiet=True)


def test_unknown_share_solution_passes_its_checker():
    ex = get("03.unknown_share")
    ex.checker(ex.solution)


def test_unknown_share_counting_padding_gets_a_specific_hint():
    with pytest.raises(Hint, match="padding"):
        get("03.unknown_share").checker(lambda ids: float((np.asarray(ids) == 1).mean()))
