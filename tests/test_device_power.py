"""Unit tests of the energy estimate in fmbook.device."""

from __future__ import annotations

import pytest

from fmbook.device import assumed_power_watts, energy_estimate_wh


def test_energy_estimate_is_watts_times_hours():
    assert energy_estimate_wh(3600, 20) == pytest.approx(20.0)


def test_energy_estimate_rejects_a_negative_time():
    with pytest.raises(ValueError, match="non-negative"):
        energy_estimate_wh(-1, 20)


def test_assumed_power_on_cpu_scales_with_threads_and_says_it_is_assumed():
    watts, why = assumed_power_watts("cpu", 4)
    assert watts == 40 and "assumed" in why


def test_assumed_power_counts_at_least_one_thread():
    assert assumed_power_watts("cpu", 0)[0] == 10
