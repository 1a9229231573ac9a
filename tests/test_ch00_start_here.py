"""Chapter 00's exercise: a typical wrong answer gets its specific hint."""

from __future__ import annotations

import numpy as np


def test_accuracy_counting_matches_instead_of_their_share_gets_the_expected_value(hint_of):
    assert "the accuracy is 0.75" in hint_of("00.accuracy", lambda y_true, y_pred: int(np.sum(y_true == y_pred)))


def test_accuracy_as_error_rate_gets_the_expected_value(hint_of):
    assert "the accuracy is" in hint_of("00.accuracy", lambda y_true, y_pred: float(np.mean(y_true != y_pred)))


def test_test_size_with_one_standard_error_gets_the_two_standard_errors_hint(hint_of):
    import math

    assert "two standard errors" in hint_of("00.test_size", lambda p, m: math.ceil(p * (1 - p) / m**2))


def test_test_size_rounded_down_gets_the_round_up_hint(hint_of):
    import math

    assert "round up" in hint_of("00.test_size", lambda p, m: math.floor(4 * p * (1 - p) / m**2))


def test_test_size_without_input_checks_gets_the_value_error_hint(hint_of):
    import math

    assert "ValueError" in hint_of("00.test_size", lambda p, m: max(1, math.ceil(4 * p * (1 - p) / m**2)))


def test_test_size_solution_ignores_floating_point_dust():
    from fmbook.chapters.ch00_start_here import _test_size

    assert _test_size(0.9, 0.01) == 3600  # 4 * 0.09 / 0.0001 is 3600.0000000000005 in floating point
