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
        assert s.n_bootstrap >= 10 and s.gb_max_iter > 0 and s.grid_size >= 5
        assert 0 < s.val_fraction < 1 and 0 < s.dp_target < 0.1


def test_equal_opportunity_with_one_threshold_for_all_gets_the_per_group_hint(hint_of):
    def one_threshold(scores, y_true, groups, target_tpr):
        t = float(np.quantile(scores[y_true == 1], 1 - target_tpr))
        return {g: t for g in np.unique(groups)}

    assert "same threshold" in hint_of("06.equal_opportunity", one_threshold)


def test_equal_opportunity_with_equal_selection_rates_gets_the_positives_hint(hint_of):
    def equal_selection(scores, y_true, groups, target_tpr):
        return {g: float(np.quantile(scores[groups == g], 1 - target_tpr)) for g in np.unique(groups)}

    assert "only the group's positives" in hint_of("06.equal_opportunity", equal_selection)


def test_equal_opportunity_with_the_quantile_flipped_gets_a_specific_hint(hint_of):
    def flipped(scores, y_true, groups, target_tpr):
        return {g: float(np.quantile(scores[(groups == g) & (y_true == 1)], target_tpr))
                for g in np.unique(groups)}

    assert "(1 - target_tpr) quantile" in hint_of("06.equal_opportunity", flipped)


def test_equal_opportunity_solution_reaches_the_target_on_a_fresh_sample():
    from fmbook.chapters.ch06_fairness import _equal_opportunity_thresholds, _scored_population, _tpr_by_group

    thresholds = _equal_opportunity_thresholds(*_scored_population(0), 0.6)
    tpr = _tpr_by_group(thresholds, *_scored_population(1))
    assert all(abs(t - 0.6) < 0.05 for t in tpr.values())
