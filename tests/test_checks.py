import json

import pytest

import fmbook
from fmbook.checks import ExpectationError, expect
from fmbook.ledger import read

BANDS = {"smoke": (0.5, 1.0), "fast": (0.9, 1.0), "full": (0.95, 1.0)}


def test_value_inside_the_band_passes():
    assert expect("acc", 0.7, BANDS, show=False).passed


def test_value_outside_the_band_raises():
    with pytest.raises(ExpectationError, match="outside the band"):
        expect("acc", 0.3, BANDS, show=False)


def test_band_depends_on_the_profile():
    assert not expect("acc", 0.7, BANDS, profile="fast", raise_on_fail=False, show=False).passed


def test_missing_band_for_the_profile_is_an_error():
    with pytest.raises(KeyError, match="no expected band"):
        expect("acc", 0.7, {"fast": (0, 1)}, show=False)


def test_nan_is_not_a_result():
    with pytest.raises(ValueError, match="non-finite"):
        expect("acc", float("nan"), BANDS, show=False)


def test_open_ended_band():
    assert expect("loss", 1e9, {"smoke": (0, None), "fast": (0, None), "full": (0, None)}, show=False).passed


def test_card_shows_value_band_and_verdict():
    card = expect("acc", 0.7, BANDS, show=False).card()
    assert "acc" in card and "0.5 .. 1" in card and "PASS" in card


def test_chapter_records_its_results_in_the_ledger():
    ch = fmbook.start("01_logistic_regression", seed=0)
    ch.check("test accuracy", 0.97, {"smoke": (0.9, 1), "fast": (0.9, 1), "full": (0.9, 1)}, show=False)
    ch.note("steps", 300)
    path = ch.record()
    entry = json.loads(path.read_text())
    assert entry["metrics"] == {"test accuracy": 0.97, "steps": 300}
    assert entry["profile"] == "smoke" and entry["passed"] is True and "numpy" in entry["versions"]
    assert read()[0]["chapter"] == "01_logistic_regression"


def test_failed_check_is_recorded_as_failed_before_raising():
    ch = fmbook.start("01_logistic_regression", seed=0)
    with pytest.raises(ExpectationError):
        ch.check("test accuracy", 0.2, {"smoke": (0.9, 1), "fast": (0.9, 1), "full": (0.9, 1)}, show=False)
    assert read()[0]["passed"] is False


def test_results_card_lists_every_metric():
    ch = fmbook.start("01_logistic_regression", seed=0)
    ch.check("test accuracy", 0.97, {"smoke": (0.9, 1), "fast": (0.9, 1), "full": (0.9, 1)}, show=False)
    text = str(ch.card())
    assert "test accuracy" in text and "0.97" in text and "pass" in text
