"""Chapter 03's exercises: typical wrong answers get their specific hints."""

from __future__ import annotations

import numpy as np
import pytest

from fmbook.exercises import get


def test_front_padding_gets_the_hint_about_padding_at_the_end(hint_of):
    def front_padded(sequences, max_len):
        out = np.zeros((len(sequences), max_len), dtype=int)
        for i, s in enumerate(sequences):
            s = list(s)[:max_len]
            if s:
                out[i, -len(s):] = s
        return out, out != 0

    assert "padded at the front" in hint_of("03.pad_and_mask", front_padded)


def test_inverted_mask_gets_a_specific_hint(hint_of):
    def inverted_mask(sequences, max_len):
        padded, mask = get("03.pad_and_mask").solution(sequences, max_len)
        return padded, ~mask

    assert "mask is inverted" in hint_of("03.pad_and_mask", inverted_mask)


@pytest.mark.parametrize("wrong, message", [
    (lambda d, u: 3 * (d * u + u * u + u), "GRU"),
    (lambda d, u: 4 * (d * u + u * u), "biases"),
    (lambda d, u: 4 * (d * u + u), "recurrent kernel"),
], ids=["gru_count", "no_biases", "no_recurrent_kernel"])
def test_typical_lstm_count_mistakes_get_specific_hints(hint_of, wrong, message):
    assert message in hint_of("03.lstm_params", wrong)


def test_unknown_share_counting_padding_gets_a_specific_hint(hint_of):
    assert "padding" in hint_of("03.unknown_share", lambda ids: float((np.asarray(ids) == 1).mean()))
