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


def test_data_verify_reports_an_absent_data_set_as_absent_not_failed(monkeypatch, capsys):
    monkeypatch.delenv("FMBOOK_DATA", raising=False)
    assert main(["data", "verify", "compas"]) == 0
    assert "absent (not checked)" in capsys.readouterr().out


def test_data_verify_fails_for_an_absent_data_set_named_by_require(monkeypatch, capsys):
    monkeypatch.delenv("FMBOOK_DATA", raising=False)
    assert main(["data", "verify", "--require", "compas"]) == 1
    assert "required: FAILED" in capsys.readouterr().out


def test_data_verify_fails_for_a_present_file_with_a_wrong_checksum(tmp_path, monkeypatch, capsys):
    from fmbook.data import get_dataset

    monkeypatch.setenv("FMBOOK_DATA", str(tmp_path))
    (tmp_path / get_dataset("compas").files[0].name).write_text("not the data\n")
    assert main(["data", "verify", "compas"]) == 1
    assert "does not match its sha256" in capsys.readouterr().out


def test_a_seed_that_is_not_a_number_is_a_clear_error(monkeypatch, capsys):
    monkeypatch.setenv("FMBOOK_SEED", "one")
    assert main(["doctor"]) == 2
    assert "FMBOOK_SEED='one' is not a non-negative integer" in capsys.readouterr().err


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
