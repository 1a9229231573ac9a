"""Chapter 00's exercise: a typical wrong answer gets its specific hint."""

from __future__ import annotations

import numpy as np


def test_accuracy_counting_matches_instead_of_their_share_gets_the_expected_value(hint_of):
    assert "the accuracy is 0.75" in hint_of("00.accuracy", lambda y_true, y_pred: int(np.sum(y_true == y_pred)))


def test_accuracy_as_error_rate_gets_the_expected_value(hint_of):
    assert "the accuracy is" in hint_of("00.accuracy", lambda y_true, y_pred: float(np.mean(y_true != y_pred)))
