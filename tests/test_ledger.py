"""Unit tests of the ledger query fmbook.ledger.find_metric."""

from __future__ import annotations

from fmbook.ledger import find_metric


def _entry(profile, **metrics):
    return {"chapter": "03_lstm_reviews", "profile": profile, "metrics": metrics, "expected": {}}


def test_find_metric_returns_none_without_an_entry():
    assert find_metric([], "03_lstm_reviews", "LSTM test accuracy") is None


def test_find_metric_selects_the_metric_by_its_exact_name():
    entries = [_entry("smoke", **{"TF-IDF baseline test accuracy": 0.71, "LSTM test accuracy": 0.68,
                                  "bidirectional LSTM test accuracy": 0.69})]
    value, _ = find_metric(entries, "03_lstm_reviews", "LSTM test accuracy")
    assert value == 0.68


def test_find_metric_returns_none_when_the_name_is_only_part_of_another():
    entries = [_entry("smoke", **{"bidirectional LSTM test accuracy": 0.69})]
    assert find_metric(entries, "03_lstm_reviews", "LSTM test accuracy") is None


def test_find_metric_prefers_the_same_profile():
    entries = [_entry("full", **{"LSTM test accuracy": 0.9}), _entry("fast", **{"LSTM test accuracy": 0.8})]
    value, entry = find_metric(entries, "03_lstm_reviews", "LSTM test accuracy", profile="fast")
    assert (value, entry["profile"]) == (0.8, "fast")


def test_find_metric_falls_back_to_another_profile():
    entries = [_entry("full", **{"LSTM test accuracy": 0.9})]
    value, entry = find_metric(entries, "03_lstm_reviews", "LSTM test accuracy", profile="smoke")
    assert (value, entry["profile"]) == (0.9, "full")


def test_find_metric_skips_values_that_are_not_numbers():
    entries = [_entry("smoke", **{"data set": "imdb"})]
    assert find_metric(entries, "03_lstm_reviews", "data set") is None
