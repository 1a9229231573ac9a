"""Tests of chapter 06's plumbing: the Adult and COMPAS loaders, ProPublica's filters, group
validation, per-group rates and their bootstrap intervals, the audit-report writer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fmbook import data
from fmbook.fairness import (AuditReport, bootstrap_group_rates, group_rates, propublica_filter,
                             sensitive_groups, write_audit_report)


def _have(dataset: str) -> bool:
    return all(data.locate(f) is not None for f in data.get_dataset(dataset).files)


needs_adult = pytest.mark.skipif("not _have('adult')", reason="Adult files not in FMBOOK_DATA or the cache")
needs_compas = pytest.mark.skipif("not _have('compas')", reason="COMPAS file not in FMBOOK_DATA or the cache")


@pytest.fixture(scope="module")
def adult():
    return data.load_adult()


@pytest.fixture(scope="module")
def compas():
    return data.load_compas()


def _toy(n=400, seed=0):
    rng = np.random.default_rng(seed)
    groups = pd.Series(rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2]))
    y = rng.integers(0, 2, n)
    pred = np.where(rng.random(n) < 0.8, y, 1 - y)
    return y, pred, groups


# --------------------------------------------------------------------------- loaders


@needs_adult
def test_load_adult_has_32561_train_and_16281_test_rows(adult):
    train, test = adult
    assert (len(train), len(test)) == (32_561, 16_281)
    assert list(train.columns) == list(data.ADULT_COLUMNS) == list(test.columns)


@needs_adult
def test_load_adult_cleans_dtypes_missing_values_and_test_labels(adult):
    train, test = adult
    for df in (train, test):
        for col in data.ADULT_NUMERIC:
            assert df[col].dtype == np.int64, col
        assert isinstance(df["sex"].dtype, pd.CategoricalDtype)
        assert df["income"].dtype == np.int64 and set(df["income"].unique()) == {0, 1}
        assert not (df["workclass"].astype(str) == "?").any()
    assert train["occupation"].isna().sum() == 1843
    assert test["income"].sum() == 3846  # the test file's ">50K." labels are positives


@needs_compas
def test_load_compas_has_7214_rows_and_53_columns(compas):
    assert compas.shape == (7_214, 53)


@needs_compas
def test_propublica_filter_leaves_6172_rows(compas):
    filtered = propublica_filter(compas)
    assert len(filtered) == 6_172
    assert filtered["days_b_screening_arrest"].abs().max() <= 30
    assert (filtered["score_text"] != "N/A").all()


def test_propublica_filter_drops_rows_by_each_rule():
    df = pd.DataFrame({
        "days_b_screening_arrest": [0, 31, -30, np.nan, 5, 5],
        "is_recid": [0, 0, 1, 0, -1, 0],
        "c_charge_degree": ["F", "M", "M", "F", "F", "O"],
        "score_text": ["Low", "High", "Medium", "Low", "Low", "Low"],
    })
    assert propublica_filter(df)["days_b_screening_arrest"].tolist() == [0, -30]


def test_propublica_filter_names_a_missing_column():
    with pytest.raises(KeyError, match="c_charge_degree"):
        propublica_filter(pd.DataFrame({"days_b_screening_arrest": [0], "is_recid": [0],
                                        "score_text": ["Low"]}))


# --------------------------------------------------------------------------- groups


def test_sensitive_groups_missing_column_raises_clear_keyerror():
    df = pd.DataFrame({"sex": ["F", "M"], "y": [0, 1]})
    with pytest.raises(KeyError, match="'gender'.*not in the data.*sex"):
        sensitive_groups(df, "gender")


def test_sensitive_groups_group_without_members_raises():
    s = pd.Series(pd.Categorical(["F", "M", "F"], categories=["F", "M", "X"]))
    with pytest.raises(ValueError, match="'X': 0"):
        sensitive_groups(s)


def test_sensitive_groups_requested_group_absent_raises():
    with pytest.raises(ValueError, match="fewer than 1"):
        sensitive_groups(pd.Series(["F", "M"]), groups=["F", "M", "X"])


def test_sensitive_groups_missing_values_raise():
    with pytest.raises(ValueError, match="missing value"):
        sensitive_groups(pd.DataFrame({"race": ["a", None]}), "race")


def test_sensitive_groups_joins_columns_into_intersections():
    df = pd.DataFrame({"sex": ["F", "M"], "race": ["a", "b"]})
    assert sensitive_groups(df, ["sex", "race"]).tolist() == ["F | a", "M | b"]


def test_group_rates_rejects_non_binary_predictions():
    with pytest.raises(ValueError, match="0/1"):
        group_rates([0, 1], [0.2, 0.9], ["a", "b"])


def test_group_rates_match_fairlearn_metricframe():
    from fairlearn.metrics import MetricFrame, false_positive_rate, selection_rate, true_positive_rate
    from sklearn.metrics import accuracy_score

    y, pred, groups = _toy()
    mf = MetricFrame(metrics={"accuracy": accuracy_score, "selection_rate": selection_rate,
                              "tpr": true_positive_rate, "fpr": false_positive_rate},
                     y_true=y, y_pred=pred, sensitive_features=groups)
    ours = group_rates(y, pred, groups)
    for col in mf.by_group.columns:
        assert np.allclose(ours[col], mf.by_group[col].sort_index()), col
    assert ours["count"].sum() == len(y)


# --------------------------------------------------------------------------- bootstrap


def test_bootstrap_interval_contains_point_estimate():
    y, pred, groups = _toy()
    table = bootstrap_group_rates(y, pred, groups, n_boot=100, seed=0)
    for rate in ("accuracy", "selection_rate", "tpr", "fpr"):
        lo, v, hi = table[(rate, "lo")], table[(rate, "value")], table[(rate, "hi")]
        assert ((lo <= v + 1e-12) & (v <= hi + 1e-12)).all(), rate


def test_bootstrap_is_reproducible_with_a_seed():
    y, pred, groups = _toy()
    a = bootstrap_group_rates(y, pred, groups, n_boot=50, seed=3)
    b = bootstrap_group_rates(y, pred, groups, n_boot=50, seed=3)
    c = bootstrap_group_rates(y, pred, groups, n_boot=50, seed=4)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)


def test_bootstrap_difference_row_is_fairlearn_dp_difference():
    from fairlearn.metrics import demographic_parity_difference

    y, pred, groups = _toy()
    table = bootstrap_group_rates(y, pred, groups, n_boot=20)
    assert np.isclose(table.loc["difference", ("selection_rate", "value")],
                      demographic_parity_difference(y, pred, sensitive_features=groups))


def test_bootstrap_interval_is_narrower_with_more_data():
    small = bootstrap_group_rates(*_toy(200), n_boot=200, rates=("accuracy",))
    large = bootstrap_group_rates(*_toy(5000), n_boot=200, rates=("accuracy",))
    width = lambda t: (t[("accuracy", "hi")] - t[("accuracy", "lo")]).drop(index="difference")  # noqa: E731
    assert (width(large) < width(small)).all()


def test_bootstrap_rejects_too_few_resamples():
    y, pred, groups = _toy()
    with pytest.raises(ValueError, match="n_boot"):
        bootstrap_group_rates(y, pred, groups, n_boot=2)


def test_bootstrap_rejects_mismatched_lengths():
    y, pred, groups = _toy()
    with pytest.raises(ValueError, match="differ in length"):
        bootstrap_group_rates(y[:-1], pred[:-1], groups, n_boot=20)


# --------------------------------------------------------------------------- report


def _report(**changes) -> AuditReport:
    fields = dict(
        model="logistic regression", data="Adult, 16,281 test rows", intended_use="teaching",
        overall={"test accuracy": 0.8525, "DP difference (sex)": 0.1777},
        by_group=pd.DataFrame({"selection_rate": [0.076, 0.254], "count": [5421, 10860]},
                              index=["Female", "Male"]),
        mitigation="ExponentiatedGradient(DemographicParity)",
        mitigation_cost={"accuracy after": 0.8330, "DP difference after": 0.0124},
        caveats=["small groups"],
    )
    fields.update(changes)
    return AuditReport(**fields)


def test_write_audit_report_has_every_section_and_the_numbers():
    text = write_audit_report(_report(), title="Card")
    for heading in ("# Card", "## Model", "## Data", "## Intended use", "## Metrics (test set)",
                    "### By group", "## Mitigation", "## Caveats"):
        assert heading in text
    assert "DP difference (sex): 0.178" in text
    assert "| Female | 0.076 | 5421 |" in text
    assert "- small groups" in text


def test_write_audit_report_escapes_pipes_in_intersectional_group_names():
    groups = pd.DataFrame({"count": [3, 4]}, index=["Female | Black", "Male | White"])
    text = write_audit_report(_report(by_group=groups))
    assert "| Female \\| Black | 3 |" in text


def test_write_audit_report_writes_the_file(tmp_path):
    path = tmp_path / "cards" / "card.md"
    text = write_audit_report(_report(), path)
    assert path.read_text() == text


def test_write_audit_report_refuses_nan_metrics():
    with pytest.raises(ValueError, match="NaN"):
        write_audit_report(_report(overall={"test accuracy": float("nan")}))


def test_write_audit_report_refuses_empty_group_table():
    with pytest.raises(ValueError, match="by group"):
        write_audit_report(_report(by_group=pd.DataFrame()))


def test_write_audit_report_refuses_empty_intended_use():
    with pytest.raises(ValueError, match="intended_use"):
        write_audit_report(_report(intended_use="  "))
