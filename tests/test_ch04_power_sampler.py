"""fmbook.device.PowerSampler: sampled power over a block, tested with fake sensors."""

from __future__ import annotations

import time

import pytest

from fmbook.device import PowerSampler, gpu_power_reader


def test_a_constant_sensor_integrates_to_power_times_time():
    with PowerSampler(lambda: 100.0, interval_s=0.01) as power:
        time.sleep(0.2)
    span = power.times[-1] - power.times[0]
    assert power.measured
    assert power.energy_wh == pytest.approx(100.0 * span / 3600.0)
    assert power.mean_watts == pytest.approx(100.0)


def test_readings_are_taken_repeatedly_during_the_block():
    with PowerSampler(lambda: 50.0, interval_s=0.01) as power:
        time.sleep(0.2)
    assert len(power.watts) >= 5


def test_no_sensor_means_not_measured_and_no_energy():
    with PowerSampler(None) as power:
        pass
    assert not power.measured
    assert power.watts == []
    assert power.energy_wh != power.energy_wh  # nan


def test_a_failing_sensor_stops_sampling_and_records_why():
    calls = []

    def flaky() -> float:
        calls.append(1)
        if len(calls) > 3:
            raise RuntimeError("NVML went away")
        return 70.0

    with PowerSampler(flaky, interval_s=0.01) as power:
        time.sleep(0.2)
    assert len(power.watts) == 3
    assert "NVML went away" in power.error


def test_a_non_positive_interval_is_refused():
    with pytest.raises(ValueError, match="interval_s"):
        PowerSampler(lambda: 1.0, interval_s=0)


def test_a_cpu_device_has_no_power_reader():
    assert gpu_power_reader("cpu") is None
