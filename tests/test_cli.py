import os

import pytest

from fmbook.cli import main

needs_mirror = pytest.mark.skipif(not os.environ.get("FMBOOK_DATA"), reason="FMBOOK_DATA is not set")


def test_doctor_reports_profile_device_and_data(capsys):
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "profile: smoke" in out and "device: torch" in out and "mnist" in out


def test_data_list_shows_every_data_set(capsys):
    assert main(["data", "list"]) == 0
    out = capsys.readouterr().out
    for name in ("adult", "compas", "mnist", "imdb", "review_sentences"):
        assert name in out


@needs_mirror
def test_data_verify_passes_for_the_mirror(capsys):
    assert main(["data", "verify", "adult", "mnist"]) == 0
    assert "ok (mirror)" in capsys.readouterr().out


def test_data_verify_fails_for_a_missing_file(monkeypatch, capsys):
    monkeypatch.delenv("FMBOOK_DATA", raising=False)
    assert main(["data", "verify", "compas"]) == 1
    assert "missing" in capsys.readouterr().out


def test_unknown_data_set_is_a_usage_error(capsys):
    assert main(["data", "fetch", "imagenet"]) == 2
    assert "unknown data set" in capsys.readouterr().err


def test_unknown_profile_in_the_environment_is_a_clear_error(monkeypatch, capsys):
    monkeypatch.setenv("FMBOOK_PROFILE", "turbo")
    assert main(["doctor"]) == 2
    assert "unknown profile" in capsys.readouterr().err


def test_run_rejects_an_unknown_profile():
    with pytest.raises(SystemExit):
        main(["run", "notebooks/00_start_here.ipynb", "--profile", "turbo"])
