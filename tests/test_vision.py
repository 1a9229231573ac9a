"""Unit tests of fmbook.vision: image validation, shift transforms, analysis helpers, plots."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

from fmbook import vision


@pytest.fixture
def digits():
    """Four 28x28 uint8 'digits': a bright 6x6 square in the middle of each."""
    x = np.zeros((4, 28, 28), np.uint8)
    x[:, 11:17, 11:17] = 255
    return x


def test_as_float_images_scales_uint8_to_unit_range(digits):
    out = vision.as_float_images(digits)
    assert out.dtype == np.float32 and out.shape == (4, 28, 28)
    assert out.min() == 0.0 and out.max() == 1.0


def test_as_float_images_accepts_single_image_and_channel_axis(digits):
    assert vision.as_float_images(digits[0]).shape == (1, 28, 28)
    assert vision.as_float_images(digits[..., None]).shape == (4, 28, 28)


@pytest.mark.parametrize("shape", [(28,), (2, 3, 28, 28), (2, 28, 28, 3)])
def test_as_float_images_rejects_wrong_shape(shape):
    with pytest.raises(ValueError, match="shape"):
        vision.as_float_images(np.zeros(shape, np.float32))


@pytest.mark.parametrize("dtype", [np.int64, np.int16, bool])
def test_as_float_images_rejects_wrong_dtype(dtype):
    with pytest.raises(ValueError, match="uint8"):
        vision.as_float_images(np.zeros((2, 28, 28), dtype))


def test_as_float_images_rejects_unscaled_floats():
    with pytest.raises(ValueError, match="divide uint8 pixels by 255"):
        vision.as_float_images(np.full((2, 28, 28), 255.0))


def test_as_float_images_rejects_nan():
    x = np.zeros((1, 28, 28))
    x[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        vision.as_float_images(x)


def test_translate_moves_ink_right_and_down(digits):
    out = vision.translate(digits, 3, 2)
    assert out.shape == (4, 28, 28)
    assert out[0, 13:19, 14:20].min() == 1.0
    assert out.sum() == pytest.approx(vision.as_float_images(digits).sum())


def test_translate_zero_is_identity(digits):
    np.testing.assert_array_equal(vision.translate(digits, 0), vision.as_float_images(digits))


def test_translate_past_the_edge_gives_blank_images(digits):
    assert vision.translate(digits, 28).sum() == 0


def test_translate_rejects_fractional_pixels(digits):
    with pytest.raises(ValueError, match="whole pixels"):
        vision.translate(digits, 1.5)


def test_rotate_by_zero_and_full_turn_is_identity(digits):
    x = vision.as_float_images(digits)
    np.testing.assert_array_equal(vision.rotate(digits, 0), x)
    np.testing.assert_array_equal(vision.rotate(digits, 360), x)


def test_rotate_keeps_shape_range_and_changes_a_bar():
    x = np.zeros((1, 28, 28), np.float32)
    x[0, 4:24, 13:15] = 1.0  # a vertical bar
    out = vision.rotate(x, 90)
    assert out.shape == (1, 28, 28) and out.dtype == np.float32
    assert 0.0 <= out.min() and out.max() <= 1.0
    assert out[0, 13:15, 4:24].mean() > 0.9  # now horizontal


def test_add_noise_is_repeatable_and_clipped(digits):
    a = vision.add_noise(digits, 0.5, seed=3)
    b = vision.add_noise(digits, 0.5, seed=3)
    np.testing.assert_array_equal(a, b)
    assert a.min() >= 0.0 and a.max() <= 1.0
    assert not np.array_equal(a, vision.as_float_images(digits))


def test_add_noise_rejects_negative_std(digits):
    with pytest.raises(ValueError, match="non-negative"):
        vision.add_noise(digits, -0.1)


def test_invert_full_gives_negative(digits):
    np.testing.assert_allclose(vision.invert(digits), 1.0 - vision.as_float_images(digits))


def test_invert_rejects_amount_outside_unit_interval(digits):
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        vision.invert(digits, 1.5)


def test_perturb_dispatches_each_kind_at_level_zero_to_identity(digits):
    x = vision.as_float_images(digits)
    for kind in vision.SHIFT_KINDS:
        np.testing.assert_allclose(vision.perturb(digits, kind, 0), x, atol=1e-6)


def test_perturb_rejects_unknown_kind(digits):
    with pytest.raises(ValueError, match="unknown shift kind"):
        vision.perturb(digits, "blur", 1)


def test_shift_transforms_reject_wrong_dtype():
    bad = np.zeros((2, 28, 28), np.int32)
    for fn in (lambda x: vision.rotate(x, 10), lambda x: vision.translate(x, 1),
               lambda x: vision.add_noise(x, 0.1), vision.invert):
        with pytest.raises(ValueError, match="dtype"):
            fn(bad)


def test_softmax_rows_sum_to_one():
    p = vision.softmax(np.array([[1000.0, 0.0, -1000.0], [1.0, 2.0, 3.0]]))
    np.testing.assert_allclose(p.sum(1), 1.0, rtol=1e-6)
    assert p[0, 0] == pytest.approx(1.0)


def test_confidently_wrong_orders_mistakes_by_confidence():
    probs = np.array([[0.9, 0.1], [0.3, 0.7], [0.05, 0.95], [0.6, 0.4]])
    y = np.array([0, 0, 0, 1])
    np.testing.assert_array_equal(vision.confidently_wrong(probs, y, k=5), [2, 1, 3])


def test_confidently_wrong_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="len"):
        vision.confidently_wrong(np.zeros((3, 10)), np.zeros(4))


def test_plots_return_figures(digits):
    from matplotlib.figure import Figure

    probs = np.full((4, 10), 0.05)
    probs[:, 3] = 0.55
    figs = [
        vision.plot_filters(np.random.default_rng(0).normal(size=(3, 3, 1, 8))),
        vision.plot_filters(np.random.default_rng(0).normal(size=(8, 1, 3, 3))),
        vision.plot_feature_maps(digits[0], np.random.default_rng(0).random((26, 26, 8)), n=8),
        vision.plot_confidently_wrong(digits, probs, np.array([1, 2, 3, 4])),
        vision.plot_probabilities(digits[0], probs[0]),
        vision.plot_shift_curves({"m": {"rotation": [(0, 0.9), (45, 0.5)], "noise": [(0, 0.9)]}}),
    ]
    assert all(isinstance(f, Figure) for f in figs)
    import matplotlib.pyplot as plt

    plt.close("all")


def test_plot_probabilities_rejects_wrong_length(digits):
    with pytest.raises(ValueError, match="10 class probabilities"):
        vision.plot_probabilities(digits[0], np.ones(3) / 3)
