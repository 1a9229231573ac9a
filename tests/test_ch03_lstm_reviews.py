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


# --------------------------------------------------------------------------- the LSTM itself

from fmbook.chapters import ch03_lstm_reviews as chapter  # noqa: E402


def _lstm_inputs(seed=0, batch=3, steps=5, dim=4, units=2):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(batch, steps, dim))
    mask = np.arange(steps)[None, :] < np.array([5, 2, 3])[:, None]
    weights = (rng.normal(scale=0.5, size=(dim, 4 * units)), rng.normal(scale=0.5, size=(units, 4 * units)),
               rng.normal(scale=0.5, size=4 * units))
    return x, mask, weights


def test_reference_lstm_matches_the_keras_layer_on_masked_sequences():
    x, mask, weights = _lstm_inputs()
    got = chapter._lstm_sequence(x, mask, *weights)
    np.testing.assert_allclose(got, chapter._keras_lstm_final_state(x, mask, *weights), atol=1e-5)


def test_lstm_sequence_solution_passes_its_checker():
    chapter._check_lstm_sequence(chapter._lstm_sequence)


def test_lstm_sequence_that_reads_the_padding_gets_the_mask_hint(hint_of):
    def no_mask(x, mask, kernel, recurrent_kernel, bias):
        return chapter._lstm_sequence(x, np.ones_like(mask, dtype=bool), kernel, recurrent_kernel, bias)

    assert "padded steps" in hint_of("03.lstm_sequence", no_mask)


def test_lstm_sequence_with_gates_in_pytorch_like_order_ifoc_gets_the_gate_order_hint(hint_of):
    def wrong_order(x, mask, kernel, recurrent_kernel, bias):
        w = [chapter._permute_gates(a, (0, 1, 3, 2)) for a in (kernel, recurrent_kernel, bias)]
        return chapter._lstm_sequence(x, mask, *w)

    assert "i, f, c, o" in hint_of("03.lstm_sequence", wrong_order)


def test_lstm_sequence_that_resets_the_state_on_padding_gets_a_specific_hint(hint_of):
    def reset(x, mask, kernel, recurrent_kernel, bias):
        h = np.zeros((x.shape[0], recurrent_kernel.shape[0]))
        c = np.zeros_like(h)
        for t in range(x.shape[1]):
            h_new, c_new = chapter._lstm_step_reference(x[:, t], h, c, kernel, recurrent_kernel, bias)
            h, c = np.where(mask[:, t:t + 1], h_new, 0.0), np.where(mask[:, t:t + 1], c_new, 0.0)
        return h

    assert "zero on padded steps" in hint_of("03.lstm_sequence", reset)


def test_pad_and_mask_solution_agrees_with_keras_pad_sequences():
    import keras

    batch = [[5, 8, 2], [7], [3, 4, 9, 6, 1], []]
    padded, mask = get("03.pad_and_mask").solution(batch, 4)
    want = keras.utils.pad_sequences(batch, maxlen=4, padding="post", truncating="post")
    np.testing.assert_array_equal(padded, want)
    np.testing.assert_array_equal(mask, want != 0)


def test_data_size_fractions_are_proper_subsets_in_every_profile():
    for profile, settings in chapter.SETTINGS.items():
        fractions = settings["size_fractions"]
        assert list(fractions) == sorted(fractions) and all(0 < f < 1 for f in fractions), profile


def test_lstm_cell_diagram_draws_on_the_axes_given():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    assert chapter.draw_lstm_cell(ax) is ax
    assert ax.patches and ax.texts
    plt.close(fig)
