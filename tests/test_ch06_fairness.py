"""Chapter 06's exercises and settings: typical wrong answers get their specific hints."""

from __future__ import annotations

import numpy as np
import pytest

from fmbook.exercises import get
from fmbook.profiles import PROFILES, chapter_settings


def test_dp_difference_with_a_sign_gets_the_sign_hint(hint_of):
    solution = get("06.dp_difference").solution
    assert "sign" in hint_of("06.dp_difference", lambda y_pred, groups: -solution(y_pred, groups))


@pytest.mark.filterwarnings("ignore:Mean of empty slice", "ignore:invalid value encountered")
def test_dp_difference_with_hard_coded_group_names_gets_a_specific_hint(hint_of):
    def groups_a_and_b(y_pred, groups):
        return float(y_pred[groups == "a"].mean() - y_pred[groups == "b"].mean())

    assert "do not hard-code group names" in hint_of("06.dp_difference", groups_a_and_b)


def test_false_positive_rate_as_selection_rate_gets_a_specific_hint(hint_of):
    def selection_rate(y_true, y_pred, groups, group):
        return float(np.mean(np.asarray(y_pred)[np.asarray(groups) == group]))

    assert "selection rate" in hint_of("06.false_positive_rate", selection_rate)


def test_false_positive_rate_as_true_negative_rate_gets_a_specific_hint(hint_of):
    def tnr(y_true, y_pred, groups, group):
        keep = (groups == group) & (y_true == 0)
        return float(np.mean(y_pred[keep] == 0))

    assert "true negative rate" in hint_of("06.false_positive_rate", tnr)


def test_fpr_from_calibration_with_the_odds_upside_down_gets_a_specific_hint(hint_of):
    def upside_down(base_rate, ppv, fnr):
        return (1 - base_rate) / base_rate * (1 - ppv) / ppv * (1 - fnr)

    assert "upside down" in hint_of("06.fpr_from_calibration", upside_down)


def test_fpr_from_calibration_with_fnr_instead_of_tpr_gets_a_specific_hint(hint_of):
    def with_fnr(base_rate, ppv, fnr):
        return base_rate / (1 - base_rate) * (1 - ppv) / ppv * fnr

    assert "(1 - FNR)" in hint_of("06.fpr_from_calibration", with_fnr)


def test_settings_give_a_usable_bootstrap_and_booster_on_every_profile():
    for profile in PROFILES:
        s = chapter_settings("06_fairness", profile)
        assert s.n_bootstrap >= 10 and s.gb_max_iter > 0
